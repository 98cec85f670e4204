// The apply-time guard against strong etcd writes into eventual namespaces (applyGuard in
// eventual-routing.ts): a member whose registry was a moment behind a namespace create routes
// a Put as strong, and that entry applies AFTER the create. Here one batch of committed
// entries is applied as the region node's applyCommitted does it (the mvcc entries before a
// registry entry are applied first, then the registry entry, then the rest), over real
// RocksDB with the eventual store wired in: the strong writes that land in the new eventual
// namespace are refused (FAILED_PRECONDITION naming it), the eventual store's own projection
// and the registry's force delete are not, and strong keys elsewhere are untouched.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeAnswer, encodeBody } from '../eventual/entry.js';
import { EventualStore } from '../eventual/store.js';
import { CompareResult, CompareTarget, MvccStore, encodeCommand, type Command, type CommandResponse } from '../mvcc/index.js';
import { completeDefinition, encodeCommand as encodeNamespaceCommand, type NamespaceCommand } from '../namespace/index.js';
import { RocksEngine } from '../storage/rocksdb-engine.js';
import { applyGuard } from './eventual-routing.js';
import { NamespaceApplier, type NamespaceApplyResult } from './namespace-applier.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (u: Uint8Array): string => new TextDecoder().decode(u);

type Entry = { kind: 'mvcc'; command: Command } | { kind: 'namespace'; command: NamespaceCommand };

async function open(): Promise<{
  mvcc: MvccStore;
  applyEntries(entries: Entry[]): Promise<Array<CommandResponse | NamespaceApplyResult | undefined>>;
  close(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'eventual-guard-test-'));
  const engine = await RocksEngine.open(dir);
  const mvcc = await MvccStore.open(engine);
  const namespaces = await NamespaceApplier.load(engine);
  const eventual = await EventualStore.open(engine, { localOrigin: 'region:test', registry: () => namespaces.registry });
  mvcc.setExternalApplier(eventual);
  mvcc.setWriteGuard(applyGuard(() => namespaces.registry));
  let index = 0;
  return {
    mvcc,
    // The order of RegionNode.applyCommitted: mvcc entries in batches, cut before each registry entry.
    async applyEntries(entries) {
      const out: Array<CommandResponse | NamespaceApplyResult | undefined> = [];
      let items: Array<{ index: number; command: Uint8Array }> = [];
      const flush = async (): Promise<void> => {
        for (const r of await mvcc.applyBatch(items)) out.push(r.response);
        items = [];
      };
      for (const e of entries) {
        index++;
        if (e.kind === 'mvcc') items.push({ index, command: encodeCommand(e.command) });
        else {
          await flush();
          out.push(await namespaces.apply(index, encodeNamespaceCommand(e.command), mvcc, engine, eventual));
        }
      }
      await flush();
      return out;
    },
    async close() {
      await mvcc.idle();
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function refusal(r: CommandResponse | NamespaceApplyResult | undefined): string {
  assert.ok(r !== undefined && r.type === 'error', `expected a refusal, got ${JSON.stringify(r)}`);
  assert.equal(r.code, 'failed-precondition');
  return r.message;
}

const put = (key: string, value: string): Entry => ({ kind: 'mvcc', command: { type: 'put', put: { key: b(key), value: b(value) } } });
const createCfg: Entry = { kind: 'namespace', command: { op: 'create', definition: completeDefinition({ name: 'cfg', prefix: 'cfg/', level: 'eventual', crdtType: 'lww' }) } };

test('a strong put applied after the create of its eventual namespace is refused at apply; other writes are not', async () => {
  const s = await open();
  try {
    const lwwPut: Entry = {
      kind: 'mvcc',
      command: { type: 'external', external: { body: encodeBody({ kind: 'write', namespace: 'cfg', physicalMs: 1_700_000_000_000, ops: [{ type: 'lwwPut', key: b('cfg/b'), value: b('crdt') }] }) } },
    };
    const res = await s.applyEntries([
      put('cfg/early', 'x'), // before the create: a strong key, allowed (deleted again: a create over keys is refused)
      { kind: 'mvcc', command: { type: 'deleteRange', deleteRange: { key: b('cfg/early') } } },
      createCfg,
      put('plain/a', '1'), // a strong key outside: applies
      put('cfg/a', 'strong'), // routed as strong by a member a moment behind: refused
      { kind: 'mvcc', command: { type: 'deleteRange', deleteRange: { key: b('cfg/'), rangeEnd: b('cfg0') } } },
      { kind: 'mvcc', command: { type: 'deleteRange', deleteRange: { key: b('a'), rangeEnd: b('z') } } }, // spans cfg/: refused
      { kind: 'mvcc', command: { type: 'txn', txn: { compare: [], success: [{ type: 'put', put: { key: b('plain/t'), value: b('1') } }], failure: [{ type: 'put', put: { key: b('cfg/t'), value: b('1') } }] } } },
      { kind: 'mvcc', command: { type: 'txn', txn: { compare: [{ key: b('cfg/a'), target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 0 }], success: [], failure: [] } } },
      lwwPut, // the eventual store's own projection: applies
      put('plain/b', '2'),
    ]);
    assert.equal(res[0]?.type, 'put');
    assert.equal(res[1]?.type, 'deleteRange');
    assert.equal(res[2]?.type, 'namespace');
    assert.equal(res[3]?.type, 'put');
    const m = refusal(res[4]);
    assert.match(m, /namespace "cfg" is eventual \(lww\)/);
    assert.match(m, /send the request again/);
    for (const i of [5, 6, 7, 8]) assert.match(refusal(res[i]), /namespace "cfg" is eventual/, `entry ${i}`);
    const ext = res[9];
    assert.ok(ext?.type === 'external');
    assert.equal(decodeAnswer(ext.external.body).kind, 'write');
    assert.equal(res[10]?.type, 'put');
    const kvs = (await s.mvcc.range({ key: b('\0'), rangeEnd: b('\0') })).kvs.map((kv) => `${text(kv.key)}=${text(kv.value)}`);
    assert.deepEqual(kvs, ['cfg/b=crdt', 'plain/a=1', 'plain/b=2']);

    // The registry's force delete clears the namespace's keys through mvcc: not judged by the guard.
    const [del] = await s.applyEntries([{ kind: 'namespace', command: { op: 'delete', name: 'cfg', force: true } }]);
    assert.ok(del?.type === 'namespace', JSON.stringify(del));
    assert.equal(del.deletedKeys, 1);
    // The namespace is gone: the same put is a plain strong write now.
    const [again] = await s.applyEntries([put('cfg/a', 'strong')]);
    assert.equal(again?.type, 'put');
  } finally {
    await s.close();
  }
});

test('the guard refuses by type: a strong put into a counter namespace names what to use', async () => {
  const s = await open();
  try {
    const res = await s.applyEntries([
      { kind: 'namespace', command: { op: 'create', definition: completeDefinition({ name: 'hits', prefix: 'hits/', level: 'eventual', crdtType: 'counter' }) } },
      put('hits/home', '1'),
    ]);
    assert.match(refusal(res[1]), /namespace "hits" is eventual \(counter\).*rsctl counter add/);
  } finally {
    await s.close();
  }
});
