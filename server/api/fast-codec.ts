// Hand-written protobuf codecs for the two hottest calls, KV.Range and KV.Put.
//
// Why: profiles of `npm run bench:compare` (range serializable and put with 256 in
// flight, h2load) showed @grpc/proto-loader's generic path (decode + toObject with
// defaults and 64-bit integers as strings on the way in, fromObject with a Long per
// 64-bit field + encode on the way out) at ~4 % of the leader's CPU plus its share of
// garbage collection. These codecs read and write the bytes directly.
//
// Same objects in and out as proto-loader's (wire.ts): requests decode to exactly the
// object proto-loader's deserializer gives (defaults filled in, int64 as decimal
// strings, bytes as views of the message), so convert.ts/validate.ts see no difference.
// Responses are encoded from the objects kv.ts builds; fields at their default value are
// left out (proto3's canonical form, as etcd sends; proto-loader writes explicit zeros),
// which decodes to the same message. Anything unexpected — malformed or group-encoded
// input, a response field that is not a plain safe integer or bytes — goes to the
// generic codec, so errors and odd cases behave exactly as before.

import type { ServiceDefinition } from '@grpc/grpc-js';
import type { WireHeader, WirePutRequest, WireRangeRequest } from './wire.js';

import {
  EMPTY, Malformed, Reader, WIRE_BYTES, WIRE_VARINT, Writer as WireWriter, bytesFieldSize, expect, isUint, uintFieldSize, varintSize,
} from '../../proto/protobuf-wire.js';

// The wire primitives live in proto/protobuf-wire.ts (the client library's codecs share them);
// re-exported for fast-crdt-codec.ts and the tests.
export { EMPTY, Malformed, Reader, WIRE_BYTES, WIRE_VARINT, bytesFieldSize, expect, isUint, uintFieldSize, varintSize };

export function decodeRangeRequest(buf: Buffer): WireRangeRequest {
  const m: WireRangeRequest = {
    key: EMPTY, rangeEnd: EMPTY, limit: '0', revision: '0', sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false,
    countOnly: false, minModRevision: '0', maxModRevision: '0', minCreateRevision: '0', maxCreateRevision: '0',
  };
  const r = new Reader(buf);
  for (let wt = r.tag(); wt !== -1; wt = r.tag()) {
    const field = r.lo;
    if (field === 1 && expect(r, wt, WIRE_BYTES)) m.key = r.bytes();
    else if (field === 2 && expect(r, wt, WIRE_BYTES)) m.rangeEnd = r.bytes();
    else if (field >= 3 && field <= 13 && expect(r, wt, WIRE_VARINT)) {
      if (field >= 5 && field <= 9) r.uint32(); // enums and bools
      else r.varint(); // int64
      switch (field) {
        case 3: m.limit = r.int64String(); break;
        case 4: m.revision = r.int64String(); break;
        case 5: m.sortOrder = r.lo | 0; break;
        case 6: m.sortTarget = r.lo | 0; break;
        // protobufjs reads a bool (and an enum) from the varint's low 32 bits only.
        case 7: m.serializable = r.lo !== 0; break;
        case 8: m.keysOnly = r.lo !== 0; break;
        case 9: m.countOnly = r.lo !== 0; break;
        case 10: m.minModRevision = r.int64String(); break;
        case 11: m.maxModRevision = r.int64String(); break;
        case 12: m.minCreateRevision = r.int64String(); break;
        default: m.maxCreateRevision = r.int64String();
      }
    } else r.skip(wt);
  }
  return m;
}

export function decodePutRequest(buf: Buffer): WirePutRequest {
  const m: WirePutRequest = { key: EMPTY, value: EMPTY, lease: '0', prevKv: false, ignoreValue: false, ignoreLease: false };
  const r = new Reader(buf);
  for (let wt = r.tag(); wt !== -1; wt = r.tag()) {
    const field = r.lo;
    if (field === 1 && expect(r, wt, WIRE_BYTES)) m.key = r.bytes();
    else if (field === 2 && expect(r, wt, WIRE_BYTES)) m.value = r.bytes();
    else if (field >= 3 && field <= 6 && expect(r, wt, WIRE_VARINT)) {
      if (field === 3) r.varint(); // int64
      else r.uint32(); // bools
      const set = r.lo !== 0; // protobufjs reads a bool from the low 32 bits only
      if (field === 3) m.lease = r.int64String();
      else if (field === 4) m.prevKv = set;
      else if (field === 5) m.ignoreValue = set;
      else m.ignoreLease = set;
    } else r.skip(wt);
  }
  return m;
}

// ---------------------------------------------------------------- encoding

/** The shape kv.ts hands over for a KeyValue (server/mvcc's KeyValue). */
interface Kv {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

const isBytes = (b: unknown): b is Uint8Array => b instanceof Uint8Array;

/** A non-negative safe-integer header field set, with the cluster id as bytes (it may be a 64-bit decimal string). */
interface Header {
  clusterId: Buffer;
  memberId: number;
  revision: number;
  raftTerm: number;
  size: number;
}

let lastClusterId: number | string | undefined;
let lastClusterIdVarint = EMPTY;

/** The cluster id's varint bytes (empty for 0), cached: it is the same in every answer. */
function clusterIdVarint(id: number | string): Buffer | undefined {
  if (id === lastClusterId) return lastClusterIdVarint;
  let v: bigint;
  try {
    v = BigInt(id);
  } catch {
    return undefined;
  }
  if (v < 0n || v >= 1n << 64n) return undefined;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  if (out.length > 0 || v !== 0n) out.push(Number(v));
  lastClusterId = id;
  lastClusterIdVarint = Buffer.from(out);
  return lastClusterIdVarint;
}

function header(h: WireHeader | undefined): Header | undefined {
  if (h === undefined || h === null || !isUint(h.memberId) || !isUint(h.revision) || !isUint(h.raftTerm)) return undefined;
  const clusterId = clusterIdVarint(h.clusterId);
  if (clusterId === undefined) return undefined;
  const size = (clusterId.length === 0 ? 0 : 1 + clusterId.length) + uintFieldSize(h.memberId) + uintFieldSize(h.revision) + uintFieldSize(h.raftTerm);
  return { clusterId, memberId: h.memberId, revision: h.revision, raftTerm: h.raftTerm, size };
}

function kvSize(kv: Kv): number {
  return bytesFieldSize(kv.key.length) + uintFieldSize(kv.createRevision) + uintFieldSize(kv.modRevision) +
    uintFieldSize(kv.version) + bytesFieldSize(kv.value.length) + uintFieldSize(kv.lease);
}

function plainKv(kv: unknown): kv is Kv {
  const k = kv as Kv;
  return typeof k === 'object' && k !== null && isBytes(k.key) && isBytes(k.value) && isUint(k.createRevision) &&
    isUint(k.modRevision) && isUint(k.version) && isUint(k.lease);
}

/** The shared writer with etcd's header and KeyValue. */
export class Writer extends WireWriter {
  header(h: Header): void {
    this.messageStart(1, h.size);
    if (h.clusterId.length > 0) {
      this.buf[this.pos++] = (1 << 3) | WIRE_VARINT;
      this.buf.set(h.clusterId, this.pos);
      this.pos += h.clusterId.length;
    }
    this.uintField(2, h.memberId);
    this.uintField(3, h.revision);
    this.uintField(4, h.raftTerm);
  }

  kv(field: number, kv: Kv, size: number): void {
    this.messageStart(field, size);
    this.bytesField(1, kv.key);
    this.uintField(2, kv.createRevision);
    this.uintField(3, kv.modRevision);
    this.uintField(4, kv.version);
    this.bytesField(5, kv.value);
    this.uintField(6, kv.lease);
  }
}

/** RangeResponse bytes, or undefined when the object is not the plain shape kv.ts builds. */
export function encodeRangeResponse(res: { header?: WireHeader; kvs?: unknown[]; more?: unknown; count?: unknown }): Buffer | undefined {
  const h = header(res.header);
  const kvs = res.kvs;
  if (h === undefined || !Array.isArray(kvs) || typeof res.more !== 'boolean' || !isUint(res.count)) return undefined;
  const sizes: number[] = [];
  let size = 1 + varintSize(h.size) + h.size + (res.more ? 2 : 0) + uintFieldSize(res.count);
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i];
    if (!plainKv(kv)) return undefined;
    const s = kvSize(kv);
    sizes.push(s);
    size += 1 + varintSize(s) + s;
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  w.header(h);
  for (let i = 0; i < kvs.length; i++) w.kv(2, kvs[i] as Kv, sizes[i] as number);
  if (res.more) w.uintField(3, 1);
  w.uintField(4, res.count);
  return w.buf;
}

/** PutResponse bytes, or undefined when the object is not the plain shape kv.ts builds. */
export function encodePutResponse(res: { header?: WireHeader; prevKv?: unknown }): Buffer | undefined {
  const h = header(res.header);
  const prev = res.prevKv ?? null;
  if (h === undefined || (prev !== null && !plainKv(prev))) return undefined;
  const prevSize = prev === null ? 0 : kvSize(prev);
  const size = 1 + varintSize(h.size) + h.size + (prev === null ? 0 : 1 + varintSize(prevSize) + prevSize);
  const w = new Writer(Buffer.allocUnsafe(size));
  w.header(h);
  if (prev !== null) w.kv(2, prev, prevSize);
  return w.buf;
}

// ---------------------------------------------------------------- installing

export type Codec = (x: never) => unknown;

/** Tries the fast codec; anything it does not handle goes to the generic one. */
export function withFallback<A, R>(fast: (a: A) => R | undefined, generic: (a: A) => R): (a: A) => R {
  return (a: A): R => {
    let r: R | undefined;
    try {
      r = fast(a);
    } catch (err) {
      if (!(err instanceof Malformed)) throw err;
    }
    return r === undefined ? generic(a) : r;
  };
}

/** A copy of the KV service definition whose Range and Put use the codecs above. */
export function withFastKvCodecs(kv: ServiceDefinition): ServiceDefinition {
  const range = kv['Range'];
  const put = kv['Put'];
  if (range === undefined || put === undefined) return kv;
  return {
    ...kv,
    Range: {
      ...range,
      requestDeserialize: withFallback(decodeRangeRequest, range.requestDeserialize as (b: Buffer) => WireRangeRequest),
      responseSerialize: withFallback(encodeRangeResponse, range.responseSerialize as Codec as (r: object) => Buffer),
    },
    Put: {
      ...put,
      requestDeserialize: withFallback(decodePutRequest, put.requestDeserialize as (b: Buffer) => WirePutRequest),
      responseSerialize: withFallback(encodePutResponse, put.responseSerialize as Codec as (r: object) => Buffer),
    },
  };
}
