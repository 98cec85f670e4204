// The data the Raft core consumes and produces. These types are the contract between
// server/raft (the pure core), server/storage (which persists them), proto/ (which encodes
// them: proto/regionstore/v1/raft.proto is both the wire and the on-disk format) and
// server/region (the driver).
//
// Numbers: terms and indexes are JS numbers (safe up to 2^53, centuries of writes).
// Node ids are positive integers below 2^53; 0 means "none".

export type NodeId = number;
export const NONE: NodeId = 0;

export const EntryType = {
  Normal: 0,
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** Opaque to the core. An empty Normal entry is the no-op a new leader appends. */
  data: Uint8Array;
}

export interface HardState {
  term: number;
  /** Who this node voted for in `term`, or NONE. */
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** Opaque application state (the region node streams the real state separately). */
  data: Uint8Array;
}

export const ConfChangeType = {
  /** Add a voter, or promote an existing learner to voter. */
  AddNode: 0,
  RemoveNode: 1,
  AddLearnerNode: 2,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  /** Opaque to the core; the region node puts the member's peer URLs here. */
  context: Uint8Array;
}

export const MessageType = {
  // Local messages: never sent over the wire.
  Hup: 0,
  Beat: 1,
  Prop: 2, // a proposal; local, or forwarded from a follower to the leader
  Unreachable: 3,
  SnapStatus: 4,
  CheckQuorum: 5,
  TransferLeader: 6, // local, or forwarded to the leader
  // Wire messages.
  App: 10,
  AppResp: 11,
  Vote: 12,
  VoteResp: 13,
  PreVote: 14,
  PreVoteResp: 15,
  Snap: 16,
  Heartbeat: 17,
  HeartbeatResp: 18,
  TimeoutNow: 19,
  ReadIndex: 20,
  ReadIndexResp: 21,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export interface Message {
  type: MessageType;
  to: NodeId;
  from: NodeId;
  term: number;
  /** App: term of the entry at `index`; Vote/PreVote: last log term; AppResp reject: hint term. */
  logTerm: number;
  /** App: index preceding `entries`; AppResp: last matched (or, on reject, the rejected) index;
   *  Vote/PreVote: last log index; ReadIndexResp: the read index; TransferLeader: the transferee. */
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot | undefined;
  reject: boolean;
  /** AppResp reject: the follower's guess of the last index that may match. */
  rejectHint: number;
  /** Heartbeat(Resp): the leader-generated read round; ReadIndex(Resp): the request context. */
  context: Uint8Array;
}

export const StateRole = {
  Follower: 'follower',
  PreCandidate: 'pre-candidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type StateRole = (typeof StateRole)[keyof typeof StateRole];

export interface SoftState {
  leader: NodeId;
  role: StateRole;
}

/** A read request whose index is now known; it is safe to serve once applied >= index. */
export interface ReadState {
  index: number;
  requestCtx: Uint8Array;
}

/**
 * What the driver must do. The order (also in the RawNode module comment):
 *  1. send `messages` (at once: the core has withheld everything that depends on this
 *     Ready being durable, and releases it after `advance`);
 *  2. persist `snapshot`, `entries` and `hardState` in one write, synced when `mustSync`;
 *  3. apply `snapshot` (if any), then `committedEntries` in order (they are already durable);
 *  4. call `advance(ready)`.
 */
export interface Ready {
  softState?: SoftState | undefined;
  hardState?: HardState | undefined;
  entries: Entry[];
  snapshot?: Snapshot | undefined;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  mustSync: boolean;
}

/** Errors a Storage throws; the core handles them by name. */
export class StorageError extends Error {
  constructor(
    readonly kind: 'compacted' | 'unavailable' | 'snapshot-out-of-date' | 'snapshot-temporarily-unavailable',
    message?: string,
  ) {
    super(message ?? kind);
    this.name = 'StorageError';
  }
}

/**
 * The log as the core reads it. Synchronous on purpose: the core is pure, so an on-disk
 * implementation keeps the uncompacted log in memory and writes through.
 */
export interface Storage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most `maxBytes` of data but always at least one. Throws
   *  StorageError('compacted') below firstIndex, 'unavailable' past lastIndex. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i, for firstIndex()-1 <= i <= lastIndex(). */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

/** Why a proposal (or a read, or a transfer) was refused. */
export const ProposalRefusal = {
  NoLeader: 'no-leader',
  TransferInProgress: 'leader-transfer-in-progress',
  TooManyUncommitted: 'too-many-uncommitted-bytes',
  ConfChangePending: 'conf-change-pending',
  NotLeader: 'not-leader',
  NotMember: 'not-a-member',
  /** proposeConfChange of a change that is malformed or would leave no voter. */
  InvalidConfChange: 'invalid-conf-change',
} as const;
export type ProposalRefusal = (typeof ProposalRefusal)[keyof typeof ProposalRefusal];

export class ProposalRefusedError extends Error {
  constructor(readonly reason: ProposalRefusal, message?: string) {
    super(message ?? `proposal refused: ${reason}`);
    this.name = 'ProposalRefusedError';
  }
}

export function entrySize(e: Entry): number {
  // Data bytes plus a fixed overhead for term, index and type on the wire.
  return e.data.length + 24;
}

export function emptyMessage(type: MessageType, from: NodeId, to: NodeId, term: number): Message {
  return {
    type, to, from, term,
    logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0,
    context: EMPTY_BYTES,
  };
}

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** What the follower's side of this recovery has seen (the region node reports it). */
export interface StorageLossStatus {
  /** The highest commit index a leader told us of beyond our last index; 0 when none. */
  lostEntriesUpTo: number;
  /** Times a loss was detected (each time the leader's commit passed our log anew). */
  lossesDetected: number;
  /** The application asked for a snapshot and has not said it has one. */
  needsSnapshot: boolean;
}
