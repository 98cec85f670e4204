// The Raft state of one node and the actions shared by every role: changing role,
// sending, campaigning, replicating, committing. Step functions per role live in
// step-*.ts; the entry points (tick, step, propose, ready/advance) in raw-node.ts.

import { assert } from '../util/assert.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import {
  ELECTION_TICKS_DEFAULT,
  HEARTBEAT_TICKS_DEFAULT,
  MAX_BYTES_PER_MSG_DEFAULT,
  MAX_COMMITTED_BYTES_PER_READY_DEFAULT,
  MAX_INFLIGHT_BYTES_DEFAULT,
  MAX_INFLIGHT_MSGS_DEFAULT,
  MAX_UNCOMMITTED_BYTES_DEFAULT,
  SNAPSHOT_TIMEOUT_TICKS_DEFAULT,
  type RaftConfig,
  type UnsafeTestingSwitches,
} from './config.js';
import { RaftLog } from './log.js';
import { ReadOnly, encodeRound } from './read-only.js';
import { ProgressTracker } from './tracker.js';
import {
  EMPTY_BYTES,
  MessageType,
  NONE,
  StateRole,
  StorageError,
  emptyMessage,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type SoftState,
  type StorageLossStatus,
} from './types.js';
import { entriesBytes, lastOf } from './util.js';

/** Context of Vote messages of a campaign started by TimeoutNow: bypasses leader stickiness. */
export const CAMPAIGN_TRANSFER: Uint8Array = new TextEncoder().encode('CampaignTransfer');

export function isTransferCampaign(ctx: Uint8Array): boolean {
  if (ctx.length !== CAMPAIGN_TRANSFER.length) return false;
  return ctx.every((b, i) => b === CAMPAIGN_TRANSFER[i]);
}

export interface Limits {
  electionTicks: number;
  heartbeatTicks: number;
  maxBytesPerMsg: number;
  maxUncommittedBytes: number;
  maxCommittedBytesPerReady: number;
  snapshotTimeoutTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
}

export class Raft {
  readonly id: NodeId;
  readonly logger: Logger;
  readonly random: Random;
  readonly limits: Limits;
  readonly unsafe: UnsafeTestingSwitches;
  readonly log: RaftLog;
  readonly trk: ProgressTracker;
  readonly readOnly = new ReadOnly();

  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: StateRole = StateRole.Follower;
  leadTransferee: NodeId = NONE;
  /** Index of the last conf change the leader appended (or its last index at election). */
  pendingConfIndex = 0;
  /** Payload bytes of entries appended by this leader and not yet handed out committed. */
  uncommittedBytes = 0;
  /** Leader: proposals were appended since the last flush; appends go out at the next Ready. */
  appendsPending = false;

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  /** Messages to send at once. */
  msgs: Message[] = [];
  /** Messages released only once the next Ready is persisted (acks, votes, own acks). */
  msgsAfterPersist: Message[] = [];
  /** Messages to self to step after the current call (only with ackBeforePersist). */
  localMsgs: Message[] = [];
  /** ReadIndex requests waiting for this leader's first commit in its term. */
  pendingReadIndex: Message[] = [];
  readStates: ReadState[] = [];
  /** Storage faults found through the protocol (storage-loss.ts). */
  readonly storageLoss: StorageLossStatus = { lostEntriesUpTo: 0, lossesDetected: 0, needsSnapshot: false };

  constructor(cfg: RaftConfig) {
    assert(Number.isSafeInteger(cfg.id) && cfg.id > NONE, () => `raft id must be a positive integer, got ${cfg.id}`);
    this.id = cfg.id;
    this.logger = cfg.logger;
    this.random = cfg.random;
    this.unsafe = { ...cfg.unsafe };
    this.limits = limitsOf(cfg);
    this.log = new RaftLog(cfg.storage, cfg.logger);
    this.trk = new ProgressTracker(cfg.maxInflightMsgs ?? MAX_INFLIGHT_MSGS_DEFAULT, cfg.maxInflightBytes ?? MAX_INFLIGHT_BYTES_DEFAULT);
    const { hardState, confState } = cfg.storage.initialState();
    this.loadHardState(hardState);
    this.trk.setConfState(confState, this.log.lastIndex() + 1);
    const applied = cfg.applied ?? this.log.firstIndex() - 1;
    assert(applied <= this.log.committed, () => `applied ${applied} is past commit ${this.log.committed}`);
    if (applied > 0) this.log.appliedTo(Math.max(applied, this.log.applied));
    this.becomeFollower(this.term, NONE);
  }

  private loadHardState(hs: HardState): void {
    if (hs.term === 0 && hs.vote === NONE && hs.commit === 0) return;
    assert(hs.commit >= this.log.committed, () => `hard state commit ${hs.commit} is before the snapshot (${this.log.committed})`);
    let commit = hs.commit;
    if (commit > this.log.lastIndex()) {
      // The log lost entries we knew committed (a truncated tail): etcd panics here. Start
      // from what we hold, and neither campaign nor vote until the leader re-sent the rest
      // (storage-loss.ts).
      commit = this.log.lastIndex();
      this.storageLoss.lostEntriesUpTo = hs.commit;
      this.storageLoss.lossesDetected++;
      this.logger.warn('raft log lost entries it knew committed; catching up from the leader before voting or campaigning', {
        id: this.id, hardStateCommit: hs.commit, lastIndex: commit,
      });
    }
    this.log.committed = commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    // While our log is known to lack committed entries, the commit we persist is the lost
    // point (past our last index), so a restart before catching up knows it still lacks them.
    return { term: this.term, vote: this.vote, commit: Math.max(this.log.committed, this.storageLoss.lostEntriesUpTo) };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  /** A voter that may campaign; learners and removed nodes may not. */
  promotable(): boolean {
    return this.trk.isVoter(this.id);
  }

  // ---- sending ----

  send(m: Message): void {
    assert(m.to !== NONE, () => `message ${m.type} has no destination`);
    this.msgs.push(m);
  }

  /**
   * Sends a message that acknowledges state in the log or hard state (append responses,
   * votes, the leader's own ack): released only after the Ready carrying that state was
   * persisted, unless the ackBeforePersist test switch is on.
   */
  sendAfterPersist(m: Message): void {
    if (this.unsafe.ackBeforePersist === true) {
      if (m.to === this.id) this.localMsgs.push(m);
      else this.msgs.push(m);
      return;
    }
    this.msgsAfterPersist.push(m);
  }

  message(type: MessageType, to: NodeId, term = this.term): Message {
    return emptyMessage(type, this.id, to, term);
  }

  // ---- roles ----

  resetRandomizedElectionTimeout(): void {
    const t = this.limits.electionTicks;
    this.randomizedElectionTimeout = this.random.int(t, 2 * t);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      assert(term > this.term, () => `term goes back from ${this.term} to ${term}`);
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const next = this.log.lastIndex() + 1;
    for (const id of this.trk.ids()) {
      const pr = this.trk.progress.get(id)!;
      pr.becomeProbe();
      pr.match = 0;
      pr.next = next;
      pr.recentActive = false;
      if (id === this.id) pr.match = this.ownDurableIndex();
    }
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.appendsPending = false;
    this.readOnly.reset();
    this.pendingReadIndex = [];
  }

  /** How far our own log counts toward a quorum: only what is persisted (durability gating). */
  ownDurableIndex(): number {
    return this.unsafe.ackBeforePersist === true ? this.log.lastIndex() : this.log.durableLastIndex();
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = StateRole.Follower;
    this.logger.debug('raft became follower', { id: this.id, term, lead });
  }

  becomePreCandidate(): void {
    assert(this.role !== StateRole.Leader, () => `leader ${this.id} cannot become pre-candidate`);
    // A pre-candidate forgets its leader: otherwise, with CheckQuorum, it would keep
    // rejecting other nodes' pre-votes as if the (dead) leader were alive, and two such
    // nodes can reject each other forever.
    this.lead = NONE;
    this.trk.resetVotes();
    this.role = StateRole.PreCandidate;
    this.logger.debug('raft became pre-candidate', { id: this.id, term: this.term });
  }

  becomeCandidate(): void {
    assert(this.role !== StateRole.Leader, () => `leader ${this.id} cannot become candidate`);
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = StateRole.Candidate;
    this.logger.debug('raft became candidate', { id: this.id, term: this.term });
  }

  becomeLeader(): void {
    assert(this.role === StateRole.Candidate, () => `${this.role} ${this.id} cannot become leader`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = StateRole.Leader;
    const self = this.trk.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // Raft §8 / thesis §6.4: a no-op of our term commits everything before it and lets
    // ReadIndex know the commit index is current.
    this.appendEntries([{ term: 0, index: 0, type: 0, data: EMPTY_BYTES }]);
    // Conf changes may sit unapplied in our log, and a single-server change must wait for
    // an entry of our term to commit: refuse new ones until the no-op is applied.
    this.pendingConfIndex = this.log.lastIndex();
    this.logger.info('raft became leader', { id: this.id, term: this.term });
  }

  // ---- campaigning ----

  campaign(kind: 'pre-election' | 'election', transfer: boolean): void {
    let term: number;
    let type: MessageType;
    if (kind === 'pre-election') {
      this.becomePreCandidate();
      type = MessageType.PreVote;
      term = this.term + 1; // asked for, not taken: our term changes only if we win
    } else {
      this.becomeCandidate();
      type = MessageType.Vote;
      term = this.term;
    }
    const respType = type === MessageType.Vote ? MessageType.VoteResp : MessageType.PreVoteResp;
    for (const id of [...this.trk.voters].sort((a, b) => a - b)) {
      if (id === this.id) {
        // Our own vote counts once it (and the term) is durable.
        this.sendAfterPersist(this.message(respType, this.id, term));
        continue;
      }
      const m = this.message(type, id, term);
      m.index = this.log.lastIndex();
      m.logTerm = this.log.lastTerm();
      if (transfer) m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  /** Records a vote; returns the outcome of the election so far. */
  poll(from: NodeId, granted: boolean): ReturnType<ProgressTracker['tallyVotes']> {
    this.trk.recordVote(from, granted);
    return this.trk.tallyVotes();
  }

  // ---- log ----

  /** Leader: appends proposed entries with our term and the next indexes. */
  appendEntries(ents: Entry[]): void {
    let index = this.log.lastIndex();
    const stamped = ents.map((e) => ({ ...e, term: this.term, index: ++index }));
    this.log.append(stamped);
    for (const e of stamped) this.uncommittedBytes += e.data.length;
    const ack = this.message(MessageType.AppResp, this.id);
    ack.index = index;
    this.sendAfterPersist(ack);
  }

  /** Whether appending `bytes` more payload stays within the uncommitted limit. */
  withinUncommittedLimit(bytes: number): boolean {
    if (bytes === 0 || this.uncommittedBytes === 0) return true;
    return this.uncommittedBytes + bytes <= this.limits.maxUncommittedBytes;
  }

  reduceUncommitted(ents: readonly Entry[]): void {
    if (this.role !== StateRole.Leader) return;
    let bytes = 0;
    for (const e of ents) bytes += e.data.length;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  /**
   * Advances the commit index to what a quorum has persisted. Raft §5.4.2: only an entry
   * of the current term is committed by counting replicas; earlier ones follow it.
   */
  maybeCommit(): boolean {
    const index = this.trk.committed();
    if (index <= this.log.committed) return false;
    if (this.unsafe.commitEntriesOfAnyTerm !== true && this.log.termOrZero(index) !== this.term) return false;
    this.log.commitTo(index);
    return true;
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  // ---- replication ----

  bcastAppend(): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.sendAppend(id, true);
  }

  /** Sends an append (or a snapshot) to `to` if its progress allows; returns whether one was sent. */
  sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    assert(prevIndex <= this.log.lastIndex(), () => `next ${pr.next} of ${to} is past our last index ${this.log.lastIndex()}`);
    const prevTerm = this.log.maybeTerm(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to); // compacted
    let ents: Entry[];
    try {
      ents = this.log.entriesFrom(pr.next, this.limits.maxBytesPerMsg);
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
      return this.sendSnapshot(to);
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    const m = this.message(MessageType.App, to);
    m.index = prevIndex;
    m.logTerm = prevTerm;
    m.entries = ents;
    m.commit = this.log.committed;
    pr.sentEntries(ents.length, lastOf(ents)?.index ?? prevIndex, entriesBytes(ents));
    this.send(m);
    return true;
  }

  /**
   * Sends a snapshot to `to` although its log may not need one: its state machine was lost
   * (storage-loss.ts). Nothing when we have no snapshot yet (it asks again next heartbeat).
   */
  sendSnapshotTo(to: NodeId): boolean {
    let index = 0;
    try {
      index = this.log.storage.snapshot().metadata.index;
    } catch (e) {
      if (!(e instanceof StorageError)) throw e;
    }
    if (index === 0) {
      this.logger.warn('raft cannot send a snapshot yet: none taken', { id: this.id, to });
      return false;
    }
    return this.sendSnapshot(to);
  }

  private sendSnapshot(to: NodeId): boolean {
    const pr = this.trk.progress.get(to)!;
    let snap;
    try {
      snap = this.log.storage.snapshot();
    } catch (e) {
      if (e instanceof StorageError) {
        this.logger.debug('raft snapshot not available yet', { to, kind: e.kind });
        return false;
      }
      throw e;
    }
    assert(snap.metadata.index > 0, () => `follower ${to} needs a snapshot but the storage has none (next ${pr.next})`);
    this.logger.info('raft sends a snapshot', { to, index: snap.metadata.index, match: pr.match });
    pr.becomeSnapshot(snap.metadata.index);
    const m = this.message(MessageType.Snap, to);
    m.snapshot = snap;
    this.send(m);
    return true;
  }

  bcastHeartbeat(): void {
    const round = this.readOnly.newestSentRound();
    const ctx = round === undefined ? EMPTY_BYTES : encodeRound(round);
    for (const id of this.trk.ids()) {
      if (id === this.id) continue;
      const pr = this.trk.progress.get(id)!;
      const m = this.message(MessageType.Heartbeat, id);
      // Never tell a follower a commit index past what it is known to hold.
      m.commit = Math.min(pr.match, this.log.committed);
      m.context = ctx;
      this.send(m);
    }
  }

  sendTimeoutNow(to: NodeId): void {
    this.logger.info('raft sends TimeoutNow', { to, term: this.term });
    this.send(this.message(MessageType.TimeoutNow, to));
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }
}

function limitsOf(cfg: RaftConfig): Limits {
  const limits: Limits = {
    electionTicks: cfg.electionTicks ?? ELECTION_TICKS_DEFAULT,
    heartbeatTicks: cfg.heartbeatTicks ?? HEARTBEAT_TICKS_DEFAULT,
    maxBytesPerMsg: cfg.maxBytesPerMsg ?? MAX_BYTES_PER_MSG_DEFAULT,
    maxUncommittedBytes: cfg.maxUncommittedBytes ?? MAX_UNCOMMITTED_BYTES_DEFAULT,
    maxCommittedBytesPerReady: cfg.maxCommittedBytesPerReady ?? MAX_COMMITTED_BYTES_PER_READY_DEFAULT,
    snapshotTimeoutTicks: cfg.snapshotTimeoutTicks ?? SNAPSHOT_TIMEOUT_TICKS_DEFAULT,
    preVote: cfg.preVote ?? true,
    checkQuorum: cfg.checkQuorum ?? true,
  };
  assert(limits.heartbeatTicks >= 1 && limits.electionTicks > limits.heartbeatTicks,
    () => `need electionTicks > heartbeatTicks >= 1, got ${limits.electionTicks} and ${limits.heartbeatTicks}`);
  return limits;
}
