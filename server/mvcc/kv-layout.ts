// The persisted key index (keyspaces reserved in server/storage/keys.ts). Nothing per key
// lives in the JS heap: these keyspaces are the index, read through bounded caches.
//   MvccLatest     [0x17][user key]                      → create · mod · version · lease · value
//                  (live keys only: a read at the current revision is one seek or one scan,
//                  values inline);
//   MvccKeyHistory [0x18][escaped user key][u64 main][u32 sub] → tombstone · create · version
//                  (every revision of every key, in key order then revision order: reads at
//                  an old revision and compaction walk it; values stay in MvccRevision);
//   MvccLeaseKey   [0x19][u64 lease id][user key]        → empty (keys attached to a lease,
//                  so open() rebuilds the lease table without reading every key).
// User keys in MvccKeyHistory are escaped (0x00 → 0x00 0xff, end → 0x00 0x01) so that the
// encoding is prefix-free and keeps bytewise order: one key's entries are contiguous and a
// key range [key, end) is the engine range [prefix(key), prefix(end)).

import { assert } from '../util/assert.js';
import { StateKeyspace, U64_BYTES, decodeU64, writeU64 } from '../storage/keys.js';
import { BinReader, BinWriter, type ByteArena } from './bin.js';
import type { KeyValue } from './types.js';

const ESCAPE = 0x00;
const ESCAPED_ZERO = 0xff;
const TERMINATOR = 0x01;
const SUB_BYTES = 4;
const REV_SUFFIX_BYTES = U64_BYTES + SUB_BYTES;
export const SUB_MAX = 0xffff_ffff;

/** Buffer's latin1 decoder (undocumented, in Node since v0.x), called on the Uint8Array itself:
 *  it takes any byte view. Absent (another runtime), the Buffer view below does the same. */
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice?: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/**
 * latin1 string of the key bytes (one char per byte): JS string order equals bytewise order,
 * and a Map key. Called several times per op on the apply paths (strong and eventual):
 * latin1Slice on the array itself, without the Buffer view that
 * Buffer.from(...).toString('latin1') built per call, is about 2.5x faster for short keys.
 */
export const keyString: (key: Uint8Array) => string = latin1Slice !== undefined
  ? (key) => latin1Slice.call(key, 0, key.length)
  : (key) => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');

export function keyOfString(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

// ---- latest ----

export function latestKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + key.length);
  out[0] = StateKeyspace.MvccLatest;
  out.set(key, 1);
  return out;
}

/** The user key of a MvccLatest engine key (a view, no copy). */
export function userKeyOfLatest(engineKey: Uint8Array): Uint8Array {
  return engineKey.subarray(1);
}

/** Engine bounds of MvccLatest for etcd's [key, rangeEnd): empty end is the single key,
 *  "\0" is every key >= key. */
export function latestBounds(key: Uint8Array, rangeEnd: Uint8Array | undefined): { gte: Uint8Array; lt?: Uint8Array; lte?: Uint8Array } {
  if (rangeEnd === undefined || rangeEnd.length === 0) return { gte: latestKey(key), lte: latestKey(key) };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { gte: latestKey(key), lt: Uint8Array.of(StateKeyspace.MvccLatest + 1) };
  return { gte: latestKey(key), lt: latestKey(rangeEnd) };
}

/** `arena`: where the bytes go when they die with the apply batch (bin.ts ByteArena). */
export function encodeLatest(kv: KeyValue, arena?: ByteArena): Uint8Array {
  return new BinWriter().uint(kv.createRevision).uint(kv.modRevision).uint(kv.version).uint(kv.lease).bytes(kv.value).finish(arena);
}

/** `key` is the user key (owned by the caller); the value is a view into `bytes`. */
export function decodeLatest(key: Uint8Array, bytes: Uint8Array): KeyValue {
  const r = new BinReader(bytes);
  const createRevision = r.uint();
  const modRevision = r.uint();
  const version = r.uint();
  const lease = r.uint();
  return { key, createRevision, modRevision, version, lease, value: r.bytes() };
}

// ---- history ----

/** What the history says of one key at one revision: enough to answer without the value. */
export interface HistEntry {
  main: number;
  sub: number;
  tombstone: boolean;
  createRevision: number;
  version: number;
}

function escapedLength(key: Uint8Array): number {
  let n = key.length + 2;
  for (let i = 0; i < key.length; i++) if (key[i] === ESCAPE) n++;
  return n;
}

function writeEscaped(out: Uint8Array, at: number, key: Uint8Array): number {
  for (let i = 0; i < key.length; i++) {
    const b = key[i] as number;
    out[at++] = b;
    if (b === ESCAPE) out[at++] = ESCAPED_ZERO;
  }
  out[at++] = ESCAPE;
  out[at++] = TERMINATOR;
  return at;
}

/** [0x18][escaped key]: every entry of exactly this key starts with it. */
export function histPrefix(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + escapedLength(key));
  out[0] = StateKeyspace.MvccKeyHistory;
  writeEscaped(out, 1, key);
  return out;
}

export function histKey(key: Uint8Array, main: number, sub: number): Uint8Array {
  const out = new Uint8Array(histKeyLength(key));
  writeHistKey(out, 0, key, main, sub);
  return out;
}

/** Bytes of histKey(key, ...). */
export function histKeyLength(key: Uint8Array): number {
  return 1 + escapedLength(key) + REV_SUFFIX_BYTES;
}

/** histKey(key, main, sub) written into `out` at `at` (histKeyLength bytes); returns the end. */
export function writeHistKey(out: Uint8Array, at: number, key: Uint8Array, main: number, sub: number): number {
  out[at] = StateKeyspace.MvccKeyHistory;
  const end = writeEscaped(out, at + 1, key);
  writeU64(out, end, main);
  out[end + U64_BYTES] = sub >>> 24;
  out[end + U64_BYTES + 1] = (sub >>> 16) & 0xff;
  out[end + U64_BYTES + 2] = (sub >>> 8) & 0xff;
  out[end + U64_BYTES + 3] = sub & 0xff;
  return end + REV_SUFFIX_BYTES;
}

/** Engine bounds of MvccKeyHistory for etcd's [key, rangeEnd). */
export function histBounds(key: Uint8Array, rangeEnd: Uint8Array | undefined): { gte: Uint8Array; lt: Uint8Array } {
  const gte = histPrefix(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) {
    const lt = gte.slice();
    lt[lt.length - 1] = TERMINATOR + 1; // just past this key's entries
    return { gte, lt };
  }
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { gte, lt: Uint8Array.of(StateKeyspace.MvccKeyHistory + 1) };
  return { gte, lt: histPrefix(rangeEnd) };
}

/** The escaped-key part of a history engine key (a view): equal for entries of one key. */
export function histKeyPart(engineKey: Uint8Array): Uint8Array {
  assert(engineKey.length > 1 + 2 + REV_SUFFIX_BYTES - 1 && engineKey[0] === StateKeyspace.MvccKeyHistory, 'not a history key');
  return engineKey.subarray(1, engineKey.length - REV_SUFFIX_BYTES);
}

export function histMain(engineKey: Uint8Array): number {
  return decodeU64(engineKey, engineKey.length - REV_SUFFIX_BYTES);
}

export function histSub(engineKey: Uint8Array): number {
  return new DataView(engineKey.buffer, engineKey.byteOffset, engineKey.byteLength).getUint32(engineKey.length - SUB_BYTES);
}

/** The user key of an escaped-key part (a copy). */
export function unescapeKey(part: Uint8Array): Uint8Array {
  const out = new Uint8Array(part.length - 2);
  let n = 0;
  for (let i = 0; i < part.length - 2; i++) {
    const b = part[i] as number;
    out[n++] = b;
    if (b === ESCAPE) i++; // skip ESCAPED_ZERO
  }
  return out.subarray(0, n);
}

export function encodeHist(e: { tombstone: boolean; createRevision: number; version: number }): Uint8Array {
  if (e.tombstone) return Uint8Array.of(1);
  return new BinWriter().bool(false).uint(e.createRevision).uint(e.version).finish();
}

export function decodeHist(engineKey: Uint8Array, bytes: Uint8Array): HistEntry {
  const r = new BinReader(bytes);
  const tombstone = r.bool();
  const main = histMain(engineKey);
  const sub = histSub(engineKey);
  if (tombstone) return { main, sub, tombstone, createRevision: 0, version: 0 };
  return { main, sub, tombstone, createRevision: r.uint(), version: r.uint() };
}

// ---- lease keys ----

export function leaseKeyKey(lease: number, key: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + U64_BYTES + key.length);
  out[0] = StateKeyspace.MvccLeaseKey;
  writeU64(out, 1, lease);
  out.set(key, 1 + U64_BYTES);
  return out;
}

export function parseLeaseKeyKey(engineKey: Uint8Array): { lease: number; key: Uint8Array } {
  return { lease: decodeU64(engineKey, 1), key: engineKey.subarray(1 + U64_BYTES) };
}
