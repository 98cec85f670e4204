// How the store lays out its state in the `state/` engine (keyspaces reserved in
// server/storage/keys.ts):
//   MvccRevision  [0x12][u64 main][u32 sub] → a kv record (put or tombstone), so
//                 iterating the keyspace is iterating history in revision order;
//   Lease         [0x13][u64 id]            → ttl, checkpointed remaining ttl;
//   Dedupe        [0x16][utf8 client id]    → last seq, its log index, its answer;
//   Meta          mvcc-revision, mvcc-compacted, applied-index (u64 values).
// The key index (live kvs, each key's history, keys per lease) has keyspaces of its own:
// kv-layout.ts. open() reads no revision record.

import { BinReader, BinWriter, type ByteArena } from './bin.js';
import { crc32 } from './crc32.js';
import type { KeyValue } from './types.js';
import {
  StateKeyspace, concatBytes, decodeU64, encodeU64, numberKey, numberOfKey, stateMetaKey, U64_BYTES, writeU64,
} from '../storage/keys.js';

export { STATE_APPLIED_INDEX_KEY } from '../storage/keys.js';
export const META_REVISION_KEY = stateMetaKey('mvcc-revision');
export const META_COMPACTED_KEY = stateMetaKey('mvcc-compacted');
/** The sum (mod 2^32) of recordHash over every revision record in the engine, written with
 *  every batch that adds or removes records: HashKV at the current revision reads it
 *  instead of every record (store.ts hashKV). */
export const META_HASH_SUM_KEY = stateMetaKey('mvcc-hash-sum');

const REV_KEY_BYTES = 1 + U64_BYTES + 4;

export function revKey(main: number, sub: number): Uint8Array {
  const key = new Uint8Array(REV_KEY_BYTES);
  key[0] = StateKeyspace.MvccRevision;
  writeU64(key, 1, main);
  new DataView(key.buffer).setUint32(1 + U64_BYTES, sub);
  return key;
}

export function parseRevKey(key: Uint8Array): { main: number; sub: number } {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return { main: decodeU64(key, 1), sub: view.getUint32(1 + U64_BYTES) };
}

/** One revision record's share of the hash sum: CRC-32 of its engine key then its value,
 *  so a record that differs in revision, key, metadata or value changes the sum. */
export function recordHash(engineKey: Uint8Array, value: Uint8Array): number {
  return crc32(value, crc32(engineKey));
}

/** a + b and a - b in the hash sum's ring (mod 2^32). */
export function addHash(sum: number, h: number): number {
  return (sum + h) >>> 0;
}

export function subHash(sum: number, h: number): number {
  return (sum - h) >>> 0;
}

/** A revision record: the kv as written at its revision, or a tombstone (deleted there). */
export interface KvRecord extends KeyValue {
  tombstone: boolean;
}

/** `arena`: where the bytes go when they die with the apply batch (bin.ts ByteArena). */
export function encodeRecord(r: KvRecord, arena?: ByteArena): Uint8Array {
  const w = new BinWriter().bool(r.tombstone).bytes(r.key);
  if (!r.tombstone) w.uint(r.createRevision).uint(r.version).uint(r.lease).bytes(r.value);
  return w.finish(arena);
}

/** `main` comes from the record's engine key; the value does not repeat it. */
export function decodeRecord(bytes: Uint8Array, main: number): KvRecord {
  const rd = new BinReader(bytes);
  const tombstone = rd.bool();
  const key = rd.bytes();
  if (tombstone) return { key, value: EMPTY, createRevision: 0, modRevision: main, version: 0, lease: 0, tombstone };
  const createRevision = rd.uint();
  const version = rd.uint();
  const lease = rd.uint();
  return { key, value: rd.bytes(), createRevision, modRevision: main, version, lease, tombstone };
}

const EMPTY = new Uint8Array(0);

export function leaseKey(id: number): Uint8Array {
  return numberKey(StateKeyspace.Lease, id);
}

export function leaseIdOfKey(key: Uint8Array): number {
  return numberOfKey(StateKeyspace.Lease, key);
}

export interface LeaseRecord {
  ttl: number;
  /** Remaining seconds at the last checkpoint; 0 when never checkpointed. */
  remainingTtl: number;
}

export function encodeLease(l: LeaseRecord): Uint8Array {
  return new BinWriter().uint(l.ttl).uint(l.remainingTtl).finish();
}

export function decodeLease(bytes: Uint8Array): LeaseRecord {
  const r = new BinReader(bytes);
  return { ttl: r.uint(), remainingTtl: r.uint() };
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export function dedupeKey(clientId: string): Uint8Array {
  return concatBytes(Uint8Array.of(StateKeyspace.Dedupe), utf8.encode(clientId));
}

export function clientIdOfKey(key: Uint8Array): string {
  return utf8Decoder.decode(key.subarray(1));
}

export interface DedupeRecord {
  seq: number;
  /** Log index that applied `seq`: eviction order (oldest first), same on every member. */
  index: number;
  response: Uint8Array;
}

export function encodeDedupe(d: DedupeRecord): Uint8Array {
  return new BinWriter().uint(d.seq).uint(d.index).bytes(d.response).finish();
}

export function decodeDedupe(bytes: Uint8Array): DedupeRecord {
  const r = new BinReader(bytes);
  return { seq: r.uint(), index: r.uint(), response: r.bytes().slice() };
}

export { encodeU64, decodeU64 };
