// Logical time. The driver calls tick() at a fixed interval; nothing else in the core
// knows about time.

import { hup } from './election.js';
import { ProgressState } from './progress.js';
import type { Raft } from './raft.js';
import { StateRole } from './types.js';
import { step } from './step.js';
import { MessageType } from './types.js';

export function tick(r: Raft): void {
  if (r.role === StateRole.Leader) tickLeader(r);
  else tickElection(r);
}

function tickElection(r: Raft): void {
  r.electionElapsed++;
  if (r.promotable() && r.electionElapsed >= r.randomizedElectionTimeout) {
    r.electionElapsed = 0;
    hup(r, false);
  }
}

function tickLeader(r: Raft): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.limits.electionTicks) {
    r.electionElapsed = 0;
    if (r.limits.checkQuorum) step(r, r.message(MessageType.CheckQuorum, r.id, 0));
    if (r.role === StateRole.Leader && r.leadTransferee !== 0) {
      r.logger.info('raft aborts a leader transfer: timed out', { id: r.id, to: r.leadTransferee });
      r.abortLeaderTransfer();
    }
  }
  if (r.role !== StateRole.Leader) return;
  tickSnapshots(r);
  if (r.heartbeatElapsed >= r.limits.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    r.bcastHeartbeat();
  }
}

/** A snapshot whose fate was never reported is retried after snapshotTimeoutTicks (if set;
 *  see SNAPSHOT_TIMEOUT_TICKS_DEFAULT for why it is off by default). */
function tickSnapshots(r: Raft): void {
  if (r.limits.snapshotTimeoutTicks <= 0) return;
  for (const [id, pr] of r.trk.progress) {
    if (pr.state !== ProgressState.Snapshot) continue;
    pr.snapshotTicks++;
    if (pr.snapshotTicks >= r.limits.snapshotTimeoutTicks) {
      r.logger.warn('raft snapshot not reported in time; probing again', { to: id, pending: pr.pendingSnapshot });
      pr.pendingSnapshot = 0;
      pr.becomeProbe();
    }
  }
}
