// Limits of the client API, as named constants with the unit last (DESIGN §8, STYLE).
// Every one is a default an operator can override through `ApiLimits`; the defaults
// follow etcd's where etcd has one, so a client that works against etcd works here.

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
/** etcd's MaxLeaseTTL: 9e9 seconds. */
export const LEASE_TTL_SECONDS_MAX = 9_000_000_000;
/** Largest blob of one Snapshot response (etcd sends 32 KiB). */
export const SNAPSHOT_CHUNK_BYTES_MAX = 64 * 1024;
/** Bytes gRPC may send in one response: a Range answer can be large. */
export const GRPC_SEND_BYTES_MAX = 2 ** 31 - 1;

export interface ApiLimits {
  requestBytesMax: number;
  grpcOverheadBytes: number;
  keyBytesMax: number;
  valueBytesMax: number;
  txnOpsMax: number;
  watchersPerStreamMax: number;
  leaseTtlSecondsMax: number;
  snapshotChunkBytesMax: number;
}

export const DEFAULT_LIMITS: Readonly<ApiLimits> = Object.freeze({
  requestBytesMax: REQUEST_BYTES_MAX,
  grpcOverheadBytes: GRPC_OVERHEAD_BYTES,
  keyBytesMax: KEY_BYTES_MAX,
  valueBytesMax: VALUE_BYTES_MAX,
  txnOpsMax: TXN_OPS_MAX,
  watchersPerStreamMax: WATCHERS_PER_STREAM_MAX,
  leaseTtlSecondsMax: LEASE_TTL_SECONDS_MAX,
  snapshotChunkBytesMax: SNAPSHOT_CHUNK_BYTES_MAX,
});

/** Defaults with the given overrides; every limit must be a positive integer. */
export function resolveLimits(overrides: Partial<ApiLimits> = {}): ApiLimits {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new RangeError(`api limit ${name} must be a positive integer, got ${String(value)}`);
    }
  }
  return limits;
}
