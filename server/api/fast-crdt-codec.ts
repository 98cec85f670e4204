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
// The response: encoded from the object crdt-response.ts writeToWire builds, fields at their
// default left out (proto3's canonical form), which decodes to the same message; anything
// that is not that plain shape (a non-safe integer, a non-ASCII string) goes to the generic
// codec. fast-crdt-codec.test.ts compares both ways with proto-loader's.

import type { ServiceDefinition } from '@grpc/grpc-js';
import type { WireCrdtOp, WireWriteRequest } from './crdt-wire.js';
import {
  EMPTY, Malformed, Reader, WIRE_BYTES, WIRE_VARINT, Writer, expect, isUint, uintFieldSize, varintSize, withFallback, type Codec,
} from './fast-codec.js';

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

/** CrdtWriteResponse bytes, or undefined when the object is not the plain shape writeToWire builds. */
export function encodeWriteResponse(res: { namespace?: unknown; revision?: unknown; vector?: unknown; results?: unknown; memberId?: unknown }): Buffer | undefined {
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
