// RawNode: the one way into the Raft core (tick, step, propose, ...) and the one way out
// (Ready, then advance). It does no I/O, reads no clock, starts no timer: given the same
// inputs it produces the same outputs.
//
// Handling a Ready — the driver does, in this order:
//  1. send `messages` AT ONCE. The core has withheld everything that depends on this
//     Ready being durable (append responses, vote grants, the candidate's own vote, the
//     leader's own acknowledgement of its new entries) and releases it only after
//     `advance`, in a later Ready. So the leader sends appends to its followers while its
//     own write is in flight, and counts itself in the quorum only once durable.
//  2. persist `snapshot`, `entries` and `hardState` in one write, synced when `mustSync`
//     (entries, term, vote or a snapshot changed).
//  3. apply `snapshot` (if any), then `committedEntries` in order. They are already
//     durable locally: the core never hands out an entry to apply that is not persisted
//     by an earlier, advanced Ready.
//  4. call `advance(ready)`. Only then may the next `ready()` be taken (tick, step and
//     propose may be called at any time, also while a Ready is being handled).
// Everything proposed between two `ready()` calls goes into one Ready, and into as few
// append messages per follower as maxBytesPerMsg allows; every ReadIndex between two
// `ready()` calls is confirmed by one heartbeat round.

import { assert } from '../util/assert.js';
import type { RaftConfig } from './config.js';
import { applyToConfState, encodeConfChange } from './conf-change.js';
import { flushReadRound, releasePendingReadIndex } from './leader-reads.js';
import type { ProgressState } from './progress.js';
import { Raft } from './raft.js';
import { recoveringStorage, type StorageLossStatus } from './storage-loss.js';
import { step } from './step.js';
import { tick } from './tick.js';
import {
  EMPTY_BYTES,
  EntryType,
  MessageType,
  ProposalRefusal,
  ProposalRefusedError,
  StateRole,
  emptyMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type Ready,
  type SoftState,
} from './types.js';
import { lastOf } from './util.js';
import { invalidPeerMessage } from './validate.js';

/** The scalar part of the status: no allocation beyond the object, for per-request use. */
export interface BasicStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  commit: number;
  applied: number;
  leader: NodeId;
  role: StateRole;
  leadTransferee: NodeId;
}

export interface RaftStatus extends BasicStatus {
  /** The leader's view of every member; undefined on other roles. */
  progress: Map<NodeId, { match: number; next: number; state: ProgressState }> | undefined;
  confState: ConfState;
}

interface PendingReady {
  ready: Ready;
  afterPersist: Message[];
}

export class RawNode {
  private readonly r: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  private pending: PendingReady | undefined;
  /** stateRestored() during an outstanding Ready: the applied index to rewind to after it. */
  private rewindAppliedTo: number | undefined;

  constructor(config: RaftConfig) {
    this.r = new Raft(config);
    this.prevSoft = this.r.softState();
    this.prevHard = this.r.hardState();
  }

  /**
   * Only on empty storage, for the founding members of a new cluster: appends one
   * ConfChange AddNode entry per voter at term 1 (indexes 1..n), marks them committed and
   * applies them to the core's membership. The driver sees them in the first Ready (to
   * persist) and, once durable, in the next as committedEntries (to apply:
   * applyConfChange is idempotent for them). A node that joins later learns the founding
   * membership by replaying the log.
   */
  bootstrap(voters: NodeId[]): void {
    const r = this.r;
    assert(r.log.lastIndex() === 0 && r.term === 0, () => `bootstrap on non-empty storage (last index ${r.log.lastIndex()}, term ${r.term})`);
    assert(voters.length > 0 && new Set(voters).size === voters.length, () => `bootstrap needs distinct voters, got ${voters.join(',')}`);
    r.becomeFollower(1, 0);
    const ents: Entry[] = voters.map((nodeId, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ type: 0, nodeId, context: EMPTY_BYTES }),
    }));
    r.log.append(ents);
    r.log.commitTo(ents.length);
    r.trk.setConfState({ voters: [...voters].sort((a, b) => a - b), learners: [] }, r.log.lastIndex() + 1);
  }

  tick(): void {
    tick(this.r);
    this.drainLocal();
  }

  /** A message from a peer. Stale or malformed ones are logged and dropped; never throws for them. */
  step(m: Message): void {
    const why = invalidPeerMessage(m, this.r.id);
    if (why !== undefined) {
      this.r.logger.warn('raft drops an invalid message', { id: this.r.id, from: m.from, type: m.type, why });
      return;
    }
    try {
      step(this.r, m);
    } catch (e) {
      if (!(e instanceof ProposalRefusedError)) throw e;
      this.r.logger.info('raft drops a forwarded request', { id: this.r.id, from: m.from, type: m.type, reason: e.reason });
    }
    this.drainLocal();
  }

  private stepLocal(m: Message): void {
    try {
      step(this.r, m);
    } finally {
      this.drainLocal();
    }
  }

  private localMessage(type: MessageType): Message {
    return emptyMessage(type, this.r.id, this.r.id, 0);
  }

  /** Proposes `data` as a Normal entry; forwarded to the leader from a follower. */
  propose(data: Uint8Array): void {
    const m = this.localMessage(MessageType.Prop);
    m.entries = [{ term: 0, index: 0, type: EntryType.Normal, data }];
    this.stepLocal(m);
  }

  proposeConfChange(cc: ConfChange): void {
    if (applyToConfState(this.r.trk.confState(), cc, this.r.logger) === undefined) {
      throw new ProposalRefusedError(ProposalRefusal.InvalidConfChange, `invalid conf change ${cc.type} of node ${cc.nodeId}`);
    }
    const m = this.localMessage(MessageType.Prop);
    m.entries = [{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }];
    this.stepLocal(m);
  }

  /** Asks for a linearizable read; the answer arrives as a ReadState in a later Ready. */
  readIndex(requestCtx: Uint8Array): void {
    const m = this.localMessage(MessageType.ReadIndex);
    m.context = requestCtx;
    this.stepLocal(m);
  }

  transferLeader(to: NodeId): void {
    const m = this.localMessage(MessageType.TransferLeader);
    m.index = to;
    try {
      this.stepLocal(m);
    } catch (e) {
      if (!(e instanceof ProposalRefusedError)) throw e;
      this.r.logger.info('raft drops a leader transfer: no leader', { id: this.r.id, to });
    }
  }

  campaign(): void {
    this.stepLocal(this.localMessage(MessageType.Hup));
  }

  reportUnreachable(id: NodeId): void {
    this.stepLocal(emptyMessage(MessageType.Unreachable, id, this.r.id, 0));
  }

  reportSnapshot(id: NodeId, status: 'finish' | 'failure'): void {
    const m = emptyMessage(MessageType.SnapStatus, id, this.r.id, 0);
    m.reject = status === 'failure';
    this.stepLocal(m);
  }

  /** Applies a committed conf change (or one redelivered on restart: idempotent). */
  applyConfChange(cc: ConfChange): ConfState {
    const r = this.r;
    const next = applyToConfState(r.trk.confState(), cc, r.logger);
    if (next !== undefined) {
      r.trk.setConfState(next, r.log.lastIndex() + 1);
      if (r.role === StateRole.Leader) this.afterLeaderConfChange();
    }
    this.drainLocal();
    return r.trk.confState();
  }

  private afterLeaderConfChange(): void {
    const r = this.r;
    if (!r.trk.isVoter(r.id)) {
      // Thesis §4.2.2: a leader removed from the configuration steps down.
      r.logger.info('raft leader steps down: removed from the configuration', { id: r.id, term: r.term });
      r.becomeFollower(r.term, 0);
      return;
    }
    if (r.leadTransferee !== 0 && !r.trk.isVoter(r.leadTransferee)) r.abortLeaderTransfer();
    // A smaller quorum may commit more; new members need appends.
    if (r.maybeCommit()) releasePendingReadIndex(r);
    r.bcastAppend();
  }

  hasReady(): boolean {
    if (this.pending !== undefined) return false;
    const r = this.r;
    return (
      r.msgs.length > 0 ||
      r.msgsAfterPersist.length > 0 ||
      r.readStates.length > 0 ||
      r.appendsPending ||
      r.readOnly.hasOpenRound() ||
      r.log.hasNextUnstableEntries() ||
      r.log.hasNextUnstableSnapshot() ||
      r.log.hasNextCommittedEntries() ||
      !sameSoft(r.softState(), this.prevSoft) ||
      !sameHard(r.hardState(), this.prevHard)
    );
  }

  ready(): Ready {
    assert(this.pending === undefined, 'ready() called again before advance() of the previous Ready');
    const r = this.r;
    this.flush();
    const soft = r.softState();
    const hard = r.hardState();
    const entries = r.log.unstable.nextEntries();
    const snapshot = r.log.unstable.nextSnapshot();
    const committedEntries = r.log.nextCommittedEntries(r.limits.maxCommittedBytesPerReady);
    const rd: Ready = {
      entries,
      committedEntries,
      messages: r.msgs,
      readStates: r.readStates,
      mustSync: entries.length > 0 || snapshot !== undefined || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
    };
    if (!sameSoft(soft, this.prevSoft)) rd.softState = soft;
    if (!sameHard(hard, this.prevHard)) rd.hardState = hard;
    if (snapshot !== undefined) rd.snapshot = snapshot;
    this.pending = { ready: rd, afterPersist: r.msgsAfterPersist };
    r.msgs = [];
    r.readStates = [];
    r.msgsAfterPersist = [];
    r.log.unstable.acceptInProgress();
    const lastCommitted = lastOf(committedEntries);
    if (lastCommitted !== undefined) r.log.acceptApplying(lastCommitted.index);
    r.reduceUncommitted(committedEntries);
    this.prevSoft = soft;
    this.prevHard = hard;
    return rd;
  }

  /** Sends what was batched since the last Ready: appends of new proposals, the read round. */
  private flush(): void {
    const r = this.r;
    if (r.appendsPending) {
      r.appendsPending = false;
      if (r.role === StateRole.Leader) r.bcastAppend();
    }
    if (r.role === StateRole.Leader) flushReadRound(r);
    this.drainLocal();
  }

  advance(rd: Ready): void {
    const pending = this.pending;
    assert(pending !== undefined && pending.ready === rd, 'advance() with a Ready that is not the outstanding one');
    const log = this.r.log;
    if (rd.snapshot !== undefined) {
      log.unstable.stableSnapTo(rd.snapshot.metadata.index);
      log.appliedTo(rd.snapshot.metadata.index);
    }
    const lastEntry = lastOf(rd.entries);
    if (lastEntry !== undefined) log.unstable.stableTo(lastEntry.index, lastEntry.term);
    const lastCommitted = lastOf(rd.committedEntries);
    if (lastCommitted !== undefined) log.appliedTo(lastCommitted.index);
    this.pending = undefined;
    if (this.rewindAppliedTo !== undefined) {
      this.rewindApplied(this.rewindAppliedTo);
      this.rewindAppliedTo = undefined;
    }
    // The Ready is durable: release what depended on it.
    for (const m of pending.afterPersist) {
      if (m.to === this.r.id) this.r.localMsgs.push(m);
      else this.r.msgs.push(m);
    }
    this.drainLocal();
  }

  /** Steps messages to ourselves (released acks and votes) until none is left. */
  private drainLocal(): void {
    const r = this.r;
    while (r.localMsgs.length > 0) step(r, r.localMsgs.shift()!);
  }

  /**
   * The application lost its state machine (storage faults, DESIGN §5): ask the leader for
   * a snapshot at each heartbeat and do not campaign until stateRestored() is called.
   */
  requestStateSnapshot(): void {
    this.r.storageLoss.needsSnapshot = true;
  }

  /**
   * The application's state was rebuilt up to `index` (a snapshot from the leader). When
   * that is behind what we already handed out as applied, the committed entries after it
   * are handed out again (the application skipped them while it had no state); they must
   * still be in the log (firstIndex() - 1 <= index), else ask again with requestStateSnapshot.
   */
  stateRestored(index: number): void {
    const log = this.r.log;
    assert(index >= log.firstIndex() - 1, () => `state restored at ${index}, before the log's first index ${log.firstIndex()}`);
    this.r.storageLoss.needsSnapshot = false;
    // A Ready outstanding now hands out entries the application skipped: rewind after its advance().
    if (this.pending !== undefined) this.rewindAppliedTo = index;
    else this.rewindApplied(index);
  }

  private rewindApplied(index: number): void {
    const log = this.r.log;
    if (index >= log.applied) return;
    this.r.logger.info('raft hands out committed entries again: the application rebuilt its state', {
      id: this.r.id, from: index + 1, applied: log.applied,
    });
    log.applied = index;
    log.applying = index;
  }

  /** What the protocol-aware recovery from storage faults has seen (storage-loss.ts). */
  storageLossStatus(): Readonly<StorageLossStatus> & { recovering: boolean } {
    return { ...this.r.storageLoss, recovering: recoveringStorage(this.r) };
  }

  /**
   * storageLossStatus().lostEntriesUpTo without the status object: a region node asks it on
   * every proposal and every read (whether it may serve), and the copy was garbage per call.
   */
  lostEntriesUpTo(): number {
    return this.r.storageLoss.lostEntriesUpTo;
  }

  /** basicStatus().commit without the status object (asked on every proposal and read). */
  committedIndex(): number {
    return this.r.log.committed;
  }

  /** Like status() without the progress map and conf state (cheap enough per request). */
  basicStatus(): BasicStatus {
    const r = this.r;
    return {
      id: r.id, term: r.term, vote: r.vote, commit: r.log.committed, applied: r.log.applied,
      leader: r.lead, role: r.role, leadTransferee: r.leadTransferee,
    };
  }

  status(): RaftStatus {
    const r = this.r;
    let progress: RaftStatus['progress'];
    if (r.role === StateRole.Leader) {
      progress = new Map();
      for (const id of r.trk.ids()) {
        const pr = r.trk.progress.get(id)!;
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      leader: r.lead,
      role: r.role,
      leadTransferee: r.leadTransferee,
      progress,
      confState: r.trk.confState(),
    };
  }
}

function sameSoft(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
