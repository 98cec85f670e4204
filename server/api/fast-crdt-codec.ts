// Hand-written protobuf codecs for regionstore.v1.Crdt Write, as fast-codec.ts has for KV.Put
// (issue 13: an lww write costs no more than a strong put; the client library's lww put is a
// Crdt Write, and @grpc/proto-loader's generic path costs a Write what fast-codec.ts saved
// KV.Put: decode + toObject on the way in, fromObject with a Long per 64-bit field + encode
// on the way out, and their garbage).
//
// The request: only writes whose ops are all lww puts and deletes (the hot path) are decoded
// here, to exactly the object proto-loader's deserializer gives (crdt-wire.ts: defaults filled
// in, the oneof named by `op`, bytes as views of the message); any other op, a CrdtOp with
// two members set, a non-ASCII namespace or anything malformed goes to the generic codec.
// The response, two ways. A region member's answer is encoded by writeToWire itself, straight
// from the apply's answer bytes (encodeWriteAnswer: no answer, outcome or dot objects, the
// namespace's vector encoded once per written batch), byte for byte what proto-loader makes
// of writeToWire's object; the serializer passes those bytes on. Any other answer (an edge's)
// is encoded from the object writeToWire builds, fields at their default left out (proto3's
// canonical form), which decodes to the same message; anything that is not that plain shape
// (a non-safe integer, a non-ASCII string) goes to the generic codec.
// fast-crdt-codec.test.ts compares all of them with proto-loader's.

import type { ServiceDefinition } from '@grpc/grpc-js';
import type { WireCrdtOp, WireWriteRequest } from './crdt-wire.js';
import {
  EMPTY, Malformed, Reader, WIRE_BYTES, WIRE_VARINT, Writer, expect, isUint, uintFieldSize, varintSize, withFallback, type Codec,
} from './fast-codec.js';
import { WriteOutcomes } from '../eventual/entry.js';

/** CrdtOp's oneof members this codec decodes (field numbers in crdt_service.proto). */
const OP_LWW_PUT = 1;
const OP_LWW_DELETE = 2;
const OP_LAST = 7;
/** Above this, a character is not ASCII: such strings go to the generic codec (its UTF-8 is the reference). */
const ASCII_MAX = 0x7f;

function ascii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > ASCII_MAX) return false;
  return true;
}

/** An lww put or delete op message (`del`: LwwDeleteOp, key only). */
function decodeLwwOp(buf: Buffer, del: boolean): { key: Buffer; value?: Buffer } {
  const r = new Reader(buf);
  let key: Buffer = EMPTY;
  let value: Buffer = EMPTY;
  for (let wt = r.tag(); wt !== -1; wt = r.tag()) {
    const field = r.lo;
    if (field === 1 && expect(r, wt, WIRE_BYTES)) key = r.bytes(); // a repeated scalar: the last wins, as protobufjs
    else if (field === 2 && !del && expect(r, wt, WIRE_BYTES)) value = r.bytes();
    else r.skip(wt);
  }
  return del ? { key } : { key, value };
}

/** One CrdtOp; undefined for a member this codec leaves to the generic one. */
function decodeOp(buf: Buffer): WireCrdtOp | undefined {
  const r = new Reader(buf);
  let op: WireCrdtOp | undefined;
  for (let wt = r.tag(); wt !== -1; wt = r.tag()) {
    const field = r.lo;
    if (field > OP_LAST) {
      r.skip(wt); // unknown: protobufjs skips it too
      continue;
    }
    if (field !== OP_LWW_PUT && field !== OP_LWW_DELETE) return undefined;
    if (op !== undefined || !expect(r, wt, WIRE_BYTES)) throw new Malformed('a CrdtOp with two members');
    op = field === OP_LWW_PUT
      ? { lwwPut: decodeLwwOp(r.bytes(), false), op: 'lwwPut' }
      : { lwwDelete: decodeLwwOp(r.bytes(), true), op: 'lwwDelete' };
  }
  return op ?? {}; // no member set: what proto-loader gives (the handler refuses it)
}

export function decodeWriteRequest(buf: Buffer): WireWriteRequest | undefined {
  const m: { ops: WireCrdtOp[]; namespace: string } = { ops: [], namespace: '' };
  const r = new Reader(buf);
  for (let wt = r.tag(); wt !== -1; wt = r.tag()) {
    const field = r.lo;
    if (field === 1 && expect(r, wt, WIRE_BYTES)) {
      const b = r.bytes();
      for (const c of b) if (c > ASCII_MAX) throw new Malformed('a non-ASCII namespace');
      m.namespace = b.toString('latin1');
    } else if (field === 2 && expect(r, wt, WIRE_BYTES)) {
      const op = decodeOp(r.bytes());
      if (op === undefined) return undefined;
      m.ops.push(op);
    } else r.skip(wt);
  }
  return m;
}

// ---------------------------------------------------------------- the response

interface WireDot { origin: string; seq: number }
interface WireHlc { wallMs: number; logical: number }
interface WireResult { dot: WireDot | null; hlc: WireHlc | null; eventSeq: number; duplicate: boolean }

function plainDot(d: unknown): d is WireDot {
  const x = d as WireDot;
  return typeof x === 'object' && x !== null && typeof x.origin === 'string' && ascii(x.origin) && isUint(x.seq);
}

function plainHlc(h: unknown): h is WireHlc {
  const x = h as WireHlc;
  return typeof x === 'object' && x !== null && isUint(x.wallMs) && isUint(x.logical);
}

function plainResult(o: unknown): o is WireResult {
  const x = o as WireResult;
  return typeof x === 'object' && x !== null && (x.dot === null || plainDot(x.dot)) && (x.hlc === null || plainHlc(x.hlc)) &&
    isUint(x.eventSeq) && typeof x.duplicate === 'boolean';
}

/** A tag and an ASCII string (one byte per character), or nothing for '' (the default). */
function stringFieldSize(s: string): number {
  return s.length === 0 ? 0 : 1 + varintSize(s.length) + s.length;
}

const dotSize = (d: WireDot): number => stringFieldSize(d.origin) + uintFieldSize(d.seq);
const hlcSize = (h: WireHlc): number => uintFieldSize(h.wallMs) + uintFieldSize(h.logical);
const messageSize = (size: number): number => 1 + varintSize(size) + size;

function resultSize(o: WireResult): number {
  return (o.dot === null ? 0 : messageSize(dotSize(o.dot))) + (o.hlc === null ? 0 : messageSize(hlcSize(o.hlc))) +
    uintFieldSize(o.eventSeq) + (o.duplicate ? 2 : 0);
}

function writeString(w: Writer, field: number, s: string): void {
  if (s.length === 0) return;
  w.buf[w.pos++] = (field << 3) | WIRE_BYTES;
  w.varint(s.length);
  w.pos += w.buf.write(s, w.pos, 'latin1');
}

function writeDot(w: Writer, field: number, d: WireDot): void {
  w.messageStart(field, dotSize(d));
  writeString(w, 1, d.origin);
  w.uintField(2, d.seq);
}

function writeResult(w: Writer, o: WireResult, size: number): void {
  w.messageStart(4, size);
  if (o.dot !== null) writeDot(w, 1, o.dot);
  if (o.hlc !== null) {
    w.messageStart(2, hlcSize(o.hlc));
    w.uintField(1, o.hlc.wallMs);
    w.uintField(2, o.hlc.logical);
  }
  w.uintField(3, o.eventSeq);
  if (o.duplicate) {
    w.buf[w.pos++] = (4 << 3) | WIRE_VARINT;
    w.buf[w.pos++] = 1;
  }
}

/**
 * CrdtWriteResponse bytes, or undefined when the object is not the plain shape writeToWire
 * builds. Bytes writeToWire encoded already (encodeWriteAnswer) are the answer as they are.
 */
export function encodeWriteResponse(res: Buffer | { namespace?: unknown; revision?: unknown; vector?: unknown; results?: unknown; memberId?: unknown }): Buffer | undefined {
  if (Buffer.isBuffer(res)) return res;
  const { namespace, revision, vector, results, memberId } = res;
  if (typeof namespace !== 'string' || !ascii(namespace) || !isUint(revision) || !isUint(memberId) || !Array.isArray(vector) || !Array.isArray(results)) return undefined;
  let size = stringFieldSize(namespace) + uintFieldSize(revision) + uintFieldSize(memberId);
  for (const d of vector) {
    if (!plainDot(d)) return undefined;
    size += messageSize(dotSize(d));
  }
  const sizes: number[] = [];
  for (const o of results) {
    if (!plainResult(o)) return undefined;
    const s = resultSize(o);
    sizes.push(s);
    size += messageSize(s);
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  writeString(w, 1, namespace);
  w.uintField(2, revision);
  for (const d of vector as WireDot[]) writeDot(w, 3, d);
  for (let i = 0; i < results.length; i++) writeResult(w, results[i] as WireResult, sizes[i]!);
  w.uintField(5, memberId);
  return w.buf;
}

// ---------------------------------------------------------------- the response, from the apply's answer

/**
 * What encodeWriteAnswer needs: the answer's namespace, revision and member, the namespace's
 * vector (the same array for every Write answered between two changes of it: the eventual
 * store memoizes it per written batch) and the apply's answer bytes (server/eventual/entry.ts).
 */
export interface WriteAnswerParts {
  namespace: string;
  revision: number;
  vector: ReadonlyArray<Readonly<WireDot>>;
  answer: Uint8Array;
  memberId: number;
}

/** Tag and varint of a uint64 field written even at 0, as protobufjs writes a set field. */
const setUintSize = (n: number): number => 1 + varintSize(n);

function writeSetUint(w: Writer, field: number, n: number): void {
  w.buf[w.pos++] = (field << 3) | WIRE_VARINT;
  w.varint(n);
}

/** A string field written even when empty, as protobufjs writes a set field (UTF-8). */
function writeSetString(w: Writer, field: number, s: string, bytes: number): void {
  w.buf[w.pos++] = (field << 3) | WIRE_BYTES;
  w.varint(bytes);
  w.pos += w.buf.write(s, w.pos, 'utf8');
}

/**
 * The vector's entries (repeated field 3) of the last vector array encoded: the eventual store
 * hands every Write answered between two changes of its namespace's vector the same array, so
 * one remembered array serves a batch's answers. (A WeakMap per array cost a weak entry per
 * batch, nearly all misses at one write per batch.)
 */
let lastVector: ReadonlyArray<Readonly<WireDot>> | undefined;
let lastVectorBytes: Buffer | undefined;

function vectorBytes(vector: ReadonlyArray<Readonly<WireDot>>): Buffer | undefined {
  if (vector === lastVector) return lastVectorBytes;
  let size = 0;
  for (const d of vector) {
    if (!isUint(d.seq)) return undefined;
    size += messageSize(setDotSize(d));
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  for (const d of vector) {
    const originBytes = Buffer.byteLength(d.origin);
    w.messageStart(3, setDotSize(d, originBytes));
    writeSetString(w, 1, d.origin, originBytes);
    writeSetUint(w, 2, d.seq);
  }
  lastVector = vector;
  lastVectorBytes = w.buf;
  return w.buf;
}

/** A vector Dot's size, both fields written even when empty or 0 (as protobufjs writes them). */
function setDotSize(d: Readonly<WireDot>, originBytes = Buffer.byteLength(d.origin)): number {
  return 1 + varintSize(originBytes) + originBytes + setUintSize(d.seq);
}

/** One reader for every answer (encodeWriteAnswer runs start to finish without yielding). */
const outcomes = new WriteOutcomes();

/** A CrdtOpResult's size as writeToWire's object encodes: dot and hlc when there, event_seq and duplicate always. */
function outcomeSize(o: WriteOutcomes): number {
  let size = setUintSize(o.eventSeq) + 2;
  if (o.hasDot) {
    const origin = o.originEnd - o.originStart;
    size += messageSize(1 + varintSize(origin) + origin + setUintSize(o.seq));
  }
  if (o.hasHlc) size += messageSize(setUintSize(o.wallMs) + setUintSize(o.logical));
  return size;
}

function writeOutcome(w: Writer, o: WriteOutcomes, size: number): void {
  w.messageStart(4, size);
  if (o.hasDot) {
    const origin = o.originEnd - o.originStart;
    w.messageStart(1, 1 + varintSize(origin) + origin + setUintSize(o.seq));
    w.buf[w.pos++] = (1 << 3) | WIRE_BYTES;
    w.varint(origin);
    // The origin's UTF-8 bytes as the answer holds them (no string made); origins are short.
    const a = o.answer;
    for (let i = o.originStart; i < o.originEnd; i++) w.buf[w.pos++] = a[i]!;
    writeSetUint(w, 2, o.seq);
  }
  if (o.hasHlc) {
    w.messageStart(2, setUintSize(o.wallMs) + setUintSize(o.logical));
    writeSetUint(w, 1, o.wallMs);
    writeSetUint(w, 2, o.logical);
  }
  writeSetUint(w, 3, o.eventSeq);
  w.buf[w.pos++] = (4 << 3) | WIRE_VARINT;
  w.buf[w.pos++] = o.duplicate ? 1 : 0;
}

/**
 * CrdtWriteResponse bytes straight from the apply's answer: byte for byte what proto-loader
 * encodes from crdt-response.ts writeToWire's object of the same answer (protobufjs writes
 * every field that object sets, defaults included), without that object, the decoded
 * answer's, or an origin string per op. Undefined when a number is not a safe non-negative
 * integer (the object path then answers).
 */
export function encodeWriteAnswer(a: WriteAnswerParts): Buffer | undefined {
  if (!isUint(a.revision) || !isUint(a.memberId)) return undefined;
  const vector = vectorBytes(a.vector);
  if (vector === undefined) return undefined;
  const nsBytes = Buffer.byteLength(a.namespace);
  let size = 1 + varintSize(nsBytes) + nsBytes + setUintSize(a.revision) + vector.length + setUintSize(a.memberId);
  const o = outcomes.reset(a.answer);
  while (o.next()) size += messageSize(outcomeSize(o));
  const w = new Writer(Buffer.allocUnsafe(size));
  writeSetString(w, 1, a.namespace, nsBytes);
  writeSetUint(w, 2, a.revision);
  w.buf.set(vector, w.pos);
  w.pos += vector.length;
  o.reset(a.answer);
  while (o.next()) writeOutcome(w, o, outcomeSize(o));
  writeSetUint(w, 5, a.memberId);
  return w.buf;
}

/** A copy of the Crdt service definition whose Write uses the codecs above. */
export function withFastCrdtCodecs(crdt: ServiceDefinition): ServiceDefinition {
  const write = crdt['Write'];
  if (write === undefined) return crdt;
  return {
    ...crdt,
    Write: {
      ...write,
      requestDeserialize: withFallback(decodeWriteRequest, write.requestDeserialize as (b: Buffer) => WireWriteRequest),
      responseSerialize: withFallback(encodeWriteResponse, write.responseSerialize as Codec as (r: object) => Buffer),
    },
  };
}
