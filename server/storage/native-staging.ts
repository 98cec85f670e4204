// Small keys and values handed to the RocksDB binding through reused off-heap views.
//
// V8 keeps a typed array of at most 64 bytes (its typed_array_max_size_in_heap) inside the
// JS heap. The binding reads each key and value with napi_get_buffer_info, which needs an
// ArrayBuffer: for an on-heap array V8 then allocates one (a malloc, a copy, a new
// ArrayBuffer object to track and later sweep) just for the binding's memcpy. Every fresh
// small array an apply batch writes paid that (the eventual store's key state, namespace
// record, HLC and per-origin index keys and values; mvcc's 8-byte meta values). perf of
// scripts/bench-eventual-apply.ts --rows lww --batch 1 (one entry per batch): the main
// thread spent ~8 % of its samples in GetBuffer under batch_put, and the mallocs it and
// its sweeping caused were the largest part of lww's extra CPU over a strong put.
//
// Instead such bytes are copied into a view of exactly their length over one off-heap
// buffer made once, and that view is passed: the binding copies it before the call
// returns (LD_STRING_OR_BUFFER_TO_COPY), so the next op may overwrite it. One set of
// views for keys and one for values, as batch_put reads both in one call.

import type { Bytes } from './engine.js';

/** V8's largest typed array kept on its heap (the flag typed_array_max_size_in_heap). */
export const ON_HEAP_TYPED_ARRAY_MAX_BYTES = 64;

function views(): Uint8Array[] {
  // new ArrayBuffer is off-heap whatever its size; views over it never move.
  const backing = new ArrayBuffer(ON_HEAP_TYPED_ARRAY_MAX_BYTES + 1);
  return Array.from({ length: ON_HEAP_TYPED_ARRAY_MAX_BYTES + 1 }, (_, n) => new Uint8Array(backing, 0, n));
}

const keyViews = views();
const valueViews = views();

function staged(b: Bytes, table: Uint8Array[]): Bytes {
  if (b.length > ON_HEAP_TYPED_ARRAY_MAX_BYTES) return b;
  const v = table[b.length] as Uint8Array;
  v.set(b);
  return v;
}

/**
 * `key` as the binding should get it: a small one copied into a reused off-heap view, valid
 * only until the next stagedKey call (pass it to the binding at once, which copies it).
 */
export function stagedKey(key: Bytes): Bytes {
  return staged(key, keyViews);
}

/** Like stagedKey, for the value of the same binding call. */
export function stagedValue(value: Bytes): Bytes {
  return staged(value, valueViews);
}
