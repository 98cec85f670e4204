import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ARENA_CHUNK_BYTES, BinWriter, ByteArena } from './bin.js';
import { decodeRecord, encodeRecord, type KvRecord } from './records.js';
import { decodeLatest, encodeLatest } from './kv-layout.js';

test('arena arrays never overlap, roll over to a new chunk, and hold what finish() wrote', () => {
  const arena = new ByteArena();
  const got: Uint8Array[] = [];
  // Enough 300-byte values to fill several chunks, plus one too big for a chunk's share.
  for (let i = 0; i < (3 * ARENA_CHUNK_BYTES) / 300; i++) {
    got.push(new BinWriter().bytes(new Uint8Array(297).fill(i & 0xff)).finish(arena));
  }
  const big = new BinWriter().bytes(new Uint8Array(ARENA_CHUNK_BYTES)).finish(arena);
  assert.equal(big.byteOffset, 0, 'a large value gets an array of its own');
  for (const [i, b] of got.entries()) {
    assert.equal(b.length, 299);
    assert.ok(b.subarray(2).every((x) => x === (i & 0xff)), `value ${i} intact after later allocations`);
  }
});

test('records and latest rows encoded in an arena decode as those encoded on their own', () => {
  const arena = new ByteArena();
  const rec: KvRecord = { key: Uint8Array.of(1, 2), value: new Uint8Array(256).fill(7), createRevision: 5, modRevision: 9, version: 3, lease: 0, tombstone: false };
  assert.deepEqual(encodeRecord(rec, arena), encodeRecord(rec));
  assert.deepEqual(decodeRecord(encodeRecord(rec, arena), 9), rec);
  assert.deepEqual(encodeLatest(rec, arena), encodeLatest(rec));
  assert.deepEqual(decodeLatest(rec.key, encodeLatest(rec, arena)).value, rec.value);
});
