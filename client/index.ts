// regionstore's TypeScript client library. See README.md, "Client library".
export { Client, type ClientOptions } from './lib/client.js';
export type { CallOptions, RetryEvent } from './lib/caller.js';
export { FROM_KEY, prefixEnd, text, toBuffer, type BytesLike } from './lib/bytes.js';
export { idToHex, type IdLike, type LeaseId, type MemberId } from './lib/int64.js';
export * from './lib/errors.js';
export { KV, type GetOptions } from './lib/kv.js';
export { SessionClock, type ReadInfo, type ReadLevel, type ReadLevelOptions } from './lib/read-level.js';
export type { DeleteOptions, KeyRange, PutOptions, RangeOptions, SortOrder, SortTarget } from './lib/requests.js';
export { cmp, op, TxnBuilder, type Compare, type CompareOp, type TxnOp } from './lib/txn.js';
export type * from './lib/types.js';
export { EventType } from './lib/types.js';
export { Watch, type WatchBatch, type WatchFilter, type WatchOptions, type WatchStats } from './lib/watch.js';
export { Leases, type LeaseGrant, type LeaseTimeToLive } from './lib/lease.js';
export { KeptLease, type LeaseEvents } from './lib/lease-keeper.js';
export { Cluster, type Member, type MemberListResult } from './lib/cluster.js';
export { Namespaces, type Namespace, type NamespaceChanges, type NamespaceSpec, type NamespaceLevel, type CrdtType, type ReadLevelName } from './lib/namespaces.js';
export { Edges, type EdgeInfo, type EdgeList, type EdgeStatus } from './lib/edges.js';
export {
  Crdt, CRDT_PAGES_MAX, type CompletenessOptions, type ConflictsOptions, type CrdtReadOptions, type CrdtReadRequest, type CrdtWriteOptions,
  type EventsScanOptions, type LwwRangeOptions, type SupersededOptions,
} from './lib/crdt.js';
export { crdtOp } from './lib/crdt-types.js';
export type {
  AppendedEvent, CompletenessResult, ConflictsResult, CounterEntry, CounterGetResult, CrdtAnswer, CrdtEntry, CrdtHashResult, CrdtOp,
  CrdtOpResult, CrdtOpWriteResult, CrdtReadAnswer, CrdtReadResult, CrdtTypeName, CrdtVector, CrdtWriteResult, DeviceCompleteness, Dot,
  EventInput, EventsAppendResult, EventsScanResult, Hlc, LwwEntry, LwwGetResult, LwwRangeResult, MvEntry, MvGetResult, SetEntry,
  SetMembersResult, StoredEvent, SupersededRecord, SupersededResult,
} from './lib/crdt-types.js';
export {
  Maintenance, type AlarmAction, type AlarmMember, type AlarmType, type EndpointStatus, type HashKVResult, type MemberStatus,
} from './lib/maintenance.js';
export { CLIENT_ID_METADATA_KEY, SEQ_METADATA_KEY, WRITE_SLOTS_MAX } from './lib/identity.js';
export {
  ATTEMPT_TIMEOUT_MS_DEFAULT, BACKOFF_BASE_MS, BACKOFF_MAX_MS, CALL_TIMEOUT_MS_DEFAULT, RETRY_ATTEMPTS_MAX, type CallKind,
} from './lib/policy.js';
export { anyHttps, normalizeEndpoint, parseEndpoints } from './lib/pool.js';
export type { ClientTlsFiles } from '../server/util/tls-client.js';
