// ReadIndex on the leader (thesis §6.4); the bookkeeping of rounds is in read-only.ts.

import type { Raft } from './raft.js';
import type { ReadRequest } from './read-only.js';
import { MessageType, type Message } from './types.js';

export function handleReadIndex(r: Raft, m: Message): void {
  const req: ReadRequest = { from: m.from, requestCtx: m.context, index: r.log.committed };
  if (r.unsafe.readIndexWithoutQuorumCheck === true) {
    respond(r, req);
    return;
  }
  if (!r.committedEntryInCurrentTerm()) {
    // Until an entry of our term commits, our commit index may be behind the previous
    // leader's: a read at it could miss acknowledged writes. Queue it.
    r.pendingReadIndex.push(m);
    return;
  }
  r.readOnly.add(req);
}

/** After a commit: reads queued for the first commit of the term may start. */
export function releasePendingReadIndex(r: Raft): void {
  if (r.pendingReadIndex.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const queued = r.pendingReadIndex;
  r.pendingReadIndex = [];
  for (const m of queued) handleReadIndex(r, m);
}

/** Before a Ready: the open round's heartbeats go out, all its reads in one round. */
export function flushReadRound(r: Raft): void {
  const round = r.readOnly.closeOpenRound();
  if (round === undefined) return;
  r.bcastHeartbeat();
  releaseConfirmedReads(r); // a single voter confirms its own rounds
}

export function releaseConfirmedReads(r: Raft): void {
  for (const req of r.readOnly.confirmed(r.trk.voters, r.id)) respond(r, req);
}

function respond(r: Raft, req: ReadRequest): void {
  if (req.from === r.id) {
    r.readStates.push({ index: req.index, requestCtx: req.requestCtx });
    return;
  }
  const resp = r.message(MessageType.ReadIndexResp, req.from);
  resp.index = req.index;
  resp.context = req.requestCtx;
  r.send(resp);
}
