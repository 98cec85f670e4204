// Limits of the client API, as named constants with the unit last (DESIGN §8, STYLE).
// Every one is a default an operator can override through `ApiLimits`; the defaults
// follow etcd's where etcd has one, so a client that works against etcd works here.

import {
  CRDT_DEVICES_PAGE_DEFAULT, CRDT_DEVICES_PAGE_MAX, CRDT_EVENTS_PER_APPEND_MAX, CRDT_EVENT_DEVICE_BYTES_MAX, CRDT_EVENT_TYPE_BYTES_MAX,
  CRDT_OP_BYTES_MAX, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX, CRDT_WRITE_OPS_MAX,
} from '../eventual/limits.js';

/** etcd's --max-request-bytes default (1.5 MiB): the largest request the store accepts. */
export const REQUEST_BYTES_MAX = 1.5 * 1024 * 1024;
/**
 * What gRPC may receive above REQUEST_BYTES_MAX (framing, field tags), as etcd adds;
 * the gRPC receive limit is REQUEST_BYTES_MAX + this, the handler checks the payload.
 */
export const GRPC_OVERHEAD_BYTES = 512 * 1024;
/**
 * etcd has no key limit of its own beyond the request size, and a client that stores a 10 kB
 * key in etcd must be able to here (the differential checks it); an operator may set less.
 */
export const KEY_BYTES_MAX = REQUEST_BYTES_MAX;
/** A value may use the whole request. */
export const VALUE_BYTES_MAX = REQUEST_BYTES_MAX;
/** etcd's --max-txn-ops default: compares, and ops of each branch, counted separately. */
export const TXN_OPS_MAX = 128;
/** Watchers one Watch stream may hold at once. */
export const WATCHERS_PER_STREAM_MAX = 1024;
/**
 * Watchers all Watch streams of one client connection may hold at once: a client that opens
 * many streams on one connection cannot get round the per-stream limit (etcd has no limit).
 */
export const WATCHERS_PER_CONNECTION_MAX = 8192;
/**
 * Bytes of watch responses one Watch stream may have handed to gRPC that the client has not
 * taken yet (HTTP/2 flow control holds them in this process). A client that reads slower than
 * its watchers produce (many watchers, large values) pins at most this much before the
 * stream's watchers are canceled (watch-guard.ts).
 */
export const WATCH_PENDING_BYTES_MAX = 64 * 1024 * 1024;
/**
 * How long a Watch stream may hold unsent responses without the client taking any of them
 * (a client that never reads): then its watchers are canceled and the stream reset.
 */
export const WATCH_STALL_MS = 60_000;
/** etcd's MaxLeaseTTL: 9e9 seconds. */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000;
/** Largest blob of one Snapshot response (etcd sends 32 KiB). */
export const SNAPSHOT_CHUNK_BYTES_MAX = 64 * 1024;
/** Bytes gRPC may send in one response: a Range answer can be large. */
export const GRPC_SEND_BYTES_MAX = 2 ** 31 - 1;
/**
 * What one EdgeSync message may be on the client port: the sync session's own limit (4 MiB,
 * server/sync's SYNC_MESSAGE_BYTES_MAX) plus framing, the same as server/transport's
 * SYNC_GRPC_MESSAGE_BYTES_MAX on the dialing side, so the session (with a SyncError a person
 * can read), not grpc-js, refuses an oversized message. The client port's limit for every
 * other call stays REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES (etcd's).
 */
export const EDGE_SYNC_RECEIVE_BYTES_MAX = 4 * 1024 * 1024 + 64 * 1024;

// ---- regionstore.v1.Crdt (issue 13): the eventual data path's limits are the region's
// (server/eventual/limits.ts), so the API refuses exactly what the apply path would.
export {
  CRDT_DEVICES_PAGE_DEFAULT, CRDT_DEVICES_PAGE_MAX, CRDT_EVENTS_PER_APPEND_MAX, CRDT_EVENT_DEVICE_BYTES_MAX, CRDT_EVENT_TYPE_BYTES_MAX,
  CRDT_OP_BYTES_MAX, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX, CRDT_WRITE_OPS_MAX,
};
/** An mv causal-context token as a Read returned it (it grows with the writers of a key). */
export const CRDT_CONTEXT_BYTES_MAX = 64 * 1024;

export interface ApiLimits {
  requestBytesMax: number;
  grpcOverheadBytes: number;
  keyBytesMax: number;
  valueBytesMax: number;
  txnOpsMax: number;
  watchersPerStreamMax: number;
  watchersPerConnectionMax: number;
  watchPendingBytesMax: number;
  watchStallMs: number;
  leaseTtlSecondsMax: number;
  snapshotChunkBytesMax: number;
  crdtWriteOpsMax: number;
  crdtOpBytesMax: number;
  crdtEventsPerAppendMax: number;
  crdtReadLimitDefault: number;
  crdtReadLimitMax: number;
  crdtDevicesPageDefault: number;
  crdtDevicesPageMax: number;
}

export const DEFAULT_LIMITS: Readonly<ApiLimits> = Object.freeze({
  requestBytesMax: REQUEST_BYTES_MAX,
  grpcOverheadBytes: GRPC_OVERHEAD_BYTES,
  keyBytesMax: KEY_BYTES_MAX,
  valueBytesMax: VALUE_BYTES_MAX,
  txnOpsMax: TXN_OPS_MAX,
  watchersPerStreamMax: WATCHERS_PER_STREAM_MAX,
  watchersPerConnectionMax: WATCHERS_PER_CONNECTION_MAX,
  watchPendingBytesMax: WATCH_PENDING_BYTES_MAX,
  watchStallMs: WATCH_STALL_MS,
  leaseTtlSecondsMax: LEASE_TTL_SECONDS_MAX,
  snapshotChunkBytesMax: SNAPSHOT_CHUNK_BYTES_MAX,
  crdtWriteOpsMax: CRDT_WRITE_OPS_MAX,
  crdtOpBytesMax: CRDT_OP_BYTES_MAX,
  crdtEventsPerAppendMax: CRDT_EVENTS_PER_APPEND_MAX,
  crdtReadLimitDefault: CRDT_READ_LIMIT_DEFAULT,
  crdtReadLimitMax: CRDT_READ_LIMIT_MAX,
  crdtDevicesPageDefault: CRDT_DEVICES_PAGE_DEFAULT,
  crdtDevicesPageMax: CRDT_DEVICES_PAGE_MAX,
});

/**
 * Defaults with the given overrides; every limit must be a positive integer. A key and a
 * value may each use the whole request, so a --max-request-bytes given without them moves
 * them along (as in etcd, where the request size is the only bound on either).
 */
export function resolveLimits(overrides: Partial<ApiLimits> = {}): ApiLimits {
  const request = overrides.requestBytesMax;
  const follow = request === undefined ? {} : { keyBytesMax: request, valueBytesMax: request };
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...follow, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`api limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}
