// The public surface of server/mvcc: the etcd v3 state machine, its command codec,
// the watch hub and the leader-side lessor. The region node and the API layer import
// from here only.

export * from './types.js';
export { MvccError, ErrorMessage, isMvccError } from './errors.js';
export { RECORD_CACHE_BYTES_DEFAULT } from './record-cache.js';
export { LATEST_CACHE_BYTES_DEFAULT } from './latest-cache.js';
export { COMPACT_CHUNK_ENTRIES_MAX } from './compactor.js';
export { encodeCommand, encodeExternalCommand, decodeCommand, TXN_DEPTH_MAX } from './command-codec.js';
export { encodeResponse, decodeResponse } from './response-codec.js';
export { APPLY_YIELD_OPS, MvccStore, isReadOnlyTxn, responseError, type ApplyItem, type ApplyResult, type HashKVResult } from './store.js';
export { validateTxn, TXN_OPS_MAX } from './validate-txn.js';
export { Lessor, LEASE_EXPIRED_BATCH_MAX, LEASE_REVOKE_RETRY_MS } from './lessor.js';
export { LEASE_TTL_MAX_SECONDS, LEASE_TTL_MIN_SECONDS, type LeaseChange } from './lease-table.js';
export { DEDUPE_CLIENTS_MAX } from './dedupe-table.js';
export {
  WatchHub, Watcher, WatchFilter, WATCH_BUFFER_EVENTS_MAX, type WatchRequest, type WatchResponse,
} from './watch-hub.js';
export { HISTORY_CHUNK_RECORDS_MAX } from './history.js';
export type { ExternalAnswer, ExternalApplier, ExternalTx } from './external.js';
export type { WriteGuard } from './write-guard.js';
export { BinReader, BinWriter, Utf8Memo } from './bin.js';
export { crc32 } from './crc32.js';
export { decodeLatest, keyString, latestKey } from './kv-layout.js';
export { MVCC_SNAPSHOT_DERIVATION, MVCC_SNAPSHOT_DERIVATION_ID } from './snapshot-derivation.js';
