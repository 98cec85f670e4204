// Candidate and pre-candidate: count votes; yield to a leader of our term (Raft §5.2).

import { handleAppend, handleHeartbeat, handleSnapshot } from './follower.js';
import { VoteResult } from './quorum.js';
import type { Raft } from './raft.js';
import { MessageType, ProposalRefusal, ProposalRefusedError, StateRole, type Message } from './types.js';

export function stepCandidate(r: Raft, m: Message): void {
  const respType = r.role === StateRole.PreCandidate ? MessageType.PreVoteResp : MessageType.VoteResp;
  switch (m.type) {
    case MessageType.Prop:
    case MessageType.ReadIndex:
      if (m.from !== r.id) return;
      throw new ProposalRefusedError(ProposalRefusal.NoLeader, `${r.role} ${r.id} has no leader (term ${r.term})`);
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      // §5.2: a leader of a term at least as large as ours is legitimate.
      r.becomeFollower(m.term, m.from);
      if (m.type === MessageType.App) handleAppend(r, m);
      else if (m.type === MessageType.Heartbeat) handleHeartbeat(r, m);
      else handleSnapshot(r, m);
      return;
    case respType:
      onVote(r, m);
      return;
    default:
      r.logger.debug('raft candidate ignores a message', { id: r.id, type: m.type, from: m.from });
  }
}

function onVote(r: Raft, m: Message): void {
  const { granted, rejected, result } = r.poll(m.from, !m.reject);
  r.logger.debug('raft received a vote', { id: r.id, role: r.role, from: m.from, reject: m.reject, granted, rejected });
  if (result === VoteResult.Won) {
    if (r.role === StateRole.PreCandidate) {
      r.campaign('election', false);
    } else {
      r.becomeLeader();
      r.bcastAppend();
    }
  } else if (result === VoteResult.Lost) {
    r.becomeFollower(r.term, 0);
  }
}
