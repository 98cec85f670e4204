// The protobuf bytes `bench:scale` sends and the few fields it reads back, written by hand
// from the field numbers of etcd's rpc.proto (as grpc-frames.ts does for h2load):
//   PutRequest     { bytes key = 1; bytes value = 2; }
//   RangeRequest   { bytes key = 1; bytes range_end = 2; int64 limit = 3; bool serializable = 7; bool count_only = 9; }
//   RangeResponse  { ResponseHeader header = 1; repeated KeyValue kvs = 2; bool more = 3; int64 count = 4; }
//   HashKVRequest  { int64 revision = 1; }       HashKVResponse { ResponseHeader header = 1; uint32 hash = 2; }

import { grpcFrame } from './grpc-frames.js';

export { PUT_PATH, RANGE_PATH } from './grpc-frames.js';
export const HASHKV_PATH = '/etcdserverpb.Maintenance/HashKV';

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_BYTES = 2;
const WIRE_I32 = 5;

function varintBytes(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function bytesField(field: number, b: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varintBytes((field << 3) | WIRE_BYTES), ...varintBytes(b.length)]), b]);
}

function uintField(field: number, v: number): Buffer {
  return v === 0 ? Buffer.alloc(0) : Buffer.from([...varintBytes((field << 3) | WIRE_VARINT), ...varintBytes(v)]);
}

export function putFrame(key: Buffer, value: Buffer): Buffer {
  return grpcFrame(Buffer.concat([bytesField(1, key), bytesField(2, value)]));
}

export interface RangeSpec {
  key: Buffer;
  /** Empty: the one key; "\0" with key "\0": every key. */
  rangeEnd?: Buffer;
  limit?: number;
  serializable?: boolean;
  countOnly?: boolean;
}

export function rangeFrame(r: RangeSpec): Buffer {
  return grpcFrame(Buffer.concat([
    bytesField(1, r.key), r.rangeEnd === undefined ? Buffer.alloc(0) : bytesField(2, r.rangeEnd), uintField(3, r.limit ?? 0),
    uintField(7, r.serializable === true ? 1 : 0), uintField(9, r.countOnly === true ? 1 : 0),
  ]));
}

/** HashKV at `revision` (0: the latest). */
export { prefixEnd } from '../lib/bytes.js';

export function hashKVFrame(revision = 0): Buffer {
  return grpcFrame(uintField(1, revision));
}


/**
 * The value of the top-level varint `field` of a protobuf message (0 when absent, as
 * proto3 omits zero), skipping the other fields; precise up to 2^53.
 */
export function varintField(msg: Buffer, field: number): number {
  let pos = 0;
  const readVarint = (): number => {
    let v = 0;
    let scale = 1;
    for (;;) {
      if (pos >= msg.length) throw new RangeError(`truncated varint at byte ${pos} of ${msg.length}`);
      const b = msg[pos++] as number;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
    }
  };
  while (pos < msg.length) {
    const tag = readVarint();
    const f = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === WIRE_VARINT) {
      const v = readVarint();
      if (f === field) return v;
    } else if (wire === WIRE_BYTES) {
      const length = readVarint(); // not `pos += readVarint()`: that adds to the position before the length was read
      pos += length;
    }
    else if (wire === WIRE_I64) pos += 8;
    else if (wire === WIRE_I32) pos += 4;
    else throw new RangeError(`unsupported wire type ${wire} of field ${f} at byte ${pos}`);
  }
  return 0;
}

/** RangeResponse.count: how many keys the range matched (also with a limit or count_only). */
export const rangeCount = (msg: Buffer): number => varintField(msg, 4);
