// Protocol-aware recovery from storage faults (DESIGN.md §5; "Protocol-Aware Recovery for
// Consensus-Based Storage", FAST 2018). Two things a member's disk can lose that Raft's
// paper assumes it never does:
//
//  - log entries it had acknowledged (a truncated tail, a rolled-back disk). The leader
//    still believes its match index, so it never re-sends them: a heartbeat carries
//    commit = min(match, committed) past our last index, and appends we reject are "stale"
//    to a leader in replicate state. etcd panics here. We answer with our real last index
//    (an AppResp reject carrying LOST_ENTRIES_CONTEXT); the leader resets our progress
//    and re-sends. Until our commit index reaches what the leader told us, we neither
//    campaign nor vote: our log is no proof of what we acknowledged, so neither our own
//    log nor our judgement of a candidate's log can be trusted.
//  - the state machine (the application says so through RawNode.requestStateSnapshot): we
//    answer heartbeats with NEEDS_SNAPSHOT_CONTEXT and the leader sends its snapshot even
//    though our log does not need one. We do not campaign until the application has it.
//
// Both answers are AppResp rejects with a context no ordinary reject carries, so a leader
// never mistakes a stale ordinary reject for a loss (and lowers a match it must keep).

import type { Progress } from './progress.js';
import { ProgressState } from './progress.js';
import type { Raft } from './raft.js';
import { MessageType, type Message } from './types.js';

export type { StorageLossStatus } from './types.js';

/** AppResp reject context: our log lost acknowledged entries; rejectHint is our real last index. */
export const LOST_ENTRIES_CONTEXT = new TextEncoder().encode('rs:lost-entries');
/** AppResp reject context: our state machine is lost; send us a snapshot. */
export const NEEDS_SNAPSHOT_CONTEXT = new TextEncoder().encode('rs:needs-snapshot');

function contextIs(m: Message, ctx: Uint8Array): boolean {
  if (m.context.length !== ctx.length) return false;
  for (let i = 0; i < ctx.length; i++) if (m.context[i] !== ctx[i]) return false;
  return true;
}

/** Whether this member must neither campaign nor vote: its log or state is known short. */
export function recoveringStorage(r: Raft): boolean {
  return r.storageLoss.needsSnapshot || r.storageLoss.lostEntriesUpTo > r.log.committed;
}

/** Whether our log is known to lack entries we acknowledged (then we do not vote). */
export function lostAcknowledgedEntries(r: Raft): boolean {
  return r.storageLoss.lostEntriesUpTo > r.log.committed && r.unsafe.campaignAndVoteWithLostEntries !== true;
}

/**
 * Follower, on a heartbeat: the leader's commit for us (min of our match and its commit)
 * is past our last index, or our state is lost. Answers the leader; returns whether the
 * heartbeat reported a loss.
 */
export function answerStorageLoss(r: Raft, m: Message): boolean {
  const last = r.log.lastIndex();
  const s = r.storageLoss;
  if (m.commit > last) {
    // Logged once per loss with the figures (not per heartbeat: ~10 a second).
    if (s.lostEntriesUpTo <= r.log.committed) {
      s.lossesDetected++;
      r.logger.warn('raft log lost entries it had acknowledged; asking the leader to re-send them', {
        id: r.id, leader: m.from, leaderCommitForUs: m.commit, lastIndex: last, missing: m.commit - last,
      });
    }
    s.lostEntriesUpTo = Math.max(s.lostEntriesUpTo, m.commit);
    const resp = r.message(MessageType.AppResp, m.from);
    resp.reject = true;
    resp.index = m.commit;
    resp.rejectHint = last;
    resp.logTerm = r.log.lastTerm();
    resp.context = LOST_ENTRIES_CONTEXT;
    r.send(resp);
    return true;
  }
  if (s.needsSnapshot) {
    const resp = r.message(MessageType.AppResp, m.from);
    resp.reject = true;
    resp.index = Math.min(m.commit, last);
    resp.rejectHint = 0;
    resp.context = NEEDS_SNAPSHOT_CONTEXT;
    r.send(resp);
  }
  return false;
}

/** Leader: whether `m` is one of the answers above (then handled here). */
export function handleStorageLossReport(r: Raft, m: Message, pr: Progress): boolean {
  if (!m.reject) return false;
  if (contextIs(m, LOST_ENTRIES_CONTEXT)) {
    if (pr.state === ProgressState.Snapshot) return true; // a snapshot is on its way already
    if (m.rejectHint >= pr.match) return true; // stale: we already know no more than that
    r.logger.warn('raft follower lost entries it had acknowledged; re-sending from its last index', {
      id: r.id, to: m.from, match: pr.match, followerLastIndex: m.rejectHint,
    });
    // The one place match goes down: the follower's disk lost what it acknowledged.
    // Commit never goes down with it (it is the leader's, already reached by a quorum).
    pr.match = 0;
    pr.becomeProbe();
    pr.next = Math.max(1, Math.min(m.rejectHint, r.log.lastIndex()) + 1);
    r.sendAppend(m.from, true);
    return true;
  }
  if (contextIs(m, NEEDS_SNAPSHOT_CONTEXT)) {
    if (pr.state === ProgressState.Snapshot) return true;
    r.logger.info('raft follower lost its state machine; sending it a snapshot', { id: r.id, to: m.from, match: pr.match });
    r.sendSnapshotTo(m.from);
    return true;
  }
  return false;
}
