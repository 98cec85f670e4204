// Step: what every role does with a message before its role-specific handling — term
// comparison (Raft §5.1), leader stickiness, votes (§5.2, §5.4.1) — then the dispatch.

import { hup } from './election.js';
import { stepCandidate } from './step-candidate.js';
import { stepFollower } from './step-follower.js';
import { stepLeader } from './step-leader.js';
import { isTransferCampaign, type Raft } from './raft.js';
import { lostAcknowledgedEntries } from './storage-loss.js';
import { MessageType, NONE, StateRole, type Message } from './types.js';

export function step(r: Raft, m: Message): void {
  // Local messages and forwarded requests (Prop, ReadIndex, TransferLeader) carry term 0.
  if (m.term > r.term) {
    if (!onHigherTerm(r, m)) return;
  } else if (m.term < r.term && m.term !== 0) {
    onLowerTerm(r, m);
    return;
  }
  switch (m.type) {
    case MessageType.Hup:
      hup(r, false);
      return;
    case MessageType.Vote:
    case MessageType.PreVote:
      handleVoteRequest(r, m);
      return;
    default:
      stepRole(r, m);
  }
}

function stepRole(r: Raft, m: Message): void {
  switch (r.role) {
    case StateRole.Leader:
      stepLeader(r, m);
      return;
    case StateRole.Candidate:
    case StateRole.PreCandidate:
      stepCandidate(r, m);
      return;
    case StateRole.Follower:
      stepFollower(r, m);
  }
}

/** Returns whether to go on handling `m`. */
function onHigherTerm(r: Raft, m: Message): boolean {
  if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
    // Leader stickiness (thesis §4.2.3): having heard from a live leader within the
    // election timeout, ignore (pre)votes — unless the leader itself asked for the
    // election (leadership transfer).
    const inLease = r.limits.checkQuorum && r.lead !== NONE && r.electionElapsed < r.limits.electionTicks;
    if (inLease && !isTransferCampaign(m.context)) {
      r.logger.debug('raft ignores a vote request: leader lease', { id: r.id, from: m.from, term: m.term, lead: r.lead });
      return false;
    }
  }
  // A pre-vote asks about a future term without starting it; a granted pre-vote
  // response likewise: the pre-candidate moves to that term only when it wins.
  if (m.type === MessageType.PreVote) return true;
  if (m.type === MessageType.PreVoteResp && !m.reject) return true;
  const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
  r.logger.debug('raft sees a higher term', { id: r.id, term: r.term, msgTerm: m.term, from: m.from, type: m.type });
  r.becomeFollower(m.term, fromLeader ? m.from : NONE);
  return true;
}

function onLowerTerm(r: Raft, m: Message): void {
  if (m.type === MessageType.App || m.type === MessageType.Heartbeat) {
    // §5.1: reject, with our term, so the stale leader steps down. With CheckQuorum and
    // PreVote this matters: a node whose term went up while cut off ignores the old
    // leader, and nobody would tell it otherwise.
    r.send(r.message(MessageType.AppResp, m.from));
    return;
  }
  if (m.type === MessageType.PreVote) {
    // Tell the pre-candidate our term so it can catch up.
    const resp = r.message(MessageType.PreVoteResp, m.from);
    resp.reject = true;
    r.sendAfterPersist(resp);
    return;
  }
  r.logger.debug('raft ignores a message of a lower term', { id: r.id, term: r.term, msgTerm: m.term, from: m.from, type: m.type });
}

function handleVoteRequest(r: Raft, m: Message): void {
  const isPre = m.type === MessageType.PreVote;
  // §5.2: at most one vote per term, first come first served; a pre-vote for a future
  // term commits us to nothing.
  // A member whose log lost acknowledged entries cannot judge whether a candidate's log
  // holds every committed entry: it votes again once caught up (storage-loss.ts).
  const canVote = (r.vote === m.from || (r.vote === NONE && r.lead === NONE) || (isPre && m.term > r.term))
    && !lostAcknowledgedEntries(r);
  const respType = isPre ? MessageType.PreVoteResp : MessageType.VoteResp;
  // §5.4.1: deny the vote if our log is more up-to-date than the candidate's.
  if (canVote && r.log.isUpToDate(m.index, m.logTerm)) {
    r.sendAfterPersist(r.message(respType, m.from, m.term));
    if (!isPre) {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
    return;
  }
  const resp = r.message(respType, m.from);
  resp.reject = true;
  r.sendAfterPersist(resp);
}
