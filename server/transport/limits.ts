// Every bound of the peer transport, as named constants with their defaults. An operator
// (or a test) overrides any of them through GrpcTransportOptions.limits.

import { assert } from '../util/assert.js';

/** Messages waiting for one peer. Past this, new messages to it are dropped (and the peer
 *  reported unreachable) rather than queued: raft retransmits, memory must not grow. */
export const PEER_QUEUE_MESSAGES_MAX = 4096;
/** Estimated bytes waiting for one peer; 32 MiB is the raft in-flight window per follower. */
export const PEER_QUEUE_BYTES_MAX = 32 * 1024 * 1024;
/** Bytes of one Send frame. Everything queued since the last write goes in one frame up to
 *  this; a single message larger than this still goes, alone. */
export const BATCH_BYTES_MAX = 2 * 1024 * 1024;
/** Frames handed to grpc-js but not yet written to the HTTP/2 stream. Small, so that under
 *  backpressure messages wait in our bounded queue (and coalesce into the next frame)
 *  instead of in grpc-js's unbounded-by-bytes write buffer. */
export const STREAM_WRITES_INFLIGHT_MAX = 2;
/** Largest frame this node's server accepts (grpc-js defaults to 4 MiB). Must exceed any
 *  single queued message, hence >= PEER_QUEUE_BYTES_MAX. */
export const RECEIVE_MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
/** Reconnect backoff after a broken stream: initial delay, doubling up to the max, each
 *  delay spread by ±jitter so nodes restarted together do not reconnect in lockstep. */
export const RECONNECT_BACKOFF_INITIAL_MS = 100;
export const RECONNECT_BACKOFF_MAX_MS = 3000;
export const RECONNECT_BACKOFF_JITTER = 0.2;
/** HTTP/2 pings: a dead peer (or a black-holed connection) is noticed within
 *  time + timeout, well before an operator would. */
export const KEEPALIVE_TIME_MS = 5000;
export const KEEPALIVE_TIMEOUT_MS = 5000;
/** Bytes of one snapshot data frame: small enough that a snapshot never holds the
 *  connection for long between heartbeat frames of the Send stream. */
export const SNAPSHOT_CHUNK_BYTES_MAX = 256 * 1024;
/** Snapshot data frames handed to grpc-js but not yet written (the snapshot's window). */
export const SNAPSHOT_WRITES_INFLIGHT_MAX = 4;
/** How long the leader waits for a follower's report on a snapshot it streams: this base
 *  (the receiver's final sync and open of the new state, and slack for a busy machine)
 *  plus SNAPSHOT_DEADLINE_MS_PER_MIB for every MiB sent so far, i.e. the transfer must
 *  keep up an assumed minimum rate of 1 MiB per that many ms (2 MiB/s; loopback and a
 *  disk do hundreds). Past it the send is cancelled and reported as failed, so raft
 *  re-sends; until then raft sends that follower nothing else (one snapshot at a time). */
export const SNAPSHOT_DEADLINE_BASE_MS = 60_000;
export const SNAPSHOT_DEADLINE_MS_PER_MIB = 500;
/** Deadline of a Probe call. */
export const PROBE_TIMEOUT_MS = 2000;
/** Deadline of a Members call (one attempt; a joining member retries). */
export const MEMBERS_TIMEOUT_MS = 2000;

export interface TransportLimits {
  queueMessagesMax: number;
  queueBytesMax: number;
  batchBytesMax: number;
  writesInflightMax: number;
  receiveMessageBytesMax: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  backoffJitter: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  snapshotChunkBytesMax: number;
  snapshotWritesInflightMax: number;
  snapshotDeadlineBaseMs: number;
  snapshotDeadlineMsPerMiB: number;
  probeTimeoutMs: number;
  membersTimeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<TransportLimits> = {
  queueMessagesMax: PEER_QUEUE_MESSAGES_MAX,
  queueBytesMax: PEER_QUEUE_BYTES_MAX,
  batchBytesMax: BATCH_BYTES_MAX,
  writesInflightMax: STREAM_WRITES_INFLIGHT_MAX,
  receiveMessageBytesMax: RECEIVE_MESSAGE_BYTES_MAX,
  backoffInitialMs: RECONNECT_BACKOFF_INITIAL_MS,
  backoffMaxMs: RECONNECT_BACKOFF_MAX_MS,
  backoffJitter: RECONNECT_BACKOFF_JITTER,
  keepaliveTimeMs: KEEPALIVE_TIME_MS,
  keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS,
  snapshotChunkBytesMax: SNAPSHOT_CHUNK_BYTES_MAX,
  snapshotWritesInflightMax: SNAPSHOT_WRITES_INFLIGHT_MAX,
  snapshotDeadlineBaseMs: SNAPSHOT_DEADLINE_BASE_MS,
  snapshotDeadlineMsPerMiB: SNAPSHOT_DEADLINE_MS_PER_MIB,
  probeTimeoutMs: PROBE_TIMEOUT_MS,
  membersTimeoutMs: MEMBERS_TIMEOUT_MS,
};

export function resolveLimits(overrides: Partial<TransportLimits> | undefined): TransportLimits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    assert(Number.isFinite(value) && value >= 0, `transport limit ${name} = ${value}: must be a finite number >= 0`);
  }
  assert(limits.queueMessagesMax >= 1 && limits.writesInflightMax >= 1 && limits.snapshotWritesInflightMax >= 1,
    () => `transport limits: queue and windows must hold at least one item: ${JSON.stringify(limits)}`);
  assert(limits.queueBytesMax <= limits.receiveMessageBytesMax,
    () => `transport limits: queueBytesMax ${limits.queueBytesMax} > receiveMessageBytesMax ` +
      `${limits.receiveMessageBytesMax}; a queued message could be refused by the receiver`);
  assert(limits.backoffJitter < 1, `transport limit backoffJitter ${limits.backoffJitter}: must be < 1`);
  return limits;
}

/** Channel and server options shared by both ends (keepalive, frame size, channel backoff). */
export function grpcChannelOptions(limits: TransportLimits): Record<string, number> {
  return {
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    // Ping idle connections too: a peer stream may be quiet between elections.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': limits.receiveMessageBytesMax,
    'grpc.max_send_message_length': limits.receiveMessageBytesMax,
    // grpc-js's own reconnect backoff goes up to 120 s by default; ours must decide.
    'grpc.initial_reconnect_backoff_ms': limits.backoffInitialMs,
    'grpc.max_reconnect_backoff_ms': limits.backoffMaxMs,
  };
}
