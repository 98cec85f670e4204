// Bytes of the eventual store: records (the index and superseded values), per-key states,
// events, device summaries, the namespace record, and the Raft entry bodies and answers.
// BinWriter/BinReader (server/mvcc): varints, length-prefixed bytes, no JSON on the apply path.

import {
  VersionVector, type CounterRecord, type CrdtKind, type CrdtRecord, type Dot, type EventRecord, type Hlc,
  type LwwRecord, type MvKeyState, type MvRecord, type SetAddRecord, type SetCloudEntry,
} from '../crdt/index.js';
import { BinReader, BinWriter } from '../mvcc/index.js';

const KIND_TAG: Record<CrdtKind, number> = { lww: 1, mv: 2, counter: 3, set: 4, events: 5 };
const TAG_KIND: CrdtKind[] = ['lww', 'lww', 'mv', 'counter', 'set', 'events'];
/** The first byte of an encoded set key state (encodeKeyState). */
export const SET_STATE_TAG = KIND_TAG.set;

function writeHlc(w: BinWriter, h: Hlc): void {
  w.uint(h.wall).uint(h.logical);
}

function readHlc(r: BinReader): Hlc {
  return { wall: r.uint(), logical: r.uint() };
}

/**
 * A vector's entries in origin order. A Map of at most one origin (most namespace records: the
 * region's own writes) is written as it is, with no entry arrays and no sort (the same bytes).
 */
export function writeVector(w: BinWriter, entries: Iterable<readonly [string, number]> | ReadonlyMap<string, number>): void {
  if (entries instanceof Map && entries.size <= 1) {
    w.uint(entries.size);
    entries.forEach((seq: number, origin: string) => w.string(origin).uint(seq));
    return;
  }
  const list = [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  w.uint(list.length);
  for (const [o, s] of list) w.string(o).uint(s);
}

export function readVector(r: BinReader): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (let n = r.uint(); n > 0; n--) out.push([r.string(), r.uint()]);
  return out;
}

// ---- records (one write each)

export function writeRecord(w: BinWriter, rec: CrdtRecord): void {
  w.byte(KIND_TAG[rec.kind]).string(rec.origin).uint(rec.seq);
  writeHlc(w, rec.hlc);
  switch (rec.kind) {
    case 'lww':
      w.bytes(rec.key).bool(rec.value === null);
      if (rec.value !== null) w.bytes(rec.value);
      break;
    case 'mv':
      w.bytes(rec.key).bytes(rec.value);
      writeVector(w, Object.entries(rec.context));
      break;
    case 'counter': w.bytes(rec.key).uint(rec.p).uint(rec.n); break;
    case 'set':
      w.bytes(rec.key).bytes(rec.elem).bool(rec.op === 'remove');
      if (rec.op === 'remove') {
        w.uint(rec.removed.length);
        for (const d of rec.removed) w.string(d.origin).uint(d.seq);
      }
      break;
    case 'events':
      w.string(rec.deviceId).uint(rec.deviceSeq).int(rec.ts).string(rec.type).uint(rec.schemaVersion ?? 0).bytes(rec.payload);
      break;
  }
}

export function readRecord(r: BinReader): CrdtRecord {
  const kind = TAG_KIND[r.byte()];
  const origin = r.string();
  const seq = r.uint();
  const hlc = readHlc(r);
  switch (kind) {
    case 'lww': {
      const key = r.bytes().slice();
      const value = r.bool() ? null : r.bytes().slice();
      return { kind, origin, seq, hlc, key, value };
    }
    case 'mv': {
      const key = r.bytes().slice();
      const value = r.bytes().slice();
      return { kind, origin, seq, hlc, key, value, context: Object.fromEntries(readVector(r)) };
    }
    case 'counter': return { kind, origin, seq, hlc, key: r.bytes().slice(), p: r.uint(), n: r.uint() };
    case 'set': {
      const key = r.bytes().slice();
      const elem = r.bytes().slice();
      if (!r.bool()) return { kind, origin, seq, hlc, key, elem, op: 'add' };
      const removed: Dot[] = [];
      for (let n = r.uint(); n > 0; n--) removed.push({ origin: r.string(), seq: r.uint() });
      return { kind, origin, seq, hlc, key, elem, op: 'remove', removed };
    }
    case 'events': {
      const deviceId = r.string();
      const deviceSeq = r.uint();
      const ts = r.int();
      const type = r.string();
      const schemaVersion = r.uint();
      return { kind, origin, seq, hlc, deviceId, deviceSeq, ts, type, schemaVersion, payload: r.bytes().slice() };
    }
    default: throw new Error('eventual store: unknown record kind');
  }
}

export function encodeRecord(rec: CrdtRecord): Uint8Array {
  const w = new BinWriter();
  writeRecord(w, rec);
  return w.finish();
}

export function decodeRecord(bytes: Uint8Array): CrdtRecord {
  return readRecord(new BinReader(bytes));
}

/** A superseded lww record and the dot it lost to. */
export function encodeSuperseded(rec: LwwRecord, winner: Dot): Uint8Array {
  const w = new BinWriter();
  writeRecord(w, rec);
  w.string(winner.origin).uint(winner.seq);
  return w.finish();
}

export function decodeSuperseded(bytes: Uint8Array): { rec: LwwRecord; winner: Dot } {
  const r = new BinReader(bytes);
  const rec = readRecord(r) as LwwRecord;
  return { rec, winner: { origin: r.string(), seq: r.uint() } };
}

// ---- the index of live records by dot

const IndexTag = { key: 1, event: 2, record: 3 } as const;

/**
 * Where a live record is: most are the current state of a key (its key, to look the record
 * up there) or a held event (device, seq); a set remove and an event that lost a contested
 * (device, seq) live nowhere else, so the index holds them whole.
 */
export type IndexEntry =
  | { where: 'key'; key: Uint8Array }
  | { where: 'event'; device: string; seq: number }
  | { where: 'record'; record: CrdtRecord };

export function encodeIndex(e: IndexEntry): Uint8Array {
  if (e.where === 'key') return encodeKeyIndex(e.key);
  const w = new BinWriter().byte(IndexTag[e.where]);
  if (e.where === 'event') w.string(e.device).uint(e.seq);
  else writeRecord(w, e.record);
  return w.finish();
}

/** Largest key length whose varint is one byte (BinWriter.bytes' length prefix). */
const ONE_BYTE_VARINT_MAX = 0x7f;

/**
 * encodeIndex of { where: 'key', key } (the entry of most records, one per lww write): the
 * same bytes, built straight into one array for keys under 128 bytes.
 */
export function encodeKeyIndex(key: Uint8Array): Uint8Array {
  if (key.length > ONE_BYTE_VARINT_MAX) return new BinWriter().byte(IndexTag.key).bytes(key).finish();
  const out = new Uint8Array(2 + key.length);
  out[0] = IndexTag.key;
  out[1] = key.length;
  out.set(key, 2);
  return out;
}

export function decodeIndex(bytes: Uint8Array): IndexEntry {
  const r = new BinReader(bytes);
  const tag = r.byte();
  if (tag === IndexTag.key) return { where: 'key', key: r.bytes().slice() };
  if (tag === IndexTag.event) return { where: 'event', device: r.string(), seq: r.uint() };
  return { where: 'record', record: readRecord(r) };
}

// ---- per-key states

export interface SetKeyState {
  /** bytesKey(elem) → its add records (dot order). */
  readonly elems: Map<string, SetAddRecord[]>;
  readonly cloud: SetCloudEntry[];
}

/**
 * An lww key's winner as its state holds it: dot, HLC, tombstone, and the mvcc revision of
 * its projection. The value is NOT repeated here (format 2): the key's mvcc row holds it,
 * written at `revision` (a winner is always projected, a tombstone as a delete), so a put
 * writes its value into the state keyspace no more. A state written before (format 1, the
 * whole record) decodes with `value` set and revision 0: old data dirs open unchanged, and
 * their states move to format 2 as their keys are written.
 */
export interface LwwWinner {
  readonly origin: string;
  readonly seq: number;
  readonly hlc: Hlc;
  readonly tombstone: boolean;
  /** The mvcc revision of the winner's projection (0: a format-1 state, `value` holds it). */
  readonly revision: number;
  /** Format 1 only: the value stored with the winner (null: a tombstone). */
  readonly value?: Uint8Array | null;
}

/** The key-state tag of a format-2 lww state (KIND_TAG.lww, 1, is the whole-record format 1). */
const LWW_SLIM_TAG = 6;

export type KeyState =
  | { kind: 'lww'; winner: LwwWinner }
  | { kind: 'mv'; state: MvKeyState }
  | { kind: 'counter'; entries: CounterRecord[] }
  | { kind: 'set'; state: SetKeyState };

function writeLwwWinner(w: BinWriter, x: LwwWinner, revision: number): void {
  w.byte(LWW_SLIM_TAG).string(x.origin).uint(x.seq);
  writeHlc(w, x.hlc);
  w.bool(x.tombstone).uint(revision);
}

/** A format-1 lww state's record as a winner. */
function winnerOfRecord(r: LwwRecord): LwwWinner {
  return { origin: r.origin, seq: r.seq, hlc: r.hlc, tombstone: r.value === null, revision: 0, value: r.value };
}

/** The record of an lww winner whose value is known (`value`: the mvcc row's, or the state's). */
export function lwwRecordOf(key: Uint8Array, x: LwwWinner, value: Uint8Array | null): LwwRecord {
  return { kind: 'lww', origin: x.origin, seq: x.seq, hlc: x.hlc, key, value: x.tombstone ? null : value };
}

/**
 * A key state's bytes as CrdtHash hashes them: an lww state (either format) as its dot, HLC
 * and tombstone only, so replicas hash equal whatever their mvcc revisions (a region's and an
 * edge's differ) and whichever format wrote it; the value is fixed by the dot (one write
 * each). Other states as stored.
 */
export function keyStateHashForm(bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== LWW_SLIM_TAG && bytes[0] !== KIND_TAG.lww) return bytes;
  const s = decodeKeyState(bytes);
  if (s.kind !== 'lww') return bytes;
  const w = new BinWriter();
  writeLwwWinner(w, s.winner, 0);
  return w.finish();
}

export function encodeKeyState(s: KeyState): Uint8Array {
  if (s.kind === 'lww') {
    const w = new BinWriter();
    writeLwwWinner(w, s.winner, s.winner.revision);
    return w.finish();
  }
  const w = new BinWriter().byte(KIND_TAG[s.kind]);
  switch (s.kind) {
    case 'mv':
      writeVector(w, s.state.covered.entries());
      w.uint(s.state.siblings.length);
      for (const x of s.state.siblings) writeRecord(w, x);
      break;
    case 'counter':
      w.uint(s.entries.length);
      for (const x of s.entries) writeRecord(w, x);
      break;
    case 'set': {
      const elems = [...s.state.elems.keys()].sort();
      w.uint(elems.length);
      for (const e of elems) {
        const adds = s.state.elems.get(e)!;
        w.uint(adds.length);
        for (const a of adds) writeRecord(w, a);
      }
      w.uint(s.state.cloud.length);
      for (const c of s.state.cloud) w.string(c.elem).string(c.dot.origin).uint(c.dot.seq);
      break;
    }
  }
  return w.finish();
}

export function decodeKeyState(bytes: Uint8Array): KeyState {
  const r = new BinReader(bytes);
  const tag = r.byte();
  if (tag === LWW_SLIM_TAG) {
    const origin = r.string();
    const seq = r.uint();
    const hlc = readHlc(r);
    return { kind: 'lww', winner: { origin, seq, hlc, tombstone: r.bool(), revision: r.uint() } };
  }
  const kind = TAG_KIND[tag];
  switch (kind) {
    case 'lww': return { kind, winner: winnerOfRecord(readRecord(r) as LwwRecord) };
    case 'mv': {
      const covered = VersionVector.from(readVector(r));
      const siblings: MvRecord[] = [];
      for (let n = r.uint(); n > 0; n--) siblings.push(readRecord(r) as MvRecord);
      return { kind, state: { covered, siblings } };
    }
    case 'counter': {
      const entries: CounterRecord[] = [];
      for (let n = r.uint(); n > 0; n--) entries.push(readRecord(r) as CounterRecord);
      return { kind, entries };
    }
    case 'set': {
      const elems = new Map<string, SetAddRecord[]>();
      for (let n = r.uint(); n > 0; n--) {
        const adds: SetAddRecord[] = [];
        for (let m = r.uint(); m > 0; m--) adds.push(readRecord(r) as SetAddRecord);
        if (adds.length > 0) elems.set(latin1(adds[0]!.elem), adds);
      }
      const cloud: SetCloudEntry[] = [];
      for (let n = r.uint(); n > 0; n--) cloud.push({ elem: r.string(), dot: { origin: r.string(), seq: r.uint() } });
      return { kind, state: { elems, cloud } };
    }
    default: throw new Error('eventual store: unknown key state kind');
  }
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

// ---- events and devices

export function encodeEvent(e: EventRecord): Uint8Array {
  return encodeRecord(e);
}

export function decodeEvent(bytes: Uint8Array): EventRecord {
  return decodeRecord(bytes) as EventRecord;
}

/** Per device: the highest seq seen, how many are held, the missing ranges (inclusive). */
export interface DeviceSummary {
  highest: number;
  held: number;
  gaps: Array<[number, number]>;
}

export function encodeDevice(d: DeviceSummary): Uint8Array {
  const w = new BinWriter().uint(d.highest).uint(d.held).uint(d.gaps.length);
  for (const [a, b] of d.gaps) w.uint(a).uint(b);
  return w.finish();
}

export function decodeDevice(bytes: Uint8Array): DeviceSummary {
  const r = new BinReader(bytes);
  const highest = r.uint();
  const held = r.uint();
  const gaps: Array<[number, number]> = [];
  for (let n = r.uint(); n > 0; n--) gaps.push([r.uint(), r.uint()]);
  return { highest, held, gaps };
}

// ---- the namespace record

/** Running counts of a namespace, kept in the state so metrics and answers never scan. */
export interface NsCounts {
  /** lww losers held. */
  superseded: number;
  /** mv keys with more than one sibling. */
  unresolved: number;
  devices: number;
  /** Events held, and the sum over devices of the highest seq (completeness = held / highest). */
  eventsHeld: number;
  eventsHighest: number;
  gaps: number;
}

export const ZERO_COUNTS: Readonly<NsCounts> = { superseded: 0, unresolved: 0, devices: 0, eventsHeld: 0, eventsHighest: 0, gaps: 0 };

export interface NsRecord {
  vector: Map<string, number>;
  counts: NsCounts;
  /**
   * The highest stamp of any record merged into the namespace (absent: none yet, or written
   * before it was kept). Local writes follow it when the replica's shared HLC is further ahead
   * than this namespace's max_clock_skew_ms (apply.ts stamp). Not hashed: replicas holding
   * the same records may have seen them in different orders and stamps of other work.
   * Present as undefined rather than absent, so every record has one shape (a copy per batch
   * is built as a literal: work.ts record()).
   */
  top: Hlc | undefined;
}

/** A copy of `c` the caller may change (a literal: one shape, no spread). */
export function copyCounts(c: Readonly<NsCounts>): NsCounts {
  return { superseded: c.superseded, unresolved: c.unresolved, devices: c.devices, eventsHeld: c.eventsHeld, eventsHighest: c.eventsHighest, gaps: c.gaps };
}

export function encodeNsRecord(n: NsRecord): Uint8Array {
  const w = new BinWriter();
  writeVector(w, n.vector);
  const c = n.counts;
  w.uint(c.superseded).uint(c.unresolved).uint(c.devices).uint(c.eventsHeld).uint(c.eventsHighest).uint(c.gaps);
  if (n.top !== undefined) writeHlc(w, n.top);
  return w.finish();
}

export function decodeNsRecord(bytes: Uint8Array): NsRecord {
  const r = new BinReader(bytes);
  const vector = new Map(readVector(r));
  const counts = { superseded: r.uint(), unresolved: r.uint(), devices: r.uint(), eventsHeld: r.uint(), eventsHighest: r.uint(), gaps: r.uint() };
  return { vector, counts, top: r.done ? undefined : readHlc(r) };
}

export function encodeHlcValue(h: Hlc): Uint8Array {
  const w = new BinWriter();
  writeHlc(w, h);
  return w.finish();
}

export function decodeHlcValue(bytes: Uint8Array): Hlc {
  return readHlc(new BinReader(bytes));
}
