// Encoding of CRDT delta pages as proto/regionstore/v1/crdt.proto describes them. Written
// against protobufjs' Reader/Writer (no reflection) because every synced record goes through
// it; crdt-codec.test.ts checks it against the .proto through reflection and pins the bytes.

import protobuf from 'protobufjs/minimal.js';
import type { Body, CrdtKind, CrdtRecord, DeltaPage, PageRange } from '../server/crdt/index.js';

const { Reader, Writer } = protobuf;
type Reader = protobuf.Reader;
type Writer = protobuf.Writer;

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const KIND_NUMBER: Record<CrdtKind, number> = { lww: 1, mv: 2, counter: 3, set: 4, events: 5 };
const KIND_OF = new Map(Object.entries(KIND_NUMBER).map(([k, n]) => [n, k as CrdtKind]));

const EMPTY = new Uint8Array(0);

/** A record being decoded: its origin and seq are set once its run is read. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const tag = (field: number, wire: number): number => ((field << 3) | wire) >>> 0;

function num(v: unknown): number {
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

function putU64(w: Writer, field: number, v: number): void {
  if (v !== 0) w.uint32(tag(field, WIRE_VARINT)).uint64(v);
}
function putS64(w: Writer, field: number, v: number): void {
  if (v !== 0) w.uint32(tag(field, WIRE_VARINT)).sint64(v);
}
function putStr(w: Writer, field: number, v: string): void {
  if (v !== '') w.uint32(tag(field, WIRE_BYTES)).string(v);
}
function putBytes(w: Writer, field: number, v: Uint8Array): void {
  if (v.length > 0) w.uint32(tag(field, WIRE_BYTES)).bytes(v);
}
function putBool(w: Writer, field: number, v: boolean): void {
  if (v) w.uint32(tag(field, WIRE_VARINT)).bool(true);
}
function putVector(w: Writer, field: number, entries: Iterable<readonly [string, number]>): void {
  for (const [o, s] of entries) {
    w.uint32(tag(field, WIRE_BYTES)).fork();
    putStr(w, 1, o);
    putU64(w, 2, s);
    w.ldelim();
  }
}

class Dictionary {
  readonly words: string[] = [];
  private readonly index = new Map<string, number>();
  id(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.words.length;
      this.words.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

function writeBody(w: Writer, r: CrdtRecord, dict: Dictionary): void {
  switch (r.kind) {
    case 'lww':
      w.uint32(tag(4, WIRE_BYTES)).fork();
      putBytes(w, 1, r.key);
      putBytes(w, 2, r.value ?? EMPTY);
      putBool(w, 3, r.value === null);
      break;
    case 'mv':
      w.uint32(tag(5, WIRE_BYTES)).fork();
      putBytes(w, 1, r.key);
      putBytes(w, 2, r.value);
      putVector(w, 3, Object.entries(r.context).sort(([a], [b]) => (a < b ? -1 : 1)));
      break;
    case 'counter':
      w.uint32(tag(6, WIRE_BYTES)).fork();
      putBytes(w, 1, r.key);
      putU64(w, 2, r.p);
      putU64(w, 3, r.n);
      break;
    case 'set':
      w.uint32(tag(7, WIRE_BYTES)).fork();
      putBytes(w, 1, r.key);
      putBytes(w, 2, r.elem);
      putBool(w, 3, r.op === 'remove');
      if (r.op === 'remove') putVector(w, 4, r.removed.map((d) => [d.origin, d.seq] as const));
      break;
    case 'events':
      w.uint32(tag(8, WIRE_BYTES)).fork();
      // Index 0 is written as absent; a present field 1 with value 0 would cost 2 bytes.
      if (dict.id(r.deviceId) !== 0) w.uint32(tag(1, WIRE_VARINT)).uint32(dict.id(r.deviceId));
      putU64(w, 2, r.deviceSeq);
      putS64(w, 3, r.ts - r.hlc.wall);
      if (dict.id(r.type) !== 0) w.uint32(tag(4, WIRE_VARINT)).uint32(dict.id(r.type));
      putBytes(w, 5, r.payload);
      // Field 6 (added for issue 14): without it a replica stores a received event as schema 0.
      if (r.schemaVersion !== undefined && r.schemaVersion !== 0) w.uint32(tag(6, WIRE_VARINT)).uint32(r.schemaVersion);
      break;
  }
  w.ldelim();
}

export function encodeDeltaPage(kind: CrdtKind, page: DeltaPage): Uint8Array {
  const dict = new Dictionary();
  const baseWall = page.records[0]?.hlc.wall ?? 0;
  // Records first (into their own writer) so the dictionary is complete before it is written.
  const runs = Writer.create();
  let wall = baseWall;
  let next = 0;
  for (const g of page.ranges) {
    runs.uint32(tag(4, WIRE_BYTES)).fork();
    putStr(runs, 1, g.origin);
    putU64(runs, 2, g.from);
    putU64(runs, 3, g.to);
    let seq = g.from - 1;
    while (next < page.records.length && page.records[next]!.origin === g.origin) {
      const r = page.records[next++]!;
      runs.uint32(tag(4, WIRE_BYTES)).fork();
      putU64(runs, 1, r.seq - seq);
      putS64(runs, 2, r.hlc.wall - wall);
      if (r.hlc.logical !== 0) runs.uint32(tag(3, WIRE_VARINT)).uint32(r.hlc.logical);
      writeBody(runs, r, dict);
      runs.ldelim();
      seq = r.seq;
      wall = r.hlc.wall;
    }
    runs.ldelim();
  }
  if (next !== page.records.length) throw new Error(`delta page: record ${next} is outside the ranges, in origin order`);
  const w = Writer.create();
  putU64(w, 1, KIND_NUMBER[kind]);
  putU64(w, 2, baseWall);
  for (const s of dict.words) w.uint32(tag(3, WIRE_BYTES)).string(s);
  const head = w.finish();
  const body = runs.finish();
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** Walks the fields of one message, calling `on(field, wire)`; unknown fields are skipped. */
function fields(r: Reader, end: number, on: (field: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const t = r.uint32();
    if (!on(t >>> 3, t & 7)) r.skipType(t & 7);
  }
}

function readVector(r: Reader): [string, number] {
  const end = r.uint32() + r.pos;
  let origin = '';
  let seq = 0;
  fields(r, end, (f) => {
    if (f === 1) origin = r.string();
    else if (f === 2) seq = num(r.uint64());
    else return false;
    return true;
  });
  return [origin, seq];
}



function readBody(r: Reader, field: number, dict: readonly string[], wall: number): Body {
  const end = r.uint32() + r.pos;
  const s: Record<number, unknown> = {};
  const vec: Array<[string, number]> = [];
  const vecField = field === 5 ? 3 : field === 7 ? 4 : -1;
  fields(r, end, (f, wire) => {
    if (f === vecField) vec.push(readVector(r));
    // Every length-delimited body field but the vectors is bytes (map keys, values, elements, payloads).
    else if (wire === WIRE_BYTES) s[f] = r.bytes();
    else if (field === 8 && f === 3) s[f] = num(r.sint64());
    else if (wire === WIRE_VARINT) s[f] = num(r.uint64());
    else return false;
    return true;
  });
  const n = (f: number): number => (s[f] as number | undefined) ?? 0;
  // A plain Uint8Array copy: protobufjs' Reader.bytes() may be a Buffer view into the page.
  const bin = (f: number): Uint8Array => new Uint8Array((s[f] as Uint8Array | undefined) ?? EMPTY);
  switch (field) {
    case 4:
      return { kind: 'lww', key: bin(1), value: n(3) ? null : bin(2) };
    case 5:
      return { kind: 'mv', key: bin(1), value: bin(2), context: Object.fromEntries(vec) };
    case 6:
      return { kind: 'counter', key: bin(1), p: n(2), n: n(3) };
    case 7:
      return n(3)
        ? { kind: 'set', key: bin(1), elem: bin(2), op: 'remove', removed: vec.map(([origin, seq]) => ({ origin, seq })) }
        : { kind: 'set', key: bin(1), elem: bin(2), op: 'add' };
    default: {
      const word = (i: number): string => {
        const v = dict[i];
        if (v === undefined) throw new Error(`delta page: dictionary index ${i} out of range (${dict.length} words)`);
        return v;
      };
      const schemaVersion = n(6);
      return { kind: 'events', deviceId: word(n(1)), deviceSeq: n(2), ts: wall + n(3), type: word(n(4)), payload: bin(5), ...(schemaVersion !== 0 ? { schemaVersion } : {}) };
    }
  }
}

export function decodeDeltaPage(bytes: Uint8Array): { kind: CrdtKind; page: DeltaPage } {
  const r = Reader.create(bytes);
  let kindNo = 0;
  let wall = 0;
  const dict: string[] = [];
  const ranges: PageRange[] = [];
  const records: CrdtRecord[] = [];
  // Runs refer to dictionary words that precede them (encodeDeltaPage writes them first).
  fields(r, bytes.length, (f) => {
    if (f === 1) kindNo = r.uint32();
    else if (f === 2) wall = num(r.uint64());
    else if (f === 3) dict.push(r.string());
    else if (f === 4) wall = readRun(r, dict, wall, ranges, records);
    else return false;
    return true;
  });
  const kind = KIND_OF.get(kindNo);
  if (kind === undefined) throw new Error(`delta page: unknown CRDT kind ${kindNo}`);
  return { kind, page: { ranges, records } };
}

/**
 * A varint as a number: protobufjs' uint64() builds a Long (or LongBits) per call, and a
 * page's records have several each. Exact up to 2^53, like num() of the Long.
 */
function varNum(r: Reader): number {
  const buf = r.buf;
  let pos = r.pos;
  if (pos >= r.len) throw new RangeError('delta page: truncated varint');
  let b = buf[pos++]!;
  let v = b & 0x7f;
  let mul = 0x80;
  while (b >= 0x80) {
    if (pos >= r.len || mul > 2 ** 63) throw new RangeError('delta page: bad varint');
    b = buf[pos++]!;
    v += (b & 0x7f) * mul;
    mul *= 0x80;
  }
  r.pos = pos;
  return v;
}

/** A zigzag varint (sint64) as a number. */
function zigzagNum(r: Reader): number {
  const n = varNum(r);
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/** The stamp of a record until readRun sets it. */
const NO_HLC = { wall: 0, logical: 0 };

/** Bytes copied by a loop rather than through a view of the page. */
const SMALL_COPY_BYTES = 64;

/** Bytes field contents as their own plain Uint8Array (not a view into the page). */
function ownBytes(r: Reader): Uint8Array {
  const n = r.uint32();
  const start = r.pos;
  if (start + n > r.len) throw new RangeError('delta page: truncated bytes');
  r.pos = start + n;
  const out = new Uint8Array(n);
  const buf = r.buf;
  // Payloads are small: a loop, not a Buffer view to copy from.
  if (n <= SMALL_COPY_BYTES) for (let i = 0; i < n; i++) out[i] = buf[start + i]!;
  else out.set(buf.subarray(start, start + n));
  return out;
}

/**
 * An events body (field 8), as readBody reads it, without its per-field closure and record
 * of fields: an edge's bulk upload is thousands of events per page, decoded by the leader.
 */
function readEventBody(r: Reader, dict: readonly string[], wall: number): Mutable<CrdtRecord> {
  const end = r.uint32() + r.pos;
  let device = 0;
  let deviceSeq = 0;
  let tsDelta = 0;
  let type = 0;
  let payload: Uint8Array = EMPTY;
  let schemaVersion = 0;
  while (r.pos < end) {
    const t = r.uint32();
    const f = t >>> 3;
    const wire = t & 7;
    if (wire === WIRE_BYTES && f === 5) payload = ownBytes(r);
    else if (wire !== WIRE_VARINT) r.skipType(wire);
    else if (f === 1) device = varNum(r);
    else if (f === 2) deviceSeq = varNum(r);
    else if (f === 3) tsDelta = zigzagNum(r);
    else if (f === 4) type = varNum(r);
    else if (f === 6) schemaVersion = varNum(r);
    else r.skipType(wire);
  }
  const deviceId = dict[device];
  const typeWord = dict[type];
  if (deviceId === undefined) throw new Error(`delta page: dictionary index ${device} out of range (${dict.length} words)`);
  if (typeWord === undefined) throw new Error(`delta page: dictionary index ${type} out of range (${dict.length} words)`);
  // The whole record at once (its origin, seq and stamp are set by readRun): a spread of a
  // body into a record was most of a small event's decoding.
  return schemaVersion !== 0
    ? { kind: 'events', deviceId, deviceSeq, ts: wall + tsDelta, type: typeWord, payload, schemaVersion, origin: '', seq: 0, hlc: NO_HLC }
    : { kind: 'events', deviceId, deviceSeq, ts: wall + tsDelta, type: typeWord, payload, origin: '', seq: 0, hlc: NO_HLC };
}

function readRun(r: Reader, dict: readonly string[], wallIn: number, ranges: PageRange[], records: CrdtRecord[]): number {
  const end = r.uint32() + r.pos;
  let origin = '';
  let from = 0;
  let to = 0;
  let wall = wallIn;
  // The run's records get their origin and seq once the run is read (its fields may come in
  // any order); until then `seq` holds the record's seq delta.
  const first = records.length;
  while (r.pos < end) {
    const t = r.uint32();
    const f = t >>> 3;
    if (f === 1) origin = r.string();
    else if (f === 2) from = varNum(r);
    else if (f === 3) to = varNum(r);
    else if (f === 4) {
      const recEnd = r.uint32() + r.pos;
      let seqDelta = 0;
      let logical = 0;
      let wallDelta = 0;
      let body: Body | undefined;
      let event: Mutable<CrdtRecord> | undefined;
      while (r.pos < recEnd) {
        const rt = r.uint32();
        const rf = rt >>> 3;
        if (rf === 1) seqDelta = varNum(r);
        else if (rf === 2) wallDelta = zigzagNum(r);
        else if (rf === 3) logical = r.uint32();
        else if (rf === 8) event = readEventBody(r, dict, wall + wallDelta);
        else if (rf >= 4 && rf <= 7) body = readBody(r, rf, dict, wall + wallDelta);
        else r.skipType(rt & 7);
      }
      wall += wallDelta;
      if (body !== undefined) records.push({ ...body, origin: '', seq: seqDelta, hlc: { wall, logical } } as CrdtRecord);
      else if (event !== undefined) {
        event.seq = seqDelta;
        event.hlc = { wall, logical };
        records.push(event as CrdtRecord);
      } else throw new Error('delta page: a record without a body');
    } else r.skipType(t & 7);
  }
  let seq = from - 1;
  for (let i = first; i < records.length; i++) {
    const rec = records[i] as Mutable<CrdtRecord>;
    seq += rec.seq;
    rec.origin = origin;
    rec.seq = seq;
  }
  ranges.push({ origin, from, to });
  return wall;
}
