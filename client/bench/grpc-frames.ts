// gRPC request bodies for h2load, which posts the same bytes for every request: a gRPC
// length-prefixed message (1 byte "not compressed", 4 bytes big-endian length, then the
// protobuf) holding an etcd PutRequest or RangeRequest. Written by hand (a few varints)
// so the comparison needs nothing but the field numbers of etcd's rpc.proto:
//   PutRequest   { bytes key = 1; bytes value = 2; ... }
//   RangeRequest { bytes key = 1; ... bool serializable = 7; ... }

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const PUT_KEY_FIELD = 1;
const PUT_VALUE_FIELD = 2;
const RANGE_KEY_FIELD = 1;
const RANGE_SERIALIZABLE_FIELD = 7;
/** gRPC message prefix: compressed flag (1 byte) + length (4 bytes). */
const GRPC_PREFIX_BYTES = 5;

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function bytesField(field: number, b: Buffer): Buffer {
  return Buffer.concat([Buffer.from([...varint((field << 3) | WIRE_BYTES), ...varint(b.length)]), b]);
}

function boolField(field: number, v: boolean): Buffer {
  return v ? Buffer.from([...varint((field << 3) | WIRE_VARINT), 1]) : Buffer.alloc(0);
}

/** Wraps a protobuf message into one gRPC frame. */
export function grpcFrame(message: Buffer): Buffer {
  const prefix = Buffer.alloc(GRPC_PREFIX_BYTES);
  prefix.writeUInt8(0, 0);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

export function putRequestFrame(key: string, value: Buffer): Buffer {
  return grpcFrame(Buffer.concat([bytesField(PUT_KEY_FIELD, Buffer.from(key)), bytesField(PUT_VALUE_FIELD, value)]));
}

export function rangeRequestFrame(key: string, serializable: boolean): Buffer {
  return grpcFrame(Buffer.concat([bytesField(RANGE_KEY_FIELD, Buffer.from(key)), boolField(RANGE_SERIALIZABLE_FIELD, serializable)]));
}

export const PUT_PATH = '/etcdserverpb.KV/Put';
export const RANGE_PATH = '/etcdserverpb.KV/Range';
