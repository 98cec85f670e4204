// What a node does with the leader's replication messages (App, Heartbeat, Snap);
// shared by followers and by candidates that discover a leader.

import type { Raft } from './raft.js';
import { answerStorageLoss } from './storage-loss.js';
import { MessageType, StateRole, type Message, type Snapshot } from './types.js';

/** Raft §5.3: accept entries only after a matching (index, term); answer with a hint otherwise. */
export function handleAppend(r: Raft, m: Message): void {
  const resp = r.message(MessageType.AppResp, m.from);
  if (m.index < r.log.committed) {
    // Everything up to our commit is settled; tell the leader where we are.
    resp.index = r.log.committed;
    r.sendAfterPersist(resp);
    return;
  }
  const lastNew = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (lastNew !== undefined) {
    resp.index = lastNew;
    r.sendAfterPersist(resp);
    return;
  }
  // Fast back-off: the largest index <= the leader's whose term is <= the leader's term
  // there; the leader skips straight past every entry of a term we cannot match.
  const hint = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.logger.debug('raft rejects an append', { id: r.id, index: m.index, logTerm: m.logTerm, hint: hint.index, hintTerm: hint.term });
  resp.index = m.index;
  resp.reject = true;
  resp.rejectHint = hint.index;
  resp.logTerm = hint.term;
  r.sendAfterPersist(resp);
}

export function handleHeartbeat(r: Raft, m: Message): void {
  // The leader counts on entries we do not have (our log lost acknowledged entries), or our
  // state machine is lost: say so, and the leader re-sends (storage-loss.ts).
  answerStorageLoss(r, m);
  r.log.commitTo(Math.min(m.commit, r.log.lastIndex()));
  const resp = r.message(MessageType.HeartbeatResp, m.from);
  resp.context = m.context;
  r.send(resp);
}

export function handleSnapshot(r: Raft, m: Message): void {
  const snap = m.snapshot;
  const resp = r.message(MessageType.AppResp, m.from);
  if (snap === undefined) {
    r.logger.warn('raft drops a Snap message without a snapshot', { id: r.id, from: m.from });
    return;
  }
  if (restore(r, snap)) {
    r.logger.info('raft restored a snapshot', { id: r.id, index: snap.metadata.index, term: snap.metadata.term });
    resp.index = r.log.lastIndex();
  } else {
    resp.index = r.log.committed;
  }
  r.sendAfterPersist(resp);
}

/** Installs `s` if it is ahead of our commit; returns whether it did. */
function restore(r: Raft, s: Snapshot): boolean {
  const { index, term, confState } = s.metadata;
  if (index <= r.log.committed) return false;
  if (r.role !== StateRole.Follower) return false; // only a leader's snapshot, received as follower
  if (r.log.matchTerm(index, term)) {
    // We already hold the snapshot's last entry: only the commit moves.
    r.log.commitTo(index);
    return false;
  }
  r.log.restore(s);
  r.trk.setConfState(confState, r.log.lastIndex() + 1);
  return true;
}
