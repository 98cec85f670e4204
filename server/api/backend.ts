// What the client API needs from a region node. The region node implements `Backend`
// structurally (server/region cannot import server/api), so every type it sees here is
// either a store type from server/mvcc or plain data defined below.
//
// Contract, for every method:
// - Requests arrive validated (server/api/validate.ts): non-empty keys within limits,
//   range ends within the key limit (one before its key is an empty range), txns within TXN_OPS_MAX without duplicate writes, and
//   every number (revision, lease id, member id) a safe integer. Lease and member ids
//   that do not fit below 2^53 never reach the backend: they cannot be ids the backend
//   issued, so the API answers "not found" itself.
// - Failures are thrown (or rejected) as Errors carrying `code: BackendErrorCode`
//   (errors.ts), e.g. MvccError, or `Object.assign(new Error(msg), { code: 'no-leader' })`.
//   Anything else is answered INTERNAL; the process never crashes on it.
// - Ids the backend issues (lease ids, member ids; watch ids are the API's own) are
//   positive integers below 2^53. The cluster id may be a decimal string for 64-bit ids.
// - Results carry the store revision their response header should show.

import type {
  ClientSeq,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  HashKVResult,
  KeyValue,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from '../mvcc/index.js';

import type { NamespaceBackend } from './namespace-backend.js';
import type { AuthBackend } from './auth-backend.js';
import type { AuthInfo } from '../auth/index.js';
import type { ReadAsk } from '../namespace/index.js';

/** A Range served at a read level, with what the trailing metadata reports. */
export interface LeveledRangeResult {
  response: RangeResponse;
  level: string;
  appliedRevision: number;
  stalenessMs?: number;
}

export type { KeyValue, Event, HashKVResult, WatchRequest, WatchResponse };

/**
 * The writer's identity, from gRPC metadata `rs-client-id` (opaque string) and `rs-seq`
 * (decimal, > 0). A write carrying one applies at most once: a retry with the same
 * (clientId, seq) gets the first answer. Absent for plain etcd clients.
 */
export type RequestIdentity = ClientSeq;

/** What every response header carries besides the revision; read once per response. */
export interface HeaderInfo {
  /** uint64 on the wire: a number below 2^53 or a decimal string. */
  clusterId: number | string;
  memberId: number;
  raftTerm: number;
  /** The node's current (applied) store revision. */
  revision: number;
}

export interface LeaseKeepAliveResult {
  revision: number;
  /** Remaining TTL in seconds after the renewal. */
  ttl: number;
}

export interface LeaseTimeToLiveResult {
  revision: number;
  /** Remaining TTL in seconds (live, as the leader sees it). */
  ttl: number;
  grantedTtl: number;
  /** Keys attached to the lease; empty unless asked for. */
  keys: Uint8Array[];
}

export interface LeaseLeasesResult {
  revision: number;
  ids: number[];
}

/** A cluster member, with etcd's Member field names (the wire names). */
export interface Member {
  ID: number;
  /** Empty for a member added but not started yet. */
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberAddResult {
  member: Member;
  members: Member[];
}

/** etcd's AlarmType: NONE 0, NOSPACE 1, CORRUPT 2. */
export type AlarmType = 0 | 1 | 2;
/** etcd's AlarmAction: GET 0, ACTIVATE 1, DEACTIVATE 2. */
export type AlarmAction = 0 | 1 | 2;

export interface AlarmMember {
  memberID: number;
  alarm: AlarmType;
}

export interface StatusInfo {
  /** Member id of the leader this node knows, 0 for none. */
  leader: number;
  /** Last index of the node's Raft log. */
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  /** Bytes the state database uses on disk, and of live data. */
  dbSize: number;
  dbSizeInUse: number;
  isLearner: boolean;
  /** Alarm or health problems to show (etcd's `errors`). */
  errors: string[];
}

/**
 * A consistent copy of the node's state. `sizeBytes` is the exact number of bytes the
 * chunks yield. The API pads the stream with zero bytes to a multiple of 512 (etcdctl
 * requires it) and appends the SHA-256 of the padded bytes, so the format must tolerate
 * trailing zero padding (carry its own length).
 */
export interface SnapshotStream {
  sizeBytes: number;
  chunks: AsyncIterable<Uint8Array>;
}

/**
 * One watcher, as server/mvcc's WatchHub hands it out (`store.watchHub.watch(req)` is
 * one): the API pulls responses one at a time, so a slow client holds the watcher's
 * delivery (the hub then falls back to history) instead of buffering without bound.
 */
export interface BackendWatcher {
  /**
   * The next response, or undefined once the watcher is closed. Events in revision
   * order with prev_kv and filters applied; empty events: a progress notification; a
   * response with compactRevision set ends the watcher (its history is compacted).
   * Called by one caller at a time.
   */
  next(): Promise<WatchResponse | undefined>;
  /** Asks for a progress notification (an empty response) once the watcher is synced. */
  requestProgress(): void;
  /** Idempotent; next() then answers undefined. */
  cancel(): void;
}

export interface Backend {
  /** Cheap and synchronous: called for every response header. */
  headerInfo(): HeaderInfo;

  // ---- KV (linearizable reads use ReadIndex; `serializable` reads are local) ----
  range(req: RangeRequest): Promise<RangeResponse>;
  // `auth`: the caller the Auth gate checked (auth enabled); the write applies only if the
  // auth state is still the one it was checked against (etcd's apply-time check).
  put(req: PutRequest, id?: RequestIdentity, auth?: AuthInfo): Promise<PutResponse>;
  deleteRange(req: DeleteRangeRequest, id?: RequestIdentity, auth?: AuthInfo): Promise<DeleteRangeResponse>;
  /** Nested range ops of a txn are read at the txn's revision (always linearizable). */
  txn(req: TxnRequest, id?: RequestIdentity, auth?: AuthInfo): Promise<TxnResponse>;
  /** Throws `future-revision` / `compacted` as etcd does. */
  compact(req: CompactionRequest, id?: RequestIdentity): Promise<CompactionResponse>;

  // ---- Watch (served on every member, from the local store) ----
  /**
   * Registers a watcher on the local store (startRevision 0: from the next revision;
   * a start below the compacted revision answers compactRevision at once). The
   * backend's periodic progress_notify ticks arrive through next() as empty responses.
   */
  watch(req: WatchRequest): BackendWatcher;

  // ---- Lease ----
  /** id 0: the backend chooses. Throws `lease-exists`, `lease-ttl-too-large`. */
  leaseGrant(req: LeaseGrantRequest, id?: RequestIdentity): Promise<LeaseGrantResponse>;
  /** Throws `lease-not-found`. */
  leaseRevoke(leaseId: number, id?: RequestIdentity): Promise<LeaseRevokeResponse>;
  /** Renews (on the leader); throws `lease-not-found` for an unknown or expired lease. */
  leaseKeepAlive(leaseId: number): Promise<LeaseKeepAliveResult>;
  /** Throws `lease-not-found`. */
  leaseTimeToLive(leaseId: number, keys: boolean): Promise<LeaseTimeToLiveResult>;
  leaseLeases(): Promise<LeaseLeasesResult>;

  // ---- Cluster ----
  memberAdd(peerURLs: string[], isLearner: boolean): Promise<MemberAddResult>;
  memberRemove(memberId: number): Promise<Member[]>;
  memberUpdate(memberId: number, peerURLs: string[]): Promise<Member[]>;
  /** linearizable: read the membership through ReadIndex (etcd 3.5's flag). */
  memberList(linearizable: boolean): Promise<Member[]>;
  memberPromote(memberId: number): Promise<Member[]>;

  // ---- Maintenance ----
  status(): Promise<StatusInfo>;
  /** memberId 0 with GET: every alarm. Returns the alarms after the action. */
  alarm(action: AlarmAction, memberId: number, alarm: AlarmType): Promise<AlarmMember[]>;
  defragment(): Promise<void>;
  /** A hash of the whole state database (etcd's Hash). */
  hash(): Promise<number>;
  /** revision 0: the current revision. Throws `compacted` / `future-revision`. */
  hashKV(revision: number): Promise<HashKVResult>;
  /** Transfers leadership; throws `bad-leader-transferee`, `not-leader` (leader only). */
  moveLeader(targetMemberId: number): Promise<void>;
  snapshot(): Promise<SnapshotStream>;

  /**
   * A Range at a read level (DESIGN §2); absent: range() serves every read (etcd's two
   * levels only). `ask` undefined: the namespaces' default. `deadlineMs`: epoch ms or Infinity.
   */
  rangeLeveled?(req: RangeRequest, ask: ReadAsk | undefined, deadlineMs: number): Promise<LeveledRangeResult>;

  // ---- regionstore.v1 (absent: those services are not offered)
  /** The namespace registry (regionstore.v1.Namespaces). */
  readonly namespaceOps?: NamespaceBackend;
  // regionstore.v1.Crdt: `crdtOps` (server.ts's ServedBackend; crdt-backend.ts imports this file).

  /** etcd's Auth service and permission checks (absent: no Auth service, nothing checked). */
  readonly auth?: AuthBackend;
}
