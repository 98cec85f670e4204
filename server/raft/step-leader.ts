// Leader: accept proposals, answer reads, replicate, transfer leadership, check quorum.

import { handleReadIndex } from './leader-reads.js';
import {
  handleAppendResponse,
  handleHeartbeatResponse,
  handleSnapshotStatus,
  handleUnreachable,
} from './leader-replication.js';
import type { Raft } from './raft.js';
import {
  EntryType,
  MessageType,
  NONE,
  ProposalRefusal,
  ProposalRefusedError,
  type Message,
} from './types.js';

export function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Beat:
      r.bcastHeartbeat();
      return;
    case MessageType.CheckQuorum:
      checkQuorum(r);
      return;
    case MessageType.Prop:
      propose(r, m);
      return;
    case MessageType.ReadIndex:
      handleReadIndex(r, m);
      return;
    case MessageType.TransferLeader:
      transferLeader(r, m.index);
      return;
    default:
      stepFromPeer(r, m);
  }
}

function stepFromPeer(r: Raft, m: Message): void {
  const pr = r.trk.progress.get(m.from);
  if (pr === undefined) {
    r.logger.debug('raft leader ignores a message from a non-member', { id: r.id, from: m.from, type: m.type });
    return;
  }
  switch (m.type) {
    case MessageType.AppResp:
      handleAppendResponse(r, m, pr);
      return;
    case MessageType.HeartbeatResp:
      handleHeartbeatResponse(r, m, pr);
      return;
    case MessageType.SnapStatus:
      handleSnapshotStatus(r, m, pr);
      return;
    case MessageType.Unreachable:
      handleUnreachable(r, m, pr);
      return;
    default:
      r.logger.debug('raft leader ignores a message', { id: r.id, type: m.type, from: m.from });
  }
}

/** CheckQuorum: a leader that has not heard from a quorum in an election timeout steps down. */
function checkQuorum(r: Raft): void {
  if (!r.trk.quorumActive()) {
    r.logger.warn('raft leader steps down: quorum not active', { id: r.id, term: r.term });
    r.becomeFollower(r.term, NONE);
    return;
  }
  for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
}

function refuse(reason: ProposalRefusal, message: string): never {
  throw new ProposalRefusedError(reason, message);
}

function propose(r: Raft, m: Message): void {
  if (m.entries.length === 0) return;
  if (!r.trk.progress.has(r.id)) refuse(ProposalRefusal.NotMember, `leader ${r.id} was removed from the cluster`);
  if (r.leadTransferee !== NONE) {
    refuse(ProposalRefusal.TransferInProgress, `leadership is being transferred to ${r.leadTransferee}`);
  }
  // Loops, not filter/forEach: a proposal per put, and their arrays and closures were garbage.
  let confChanges = 0;
  let bytes = 0;
  for (const e of m.entries) {
    if (e.type === EntryType.ConfChange) confChanges++;
    bytes += e.data.length;
  }
  if (confChanges > 0 && (confChanges > 1 || r.pendingConfIndex > r.log.applied)) {
    refuse(ProposalRefusal.ConfChangePending,
      `a conf change at or before index ${r.pendingConfIndex} is not applied yet (applied ${r.log.applied})`);
  }
  if (!r.withinUncommittedLimit(bytes)) {
    refuse(ProposalRefusal.TooManyUncommitted, `${r.uncommittedBytes} uncommitted bytes; limit ${r.limits.maxUncommittedBytes}`);
  }
  const first = r.log.lastIndex() + 1;
  r.appendEntries(m.entries);
  if (confChanges > 0) {
    for (let i = 0; i < m.entries.length; i++) if (m.entries[i]!.type === EntryType.ConfChange) r.pendingConfIndex = first + i;
  }
  // Batching: appends go out when the driver next asks for a Ready (RawNode flushes).
  r.appendsPending = true;
}

/** Thesis §3.10: bring the transferee up to date, then tell it to campaign at once. */
function transferLeader(r: Raft, to: number): void {
  const pr = r.trk.progress.get(to);
  if (pr === undefined || pr.isLearner) {
    r.logger.info('raft ignores a leader transfer to a non-voter', { id: r.id, to });
    return;
  }
  if (to === r.id) return; // already leading
  if (r.leadTransferee === to) return; // in progress
  r.abortLeaderTransfer();
  r.logger.info('raft starts a leader transfer', { id: r.id, to, term: r.term });
  // The transfer must finish within one election timeout, or it is aborted (tick).
  r.electionElapsed = 0;
  r.leadTransferee = to;
  if (pr.match === r.log.lastIndex()) r.sendTimeoutNow(to);
  else r.sendAppend(to, true);
}
