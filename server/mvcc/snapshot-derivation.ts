// What a state snapshot leaves out of the mvcc layout, and how the receiver rebuilds it
// (storage/state-snapshot.ts format 2). Each key costs three pairs in the engine: its
// revision record, its latest row (the value again) and its history entry (kv-layout.ts).
// The latest rows and the history entries follow from the revision records alone:
// every write and every compaction chunk adds or removes a revision record together with
// its history entry, and a key's latest row is its newest record unless that one is a
// tombstone (restore.ts convertFromRevisions relies on the same). So the sender reads and
// sends one pair per key, and the receiver writes the other two as it writes the record:
// the leader's CPU per key (the binding's cost per pair read) falls to a third and the
// value crosses the wire once.
//
// MvccLeaseKey travels as it is: it is small (keys with a lease only), and deriving it
// would need each key's previous lease.

import type { EngineBatch } from '../storage/engine.js';
import { StateKeyspace, decodeU64 } from '../storage/keys.js';
import type { SnapshotDerivation } from '../storage/state-snapshot.js';
import { histKeyLength, writeHistKey } from './kv-layout.js';

/**
 * Names this derivation in the stream's header. Change it whenever what the sender leaves
 * out, or what the receiver writes for a record, changes: a member that derives
 * differently then refuses the stream instead of building a different state.
 */
export const MVCC_SNAPSHOT_DERIVATION_ID = 1;

/** Offset of the u32 sub-revision in a revision record's engine key ([0x12][u64][u32]). */
const REV_KEY_SUB_AT = 9;
const REV_KEY_BYTES = 13;
const TOMBSTONE_HIST_VALUE = Uint8Array.of(1);
/** Bytes of a varint (LEB128, as bin.ts writes it) of at most 2^53. */
const VARINT_BYTES_MAX = 8;

function corrupt(what: string): Error {
  return new Error(`state snapshot: a revision record with ${what}`);
}

/** The end of the varint at `at`. */
function skipVarint(b: Uint8Array, at: number): number {
  const end = Math.min(b.length, at + VARINT_BYTES_MAX);
  for (let i = at; i < end; i++) if ((b[i] as number) < 0x80) return i + 1;
  throw corrupt('a truncated number');
}

function readVarint(b: Uint8Array, at: number): number {
  let n = 0;
  let mul = 1;
  for (let i = at; i < at + VARINT_BYTES_MAX && i < b.length; i++) {
    const x = b[i] as number;
    n += (x & 0x7f) * mul;
    if (x < 0x80) return n;
    mul *= 0x80;
  }
  throw corrupt('a truncated number');
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

/** Where derived pairs are built: the batch copies each one, so one buffer serves all
 *  (grown for a larger record, never shrunk: at most one record's size). */
let scratch = new Uint8Array(4096);

/**
 * The history entry and the latest row (or its removal) of one revision record, built
 * from the record's bytes without decoding it into objects: a record is
 *   tombstone u8 · key length · key [· create · version · lease · value length · value]
 * (records.ts encodeRecord; numbers are varints), its history entry
 *   0 · create · version, or 1 for a tombstone (kv-layout.ts encodeHist),
 * and its latest row create · mod · version · lease · value length · value
 * (encodeLatest), i.e. the record's tail with the mod revision (the record key's main)
 * put after create. The snapshot test compares the result with what the store wrote,
 * byte for byte.
 */
function derive(key: Uint8Array, value: Uint8Array, out: EngineBatch): void {
  if (key.length !== REV_KEY_BYTES) throw corrupt(`a key of ${key.length} bytes`);
  const main = decodeU64(key, 1);
  const sub = ((key[REV_KEY_SUB_AT] as number) * 0x100_0000) + (((key[REV_KEY_SUB_AT + 1] as number) << 16) |
    ((key[REV_KEY_SUB_AT + 2] as number) << 8) | (key[REV_KEY_SUB_AT + 3] as number));
  const tombstone = value[0];
  if (tombstone !== 0 && tombstone !== 1) throw corrupt(`a bad tombstone byte ${tombstone}`);
  const keyLen = readVarint(value, 1);
  const keyAt = skipVarint(value, 1);
  const tail = keyAt + keyLen;
  if (keyLen === 0 || tail > value.length) throw corrupt(`a bad key length ${keyLen}`);
  const userKey = value.subarray(keyAt, tail);

  const hkLen = histKeyLength(userKey);
  const lkLen = 1 + keyLen;
  // Bounds every layout below: history key, its value (at most the record's tail + 1),
  // latest key, latest value (the tail + the mod revision).
  const need = hkLen + lkLen + 2 * (value.length - tail) + 1 + VARINT_BYTES_MAX;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, 2 * scratch.length));
  const mem = scratch;
  writeHistKey(mem, 0, userKey, main, sub);
  const hk = mem.subarray(0, hkLen);
  const lk = mem.subarray(hkLen, hkLen + lkLen);
  lk[0] = StateKeyspace.MvccLatest;
  lk.set(userKey, 1);
  if (tombstone === 1) {
    out.put(hk, TOMBSTONE_HIST_VALUE);
    out.del(lk);
    return;
  }
  const createEnd = skipVarint(value, tail);
  const versionEnd = skipVarint(value, createEnd);
  skipVarint(value, skipVarint(value, versionEnd)); // lease, value length: present
  let at = hkLen + lkLen;
  mem[at] = 0; // not a tombstone
  mem.set(value.subarray(tail, versionEnd), at + 1);
  const hv = mem.subarray(at, at + 1 + versionEnd - tail);
  at += hv.length;
  const lvAt = at;
  mem.set(value.subarray(tail, createEnd), at);
  at = writeVarint(mem, at + createEnd - tail, main);
  mem.set(value.subarray(createEnd), at);
  at += value.length - createEnd;
  out.put(hk, hv);
  // Records come in revision order: the last op on a key's latest row is its state.
  out.put(lk, mem.subarray(lvAt, at));
}

export const MVCC_SNAPSHOT_DERIVATION: SnapshotDerivation = {
  id: MVCC_SNAPSHOT_DERIVATION_ID,
  // MvccLatest and MvccKeyHistory are adjacent keyspaces: one range.
  omitted: [{ gte: Uint8Array.of(StateKeyspace.MvccLatest), lt: Uint8Array.of(StateKeyspace.MvccKeyHistory + 1) }],
  sourceKeyspace: StateKeyspace.MvccRevision,
  derive,
};
