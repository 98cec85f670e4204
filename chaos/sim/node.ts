// One simulated server: a RawNode over a MemoryStorage (its durable state: what survives a
// crash), the KV state machine and the reads waiting on it. A crash drops the RawNode and
// everything in memory; a restart builds a new RawNode over the same storage, restores the
// state machine from the storage's snapshot and lets the core re-deliver the committed log.

import { RawNode } from '../../server/raft/raw-node.js';
import { MemoryStorage, copyConfState } from '../../server/raft/memory-storage.js';
import type { UnsafeTestingSwitches } from '../../server/raft/config.js';
import type { ConfState, HardState, NodeId } from '../../server/raft/types.js';
import type { Logger } from '../../server/util/logger.js';
import type { SeededRandom } from '../../server/util/random.js';
import { KvStateMachine } from './kv.js';

export interface CoreSettings {
  electionTicks: number;
  heartbeatTicks: number;
  maxBytesPerMsg: number;
  maxInflightMsgs: number;
  unsafe: UnsafeTestingSwitches;
}

/** A read waiting for its index, then for the state machine to reach it. */
export interface PendingRead {
  readId: number;
  /** Known once the core answered (a ReadState); the read is served when applied >= index. */
  index?: number;
}

/**
 * A copy of a storage (a disk image), its log cut after `lastIndex` (never below its
 * snapshot): what a rolled-back disk or a log read up to a bad checksum returns.
 */
export function copyStorage(s: MemoryStorage, lastIndex = s.lastIndex()): MemoryStorage {
  const { hardState, confState } = s.initialState();
  const c = new MemoryStorage({ hardState, confState });
  const snap = s.snapshot();
  if (snap.metadata.index > 0) c.applySnapshot(snap);
  c.setConfState(confState);
  const first = s.firstIndex();
  const hi = Math.min(lastIndex, s.lastIndex());
  if (hi >= first) c.append(s.entries(first, hi + 1, Number.MAX_SAFE_INTEGER));
  return c;
}

function isEmpty(s: MemoryStorage): boolean {
  const hs = s.initialState().hardState;
  return s.lastIndex() === 0 && hs.term === 0 && hs.vote === 0 && hs.commit === 0;
}

export class SimNode {
  /** Replaced only by reseed() (a lost raft log). */
  storage = new MemoryStorage();
  raw: RawNode | undefined;
  /** Restarts so far; messages carry it so a report never reaches a later life. */
  incarnation = 0;
  kv = new KvStateMachine();
  /** Membership as of the applied index (what a snapshot taken now must record). */
  confState: ConfState = { voters: [], learners: [] };
  /** Reads by request context (bytesKey). Lost on a crash. */
  readonly reads = new Map<string, PendingRead>();
  /**
   * Messages sent by lives before this one speak for storage since lost (reseed): they
   * are not delivered (the operator's reseed takes far longer than any message's flight).
   */
  lostBeforeIncarnation = 0;
  /** Tick at which a crashed node comes back. */
  restartAt = 0;
  /** Each term's vote as persisted, across rollbacks (a rollback never crosses one). */
  readonly votesByTerm = new Map<number, NodeId>();
  /** Older images of the storage (profile storage): what a rolled-back disk may return. */
  images: MemoryStorage[] = [];
  /**
   * Its state machine is lost (state-loss fault): until a snapshot restores it, committed
   * entries are not applied (conf changes excepted, which the core needs) and nothing is served.
   */
  stateLost = false;
  /** Entries up to here are already in the restored state (handed out again, skipped). */
  restoredThrough = 0;
  /** Conf changes applied to the core up to this index in this life (skipped when handed again). */
  confAppliedThrough = 0;
  /**
   * A rolled-back or cut log: its last index before the fault. The member cannot know what
   * it lost until a peer tells it; the simulator keeps other faults off until then.
   */
  pendingLoss: { lastIndex: number } | undefined;

  constructor(
    readonly id: NodeId,
    private readonly settings: CoreSettings,
    private readonly logger: Logger,
  ) {}

  get up(): boolean {
    return this.raw !== undefined;
  }

  /** Founding voters when this node is one of them (it bootstraps); undefined for a spare. */
  private foundingVoters: NodeId[] | undefined;

  /** First start. Founding members bootstrap; a spare starts empty and waits to be added. */
  start(random: SeededRandom, foundingVoters: NodeId[] | undefined): void {
    this.foundingVoters = foundingVoters;
    this.raw = this.newRawNode(random, 0);
    if (foundingVoters !== undefined) this.raw.bootstrap(foundingVoters);
  }

  crash(): void {
    this.raw = undefined;
    this.reads.clear();
  }

  /**
   * While down: the raft storage and the state machine are lost, and the operator reseeded
   * the member (server/region/reseed.ts): an empty log under the hard state `hs` (the
   * peers' term with its vote counted as cast, the peers' commit past the empty log).
   */
  reseed(hs: HardState): void {
    this.lostBeforeIncarnation = this.incarnation + 1;
    this.storage = new MemoryStorage({ hardState: hs });
    this.images = [];
    this.pendingLoss = undefined;
    this.stateLost = false;
    this.kv = new KvStateMachine();
    this.confState = { voters: [], learners: [] };
  }

  /** While down: the disk returns `replacement` for the raft storage (rolled back or cut). */
  replaceStorage(replacement: MemoryStorage): void {
    this.pendingLoss = { lastIndex: Math.max(this.pendingLoss?.lastIndex ?? 0, this.storage.lastIndex()) };
    this.lostBeforeIncarnation = this.incarnation + 1;
    this.storage = replacement;
    this.images = [];
  }

  /**
   * A new life over the durable storage: applied = the snapshot's index. With the state
   * lost and a compacted log, the core asks the leader for a snapshot (requestStateSnapshot);
   * with nothing compacted the log replays it from the start. `serveLostState` (test-only)
   * skips that and serves an empty state as if it were the snapshot's.
   */
  restart(random: SeededRandom, serveLostState = false): void {
    this.incarnation++;
    const snap = this.storage.snapshot();
    this.restoredThrough = 0;
    this.confAppliedThrough = 0;
    if (this.stateLost && snap.metadata.index === 0) this.stateLost = false;
    if (this.stateLost && serveLostState) {
      this.stateLost = false;
      this.kv = KvStateMachine.restore(new Uint8Array(0), 0);
      this.kv.appliedIndex = snap.metadata.index;
    } else {
      this.kv = this.stateLost ? new KvStateMachine() : KvStateMachine.restore(snap.data, snap.metadata.index);
    }
    this.confState = copyConfState(snap.metadata.confState);
    this.raw = this.newRawNode(random, snap.metadata.index);
    if (this.stateLost) this.raw.requestStateSnapshot();
    // A founding member that crashed before its bootstrap Ready was persisted finds empty
    // storage and bootstraps again, as the region node does on an empty data directory.
    // (Starting blank instead would replay the bootstrap entries one by one and briefly
    // believe it is the only voter: a lost-storage scenario outside Raft's fault model.)
    if (this.foundingVoters !== undefined && isEmpty(this.storage)) this.raw.bootstrap(this.foundingVoters);
  }

  private newRawNode(random: SeededRandom, applied: number): RawNode {
    const s = this.settings;
    return new RawNode({
      id: this.id,
      storage: this.storage,
      random,
      logger: this.logger,
      electionTicks: s.electionTicks,
      heartbeatTicks: s.heartbeatTicks,
      applied,
      maxBytesPerMsg: s.maxBytesPerMsg,
      maxInflightMsgs: s.maxInflightMsgs,
      preVote: true,
      checkQuorum: true,
      unsafe: s.unsafe,
    });
  }
}
