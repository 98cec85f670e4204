// The shapes @grpc/proto-loader delivers and accepts for proto/etcd with the options of
// proto.ts: camelCase fields, bytes as Buffer, enums as numbers, 64-bit integers as
// decimal strings on the way in (exact for any 64-bit value), numbers or strings on the
// way out, defaults filled in, and a virtual field naming the member set of each oneof.

export type Int64 = string;

export interface WireRangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  limit: Int64;
  revision: Int64;
  sortOrder: number;
  sortTarget: number;
  serializable: boolean;
  keysOnly: boolean;
  countOnly: boolean;
  minModRevision: Int64;
  maxModRevision: Int64;
  minCreateRevision: Int64;
  maxCreateRevision: Int64;
}

export interface WirePutRequest {
  key: Buffer;
  value: Buffer;
  lease: Int64;
  prevKv: boolean;
  ignoreValue: boolean;
  ignoreLease: boolean;
}

export interface WireDeleteRangeRequest {
  key: Buffer;
  rangeEnd: Buffer;
  prevKv: boolean;
}

export interface WireCompare {
  result: number;
  target: number;
  key: Buffer;
  rangeEnd: Buffer;
  targetUnion?: 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';
  version?: Int64;
  createRevision?: Int64;
  modRevision?: Int64;
  value?: Buffer;
  lease?: Int64;
}

export interface WireRequestOp {
  request?: 'requestRange' | 'requestPut' | 'requestDeleteRange' | 'requestTxn';
  requestRange?: WireRangeRequest;
  requestPut?: WirePutRequest;
  requestDeleteRange?: WireDeleteRangeRequest;
  requestTxn?: WireTxnRequest;
}

export interface WireTxnRequest {
  compare: WireCompare[];
  success: WireRequestOp[];
  failure: WireRequestOp[];
}

export interface WireCompactionRequest {
  revision: Int64;
  physical: boolean;
}

export interface WireWatchCreateRequest {
  key: Buffer;
  rangeEnd: Buffer;
  startRevision: Int64;
  progressNotify: boolean;
  filters: number[];
  prevKv: boolean;
  watchId: Int64;
  fragment: boolean;
}

export interface WireWatchRequest {
  requestUnion?: 'createRequest' | 'cancelRequest' | 'progressRequest';
  createRequest?: WireWatchCreateRequest;
  cancelRequest?: { watchId: Int64 };
  progressRequest?: Record<string, never>;
}

/** Response header as sent: numbers below 2^53 or decimal strings. */
export interface WireHeader {
  clusterId: number | string;
  memberId: number;
  revision: number;
  raftTerm: number;
}
