// The shapes proto-loader produces for etcd's messages with LOADER_OPTIONS (camelCase,
// 64-bit integers as decimal strings, bytes as Buffers, enums as numbers). Requests are
// built with these field names too; int64 fields accept decimal strings.

export type WireInt64 = string;

export interface WireHeader {
  clusterId: WireInt64;
  memberId: WireInt64;
  revision: WireInt64;
  raftTerm: WireInt64;
}

export interface WireKeyValue {
  key: Buffer;
  createRevision: WireInt64;
  modRevision: WireInt64;
  version: WireInt64;
  value: Buffer;
  lease: WireInt64;
}

export interface WireRangeResponse {
  header: WireHeader | null;
  kvs: WireKeyValue[];
  more: boolean;
  count: WireInt64;
}

export interface WirePutResponse {
  header: WireHeader | null;
  prevKv: WireKeyValue | null;
}

export interface WireDeleteRangeResponse {
  header: WireHeader | null;
  deleted: WireInt64;
  prevKvs: WireKeyValue[];
}

export interface WireResponseOp {
  response?: 'responseRange' | 'responsePut' | 'responseDeleteRange' | 'responseTxn';
  responseRange?: WireRangeResponse | null;
  responsePut?: WirePutResponse | null;
  responseDeleteRange?: WireDeleteRangeResponse | null;
  responseTxn?: WireTxnResponse | null;
}

export interface WireTxnResponse {
  header: WireHeader | null;
  succeeded: boolean;
  responses: WireResponseOp[];
}

export interface WireEvent {
  /** 0 PUT, 1 DELETE. */
  type: number;
  kv: WireKeyValue | null;
  prevKv: WireKeyValue | null;
}

export interface WireWatchResponse {
  header: WireHeader | null;
  watchId: WireInt64;
  created: boolean;
  canceled: boolean;
  compactRevision: WireInt64;
  cancelReason: string;
  fragment: boolean;
  events: WireEvent[];
}

export interface WireLeaseKeepAliveResponse {
  header: WireHeader | null;
  ID: WireInt64;
  TTL: WireInt64;
}

export interface WireMember {
  ID: WireInt64;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface WireStatusResponse {
  header: WireHeader | null;
  version: string;
  dbSize: WireInt64;
  leader: WireInt64;
  raftIndex: WireInt64;
  raftTerm: WireInt64;
  raftAppliedIndex: WireInt64;
  errors: string[];
  dbSizeInUse: WireInt64;
  isLearner: boolean;
}

export interface WireSnapshotResponse {
  header: WireHeader | null;
  remainingBytes: WireInt64;
  blob: Buffer;
  version: string;
}
