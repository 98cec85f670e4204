// Limits and defaults of a sync session (DESIGN §6), each a named constant an operator (or
// the edge's flags) can change through SyncSessionOptions.

/** SYNC_PROTOCOL_VERSION of proto/regionstore/v1/sync.proto. */
export const SYNC_PROTOCOL_VERSION = 1;

/** Bytes of one page before compression that a sender aims for (server/crdt's default). */
export const SYNC_PAGE_BUDGET_BYTES_DEFAULT = 64 * 1024;
/**
 * Bytes of one page after decompression at most: one record may be 1 MiB (CRDT_OP_BYTES_MAX
 * of server/eventual) and gets a page of its own, so twice that. Past it: page-too-large.
 */
export const SYNC_PAGE_BYTES_MAX = 2 * 1024 * 1024;
/**
 * Pages smaller than this go uncompressed (identity): a one-record live page grows under
 * brotli and deflate alike (scripts/measure-sync-compression.ts).
 */
export const SYNC_COMPRESS_MIN_BYTES = 512;
/** Records of one page at most (the region's CRDT_PAGE_RECORDS_MAX). Past it: page-too-large. */
export const SYNC_PAGE_RECORDS_MAX = 10_000;
/** Bytes of one encoded SyncMessage at most (grpc-js' default receive limit is 4 MiB). */
export const SYNC_MESSAGE_BYTES_MAX = 4 * 1024 * 1024;
/** Namespaces in one HELLO at most, and origins in one vector. */
export const SYNC_HELLO_NAMESPACES_MAX = 10_000;
export const SYNC_VECTOR_ORIGINS_MAX = 100_000;

/**
 * Unacknowledged DELTAs a side accepts (its HELLO's window) unless told otherwise. Not more:
 * a region member applies what one Ready committed before it sends any Raft message again,
 * and 8 pages of 64 KiB are thousands of events: at the ~210 µs of wall per event that
 * scripts/bench-eventual-apply.ts --rows page measured on a loaded 2-core machine, most of a
 * second, so 16 would pass the 1 s election timeout and risk a leader change. The region
 * ACKs a window piece by piece instead (APPLY_PIECE_BYTES).
 */
export const SYNC_WINDOW_DEFAULT = 8;
/** ... and at most (a HELLO asking for more is clamped). */
export const SYNC_WINDOW_MAX = 256;

/** A HEARTBEAT is sent when nothing else was sent for this long. */
export const SYNC_HEARTBEAT_MS_DEFAULT = 5_000;
/** A peer silent (no message at all) for this long ends the session: 3 missed heartbeats. */
export const SYNC_PEER_SILENCE_MS_DEFAULT = 15_000;
/** The peer's HELLO must arrive within this after the stream opens (or ours was sent). */
export const SYNC_HELLO_DEADLINE_MS_DEFAULT = 10_000;
/** The oldest unacknowledged DELTA must be ACKed (or answered) within this. */
export const SYNC_ACK_DEADLINE_MS_DEFAULT = 30_000;
/** A page refused for clock skew or an unknown namespace is offered again after this. */
export const SYNC_REFUSED_RETRY_MS_DEFAULT = 5_000;

/** Reconnect backoff (server/sync/backoff.ts): first delay, cap, growth factor. */
export const SYNC_BACKOFF_BASE_MS_DEFAULT = 200;
export const SYNC_BACKOFF_CAP_MS_DEFAULT = 30_000;
export const SYNC_BACKOFF_FACTOR_DEFAULT = 2;
/**
 * While the region is unreachable (no answer: connection refused, reset or a deadline, i.e.
 * the link or the region is down) an edge probes at a steady interval in [this/2, this)
 * instead of growing the backoff: a failed connect costs the region nothing, and a device
 * reconnects within this of its link returning (the exponential backoff, meant for answered
 * refusals, had grown to many seconds over a 5 s outage: KPI p50 1.35 s).
 */
export const SYNC_UNREACHABLE_PROBE_MS_DEFAULT = 800;
/**
 * A member's not-leader answer (during an election, or a redirect to a leader this edge
 * reaches through another --region endpoint) is not an overload signal: the next hop waits at
 * most this (jittered below it), however many hops came before. Hops cost the region one
 * HELLO each; the grown backoff had left an edge 24 s between hops and short of the leader
 * when a chaos run's quiet phase ended (seed 31, after membership changes and leader kills).
 */
export const SYNC_NOT_LEADER_RETRY_CAP_MS_DEFAULT = 1_000;
