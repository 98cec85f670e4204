// A hand-written codec for Crdt.Write on the client side (issue 13: the client library's
// lww put should cost no more than a put). proto-loader's generic path cost a Write's client
// ~20 µs/op more than a Put's (docs/probe-issue13-lww-write.md): fromObject + encode of the
// op objects, decode + toObject of the answer with 64-bit integers as strings, then
// writeResult parsing those strings back and copying the answer twice, and the garbage.
//
// The request: the ops are encoded straight from the caller's CrdtOp objects to the bytes
// proto-loader writes for `{ namespace, ops: ops.map(opToWire) }` (the same bytes: fields in
// number order, and the fields opToWire sets written even at their default, as protobufjs
// does; crdt-codec.test.ts compares them). Anything it cannot write exactly (a string that
// is not well-formed UTF-16, a counter delta or schema version past what it encodes, an op
// or argument opToWire refuses) returns undefined: the caller then takes the generic path,
// which gives the same bytes or throws opToWire's error.
//
// The answer: decoded straight to what Crdt.write / Crdt.one return (numbers, the member id
// as its decimal string), without the intermediate wire object. Anything it cannot decode
// exactly (malformed or odd input, an integer past 2^53) goes to proto-loader's
// deserializer, and writeResult then converts (or refuses) it as before.

import type { BytesLike } from './bytes.js';
import { payloadBytes, type CrdtOp, type CrdtOpResult, type CrdtOpWriteResult, type CrdtVector, type CrdtWriteResult } from './crdt-types.js';
import type { Method } from './proto.js';
import { Malformed, Reader, WIRE_BYTES, WIRE_VARINT, Writer, expect, varintSize } from '../../proto/protobuf-wire.js';

/** CrdtOp's oneof members (field numbers in crdt_service.proto). */
const OP_FIELD: Record<CrdtOp['op'], number> = {
  lwwPut: 1, lwwDelete: 2, mvPut: 3, counterAdd: 4, setAdd: 5, setRemove: 6, eventAppend: 7,
};
/** A counter delta's zigzag form (2|d| or 2|d|-1) stays an exact double below this |d|. */
const ZIGZAG_EXACT_MAX = 2 ** 52;
/** UTF-8 bytes of one UTF-16 code unit at most (a surrogate pair: 4 bytes for 2 units). */
const UTF8_BYTES_PER_UNIT_MAX = 3;
/** Lengths below this are one varint byte. */
const ONE_BYTE_VARINT_LIMIT = 0x80;
/** A uint32 field (schema_version): protobufjs truncates larger values; the generic path keeps that. */
const UINT32_MAX = 0xffff_ffff;

// ---------------------------------------------------------------- the request

/** A string field's UTF-8 length, or -1 when protobufjs would write it differently (lone surrogates). */
function stringLength(s: unknown): number {
  if (typeof s !== 'string') return -1;
  return (s as string & { isWellFormed(): boolean }).isWellFormed() ? Buffer.byteLength(s, 'utf8') : -1;
}

/** A BytesLike's length as toBuffer gives it (a string as UTF-8), or -1 for what toBuffer would refuse. */
function bytesLength(b: BytesLike | undefined): number {
  if (b === undefined) return 0;
  if (typeof b === 'string') return Buffer.byteLength(b, 'utf8');
  return b instanceof Uint8Array ? b.byteLength : -1;
}

/** A whole number as opToWire's wholeNumber accepts it (absent: 0), or -1. */
function whole(v: number | undefined): number {
  if (v === undefined) return 0;
  return Number.isSafeInteger(v) && v >= 0 ? v : -1;
}

/** One op, measured: its CrdtOp member's size and what the write needs of it. */
interface Sized {
  field: number;
  /** The member message's size. */
  size: number;
  /** Event appends: the payload bytes (payloadBytes may build them from JSON). */
  payload?: Buffer;
  /** Counter adds: the zigzag delta. */
  zigzag?: number;
}

/** A tag, a length and the bytes, written even when empty (the shared bytesFieldSize leaves an empty field out). */
const fieldSize = (len: number): number => 1 + varintSize(len) + len;

/** The size of the op's member message, or undefined to leave the op to the generic path. */
function measure(o: CrdtOp): Sized | undefined {
  switch (o.op) {
    case 'lwwPut': case 'mvPut': case 'setAdd': case 'setRemove': {
      const key = bytesLength(o.key);
      const second = bytesLength(o.op === 'setAdd' || o.op === 'setRemove' ? o.member : o.value);
      if (key < 0 || second < 0) return undefined;
      let size = fieldSize(key) + fieldSize(second);
      if (o.op === 'mvPut') {
        const context = o.context === undefined ? 0 : stringLength(o.context);
        if (context < 0) return undefined;
        size += fieldSize(context);
      }
      return { field: OP_FIELD[o.op], size };
    }
    case 'lwwDelete': {
      const key = bytesLength(o.key);
      return key < 0 ? undefined : { field: OP_FIELD.lwwDelete, size: fieldSize(key) };
    }
    case 'counterAdd': {
      const key = bytesLength(o.key);
      const d = o.delta;
      if (key < 0 || !Number.isSafeInteger(d) || Math.abs(d) >= ZIGZAG_EXACT_MAX) return undefined;
      const zigzag = d >= 0 ? d * 2 : -d * 2 - 1;
      return { field: OP_FIELD.counterAdd, size: fieldSize(key) + 1 + varintSize(zigzag), zigzag };
    }
    case 'eventAppend': {
      const device = stringLength(o.device);
      const type = stringLength(o.type);
      const seq = whole(o.seq);
      const schema = whole(o.schemaVersion);
      const ts = whole(o.tsMs);
      if (device < 0 || type < 0 || seq < 0 || schema < 0 || schema > UINT32_MAX || ts < 0) return undefined;
      const payload = payloadBytes(o.payload); // its RangeError is the generic path's too
      const size = fieldSize(device) + 1 + varintSize(seq) + fieldSize(type) + 1 + varintSize(schema) + fieldSize(payload.length) + 1 + varintSize(ts);
      return { field: OP_FIELD.eventAppend, size, payload };
    }
    default:
      return undefined; // an unknown op: opToWire says so
  }
}

/**
 * The shared writer plus fields written even at their default (as protobufjs writes the
 * fields opToWire's objects set), and bytes fields straight from a BytesLike.
 */
class RequestWriter extends Writer {
  tag(field: number, wireType: number): void {
    this.buf[this.pos++] = (field << 3) | wireType;
  }

  uint(field: number, n: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(n);
  }

  /** A bytes field from a BytesLike (a string as its UTF-8, as toBuffer). */
  bytes(field: number, b: BytesLike | undefined): void {
    this.tag(field, WIRE_BYTES);
    if (typeof b === 'string') this.string(b);
    else {
      const v = b ?? EMPTY_BYTES;
      this.varint(v.byteLength);
      this.buf.set(v, this.pos);
      this.pos += v.byteLength;
    }
  }

  /** A length and the string's UTF-8 (the tag written before). */
  string(s: string): void {
    if (s.length * UTF8_BYTES_PER_UNIT_MAX < ONE_BYTE_VARINT_LIMIT) {
      // Its length fits one varint byte whatever it holds: write the text, then its length before it.
      const n = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    this.varint(Buffer.byteLength(s, 'utf8'));
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  stringField(field: number, s: string): void {
    this.tag(field, WIRE_BYTES);
    this.string(s);
  }
}

const EMPTY_BYTES = new Uint8Array(0);

function writeOp(w: RequestWriter, o: CrdtOp, m: Sized): void {
  w.messageStart(2, 1 + varintSize(m.size) + m.size); // CrdtWriteRequest.ops
  w.messageStart(m.field, m.size); // the CrdtOp member
  switch (o.op) {
    case 'lwwPut': case 'mvPut':
      w.bytes(1, o.key);
      w.bytes(2, o.value);
      if (o.op === 'mvPut') w.stringField(3, o.context ?? '');
      return;
    case 'setAdd': case 'setRemove':
      w.bytes(1, o.key);
      w.bytes(2, o.member);
      return;
    case 'lwwDelete':
      w.bytes(1, o.key);
      return;
    case 'counterAdd':
      w.bytes(1, o.key);
      w.uint(2, m.zigzag!);
      return;
    case 'eventAppend':
      w.stringField(1, o.device);
      w.uint(2, o.seq ?? 0);
      w.stringField(3, o.type);
      w.uint(4, o.schemaVersion ?? 0);
      w.bytes(5, m.payload!);
      w.uint(6, o.tsMs ?? 0);
      return;
  }
}

/**
 * CrdtWriteRequest bytes: exactly what proto-loader writes for `{ namespace, ops:
 * ops.map(opToWire) }`, or undefined when this codec leaves the request to that path.
 */
export function encodeWriteRequest(namespace: string, ops: readonly CrdtOp[]): Buffer | undefined {
  const nsLength = stringLength(namespace);
  if (nsLength < 0) return undefined;
  let size = fieldSize(nsLength);
  // One op (every key op of the client's typed methods) needs no array of measures.
  let one: Sized | undefined;
  let sized: Sized[] | undefined;
  if (ops.length === 1) {
    one = measure(ops[0]!);
    if (one === undefined) return undefined;
    size += fieldSize(1 + varintSize(one.size) + one.size);
  } else {
    sized = [];
    for (const o of ops) {
      const m = measure(o);
      if (m === undefined) return undefined;
      sized.push(m);
      size += fieldSize(1 + varintSize(m.size) + m.size);
    }
  }
  const w = new RequestWriter(Buffer.allocUnsafe(size));
  w.stringField(1, namespace);
  for (let i = 0; i < ops.length; i++) writeOp(w, ops[i]!, one ?? sized![i]!);
  if (w.pos !== size) throw new Error(`crdt-codec: wrote ${w.pos} bytes of ${size}`); // a bug here, never input
  return w.buf;
}

// ---------------------------------------------------------------- the answer

/**
 * Strings repeated answer after answer (the namespace, the leader's origin) read once: the
 * bytes of the last one are compared before a new string is made.
 */
class StringCache {
  private bytes = EMPTY_BYTES;
  private text = '';

  read(r: Reader): string {
    const n = r.length();
    const buf = r.buf;
    const at = r.pos;
    r.pos += n;
    const last = this.bytes;
    if (last.length === n) {
      let i = 0;
      while (i < n && buf[at + i] === last[i]) i++;
      if (i === n) return this.text;
    }
    this.text = buf.toString('utf8', at, at + n); // as protobufjs' BufferReader (utf8Slice)
    this.bytes = Uint8Array.prototype.slice.call(buf, at, at + n);
    return this.text;
  }
}

const namespaces = new StringCache();
const origins = new StringCache();
let lastMemberLo = 0;
let lastMemberHi = 0;
let lastMemberId = '0';

/** A uint64 member id as toId gives it (the decimal string), the last one remembered. */
function memberIdOf(r: Reader): string {
  r.varint();
  if (r.lo !== lastMemberLo || r.hi !== lastMemberHi) {
    lastMemberLo = r.lo;
    lastMemberHi = r.hi;
    lastMemberId = r.uint64String();
  }
  return lastMemberId;
}

/** An embedded message's end; the caller reads its fields until there. */
function messageEnd(r: Reader): number {
  const n = r.length();
  return r.pos + n;
}

/** Next field of a message ending at `end`: as Reader.tag, -1 at the end. */
function tagUntil(r: Reader, end: number): number {
  if (r.pos === end) return -1;
  if (r.pos > end) throw new Malformed('a field past its message');
  return r.tag();
}

function readDot(r: Reader): { origin: string; seq: number } {
  const end = messageEnd(r);
  let origin = '';
  let seq = 0;
  for (let wt = tagUntil(r, end); wt !== -1; wt = tagUntil(r, end)) {
    const field = r.lo;
    if (field === 1 && expect(r, wt, WIRE_BYTES)) origin = origins.read(r);
    else if (field === 2 && expect(r, wt, WIRE_VARINT)) seq = r.safeUint();
    else r.skip(wt);
  }
  if (r.pos !== end) throw new Malformed('a message past its length');
  return { origin, seq };
}

function readResult(r: Reader): CrdtOpResult {
  const end = messageEnd(r);
  const o: CrdtOpResult = { dot: undefined, hlc: undefined, eventSeq: 0, duplicate: false };
  for (let wt = tagUntil(r, end); wt !== -1; wt = tagUntil(r, end)) {
    const field = r.lo;
    if (field === 1 && expect(r, wt, WIRE_BYTES)) o.dot = readDot(r);
    else if (field === 2 && expect(r, wt, WIRE_BYTES)) {
      const hEnd = messageEnd(r);
      let wallMs = 0;
      let logical = 0;
      for (let hw = tagUntil(r, hEnd); hw !== -1; hw = tagUntil(r, hEnd)) {
        const f = r.lo;
        if (f === 1 && expect(r, hw, WIRE_VARINT)) wallMs = r.safeUint();
        else if (f === 2 && expect(r, hw, WIRE_VARINT)) logical = r.uint32();
        else r.skip(hw);
      }
      if (r.pos !== hEnd) throw new Malformed('a message past its length');
      o.hlc = { wallMs, logical };
    } else if (field === 3 && expect(r, wt, WIRE_VARINT)) o.eventSeq = r.safeUint();
    else if (field === 4 && expect(r, wt, WIRE_VARINT)) o.duplicate = r.uint32() !== 0; // protobufjs: the low 32 bits
    else r.skip(wt);
  }
  if (r.pos !== end) throw new Malformed('a message past its length');
  return o;
}

/** A vector entry into `out`, as crdt-types.ts vector() (a repeated origin: the last wins). */
function readVectorEntry(r: Reader, out: CrdtVector): void {
  // A vector entry is a Dot on the wire (origin 1, seq 2).
  const { origin, seq } = readDot(r);
  out[origin] = seq;
}

/**
 * The answer as Crdt.write returns it, or with `one` as Crdt.one does (the first result's
 * dot and HLC at hand). The vector is converted as it is read: with the origin strings
 * remembered that is one small object, cheaper than any lazy form that keeps it an own,
 * enumerable property (spread, JSON and deepEqual see the answer as before).
 */
function decode(buf: Buffer, one: boolean): CrdtWriteResult {
  const r = new Reader(buf);
  let namespace = '';
  let revision = 0;
  const vector: CrdtVector = {};
  const results: CrdtOpResult[] = [];
  let memberId = '0';
  for (let wt = r.tag(); wt !== -1; wt = r.tag()) {
    const field = r.lo;
    if (field === 1 && expect(r, wt, WIRE_BYTES)) namespace = namespaces.read(r);
    else if (field === 2 && expect(r, wt, WIRE_VARINT)) revision = r.safeUint();
    else if (field === 3 && expect(r, wt, WIRE_BYTES)) readVectorEntry(r, vector);
    else if (field === 4 && expect(r, wt, WIRE_BYTES)) results.push(readResult(r));
    else if (field === 5 && expect(r, wt, WIRE_VARINT)) memberId = memberIdOf(r);
    else r.skip(wt);
  }
  if (!one) return { namespace, revision, vector, memberId, results };
  const first = results[0];
  const answer: CrdtOpWriteResult = { namespace, revision, vector, memberId, results, dot: first?.dot, hlc: first?.hlc };
  return answer;
}

function fast(buf: Buffer, one: boolean): CrdtWriteResult | undefined {
  try {
    return decode(buf, one);
  } catch (err) {
    if (err instanceof Malformed) return undefined;
    throw err;
  }
}

/** A Write's answer as writeResult(proto-loader's object) gives it, or undefined for the generic path. */
export function decodeWriteResult(buf: Buffer): CrdtWriteResult | undefined {
  return fast(buf, false);
}

/** A one-op Write's answer as Crdt.one built it from writeResult's, or undefined for the generic path. */
export function decodeOpWriteResult(buf: Buffer): CrdtOpWriteResult | undefined {
  return fast(buf, true) as CrdtOpWriteResult | undefined;
}

/**
 * Crdt.Write as a method that sends request bytes as they are (encodeWriteRequest's, or the
 * generic serializer's) and answers with `decode`'s result, or, for what it leaves, with
 * proto-loader's object (its `revision` is a string: that is how the two are told apart).
 */
export function fastWriteMethod<R>(generic: Method, decodeFast: (buf: Buffer) => R | undefined): Method {
  return {
    ...generic,
    requestSerialize: (b: Buffer): Buffer => b,
    responseDeserialize: (b: Buffer): unknown => decodeFast(b) ?? generic.responseDeserialize(b),
  };
}

/** Whether an answer of fastWriteMethod is the fast decoder's (else proto-loader's wire object). */
export function isDecoded<R extends { revision: number }>(a: R | { revision: string }): a is R {
  return typeof a.revision === 'number';
}
