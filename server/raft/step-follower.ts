// Follower: follow the leader, forward requests to it, campaign on TimeoutNow.

import { hup } from './election.js';
import { handleAppend, handleHeartbeat, handleSnapshot } from './follower.js';
import type { Raft } from './raft.js';
import { MessageType, NONE, ProposalRefusal, ProposalRefusedError, type Message } from './types.js';

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.Prop:
      forward(r, m, 'proposal');
      return;
    case MessageType.App:
    case MessageType.Heartbeat:
    case MessageType.Snap:
      r.electionElapsed = 0;
      r.lead = m.from;
      if (m.type === MessageType.App) handleAppend(r, m);
      else if (m.type === MessageType.Heartbeat) handleHeartbeat(r, m);
      else handleSnapshot(r, m);
      return;
    case MessageType.TransferLeader:
      if (r.lead === NONE) r.logger.info('raft drops a leader transfer: no leader', { id: r.id });
      else forward(r, m, 'leader transfer');
      return;
    case MessageType.TimeoutNow:
      // Thesis §3.10: the leader asks us to start an election at once (no pre-vote,
      // past leader stickiness).
      r.logger.info('raft campaigns on TimeoutNow', { id: r.id, term: r.term, from: m.from });
      hup(r, true);
      return;
    case MessageType.ReadIndex:
      // Only our own reads are forwarded: the answer comes back to us.
      if (m.from !== r.id) return;
      forward(r, m, 'read');
      return;
    case MessageType.ReadIndexResp:
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
    default:
      r.logger.debug('raft follower ignores a message', { id: r.id, type: m.type, from: m.from });
  }
}

function forward(r: Raft, m: Message, what: string): void {
  if (r.lead === NONE) {
    throw new ProposalRefusedError(ProposalRefusal.NoLeader, `no leader to forward the ${what} to (term ${r.term})`);
  }
  r.send({ ...m, from: r.id, to: r.lead, term: 0 });
}
