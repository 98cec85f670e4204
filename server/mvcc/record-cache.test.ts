import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryEngine } from '../storage/memory-engine.js';
import { RecordCache } from './record-cache.js';
import { encodeRecord, revKey, type KvRecord } from './records.js';
import { MvccState, overlayKey } from './state.js';

const enc = new TextEncoder();
function rec(key: string, value: string, main: number): KvRecord {
  return { key: enc.encode(key), value: enc.encode(value), createRevision: main, modRevision: main, version: 1, lease: 0, tombstone: false };
}

test('the cache keeps the most recently used records within its byte bound', () => {
  const perRecord = 1 + 100 + 160;
  const c = new RecordCache(perRecord * 3);
  for (let i = 1; i <= 3; i++) c.set(`${i}.0`, rec('k', 'v'.repeat(100), i));
  assert.equal(c.size, 3);
  assert.ok(c.get('1.0'), 'touch 1: 2 is now the oldest');
  c.set('4.0', rec('k', 'v'.repeat(100), 4));
  assert.deepEqual([c.get('1.0') !== undefined, c.get('2.0') !== undefined, c.get('3.0') !== undefined, c.get('4.0') !== undefined],
    [true, false, true, true]);
  assert.equal(c.heldBytes, perRecord * 3);
  c.delete('3.0');
  assert.equal(c.heldBytes, perRecord * 2);
  c.set('5.0', rec('k', 'v'.repeat(10_000), 5));
  assert.equal(c.get('5.0'), undefined, 'a record larger than the whole cache is not kept');
  assert.equal(new RecordCache(0).size, 0);
});

test('readRecord serves from the cache after the first engine read, and not across a compaction', async () => {
  const engine = new MemoryEngine();
  let gets = 0;
  const get = engine.get.bind(engine);
  engine.get = (key) => {
    gets++;
    return get(key);
  };
  await engine.write([{ type: 'put', key: revKey(7, 0), value: encodeRecord(rec('a', 'x', 7)) }]);
  const st = new MvccState(engine);
  assert.equal(new TextDecoder().decode((await st.readRecord(7, 0)).value), 'x');
  await st.readRecord(7, 0);
  assert.equal(gets, 1, 'the second read is a cache hit');

  // A compaction applied while a read waits for the engine: the read's record is not cached.
  await engine.write([{ type: 'put', key: revKey(8, 0), value: encodeRecord(rec('a', 'y', 8)) }]);
  const pending = st.readRecord(8, 0);
  st.compactions++;
  await pending;
  await st.readRecord(8, 0);
  assert.equal(gets, 3, 'not cached: a compaction ran during the get');

  // Records of a written batch leave the overlay; they are cached once read back.
  await engine.write([{ type: 'put', key: revKey(9, 0), value: encodeRecord(rec('b', 'z', 9)) }]);
  st.overlay.set(overlayKey(9, 0), rec('b', 'z', 9));
  assert.equal(new TextDecoder().decode((await st.readRecord(9, 0)).value), 'z');
  assert.equal(gets, 3, 'served from the overlay');
  st.publishOverlay();
  assert.equal(st.overlay.size, 0);
  await st.readRecord(9, 0);
  await st.readRecord(9, 0);
  assert.equal(gets, 4, 'read once from the engine, then cached');
});

test('a cached record never keeps a larger buffer alive (a view into a peer frame is copied)', () => {
  const frame = new Uint8Array(1 << 20);
  frame.set(enc.encode('kv'), 100);
  const r: KvRecord = { ...rec('', '', 1), key: frame.subarray(100, 101), value: frame.subarray(101, 102) };
  const c = new RecordCache();
  c.set('1.0', r);
  const cached = c.get('1.0')!;
  assert.equal(cached.key.buffer.byteLength, 1);
  assert.equal(cached.value.buffer.byteLength, 1);
  assert.deepEqual([...cached.key, ...cached.value], [...enc.encode('kv')]);
  const own = rec('a', 'b', 2);
  c.set('2.0', own);
  assert.equal(c.get('2.0'), own, 'a record that owns its memory is kept as is');
});
