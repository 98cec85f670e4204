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
    this.kv = new KvStateMachine();
    this.confState = { voters: [], learners: [] };
  }

  /** A new life over the durable storage: applied = the snapshot's index. */
  restart(random: SeededRandom): void {
    this.incarnation++;
    const snap = this.storage.snapshot();
    this.kv = KvStateMachine.restore(snap.data, snap.metadata.index);
    this.confState = copyConfState(snap.metadata.confState);
    this.raw = this.newRawNode(random, snap.metadata.index);
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
