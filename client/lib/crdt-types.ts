// The values of the regionstore.v1.Crdt service (proto/regionstore/v1/crdt_service.proto)
// as the client library hands them over, the ops it takes, and the conversions from and to
// the wire shapes proto-loader produces (camelCase, 64-bit integers as decimal strings,
// bytes as Buffers, oneofs named). Keys, values, members and payloads come back as
// Buffers (a Uint8Array with toString()); seqs, revisions and counter figures as numbers
// (checked to be exact); member ids as decimal strings, as elsewhere in the client.

import { toBuffer, type BytesLike } from './bytes.js';
import { InvalidResponseError } from './errors.js';
import { toId, toNumber, type MemberId } from './int64.js';
import type { ReadInfo } from './read-level.js';

/** A write's identity in one replica: its origin (e.g. `region:<token>`) and seq there. */
export interface Dot {
  origin: string;
  seq: number;
}

/** A hybrid logical clock time: wall ms since the epoch and a logical counter. */
export interface Hlc {
  wallMs: number;
  logical: number;
}

/** Per origin, the highest seq the namespace has merged (contiguously) from it. */
export type CrdtVector = Record<string, number>;

/** What every answer of the Crdt service carries. */
export interface CrdtAnswer {
  namespace: string;
  /** The store revision the answer was read or written at (etcd's header revision). */
  revision: number;
  vector: CrdtVector;
}

/** One event to append. `type` is the event's type (a schema name), not an op kind. */
export interface EventInput {
  /** The device the event is from (a sensor behind a gateway is a device). */
  device: string;
  type: string;
  /**
   * Bytes (a string is sent as its UTF-8 text, e.g. JSON you already have as text); any
   * other value is sent as its JSON text.
   */
  payload?: BytesLike | unknown;
  /** The device's own sequence number (gateways relay it); absent or 0: the next after the highest held. */
  seq?: number;
  /** Absent or 0: the namespace's first schema version. */
  schemaVersion?: number;
  /** Event time, ms since the epoch; absent or 0: the region's HLC wall time at the write. */
  tsMs?: number;
}

/** One op of a Write; every op of a Write belongs to one namespace. */
export type CrdtOp =
  | { op: 'lwwPut'; key: BytesLike; value: BytesLike }
  | { op: 'lwwDelete'; key: BytesLike }
  /** `context`: the token mvGet returned for the key (absent: the value becomes one more sibling). */
  | { op: 'mvPut'; key: BytesLike; value: BytesLike; context?: string }
  | { op: 'counterAdd'; key: BytesLike; delta: number }
  | { op: 'setAdd'; key: BytesLike; member: BytesLike }
  /** Removes the adds of `member` the region has observed; a concurrent add elsewhere survives. */
  | { op: 'setRemove'; key: BytesLike; member: BytesLike }
  | ({ op: 'eventAppend' } & EventInput);

/** Builders of CrdtOp, for `client.crdt.write(ns, [crdtOp.counterAdd('c/x', 1), ...])`. */
export const crdtOp = {
  lwwPut: (key: BytesLike, value: BytesLike): CrdtOp => ({ op: 'lwwPut', key, value }),
  lwwDelete: (key: BytesLike): CrdtOp => ({ op: 'lwwDelete', key }),
  mvPut: (key: BytesLike, value: BytesLike, context?: string): CrdtOp => ({ op: 'mvPut', key, value, ...(context === undefined ? {} : { context }) }),
  counterAdd: (key: BytesLike, delta: number): CrdtOp => ({ op: 'counterAdd', key, delta }),
  setAdd: (key: BytesLike, member: BytesLike): CrdtOp => ({ op: 'setAdd', key, member }),
  setRemove: (key: BytesLike, member: BytesLike): CrdtOp => ({ op: 'setRemove', key, member }),
  eventAppend: (event: EventInput): CrdtOp => ({ op: 'eventAppend', ...event }),
} as const;

/** What one op of a Write was stamped with. */
export interface CrdtOpResult {
  /** Absent for a duplicate event (nothing was written). */
  dot: Dot | undefined;
  hlc: Hlc | undefined;
  /** Event appends: the device seq the event holds (assigned when the op gave none); else 0. */
  eventSeq: number;
  /** Event appends: the same (device, seq) with the same content was already held. */
  duplicate: boolean;
}

export interface CrdtWriteResult extends CrdtAnswer {
  /** One per op, in order. */
  results: CrdtOpResult[];
  memberId: MemberId;
}

/** A single-op write: the write's answer with its one op's stamp at hand. */
export interface CrdtOpWriteResult extends CrdtWriteResult {
  dot: Dot | undefined;
  hlc: Hlc | undefined;
}

/** Per event of an append, in order. */
export interface AppendedEvent {
  seq: number;
  duplicate: boolean;
  dot: Dot | undefined;
  hlc: Hlc | undefined;
}

export interface EventsAppendResult extends CrdtAnswer {
  results: AppendedEvent[];
  memberId: MemberId;
}

/** The answer of a read: what the member said about the level it served (trailers), if anything. */
export interface CrdtReadAnswer extends CrdtAnswer {
  readInfo?: ReadInfo;
}

export interface LwwEntry {
  key: Buffer;
  value: Buffer;
  hlc: Hlc;
  /** The dot of the winning write (its origin is the writer). */
  writer: Dot;
}

export interface MvEntry {
  key: Buffer;
  /** Siblings in dot order. */
  values: Buffer[];
  dots: Dot[];
  /** The causal-context token to send back with the next mvPut of this key. */
  context: string;
}

export interface CounterEntry {
  key: Buffer;
  value: number;
  /** The sum of the increments and of the decrements (value = p - n). */
  p: number;
  n: number;
}

export interface SetEntry {
  key: Buffer;
  members: Buffer[];
}

export type CrdtEntry =
  | ({ type: 'lww' } & LwwEntry)
  | ({ type: 'mv' } & MvEntry)
  | ({ type: 'counter' } & CounterEntry)
  | ({ type: 'set' } & SetEntry);

export interface StoredEvent {
  device: string;
  seq: number;
  tsMs: number;
  type: string;
  schemaVersion: number;
  payload: Buffer;
  /** The replica that wrote it and its dot there. */
  dot: Dot | undefined;
}

export type CrdtTypeName = 'lww' | 'mv' | 'counter' | 'set' | 'events';

export interface CrdtReadResult extends CrdtReadAnswer {
  crdtType: CrdtTypeName;
  entries: CrdtEntry[];
  events: StoredEvent[];
  more: boolean;
  memberId: MemberId;
}

export interface LwwGetResult extends CrdtReadAnswer {
  key: Buffer;
  /** The value; undefined when the key holds none (never written, or deleted). */
  value: Buffer | undefined;
  hlc: Hlc | undefined;
  writer: Dot | undefined;
}

export interface LwwRangeResult extends CrdtReadAnswer {
  entries: LwwEntry[];
  more: boolean;
}

export interface MvGetResult extends CrdtReadAnswer, MvEntry {}
export interface CounterGetResult extends CrdtReadAnswer, CounterEntry {}
export interface SetMembersResult extends CrdtReadAnswer, SetEntry {}

export interface EventsScanResult extends CrdtReadAnswer {
  events: StoredEvent[];
  /** More events match than this answer holds (never with `all`). */
  more: boolean;
}

export interface SupersededRecord {
  key: Buffer;
  value: Buffer;
  tombstone: boolean;
  hlc: Hlc | undefined;
  dot: Dot | undefined;
  /** The record it lost to. */
  winner: Dot | undefined;
}

export interface SupersededResult extends CrdtReadAnswer {
  records: SupersededRecord[];
  more: boolean;
  /** Superseded records the namespace holds in all. */
  total: number;
}

export interface DeviceCompleteness {
  device: string;
  /** Every seq 1..contiguous is held. */
  contiguous: number;
  highest: number;
  held: number;
  gaps: Array<{ from: number; to: number }>;
  /** held / highest (1 when nothing is missing). */
  completeness: number;
}

export interface CompletenessResult extends CrdtReadAnswer {
  devices: DeviceCompleteness[];
  more: boolean;
  /** Over every device of the namespace: events held / events the highest seqs say should exist. */
  completeness: number;
  deviceCount: number;
  gapCount: number;
}

export interface ConflictsResult extends CrdtReadAnswer {
  keys: Array<{ key: Buffer; siblings: number }>;
  more: boolean;
  /** Keys with more than one sibling in the namespace. */
  unresolved: number;
}

export interface CrdtHashResult extends CrdtAnswer {
  hash: number;
  appliedIndex: number;
  memberId: MemberId;
}

// ---- wire shapes (what proto-loader hands over) ----

type WireU64 = string;
export interface WireDot { origin: string; seq: WireU64 }
export interface WireHlc { wallMs: WireU64; logical: number }
export interface WireAnswer { namespace: string; revision: WireU64; vector: WireDot[] }
export interface WireWriteResponse extends WireAnswer {
  results: Array<{ dot: WireDot | null; hlc: WireHlc | null; eventSeq: WireU64; duplicate: boolean }>;
  memberId: WireU64;
}
export interface WireEntry {
  key: Buffer;
  value?: 'lww' | 'mv' | 'counter' | 'set';
  lww?: { value: Buffer; hlc: WireHlc | null; writer: WireDot | null } | null;
  mv?: { values: Buffer[]; dots: WireDot[]; context: string } | null;
  counter?: { value: WireU64; p: WireU64; n: WireU64 } | null;
  set?: { members: Buffer[] } | null;
}
export interface WireStoredEvent {
  device: string; seq: WireU64; tsMs: WireU64; type: string; schemaVersion: number; payload: Buffer; dot: WireDot | null;
}
export interface WireReadResponse extends WireAnswer {
  crdtType: string; entries: WireEntry[]; events: WireStoredEvent[]; more: boolean; memberId: WireU64;
}
export interface WireSupersededResponse extends WireAnswer {
  records: Array<{ key: Buffer; value: Buffer; tombstone: boolean; hlc: WireHlc | null; dot: WireDot | null; winner: WireDot | null }>;
  more: boolean;
  total: WireU64;
}
export interface WireCompletenessResponse extends WireAnswer {
  devices: Array<{ device: string; contiguous: WireU64; highest: WireU64; held: WireU64; gaps: Array<{ from: WireU64; to: WireU64 }>; completeness: number }>;
  more: boolean;
  completeness: number;
  deviceCount: WireU64;
  gapCount: WireU64;
}
export interface WireConflictsResponse extends WireAnswer {
  keys: Array<{ key: Buffer; siblings: number }>;
  more: boolean;
  unresolved: WireU64;
}
export interface WireHashResponse extends WireAnswer { hash: number; appliedIndex: WireU64; memberId: WireU64 }

// ---- conversions ----

export function dot(d: WireDot | null | undefined): Dot | undefined {
  return d === null || d === undefined ? undefined : { origin: d.origin, seq: toNumber(d.seq, 'dot.seq') };
}

function requiredDot(d: WireDot | null | undefined, what: string): Dot {
  const x = dot(d);
  if (x === undefined) throw new InvalidResponseError(`${what} without a dot`);
  return x;
}

export function hlc(h: WireHlc | null | undefined): Hlc | undefined {
  return h === null || h === undefined ? undefined : { wallMs: toNumber(h.wallMs, 'hlc.wall_ms'), logical: h.logical };
}

export function vector(v: readonly WireDot[]): CrdtVector {
  const out: CrdtVector = {};
  for (const e of v) out[e.origin] = toNumber(e.seq, `vector[${e.origin}]`);
  return out;
}

export function answer(r: WireAnswer): CrdtAnswer {
  return { namespace: r.namespace, revision: toNumber(r.revision, 'revision'), vector: vector(r.vector) };
}

export function writeResult(r: WireWriteResponse): CrdtWriteResult {
  return {
    ...answer(r),
    memberId: toId(r.memberId),
    results: r.results.map((x) => ({ dot: dot(x.dot), hlc: hlc(x.hlc), eventSeq: toNumber(x.eventSeq, 'event_seq'), duplicate: x.duplicate })),
  };
}

export function entry(e: WireEntry): CrdtEntry {
  const key = e.key;
  if (e.lww != null) return { type: 'lww', key, value: e.lww.value, hlc: hlc(e.lww.hlc) ?? { wallMs: 0, logical: 0 }, writer: requiredDot(e.lww.writer, 'an lww value') };
  if (e.mv != null) return { type: 'mv', key, values: e.mv.values, dots: e.mv.dots.map((d) => requiredDot(d, 'an mv sibling')), context: e.mv.context };
  if (e.counter != null) {
    return { type: 'counter', key, value: toNumber(e.counter.value, 'counter.value'), p: toNumber(e.counter.p, 'counter.p'), n: toNumber(e.counter.n, 'counter.n') };
  }
  if (e.set != null) return { type: 'set', key, members: e.set.members };
  throw new InvalidResponseError(`an entry of key ${JSON.stringify(key.toString())} with no value set`);
}

export function storedEvent(e: WireStoredEvent): StoredEvent {
  return {
    device: e.device, seq: toNumber(e.seq, 'event.seq'), tsMs: toNumber(e.tsMs, 'event.ts_ms'), type: e.type,
    schemaVersion: e.schemaVersion, payload: e.payload, dot: dot(e.dot),
  };
}

const CRDT_TYPES: readonly string[] = ['lww', 'mv', 'counter', 'set', 'events'];

export function readResult(r: WireReadResponse): CrdtReadResult {
  if (!CRDT_TYPES.includes(r.crdtType)) throw new InvalidResponseError(`unknown crdt_type ${JSON.stringify(r.crdtType)}`);
  return {
    ...answer(r), crdtType: r.crdtType as CrdtTypeName, entries: r.entries.map(entry), events: r.events.map(storedEvent), more: r.more,
    memberId: toId(r.memberId),
  };
}

export function supersededResult(r: WireSupersededResponse): SupersededResult {
  return {
    ...answer(r),
    records: r.records.map((x) => ({ key: x.key, value: x.value, tombstone: x.tombstone, hlc: hlc(x.hlc), dot: dot(x.dot), winner: dot(x.winner) })),
    more: r.more,
    total: toNumber(r.total, 'total'),
  };
}

export function completenessResult(r: WireCompletenessResponse): CompletenessResult {
  return {
    ...answer(r),
    devices: r.devices.map((d) => ({
      device: d.device, contiguous: toNumber(d.contiguous, 'contiguous'), highest: toNumber(d.highest, 'highest'), held: toNumber(d.held, 'held'),
      gaps: d.gaps.map((g) => ({ from: toNumber(g.from, 'gap.from'), to: toNumber(g.to, 'gap.to') })), completeness: d.completeness,
    })),
    more: r.more,
    completeness: r.completeness,
    deviceCount: toNumber(r.deviceCount, 'device_count'),
    gapCount: toNumber(r.gapCount, 'gap_count'),
  };
}

export function conflictsResult(r: WireConflictsResponse): ConflictsResult {
  return { ...answer(r), keys: r.keys.map((k) => ({ key: k.key, siblings: k.siblings })), more: r.more, unresolved: toNumber(r.unresolved, 'unresolved') };
}

export function hashResult(r: WireHashResponse): CrdtHashResult {
  return { ...answer(r), hash: r.hash, appliedIndex: toNumber(r.appliedIndex, 'applied_index'), memberId: toId(r.memberId) };
}

/** A payload as bytes: BytesLike as given, anything else as its JSON text. */
export function payloadBytes(p: unknown): Buffer {
  if (p === undefined) return Buffer.alloc(0);
  if (typeof p === 'string' || p instanceof Uint8Array) return toBuffer(p);
  const json = JSON.stringify(p);
  if (json === undefined) throw new RangeError(`an event payload must be bytes, a string or a JSON value, got ${typeof p}`);
  return Buffer.from(json, 'utf8');
}

function wholeNumber(v: number | undefined, what: string, min: number): number {
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`${what} must be a whole number >= ${min}, got ${String(v)}`);
  return v;
}

/** An op as the wire's CrdtOp (a oneof: exactly one field set). */
export function opToWire(o: CrdtOp): Record<string, unknown> {
  switch (o.op) {
    case 'lwwPut':
      return { lwwPut: { key: toBuffer(o.key), value: toBuffer(o.value) } };
    case 'lwwDelete':
      return { lwwDelete: { key: toBuffer(o.key) } };
    case 'mvPut':
      return { mvPut: { key: toBuffer(o.key), value: toBuffer(o.value), context: o.context ?? '' } };
    case 'counterAdd':
      if (!Number.isSafeInteger(o.delta)) throw new RangeError(`a counter delta must be a whole number, got ${String(o.delta)}`);
      return { counterAdd: { key: toBuffer(o.key), delta: String(o.delta) } };
    case 'setAdd':
      return { setAdd: { key: toBuffer(o.key), member: toBuffer(o.member) } };
    case 'setRemove':
      return { setRemove: { key: toBuffer(o.key), member: toBuffer(o.member) } };
    case 'eventAppend':
      return {
        eventAppend: {
          device: o.device, type: o.type, payload: payloadBytes(o.payload), seq: String(wholeNumber(o.seq, 'an event seq', 0)),
          schemaVersion: wholeNumber(o.schemaVersion, 'an event schema version', 0), tsMs: String(wholeNumber(o.tsMs, 'an event ts_ms', 0)),
        },
      };
    default:
      throw new RangeError(`unknown CRDT op ${JSON.stringify((o as { op: unknown }).op)}`);
  }
}
