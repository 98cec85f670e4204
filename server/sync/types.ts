// The public shapes of a sync session: its options, how it ended, its stats.

import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { VersionVector } from '../crdt/index.js';
import type { PageCodec, SyncChannel, SyncTimers } from './channel.js';
import type { ReplicaSide, SyncErrorCode } from './replica-side.js';

/** The initiator (an edge, a dialing peer) sends HELLO first; the acceptor (the region) answers it. */
export type SyncRole = 'initiator' | 'acceptor';

export interface SyncSessionOptions {
  readonly role: SyncRole;
  readonly replica: ReplicaSide;
  readonly channel: SyncChannel;
  /** Physical time (HLC input, skew measurement) and monotonic time (deadlines, lag). */
  readonly clock: Clock;
  readonly timers: SyncTimers;
  /** Codecs this side reads and writes, preferred first; identity is always added last. */
  readonly codecs: readonly PageCodec[];
  /** A reconciliation id both sides log (the initiator's is used; the acceptor echoes it). */
  readonly sessionId: string;
  /** Initiator: the namespaces to sync (empty or absent: every one the acceptor has). */
  readonly namespaces?: readonly string[];
  /** DELTAs this side accepts unacknowledged (its HELLO's window). */
  readonly window?: number;
  readonly heartbeatMs?: number;
  readonly peerSilenceMs?: number;
  readonly helloDeadlineMs?: number;
  readonly ackDeadlineMs?: number;
  readonly refusedRetryMs?: number;
  /** Page budget before compression. */
  readonly pageBudgetBytes?: number;
  readonly logger?: Logger;
  /** Optional: told of each event (metrics, logs); never throws into the session. */
  readonly observer?: SyncObserver;
}

/** Why a session ended. Every session ends with exactly one outcome; `run()` never rejects. */
export type SyncEndReason =
  /** close() was called on this side. */
  | 'closed'
  /** The peer ended the stream without an error. */
  | 'peer-closed'
  /** The peer sent a fatal SyncError (`code`, `message`, `detail`: e.g. not-leader + the leader's URL). */
  | 'peer-error'
  /** This side refused the peer with a fatal SyncError (`code`: malformed, unsupported-version, page-too-large, ...). */
  | 'protocol-error'
  /** A deadline passed: no HELLO, the peer silent, no ACK, an apply that did not finish (`code` 'deadline'). */
  | 'deadline'
  /**
   * The peer holds more of this replica's own origin than this replica does (`aheadOfYou`): the
   * data directory lost writes; the edge must take a new incarnation before it syncs again.
   */
  | 'new-incarnation'
  /** The stream failed (transport error). */
  | 'stream-error'
  /** The local replica failed (an apply or extract threw): `code` 'internal'. */
  | 'replica-error';

export interface SyncOutcome {
  readonly reason: SyncEndReason;
  readonly code?: SyncErrorCode | string;
  /** A sentence a person can act on. */
  readonly message: string;
  readonly detail?: string;
  /** The acceptor's count of our own origin(s) that it holds beyond what we hold ('new-incarnation'). */
  readonly aheadOfYou?: ReadonlyArray<{ origin: string; seq: number }>;
  /** False when reconnecting cannot help without a change (unsupported-version, new-incarnation). */
  readonly retry: boolean;
}

/** Counters of one session (the region's `regionstore_sync_*` metrics and `rsctl edge list` read them). */
export interface SyncStats {
  /** Encoded SyncMessage bytes each way (what crossed the stream). */
  bytesSent: number;
  bytesReceived: number;
  /** DELTA pages each way, and their bytes before compression. */
  pagesSent: number;
  pagesReceived: number;
  pageBytesSent: number;
  pageBytesReceived: number;
  /** Records sent, and records newly applied from received pages. */
  opsSent: number;
  opsApplied: number;
  /** Pages refused each way (clock-skew, unknown-namespace, ...), and RESEND_FROMs each way. */
  refusedSent: number;
  refusedReceived: number;
  resendsSent: number;
  resendsReceived: number;
  /** Skew: the peer's physical clock minus ours at the last message (ms, positive: the peer is ahead); max |skew| seen. */
  skewMs: number;
  maxAbsSkewMs: number;
  /** Messages whose HLC was past max_clock_skew_ms (not merged into our HLC). */
  skewRefusals: number;
  /** Records we hold that the peer has not acknowledged (per the last ACKs), over every namespace; refreshed every tick and by lag(). */
  lagOps: number;
  /** Age of the oldest unacknowledged DELTA (0: none in flight). */
  lagMs: number;
  /** Namespaces whose catch-up finished each way. */
  caughtUpSent: number;
  caughtUpReceived: number;
  /** Monotonic ms of the start and of the last message from the peer. */
  startedMs: number;
  lastReceivedMs: number;
}

/** Events of a session, for metrics and logs. Every method optional. */
export interface SyncObserver {
  hello?(peer: { replicaId: string; sessionId: string; namespaces: readonly string[]; skewMs: number }): void;
  pageSent?(ns: string, records: number, wireBytes: number, rawBytes: number): void;
  pageApplied?(ns: string, applied: number, wireBytes: number, rawBytes: number): void;
  acked?(ns: string, vector: VersionVector): void;
  /** A refusal either way (`sent`: we refused the peer's page; else the peer refused ours). */
  refused?(code: string, message: string, sent: boolean): void;
  caughtUp?(ns: string, direction: 'sent' | 'received'): void;
  ended?(outcome: SyncOutcome): void;
}
