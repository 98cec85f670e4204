// The leader's handling of its followers' answers: append responses (with the fast
// back-off of §5.3), heartbeat responses (also read-round acks), snapshot reports.

import { releaseConfirmedReads, releasePendingReadIndex } from './leader-reads.js';
import { ProgressState, type Progress } from './progress.js';
import type { Raft } from './raft.js';
import { decodeRound } from './read-only.js';
import { handleStorageLossReport } from './storage-loss.js';
import { MessageType, type Message } from './types.js';

export function handleAppendResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  if (m.index > r.log.lastIndex()) {
    r.logger.warn('raft ignores an append response past our last index', { id: r.id, from: m.from, index: m.index });
    return;
  }
  if (handleStorageLossReport(r, m, pr)) return;
  if (m.reject) onReject(r, m, pr);
  else onAccept(r, m, pr);
}

function onReject(r: Raft, m: Message, pr: Progress): void {
  let nextProbe = Math.min(m.rejectHint, r.log.lastIndex());
  // One round trip per term: skip every entry of ours whose term is above the
  // follower's term at its hint.
  if (m.logTerm > 0) nextProbe = r.log.findConflictByTerm(nextProbe, m.logTerm).index;
  if (!pr.maybeDecrTo(m.index, nextProbe)) return;
  r.logger.debug('raft backs off after a rejected append', { to: m.from, rejected: m.index, next: pr.next });
  if (pr.state === ProgressState.Replicate) pr.becomeProbe();
  r.sendAppend(m.from, true);
}

function onAccept(r: Raft, m: Message, pr: Progress): void {
  const wasPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === ProgressState.Probe)) return;
  switch (pr.state) {
    case ProgressState.Probe:
      pr.becomeReplicate();
      break;
    case ProgressState.Snapshot:
      if (pr.match >= pr.pendingSnapshot || pr.match + 1 >= r.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
      }
      break;
    case ProgressState.Replicate:
      pr.inflights.freeLE(m.index);
      break;
  }
  if (r.maybeCommit()) {
    onCommitAdvanced(r);
  } else if (m.from !== r.id) {
    // A follower that was paused may have missed a commit update: send even if empty.
    if (wasPaused) r.sendAppend(m.from, true);
    while (r.sendAppend(m.from, false)) {
      // Fill the window: each call sends one message of at most maxBytesPerMsg.
    }
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) r.sendTimeoutNow(m.from);
}

function onCommitAdvanced(r: Raft): void {
  r.bcastAppend(); // followers learn the new commit index
  releasePendingReadIndex(r);
}

export function handleHeartbeatResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  pr.msgAppFlowPaused = false;
  if (pr.state === ProgressState.Replicate && pr.inflights.full()) {
    // The window is full: maybe every append in it was lost. An empty append (no
    // entries, so nothing leaks past the window) either frees acknowledged slots or is
    // rejected, which moves the follower back to probing.
    sendEmptyAppend(r, m.from, pr);
  } else if (pr.match < r.log.lastIndex() || pr.state === ProgressState.Probe) {
    r.sendAppend(m.from, true);
  }
  const round = decodeRound(m.context);
  if (round === undefined) return;
  r.readOnly.ack(m.from, round);
  releaseConfirmedReads(r);
}

function sendEmptyAppend(r: Raft, to: number, pr: Progress): void {
  const prevTerm = r.log.maybeTerm(pr.next - 1);
  if (prevTerm === undefined) {
    // The window's entries were compacted since they were sent (and, the window being
    // full, maybe lost): an empty append cannot name them. Probe from match instead,
    // which sends a snapshot when match is compacted too. Returning silently left the
    // follower stuck for good (found by chaos/sim seed 1738).
    pr.becomeProbe();
    r.sendAppend(to, true);
    return;
  }
  const app = r.message(MessageType.App, to);
  app.index = pr.next - 1;
  app.logTerm = prevTerm;
  app.commit = r.log.committed;
  r.send(app);
}

export function handleSnapshotStatus(r: Raft, m: Message, pr: Progress): void {
  if (pr.state !== ProgressState.Snapshot) return;
  if (m.reject) pr.pendingSnapshot = 0; // failed: probe from match again
  r.logger.info('raft snapshot reported', { to: m.from, failed: m.reject, match: pr.match });
  pr.becomeProbe();
  // Wait for a heartbeat response before probing: the follower may still be restoring.
  pr.msgAppFlowPaused = true;
}

export function handleUnreachable(r: Raft, m: Message, pr: Progress): void {
  // Appends in flight were probably lost: probe instead of streaming into the void.
  if (pr.state === ProgressState.Replicate) pr.becomeProbe();
  r.logger.debug('raft peer unreachable', { id: r.id, peer: m.from });
}
