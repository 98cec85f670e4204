// Configuration of a RawNode. Every limit is a named constant with a default; an operator
// (or a test) overrides it through RaftConfig.

import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import type { NodeId, Storage } from './types.js';

/** Ticks without hearing from a leader before a follower campaigns: randomized in [T, 2T). */
export const ELECTION_TICKS_DEFAULT = 10;
export const HEARTBEAT_TICKS_DEFAULT = 1;
/** Upper bound of entry bytes in one append message (always at least one entry). */
export const MAX_BYTES_PER_MSG_DEFAULT = 1024 * 1024;
/** Append messages in flight to one follower in replicate state. */
export const MAX_INFLIGHT_MSGS_DEFAULT = 256;
/** Entry bytes in flight to one follower. */
export const MAX_INFLIGHT_BYTES_DEFAULT = 32 * 1024 * 1024;
/** Bytes of proposed-but-uncommitted entries the leader accepts before refusing proposals. */
export const MAX_UNCOMMITTED_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Bytes of committed entries handed out in one Ready. */
export const MAX_COMMITTED_BYTES_PER_READY_DEFAULT = 16 * 1024 * 1024;

/** Ticks a follower may stay in snapshot state without the driver reporting the snapshot's
 *  fate (reportSnapshot); after that the leader probes it again (and re-sends if needed).
 *  0 (the default): no timeout in the core. The driver reports every Snap message it was
 *  given, within a deadline scaled to the snapshot's size, which only it knows. A fixed
 *  tick count here expired while a large snapshot was still streaming, and the leader then
 *  sent another one (issue 20). Test networks that lose Snap messages silently set it. */
export const SNAPSHOT_TIMEOUT_TICKS_DEFAULT = 0;

/**
 * Test-only switches that turn one safety rule off, so the simulator can prove it notices.
 * Never set outside tests; the region node refuses to start with any of them.
 */
export interface UnsafeTestingSwitches {
  /** Commit by counting replicas of an entry of any term, not only the current one (Raft §5.4.2). */
  commitEntriesOfAnyTerm?: boolean;
  /** Count acknowledgements (own append, votes, append responses) before the Ready is persisted. */
  ackBeforePersist?: boolean;
  /** Answer ReadIndex at once without a commit in the current term or a heartbeat round. */
  readIndexWithoutQuorumCheck?: boolean;
  /** Campaign and vote although our log is known to have lost acknowledged entries (storage-loss.ts). */
  campaignAndVoteWithLostEntries?: boolean;
}

export interface RaftConfig {
  id: NodeId;
  storage: Storage;
  random: Random;
  logger: Logger;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** The index the application has applied up to (on restart); committed entries after it are re-delivered. */
  applied?: number;
  maxBytesPerMsg?: number;
  maxInflightMsgs?: number;
  maxInflightBytes?: number;
  maxUncommittedBytes?: number;
  maxCommittedBytesPerReady?: number;
  snapshotTimeoutTicks?: number;
  /** Default true. */
  preVote?: boolean;
  /** Default true. */
  checkQuorum?: boolean;
  unsafe?: UnsafeTestingSwitches;
}
