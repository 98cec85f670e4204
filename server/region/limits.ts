// Limits and timings of a region node, each a named default an operator can override.

import { RECORD_CACHE_BYTES_DEFAULT } from '../mvcc/index.js';
import { QUOTA_BACKEND_BYTES_DEFAULT } from './quota.js';

/** Take a Raft snapshot (and compact the log behind it) every this many applied entries. */
export const SNAPSHOT_EVERY_ENTRIES_DEFAULT = 10_000;
/** Entries kept in the log behind a snapshot, so a slightly lagging follower catches up from the log. */
export const KEEP_ENTRIES_AFTER_COMPACTION_DEFAULT = 5_000;
/** Proposals are refused (RESOURCE_EXHAUSTED) while committed minus applied exceeds this. */
export const MAX_APPLY_LAG_ENTRIES_DEFAULT = 5_000;
/** A proposal not applied within this long fails with "request timed out". */
export const PROPOSAL_TIMEOUT_MS_DEFAULT = 7_000;
/** Proposals waiting for apply on one node; more are refused as "too many requests". */
export const MAX_PENDING_PROPOSALS_DEFAULT = 50_000;
/**
 * A committed batch of mvcc entries is applied in pieces of about this many command bytes:
 * the waiters of the first pieces are answered while later ones apply (an edge's window of
 * 64 KiB upload pages gets its ACKs page group by page group, so it sends the next pages
 * instead of waiting for the whole batch). Small writes never reach it (one piece, as before).
 */
export const APPLY_PIECE_BYTES = 256 * 1024;

export interface RegionLimits {
  snapshotEveryEntries: number;
  keepEntriesAfterCompaction: number;
  maxApplyLagEntries: number;
  proposalTimeoutMs: number;
  maxPendingProposals: number;
  recordCacheBytes: number;
  /** etcd's --quota-backend-bytes: the state database's size limit (quota.ts); <= 0 none. */
  quotaBackendBytes: number;
}

export const DEFAULT_REGION_LIMITS: RegionLimits = {
  snapshotEveryEntries: SNAPSHOT_EVERY_ENTRIES_DEFAULT,
  keepEntriesAfterCompaction: KEEP_ENTRIES_AFTER_COMPACTION_DEFAULT,
  maxApplyLagEntries: MAX_APPLY_LAG_ENTRIES_DEFAULT,
  proposalTimeoutMs: PROPOSAL_TIMEOUT_MS_DEFAULT,
  maxPendingProposals: MAX_PENDING_PROPOSALS_DEFAULT,
  recordCacheBytes: RECORD_CACHE_BYTES_DEFAULT,
  quotaBackendBytes: QUOTA_BACKEND_BYTES_DEFAULT,
};
