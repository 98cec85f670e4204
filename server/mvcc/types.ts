// The store's request/response messages: etcd v3's KV, Lease and Watch messages with
// camelCase fields, Uint8Array keys/values and numbers for revisions and ids (all
// below 2^53; the API layer rejects anything larger before it gets here).

export type Bytes = Uint8Array;

export interface KeyValue {
  key: Bytes;
  /** Revision of the put that created the key in its current generation. */
  createRevision: number;
  /** Revision of the last change to the key. */
  modRevision: number;
  /** 1 on create, +1 per put; a delete resets it. */
  version: number;
  value: Bytes;
  /** Lease id the key is attached to; 0 for none. */
  lease: number;
}

export const SortOrder = { NONE: 0, ASCEND: 1, DESCEND: 2 } as const;
export type SortOrder = (typeof SortOrder)[keyof typeof SortOrder];
export const SortTarget = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 } as const;
export type SortTarget = (typeof SortTarget)[keyof typeof SortTarget];

export interface RangeRequest {
  key: Bytes;
  /** Empty/absent: the single key. "\0": every key >= key. Otherwise [key, rangeEnd). */
  rangeEnd?: Bytes;
  /** At most this many kvs; 0/absent is no limit. */
  limit?: number;
  /** Read at this revision; 0/absent is the current revision. */
  revision?: number;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  /** Linearizable vs local read: decided by the API layer, carried for completeness. */
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface RangeResponse {
  /** The revision the header carries: the revision the store was at when read. */
  revision: number;
  kvs: KeyValue[];
  /** True when there are more keys than `limit` returned. */
  more: boolean;
  /** Number of keys in range (after the revision filters, before limit). */
  count: number;
}

export interface PutRequest {
  key: Bytes;
  value: Bytes;
  /** 0/absent: no lease (a put detaches the key from any previous lease). */
  lease?: number;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface PutResponse {
  revision: number;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Bytes;
  rangeEnd?: Bytes;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  revision: number;
  deleted: number;
  prevKvs: KeyValue[];
}

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export type CompareResult = (typeof CompareResult)[keyof typeof CompareResult];
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export type CompareTarget = (typeof CompareTarget)[keyof typeof CompareTarget];

/** One condition of a Txn; `target` picks which of the operand fields is compared. */
export type Compare = {
  result: CompareResult;
  key: Bytes;
  rangeEnd?: Bytes;
} & (
  | { target: typeof CompareTarget.VERSION; version: number }
  | { target: typeof CompareTarget.CREATE; createRevision: number }
  | { target: typeof CompareTarget.MOD; modRevision: number }
  | { target: typeof CompareTarget.VALUE; value: Bytes }
  | { target: typeof CompareTarget.LEASE; lease: number }
);

export type RequestOp =
  | { type: 'range'; range: RangeRequest }
  | { type: 'put'; put: PutRequest }
  | { type: 'deleteRange'; deleteRange: DeleteRangeRequest }
  | { type: 'txn'; txn: TxnRequest };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export type ResponseOp =
  | { type: 'range'; range: RangeResponse }
  | { type: 'put'; put: PutResponse }
  | { type: 'deleteRange'; deleteRange: DeleteRangeResponse }
  | { type: 'txn'; txn: TxnResponse };

export interface TxnResponse {
  revision: number;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: number;
  /** etcd's `physical`: the API layer waits for apply anyway, so it changes nothing here. */
  physical?: boolean;
}

export interface CompactionResponse {
  revision: number;
}

export interface LeaseGrantRequest {
  /** Requested TTL in seconds. */
  ttl: number;
  /** 0: the store chooses an id, deterministically from the log index. */
  id: number;
}

export interface LeaseGrantResponse {
  revision: number;
  id: number;
  /** The TTL granted (raised to LEASE_TTL_MIN_SECONDS). */
  ttl: number;
}

export interface LeaseRevokeRequest {
  id: number;
}

export interface LeaseRevokeResponse {
  revision: number;
}

/** Persists a leader's remaining TTL so a new leader does not restart it from full. */
export interface LeaseCheckpointRequest {
  checkpoints: Array<{ id: number; remainingTtl: number }>;
}

export interface LeaseCheckpointResponse {
  revision: number;
}

export interface LeaseTimeToLiveResponse {
  id: number;
  /** Granted TTL in seconds. */
  grantedTtl: number;
  /** Remaining TTL persisted by the last checkpoint, or -1 when none (leader adds live value). */
  remainingTtl: number;
  keys: Bytes[];
}

export interface LeaseStatus {
  id: number;
  ttl: number;
}

export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface Event {
  type: EventType;
  /** For DELETE: key and modRevision (the delete's revision); other fields are 0/empty. */
  kv: KeyValue;
  prevKv?: KeyValue;
}

/** etcd's AlarmType: NONE 0, NOSPACE 1, CORRUPT 2. */
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];
/** etcd's AlarmRequest.AlarmAction: GET 0, ACTIVATE 1, DEACTIVATE 2. */
export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];

export interface AlarmMember {
  memberId: number;
  alarm: AlarmType;
}

/** etcd's AlarmRequest; replicated like a write so every member holds the same alarms. */
export interface AlarmRequest {
  action: AlarmAction;
  /** The member the alarm is about (ignored by GET). */
  memberId: number;
  /** With GET: the type to list, NONE for all. */
  alarm: AlarmType;
}

export interface AlarmResponse {
  alarms: AlarmMember[];
}

/** Present on writes sent by regionstore's own client: applied at most once. */
export interface ClientSeq {
  clientId: string;
  seq: number;
}

/** A command whose meaning belongs to an applier the region injects (external.ts): opaque here. */
export interface ExternalRequest {
  body: Bytes;
}

export interface ExternalResponse {
  /** The store revision after the command (its own if it wrote mvcc keys). */
  revision: number;
  /** The applier's answer, as bytes so the dedupe table can hold it. */
  body: Bytes;
}

/** What a Raft entry of the strong store carries. */
export type Command = (
  | { type: 'put'; put: PutRequest }
  | { type: 'deleteRange'; deleteRange: DeleteRangeRequest }
  | { type: 'txn'; txn: TxnRequest }
  | { type: 'compact'; compact: CompactionRequest }
  | { type: 'leaseGrant'; leaseGrant: LeaseGrantRequest }
  | { type: 'leaseRevoke'; leaseRevoke: LeaseRevokeRequest }
  | { type: 'leaseCheckpoint'; leaseCheckpoint: LeaseCheckpointRequest }
  | { type: 'alarm'; alarm: AlarmRequest }
  | { type: 'external'; external: ExternalRequest }
) & { client?: ClientSeq };

export type CommandType = Command['type'];

/** The answer of one applied command; `error` carries a deterministic MvccError. */
export type CommandResponse =
  | { type: 'put'; put: PutResponse }
  | { type: 'deleteRange'; deleteRange: DeleteRangeResponse }
  | { type: 'txn'; txn: TxnResponse }
  | { type: 'compact'; compact: CompactionResponse }
  | { type: 'leaseGrant'; leaseGrant: LeaseGrantResponse }
  | { type: 'leaseRevoke'; leaseRevoke: LeaseRevokeResponse }
  | { type: 'leaseCheckpoint'; leaseCheckpoint: LeaseCheckpointResponse }
  | { type: 'alarm'; alarm: AlarmResponse }
  | { type: 'external'; external: ExternalResponse }
  | { type: 'error'; code: MvccErrorCode; message: string };

export type MvccErrorCode =
  | 'compacted'
  | 'future-revision'
  | 'lease-not-found'
  | 'lease-exists'
  | 'lease-ttl-too-large'
  | 'key-not-found'
  | 'duplicate-key'
  | 'too-many-ops'
  | 'stale-request'
  /** A lease operation only the leader's lessor (the primary) can do. */
  | 'not-primary'
  /** A NOSPACE alarm is active: no puts, no txns with puts, no lease grants. */
  | 'no-space'
  /** A CORRUPT alarm is active: no writes at all. */
  | 'corrupt'
  | 'invalid'
  /** The embedder's write guard refused the keys (write-guard.ts); the message says why. */
  | 'failed-precondition';
