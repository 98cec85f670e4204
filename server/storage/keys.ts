// Key encodings for the two databases of a node (DESIGN.md §5).
//
// Every key starts with a one-byte keyspace prefix, so a keyspace is one contiguous range
// and can be scanned or cleared on its own. Numbers inside keys are big-endian u64 so
// that bytewise order (the engine's order) is numeric order.

import { AssertionError, assert } from '../util/assert.js';
import type { Bytes } from './engine.js';

export { compareBytes, prefixEnd } from '../util/bytes.js';

/** Keyspaces of the `raft/` database (log, hard state, snapshot metadata). */
export const RaftKeyspace = {
  /** Log entries: prefix + u64 index → encodeEntry. */
  Entry: 0x01,
  /** The single HardState record. */
  HardState: 0x02,
  /** The single SnapshotMetadata record of the latest snapshot/compaction point. */
  SnapshotMeta: 0x03,
  /** The single ConfState record (membership as of the latest snapshot). */
  ConfState: 0x04,
  /** The compaction point: an Entry record (index, term, no data) of the last entry dropped
   *  from the log, i.e. firstIndex - 1 and its term. */
  LogOffset: 0x05,
  /** The opaque data of the latest snapshot (Snapshot.data). */
  SnapshotData: 0x06,
} as const;
export type RaftKeyspace = (typeof RaftKeyspace)[keyof typeof RaftKeyspace];

/**
 * Keyspaces of the `state/` database (everything the state machine holds). Reserved
 * here, in one place, so that no two modules ever pick the same byte. Values do not
 * overlap the raft ones, which makes a key dumped from either database unambiguous.
 */
export const StateKeyspace = {
  /** Node metadata: applied index, membership, format version (stateMetaKey). */
  Meta: 0x10,
  /** Retired (the in-memory key index was never stored); kept so the byte is not reused. */
  MvccKeyIndex: 0x11,
  /** mvcc: revision → key-value event (the history). */
  MvccRevision: 0x12,
  /** Leases by id. */
  Lease: 0x13,
  /** The namespace registry. */
  Namespace: 0x14,
  /** CRDT stores of eventual namespaces. */
  Crdt: 0x15,
  /** At-most-once table: client id → last seq and its answer. */
  Dedupe: 0x16,
  /** mvcc: user key → its live kv (metadata and value), for reads at the current revision. */
  MvccLatest: 0x17,
  /** mvcc: escaped user key · revision → small metadata: each key's history, in key order. */
  MvccKeyHistory: 0x18,
  /** mvcc: lease id · user key → nothing: the keys attached to each lease. */
  MvccLeaseKey: 0x19,
  /** An edge replica's own records: the registry synced from the region, the strong copy's region revision. */
  Edge: 0x1a,
} as const;
export type StateKeyspace = (typeof StateKeyspace)[keyof typeof StateKeyspace];

export const U64_BYTES = 8;
const TWO_POW_32 = 0x1_0000_0000;

/** Writes n (a safe non-negative integer) big-endian into 8 bytes at `offset`. */
export function writeU64(buf: Bytes, offset: number, n: number): void {
  // Byte by byte, with the checks outside assert(): this runs for every key written, and
  // a DataView or a message closure per call showed up in put profiles.
  if (!Number.isSafeInteger(n) || n < 0) throw new AssertionError(`u64 key part must be a safe non-negative integer, got ${n}`);
  if (offset < 0 || offset + U64_BYTES > buf.length) throw new AssertionError(`u64 at ${offset} overflows ${buf.length} bytes`);
  const hi = Math.floor(n / TWO_POW_32);
  const lo = n >>> 0;
  buf[offset] = hi >>> 24;
  buf[offset + 1] = (hi >>> 16) & 0xff;
  buf[offset + 2] = (hi >>> 8) & 0xff;
  buf[offset + 3] = hi & 0xff;
  buf[offset + 4] = lo >>> 24;
  buf[offset + 5] = (lo >>> 16) & 0xff;
  buf[offset + 6] = (lo >>> 8) & 0xff;
  buf[offset + 7] = lo & 0xff;
}

export function encodeU64(n: number): Uint8Array {
  const out = new Uint8Array(U64_BYTES);
  writeU64(out, 0, n);
  return out;
}

/** Reads a big-endian u64 at `offset`; fails loudly above 2^53 rather than lose precision. */
export function decodeU64(buf: Bytes, offset = 0): number {
  if (offset < 0 || offset + U64_BYTES > buf.length) throw new AssertionError(`u64 at ${offset} overflows ${buf.length} bytes`);
  const hi = ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
  const lo = ((buf[offset + 4]! << 24) | (buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!) >>> 0;
  const n = hi * TWO_POW_32 + lo;
  if (!Number.isSafeInteger(n)) throw new AssertionError(`u64 at ${offset} exceeds 2^53: ${(BigInt(hi) << 32n) | BigInt(lo)}`);
  return n;
}

export function concatBytes(...parts: Bytes[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}



/** [gte, lt) covering every key of a one-byte keyspace. */
export function keyspaceRange(keyspace: number): { gte: Uint8Array; lt: Uint8Array } {
  assert(Number.isInteger(keyspace) && keyspace >= 0 && keyspace < 0xff, () => `bad keyspace byte ${keyspace}`);
  return { gte: Uint8Array.of(keyspace), lt: Uint8Array.of(keyspace + 1) };
}

/** A keyspace byte followed by a big-endian u64. */
export function numberKey(keyspace: number, n: number): Uint8Array {
  const key = new Uint8Array(1 + U64_BYTES);
  key[0] = keyspace;
  writeU64(key, 1, n);
  return key;
}

export function numberOfKey(keyspace: number, key: Bytes): number {
  assert(key.length === 1 + U64_BYTES && key[0] === keyspace, () => `not a keyspace ${keyspace} number key: ${hex(key)}`);
  return decodeU64(key, 1);
}

// ---- raft/ ----
export function raftEntryKey(index: number): Uint8Array {
  return numberKey(RaftKeyspace.Entry, index);
}

export function raftEntryIndex(key: Bytes): number {
  return numberOfKey(RaftKeyspace.Entry, key);
}

export const RAFT_HARD_STATE_KEY: Uint8Array = Uint8Array.of(RaftKeyspace.HardState);
export const RAFT_SNAPSHOT_META_KEY: Uint8Array = Uint8Array.of(RaftKeyspace.SnapshotMeta);
export const RAFT_CONF_STATE_KEY: Uint8Array = Uint8Array.of(RaftKeyspace.ConfState);
export const RAFT_LOG_OFFSET_KEY: Uint8Array = Uint8Array.of(RaftKeyspace.LogOffset);
export const RAFT_SNAPSHOT_DATA_KEY: Uint8Array = Uint8Array.of(RaftKeyspace.SnapshotData);

// ---- state/ ----
/** A named record of the Meta keyspace (prefix + UTF-8 name). */
export function stateMetaKey(name: string): Uint8Array {
  assert(name.length > 0, 'meta key name must not be empty');
  return concatBytes(Uint8Array.of(StateKeyspace.Meta), new TextEncoder().encode(name));
}

/** The applied index, written in the same batch as the change it records (DESIGN.md §3). */
export const STATE_APPLIED_INDEX_KEY: Uint8Array = stateMetaKey('applied-index');
/** Membership as of the applied index, so a state snapshot carries it. */
export const STATE_CONF_STATE_KEY: Uint8Array = stateMetaKey('conf-state');

/** Never written: installing a state snapshot deletes it to make its last batch non-empty. */
export const STATE_SNAPSHOT_INSTALL_KEY: Uint8Array = stateMetaKey('snapshot-install');

export function hex(b: Bytes): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
