// The hand-written codec must agree with raft.proto as protobufjs reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { SeededRandom } from '../server/util/random.js';
import type { Entry, Message } from '../server/raft/types.js';
import {
  decodeConfChange, decodeHardState, decodeMessage, decodeMessageBatch, encodeConfChange,
  encodeEntry, encodeEntryInto, encodedEntryLength, encodeHardState, encodeMessage, encodeMessageBatch,
  encodeMessageBatchWithWriter,
} from './raft-codec.js';

const root = protobuf.loadSync(fileURLToPath(new URL('./regionstore/v1/raft.proto', import.meta.url)));
const MessageProto = root.lookupType('regionstore.v1.Message');
const EntryProto = root.lookupType('regionstore.v1.Entry');
const toObj = (t: protobuf.Type, b: Uint8Array) =>
  t.toObject(t.decode(b), { longs: Number, bytes: Array, defaults: true, enums: Number });

function randomEntry(rng: SeededRandom): Entry {
  const data = new Uint8Array(rng.int(0, 20)).map(() => rng.int(0, 256));
  return { term: rng.int(0, 2 ** 40), index: rng.int(0, 2 ** 50), type: rng.int(0, 2) as 0 | 1, data };
}

function randomMessage(rng: SeededRandom): Message {
  return {
    type: rng.pick([2, 10, 11, 12, 13, 16, 17, 18, 20, 21]) as Message['type'],
    to: rng.int(0, 2 ** 52), from: rng.int(1, 9), term: rng.int(0, 1000), logTerm: rng.int(0, 1000),
    index: rng.int(0, 2 ** 45), entries: Array.from({ length: rng.int(0, 4) }, () => randomEntry(rng)),
    commit: rng.int(0, 2 ** 45), reject: rng.chance(0.5), rejectHint: rng.int(0, 99),
    context: new Uint8Array(rng.int(0, 5)).fill(7),
    snapshot: rng.chance(0.3)
      ? { metadata: { index: 5, term: 2, confState: { voters: [1, 2, 3], learners: [4] } }, data: new Uint8Array([1, 2]) }
      : undefined,
  };
}

test('messages round-trip and match raft.proto read by protobufjs reflection', () => {
  const seed = Number(process.env.SEED ?? 1);
  console.log(`seed=${seed}`);
  const rng = new SeededRandom(seed);
  for (let i = 0; i < 300; i++) {
    const m = randomMessage(rng);
    const bytes = encodeMessage(m);
    const back = decodeMessage(bytes);
    assert.deepEqual({ ...back, snapshot: back.snapshot ?? undefined }, m);
    const viaReflection = toObj(MessageProto, bytes) as Record<string, unknown>;
    assert.equal(viaReflection.index, m.index);
    assert.equal(viaReflection.to, m.to);
    assert.equal((viaReflection.entries as unknown[]).length, m.entries.length);
    // And the other way: bytes written by reflection decode with the hand codec.
    const refBytes = MessageProto.encode(MessageProto.fromObject({ ...m, logTerm: m.logTerm, rejectHint: m.rejectHint })).finish();
    assert.deepEqual(decodeMessage(refBytes).entries, m.entries);
  }
  const batch = [randomMessage(rng), randomMessage(rng)];
  assert.equal(decodeMessageBatch(encodeMessageBatch(batch)).length, 2);
});

test('encodeMessageBatch writes the bytes protobufjs\' Writer makes, with and without snapshots', () => {
  const seed = Number(process.env.SEED ?? 1);
  console.log(`seed=${seed}`);
  const rng = new SeededRandom(seed);
  const edge: Message = {
    type: 0, to: 2 ** 53 - 1, from: 0, term: 0, logTerm: 0, index: 127, entries: [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }],
    commit: 128, reject: true, rejectHint: 0, context: new Uint8Array(0),
  };
  assert.deepEqual(Buffer.from(encodeMessageBatch([edge])), Buffer.from(encodeMessageBatchWithWriter([edge])));
  assert.deepEqual(Buffer.from(encodeMessageBatch([])), Buffer.from(encodeMessageBatchWithWriter([])));
  for (let i = 0; i < 300; i++) {
    const batch = Array.from({ length: rng.int(1, 5) }, () => randomMessage(rng));
    const want = encodeMessageBatchWithWriter(batch);
    assert.deepEqual(Buffer.from(encodeMessageBatch(batch)), Buffer.from(want), `batch ${i}`);
    // Decoded as a batch (entries' data are views into one copy of it) as message by message.
    const received = encodeMessageBatch(batch);
    const decoded = decodeMessageBatch(received);
    assert.deepEqual(decoded.map((m) => ({ ...m, snapshot: m.snapshot ?? undefined })), batch.map((m) => decodeMessage(encodeMessage(m))).map((m) => ({ ...m, snapshot: m.snapshot ?? undefined })), `batch ${i} decoded`);
    // Not views into the received bytes: the transport's buffer may be reused or large.
    received.fill(0);
    for (const [j, m] of decoded.entries()) assert.deepEqual(m.entries, batch[j]!.entries, `batch ${i} message ${j} after its bytes were overwritten`);
  }
});

test('entries, hard state and conf changes round-trip', () => {
  const e: Entry = { term: 3, index: 2 ** 50, type: 1, data: new Uint8Array([9, 9]) };
  const viaReflection = toObj(EntryProto, encodeEntry(e));
  assert.deepEqual(viaReflection, { term: 3, index: 2 ** 50, type: 1, data: [9, 9] });
  assert.deepEqual(decodeHardState(encodeHardState({ term: 7, vote: 3, commit: 99 })), { term: 7, vote: 3, commit: 99 });
  const cc = { type: 2 as const, nodeId: 12345678901234, context: new Uint8Array([1]) };
  assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
});

test('encodeEntryInto writes encodeEntry\'s bytes at a position, in encodedEntryLength of them', () => {
  const seed = Number(process.env.SEED ?? 1);
  console.log(`seed=${seed}`);
  const rng = new SeededRandom(seed);
  const edges: Entry[] = [
    { term: 0, index: 0, type: 0, data: new Uint8Array(0) },
    { term: 127, index: 128, type: 1, data: new Uint8Array(127).fill(1) },
    { term: 2 ** 32, index: 2 ** 53 - 1, type: 0, data: new Uint8Array(300).fill(2) },
  ];
  for (const e of [...edges, ...Array.from({ length: 300 }, () => randomEntry(rng))]) {
    const want = encodeEntry(e);
    assert.equal(encodedEntryLength(e), want.length);
    const buf = new Uint8Array(want.length + 7).fill(0xee);
    assert.equal(encodeEntryInto(e, buf, 3), 3 + want.length);
    assert.deepEqual([...buf.subarray(3, 3 + want.length)], [...want]);
    assert.deepEqual([...buf.subarray(0, 3), ...buf.subarray(3 + want.length)], [0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee]);
  }
});
