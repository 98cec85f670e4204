import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCommand, encodeCommand, encodeExternalCommand } from './command-codec.js';
import { decodeResponse, encodeResponse } from './response-codec.js';
import { b } from './testing/harness.js';
import { type Command, type CommandResponse, CompareResult, CompareTarget } from './types.js';

const kv = { key: b('k'), createRevision: 2 ** 40, modRevision: 2 ** 53 - 1, version: 3, value: b('v'), lease: 12345678901 };

test('command codec round-trips every command type, big numbers and client ids', () => {
  const cmds: Command[] = [
    { type: 'put', put: { key: b('a'), value: b('b'), lease: 2 ** 52 + 1, prevKv: true, ignoreValue: false, ignoreLease: true }, client: { clientId: 'cli-ü', seq: 2 ** 45 } },
    { type: 'deleteRange', deleteRange: { key: b('a'), rangeEnd: new Uint8Array([0]), prevKv: true } },
    {
      type: 'txn',
      txn: {
        compare: [
          { key: b('a'), rangeEnd: b(''), result: CompareResult.GREATER, target: CompareTarget.MOD, modRevision: 7 },
          { key: b('a'), rangeEnd: b('b'), result: CompareResult.NOT_EQUAL, target: CompareTarget.VALUE, value: b('x') },
          { key: b('a'), rangeEnd: b(''), result: CompareResult.LESS, target: CompareTarget.VERSION, version: -1 },
        ],
        success: [
          { type: 'range', range: { key: b('a'), rangeEnd: b('z'), limit: 5, revision: 3, sortOrder: 2, sortTarget: 4, serializable: false, keysOnly: true, countOnly: false, minModRevision: 1, maxModRevision: 2, minCreateRevision: 3, maxCreateRevision: 4 } },
          { type: 'txn', txn: { compare: [], success: [{ type: 'deleteRange', deleteRange: { key: b('q'), rangeEnd: b(''), prevKv: false } }], failure: [] } },
        ],
        failure: [{ type: 'put', put: { key: b('c'), value: b(''), lease: 0, prevKv: false, ignoreValue: true, ignoreLease: false } }],
      },
    },
    { type: 'compact', compact: { revision: 99, physical: true } },
    { type: 'leaseGrant', leaseGrant: { ttl: 30, id: 0 } },
    { type: 'leaseRevoke', leaseRevoke: { id: 77 } },
    { type: 'leaseCheckpoint', leaseCheckpoint: { checkpoints: [{ id: 1, remainingTtl: 20 }] } },
    { type: 'alarm', alarm: { action: 1, memberId: 2 ** 53 - 1, alarm: 2 } },
  ];
  for (const cmd of cmds) assert.deepEqual(decodeCommand(encodeCommand(cmd)), cmd);
  // With room for an envelope before it (a Raft payload header): the same bytes after zeros,
  // also when the shared scratch buffer last held other bytes.
  for (const head of [1, 18, 26]) {
    for (const cmd of cmds) {
      encodeCommand(cmds[2]!); // leaves non-zero bytes in the scratch buffer
      const plain = encodeCommand(cmd);
      const withHead = encodeCommand(cmd, head);
      assert.deepEqual(withHead.subarray(0, head), new Uint8Array(head), `head of ${head}`);
      assert.deepEqual(withHead.subarray(head), plain, `${cmd.type} after a head of ${head}`);
    }
  }
});

test('response codec round-trips answers stored for retries', () => {
  const responses: CommandResponse[] = [
    { type: 'alarm', alarm: { alarms: [{ memberId: 2 ** 50, alarm: 1 }, { memberId: 3, alarm: 2 }] } },
    { type: 'put', put: { revision: 5, prevKv: kv } },
    { type: 'put', put: { revision: 5 } },
    { type: 'deleteRange', deleteRange: { revision: 6, deleted: 1, prevKvs: [kv] } },
    {
      type: 'txn',
      txn: {
        revision: 7, succeeded: true,
        responses: [
          { type: 'range', range: { revision: 7, kvs: [kv], more: true, count: 10 } },
          { type: 'put', put: { revision: 7 } },
          { type: 'deleteRange', deleteRange: { revision: 7, deleted: 0, prevKvs: [] } },
          { type: 'txn', txn: { revision: 7, succeeded: false, responses: [{ type: 'put', put: { revision: 7, prevKv: kv } }] } },
        ],
      },
    },
    { type: 'compact', compact: { revision: 3 } },
    { type: 'leaseGrant', leaseGrant: { revision: 1, id: 9, ttl: 10 } },
    { type: 'leaseRevoke', leaseRevoke: { revision: 2 } },
    { type: 'leaseCheckpoint', leaseCheckpoint: { revision: 2 } },
    { type: 'error', code: 'lease-not-found', message: 'etcdserver: requested lease not found' },
  ];
  for (const r of responses) assert.deepEqual(decodeResponse(encodeResponse(r)), r);
});

test('decodeCommand rejects garbage loudly', () => {
  assert.throws(() => decodeCommand(new Uint8Array([9, 1])));
  assert.throws(() => decodeCommand(new Uint8Array([1, 1, 0])));
});

test('encodeExternalCommand writes the same bytes as encodeCommand of the finished body', () => {
  // Bodies short and long (a varint length of 1, 2 and 3 bytes), with and without a client id.
  for (const size of [0, 5, 200, 20_000]) {
    const body = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
    for (const client of [undefined, { clientId: 'cli-ü', seq: 2 ** 45 }]) {
      const whole: Command = client === undefined ? { type: 'external', external: { body } } : { type: 'external', external: { body }, client };
      const written = encodeExternalCommand(client, (w) => {
        // In pieces, as an eventual body is written.
        for (let at = 0; at < size; at += 64) for (const x of body.subarray(at, at + 64)) w.byte(x);
      });
      assert.deepEqual(written, encodeCommand(whole), `body of ${size} bytes, client ${client === undefined ? 'none' : 'given'}`);
    }
  }
});
