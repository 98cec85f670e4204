// The deterministic simulator (TigerBeetle's VOPR, for our Raft core): a whole cluster on
// one thread, every choice drawn from one seed. A step is one atomic action — deliver a
// message, handle a node's Ready, tick the clocks, a client request, a fault — and the
// Checker runs after every step. A safety phase (faults on) is followed by a liveness phase
// (network healed, every node up, no faults): a leader must be elected and every pending
// write committed within LIVENESS_TICKS_MAX ticks.
//
// Ready handling is the driver's contract (server/raft/types.ts): send messages, persist
// snapshot + entries + hard state into the node's MemoryStorage, apply, advance. A crash
// may strike between the send and the persist: that Ready's durable part is lost.

import type { UnsafeTestingSwitches } from '../../server/raft/config.js';
import { decodeConfChange } from '../../server/raft/conf-change.js';
import {
  ConfChangeType,
  EntryType,
  MessageType,
  ProposalRefusedError,
  StateRole,
  type ConfChange,
  type Entry,
  type Message,
  type NodeId,
  type Ready,
} from '../../server/raft/types.js';
import { silentLogger } from '../../server/util/logger.js';
import { SeededRandom } from '../../server/util/random.js';
import { Checker, Violation, bytesKey, type NodeView } from './checker.js';
import { EventLog, type SimEvent } from './events.js';
import { KvStateMachine, decodeWrite, encodeWrite } from './kv.js';
import { NO_FAULTS, Network } from './network.js';
import { SimNode, copyStorage } from './node.js';
import {
  PARTITION_KINDS, STORAGE_FAULT_KINDS, drawScenario,
  type PartitionKind, type Profile, type Scenario, type StorageFaultKind,
} from './scenario.js';

/** Ticks the healed cluster gets to elect a leader and commit every pending write. */
export const LIVENESS_TICKS_MAX = 400;
/** In the liveness phase, the client re-sends unacknowledged writes this often (ticks): a
 *  write forwarded into a partition or proposed to a deposed leader is lost, not refused. */
export const LIVENESS_RETRY_TICKS = 40;
/** Steps a liveness tick may take to drain messages and Readies. */
export const LIVENESS_DRAIN_STEPS_MAX = 5000;
/** A message due or a Ready waiting weighs this much against the optional actions. */
const WORK_WEIGHT = 10;
/** Disk images kept per node for the rollback fault, and the chance a persist takes one. */
const IMAGES_MAX = 8;
const IMAGE_PROBABILITY = 0.5;
/** Profile storage: the chance a crash damages the member's disk at once (a power cut). */
const POWER_CUT_FAULT_PROBABILITY = 0.3;

export interface SimOptions {
  seed: number;
  /** Steps of the safety phase. */
  steps: number;
  /** Cluster size; by default 3 for even seeds, 5 for odd ones. */
  nodes?: number;
  unsafe?: UnsafeTestingSwitches;
  profile?: Profile;
  /** Only these storage fault kinds (profile storage); all by default. */
  storageFaultKinds?: readonly StorageFaultKind[];
  /**
   * Test-only: a member whose state machine was lost serves an empty state as if it were
   * its snapshot's instead of asking the leader for one (the teeth of "served state
   * matches the committed log").
   */
  serveLostState?: boolean;
  /** Check acks for durability as they are sent (default true); see Checker. */
  ackChecks?: boolean;
  /** Every event as it happens. */
  onEvent?: (e: SimEvent) => void;
}

export interface SimResult {
  seed: number;
  nodes: number;
  profile: Profile;
  ok: boolean;
  /** Steps run in both phases. */
  steps: number;
  ticks: number;
  violation?: { invariant: string; detail: string; step: number; phase: 'safety' | 'liveness' };
  /** The last events before the end (or the violation). */
  events: SimEvent[];
  stats: SimStats;
}

export interface SimStats {
  writesProposed: number;
  writesAcked: number;
  readsServed: number;
  crashes: number;
  crashesBetweenSendAndPersist: number;
  /** Down members whose raft storage was lost and reseeded (profile storage). */
  reseeds: number;
  /** Down members whose disk returned an older log and hard state. */
  rollbacks: number;
  /** Down members whose log failed a checksum at an entry (lost from there). */
  corruptions: number;
  /** Down members whose state machine was lost (rebuilt from the log or a snapshot). */
  stateLosses: number;
  /** Of those, restored from a leader's snapshot. */
  statesRestored: number;
  partitions: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  confChanges: number;
  leaderTerms: number;
  messagesDelivered: number;
  checks: number;
  /** Ticks the liveness phase took to converge. */
  livenessTicks: number;
}

interface WriteRecord {
  id: number;
  key: string;
  data: Uint8Array;
  acked?: { index: number };
}

interface ReadRecord {
  id: number;
  key: string;
  node: NodeId;
  /** Highest log index of any write acknowledged before this read began. */
  requiredIndex: number;
  /** Highest index of a write to `key` acknowledged before this read began. */
  requiredKeyIndex: number;
}

const MESSAGE_NAMES = new Map<number, string>(Object.entries(MessageType).map(([k, v]) => [v, k]));
const encoder = new TextEncoder();
const NONE_ID: NodeId = 0;

export function defaultNodeCount(seed: number): number {
  return seed % 2 === 0 ? 3 : 5;
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

export class Simulation {
  private readonly rng: SeededRandom;
  private readonly sc: Scenario;
  private readonly nodes: SimNode[];
  private readonly net: Network;
  private readonly checker: Checker;
  private readonly events: EventLog;
  private now = 0;
  private stepCount = 0;
  private phase: 'safety' | 'liveness' = 'safety';
  private readonly writes = new Map<number, WriteRecord>();
  private readonly readsById = new Map<number, ReadRecord>();
  private nextWriteId = 1;
  private nextReadId = 1;
  private ackedIndexMax = 0;
  private readonly ackedIndexByKey = new Map<string, number>();
  private healAt = -1;
  /**
   * The committed log's effect per key, for "served state matches the committed log":
   * each write's index and value in log order, recorded by the first node to apply an
   * index (every node applies the same sequence: the checker's state machine safety).
   */
  private readonly refHistory = new Map<string, Array<{ index: number; value: string }>>();
  /** Indexes of the entries that applied a write for the first time, in log order. */
  private readonly refWriteIndexes: number[] = [];
  private refIndex = 0;
  /** A node whose clock is stopped until the partition heals (NONE_ID: none). */
  private paused: NodeId = NONE_ID;
  private readonly stats: SimStats = {
    writesProposed: 0, writesAcked: 0, readsServed: 0, crashes: 0, crashesBetweenSendAndPersist: 0, reseeds: 0,
    rollbacks: 0, corruptions: 0, stateLosses: 0, statesRestored: 0,
    partitions: 0, snapshotsTaken: 0, snapshotsInstalled: 0, confChanges: 0, leaderTerms: 0,
    messagesDelivered: 0, checks: 0, livenessTicks: 0,
  };

  constructor(private readonly opts: SimOptions) {
    this.rng = new SeededRandom(opts.seed);
    this.checker = new Checker(opts.ackChecks ?? true);
    const n = opts.nodes ?? defaultNodeCount(opts.seed);
    this.sc = drawScenario(this.rng.fork(), n, opts.profile ?? 'mixed');
    this.events = new EventLog(undefined, opts.onEvent);
    this.net = new Network(this.rng.fork(), this.sc.network);
    const settings = {
      electionTicks: this.sc.electionTicks,
      heartbeatTicks: this.sc.heartbeatTicks,
      maxBytesPerMsg: this.sc.maxBytesPerMsg,
      maxInflightMsgs: this.sc.maxInflightMsgs,
      unsafe: opts.unsafe ?? {},
    };
    this.nodes = Array.from({ length: n }, (_, i) => new SimNode(i + 1, settings, silentLogger));
  }

  run(): SimResult {
    let violation: SimResult['violation'];
    try {
      this.events.add(`scenario ${JSON.stringify(this.sc)}`);
      for (const node of this.nodes) {
        const founding = this.sc.initialVoters.includes(node.id) ? this.sc.initialVoters : undefined;
        node.start(this.rng.fork(), founding);
      }
      this.afterStep();
      for (let i = 0; i < this.opts.steps; i++) this.safetyStep();
      this.livenessPhase();
    } catch (err) {
      violation = this.toViolation(err);
      this.events.add(`VIOLATION ${violation.invariant}: ${violation.detail}`);
    }
    this.stats.checks = this.checker.checks;
    const result: SimResult = {
      seed: this.opts.seed,
      nodes: this.nodes.length,
      profile: this.sc.profile,
      ok: violation === undefined,
      steps: this.stepCount,
      ticks: this.now,
      events: this.events.recent(),
      stats: this.stats,
    };
    if (violation !== undefined) result.violation = violation;
    return result;
  }

  private toViolation(err: unknown): NonNullable<SimResult['violation']> {
    const base = { step: this.stepCount, phase: this.phase };
    if (err instanceof Violation) return { ...base, invariant: err.invariant, detail: err.detail };
    const e = err instanceof Error ? err : new Error(String(err));
    const where = (e.stack ?? '').split('\n').slice(1, 4).map((l) => l.trim()).join(' < ');
    return { ...base, invariant: 'no exception', detail: `${e.name}: ${e.message} (${where})` };
  }

  // ---- Steps ----

  private safetyStep(): void {
    const w = this.sc.weights;
    const ready = this.nodes.filter((n) => n.raw?.hasReady() === true);
    const actions: Array<[number, () => void]> = [
      [w.tick, () => this.tickAll()],
      [w.write, () => this.clientWrite()],
      [w.read, () => this.clientRead()],
      [w.crash, () => this.crashSome()],
      [w.partition, () => this.partitionSome()],
      [w.snapshot, () => this.snapshotSome()],
      [w.confChange, () => this.changeMembership()],
      [w.transfer, () => this.transferLeadership()],
      [w.campaign, () => this.forceCampaign()],
      [w.storageFault, () => this.storageFaultSome()],
    ];
    if (ready.length > 0) actions.push([WORK_WEIGHT, () => this.handleReady(this.rng.pick(ready))]);
    if (this.net.hasDue(this.now)) actions.push([WORK_WEIGHT, () => this.deliverOne()]);
    this.pickWeighted(actions)();
    this.afterStep();
  }

  private pickWeighted(actions: Array<[number, () => void]>): () => void {
    let total = 0;
    for (const [weight] of actions) total += weight;
    let x = this.rng.next() * total;
    for (const [weight, act] of actions) {
      if (x < weight) return act;
      x -= weight;
    }
    return actions[actions.length - 1]![1];
  }

  private afterStep(): void {
    this.stepCount++;
    this.events.step = this.stepCount;
    this.events.tick = this.now;
    this.checker.afterStep(this.views());
  }

  private views(): NodeView[] {
    return this.nodes.map((n) => {
      const st = n.raw?.status();
      return {
        id: n.id,
        up: n.up,
        storage: n.storage,
        status: st === undefined ? undefined : { term: st.term, commit: knownCommit(n), role: st.role, confState: st.confState },
        appliedIndex: n.kv.appliedIndex,
      };
    });
  }

  private tickAll(): void {
    this.now++;
    this.events.tick = this.now;
    if (this.healAt >= 0 && this.now >= this.healAt) {
      this.net.heal();
      this.healAt = -1;
      this.paused = NONE_ID;
      this.events.add('network healed');
    }
    for (const n of this.nodes) {
      if (!n.up) {
        if (this.phase === 'safety' && this.now >= n.restartAt) this.restart(n);
        continue;
      }
      if (n.id === this.paused) continue;
      if (this.phase === 'liveness' || this.rng.chance(this.sc.tickProbability[n.id - 1]!)) n.raw!.tick();
    }
  }

  // ---- The network ----

  private send(from: SimNode, m: Message): void {
    this.checker.onSend(from.id, from.storage, m);
    if (m.to < 1 || m.to > this.nodes.length) {
      this.events.add(`n${from.id} sends to unknown node ${m.to}: dropped`);
      return;
    }
    const { copies, dropped } = this.net.send(m, this.now, from.incarnation);
    if (dropped !== undefined && m.type === MessageType.Snap) from.raw?.reportSnapshot(m.to, 'failure');
    if (copies.length === 0) this.events.add(`send ${describe(m)}: ${dropped}`);
  }

  private deliverOne(): void {
    const taken = this.net.takeDue(this.now);
    if (taken === undefined) return;
    const { flight, partitioned } = taken;
    const m = flight.message;
    const to = this.nodes[m.to - 1]!;
    const sender = this.nodes[m.from - 1];
    const senderSame = sender !== undefined && sender.up && sender.incarnation === flight.senderIncarnation;
    if (sender !== undefined && flight.senderIncarnation < sender.lostBeforeIncarnation) {
      this.events.add(`lost #${flight.seq} ${describe(m)} (its sender's storage was lost since)`);
      return;
    }
    if (partitioned || !to.up) {
      this.events.add(`lost #${flight.seq} ${describe(m)} (${partitioned ? 'partitioned' : 'receiver down'})`);
      if (senderSame && m.type === MessageType.Snap) sender.raw!.reportSnapshot(m.to, 'failure');
      else if (senderSame && partitioned && this.rng.chance(0.2)) sender.raw!.reportUnreachable(m.to);
      return;
    }
    this.events.add(`deliver #${flight.seq} ${describe(m)}`);
    this.stats.messagesDelivered++;
    if (to.stateLost && m.type === MessageType.Snap && m.snapshot !== undefined) this.restoreLostState(to, m.snapshot);
    to.raw!.step(m);
    if (senderSame && m.type === MessageType.Snap) sender.raw!.reportSnapshot(m.to, 'finish');
  }

  /**
   * A member with a lost state machine gets the leader's snapshot. One its log is already
   * past (index <= its commit, durable) does not reach the core's restore: the application installs it
   * (state-repair.ts) if the log still holds what follows it, and the core hands the entries
   * after it out again (stateRestored). A newer one takes the core's path (apply()).
   */
  private restoreLostState(n: SimNode, snap: NonNullable<Message['snapshot']>): void {
    const index = snap.metadata.index;
    const raw = n.raw!;
    // Past its commit it is the core's to restore; past its durable commit the core may be
    // restoring it already (a Ready not yet handled): a duplicate is not installed twice.
    if (index > raw.status().commit || index > n.storage.initialState().hardState.commit) return;
    if (index < n.storage.firstIndex() - 1) {
      this.events.add(`n${n.id}: snapshot ${index} is older than its compacted log; asks again`);
      return;
    }
    n.kv = KvStateMachine.restore(snap.data, index);
    n.confState = { voters: [...snap.metadata.confState.voters], learners: [...snap.metadata.confState.learners] };
    n.stateLost = false;
    n.restoredThrough = index;
    raw.stateRestored(index);
    this.stats.statesRestored++;
    this.events.add(`n${n.id} has its state again (leader's snapshot ${index}, entries after it handed out again)`);
  }

  // ---- Ready ----

  private handleReady(n: SimNode): void {
    const raw = n.raw!;
    const rd = raw.ready();
    this.events.add(`n${n.id} ready: ${describeReady(rd)}`);
    for (const m of rd.messages) this.send(n, m);
    const durable = rd.snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined;
    if (this.phase === 'safety' && durable && !this.lossUnsettled() && this.rng.chance(this.sc.crashInReadyProbability)) {
      this.stats.crashesBetweenSendAndPersist++;
      this.crash(n, 'after sending, before persisting its Ready');
      return;
    }
    this.persist(n, rd);
    this.apply(n, rd);
    raw.advance(rd);
    const st = raw.status();
    if (this.phase === 'safety' && st.role === StateRole.Leader) this.nemesisOnLeaderReady(n, rd);
    if (st.role === StateRole.Leader) this.checker.checkLeaderCompleteness(n.id, st.term, n.storage);
    if (this.phase === 'safety' && this.sc.weights.storageFault > 0 && durable && this.rng.chance(IMAGE_PROBABILITY)) {
      n.images.push(copyStorage(n.storage));
      if (n.images.length > IMAGES_MAX) n.images.shift();
    }
  }

  /** Faults that strike a leader at chosen moments: just elected, just committed. */
  private nemesisOnLeaderReady(n: SimNode, rd: Ready): void {
    if (this.lossUnsettled()) return;
    if (rd.softState?.role === StateRole.Leader) {
      this.stats.leaderTerms++;
      if (this.rng.chance(this.sc.isolateNewLeaderProbability)) this.cut('isolate-leader', n.id);
    } else if (rd.hardState !== undefined && rd.committedEntries.length > 0 &&
      this.rng.chance(this.sc.isolateLeaderOnCommitProbability)) {
      this.cut('isolate-leader', n.id);
    }
  }

  private persist(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      n.storage.applySnapshot(rd.snapshot);
      this.checker.onSnapshotPersisted(n.id, rd.snapshot);
    }
    if (rd.entries.length > 0) {
      n.storage.append(rd.entries);
      this.checker.onEntriesPersisted(n.id, n.storage, rd.entries);
    }
    if (rd.hardState !== undefined) {
      n.storage.setHardState(rd.hardState);
      if (rd.hardState.vote !== NONE_ID) n.votesByTerm.set(rd.hardState.term, rd.hardState.vote);
      this.checker.onHardStatePersisted(n.id, rd.hardState);
    }
  }

  private apply(n: SimNode, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      const snap = rd.snapshot;
      if (snap.metadata.index <= n.kv.appliedIndex) {
        throw new Violation('restore only a newer snapshot', `node ${n.id} got a snapshot at ${snap.metadata.index}, it has applied ${n.kv.appliedIndex}`);
      }
      n.kv = KvStateMachine.restore(snap.data, snap.metadata.index);
      n.confState = { voters: [...snap.metadata.confState.voters], learners: [...snap.metadata.confState.learners] };
      this.stats.snapshotsInstalled++;
      this.events.add(`n${n.id} restores snapshot ${snap.metadata.index}@${snap.metadata.term}`);
      if (n.stateLost) {
        n.stateLost = false;
        n.raw!.stateRestored(snap.metadata.index);
        this.stats.statesRestored++;
        this.events.add(`n${n.id} has its state again (snapshot ${snap.metadata.index})`);
      }
    }
    for (const rs of rd.readStates) {
      const pending = n.reads.get(bytesKey(rs.requestCtx));
      if (pending !== undefined && pending.index === undefined) pending.index = rs.index;
    }
    this.serveReads(n); // reads already satisfied are served before this Ready's entries
    for (const e of rd.committedEntries) this.applyEntry(n, e);
    this.serveReads(n);
  }

  private applyEntry(n: SimNode, e: Entry): void {
    if (n.stateLost || e.index <= n.restoredThrough) {
      // No state to apply it to, or already in the restored one: only the core's membership.
      if (e.type === EntryType.ConfChange && e.index > n.confAppliedThrough) {
        const cc = decodeConfChange(e.data);
        if (cc === undefined) throw new Violation('entries decode', `node ${n.id}: conf change entry ${e.index} does not decode`);
        n.raw!.applyConfChange(cc);
        n.confAppliedThrough = e.index;
      }
      return;
    }
    if (e.index !== n.kv.appliedIndex + 1) {
      throw new Violation('apply in order, exactly once', `node ${n.id} is handed entry ${e.index} after applying ${n.kv.appliedIndex}`);
    }
    this.checker.onApply(n.id, e);
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      if (cc === undefined) throw new Violation('entries decode', `node ${n.id}: conf change entry ${e.index} does not decode`);
      if (e.index > n.confAppliedThrough) {
        n.confState = n.raw!.applyConfChange(cc);
        n.confAppliedThrough = e.index;
      } else {
        n.confState = n.raw!.status().confState; // applied to the core while the state was lost
      }
      n.kv.applyOther(e.index);
      this.refIndex = Math.max(this.refIndex, e.index);
      this.events.add(`n${n.id} applies conf change ${describeCc(cc)} at ${e.index}: voters [${n.confState.voters}] learners [${n.confState.learners}]`);
      return;
    }
    const writeId = n.kv.applyNormal(e.index, e.data);
    if (e.index > this.refIndex) {
      this.refIndex = e.index;
      if (writeId !== undefined) {
        const cmd = decodeWrite(e.data);
        let h = this.refHistory.get(cmd.key);
        if (h === undefined) this.refHistory.set(cmd.key, (h = []));
        h.push({ index: e.index, value: cmd.value });
        this.refWriteIndexes.push(e.index);
      }
    }
    if (writeId === undefined) return;
    const w = this.writes.get(writeId);
    if (w === undefined || w.acked !== undefined) return;
    w.acked = { index: e.index };
    this.stats.writesAcked++;
    this.ackedIndexMax = Math.max(this.ackedIndexMax, e.index);
    this.ackedIndexByKey.set(w.key, Math.max(this.ackedIndexByKey.get(w.key) ?? 0, e.index));
    this.events.add(`write w${writeId} acknowledged (applied at ${e.index} on n${n.id})`);
  }

  private serveReads(n: SimNode): void {
    for (const [ctx, pending] of n.reads) {
      if (pending.index === undefined || pending.index > n.kv.appliedIndex) continue;
      n.reads.delete(ctx);
      const r = this.readsById.get(pending.readId)!;
      const cell = n.kv.get(r.key);
      this.checkServedState(n, r.key);
      this.stats.readsServed++;
      this.events.add(`read r${r.id} of ${r.key} served on n${n.id} at applied ${n.kv.appliedIndex} (read index ${pending.index}): ${cell?.value ?? '(none)'}`);
      if (n.kv.appliedIndex < r.requiredIndex || (cell?.index ?? 0) < r.requiredKeyIndex) {
        throw new Violation(
          'linearizable reads',
          `read r${r.id} of ${r.key} on node ${n.id} (read index ${pending.index}) saw the state at ${n.kv.appliedIndex} (${r.key} written at ${cell?.index ?? 0}), but a write at ${Math.max(r.requiredIndex, r.requiredKeyIndex)} was acknowledged before the read began`,
        );
      }
    }
  }

  /** No member serves state that differs from the committed log at its applied index. */
  private checkServedState(n: SimNode, key: string): void {
    const cell = n.kv.get(key);
    const h = this.refHistory.get(key) ?? [];
    let expected: { index: number; value: string } | undefined;
    for (let i = h.length - 1; i >= 0; i--) {
      if (h[i]!.index <= n.kv.appliedIndex) {
        expected = h[i];
        break;
      }
    }
    let writes = 0; // first applications at or below the applied index (binary search)
    for (let lo = 0, hi = this.refWriteIndexes.length; lo < hi;) {
      const mid = (lo + hi) >> 1;
      if (this.refWriteIndexes[mid]! <= n.kv.appliedIndex) writes = lo = mid + 1;
      else hi = mid;
    }
    if (writes !== n.kv.appliedWrites) {
      throw new Violation(
        'served state matches the committed log',
        `node ${n.id} at applied ${n.kv.appliedIndex} has applied ${n.kv.appliedWrites} distinct writes; the committed log up to there holds ${writes}`,
      );
    }
    if ((expected?.index ?? 0) !== (cell?.index ?? 0) || expected?.value !== cell?.value) {
      throw new Violation(
        'served state matches the committed log',
        `node ${n.id} at applied ${n.kv.appliedIndex} holds ${key} = ${cell?.value ?? '(none)'} (written at ${cell?.index ?? 0}); the committed log up to there says ${expected?.value ?? '(none)'} (at ${expected?.index ?? 0})`,
      );
    }
  }

  // ---- Clients ----

  private clientWrite(): void {
    const n = this.pickUp();
    if (n === undefined) return;
    const id = this.nextWriteId++;
    const key = `k${this.rng.int(0, this.sc.keyCount)}`;
    const w: WriteRecord = { id, key, data: encodeWrite({ id, key, value: `v${id}` }) };
    if (this.propose(n, w)) this.writes.set(id, w);
  }

  /** Proposes (or re-proposes) a write; false when the core refused it. */
  private propose(n: SimNode, w: WriteRecord): boolean {
    try {
      n.raw!.propose(w.data);
    } catch (err) {
      if (!(err instanceof ProposalRefusedError)) throw err;
      this.events.add(`write w${w.id} to n${n.id} refused: ${err.reason}`);
      return false;
    }
    this.stats.writesProposed++;
    this.events.add(`write w${w.id} ${w.key} proposed on n${n.id}`);
    return true;
  }

  private clientRead(): void {
    const n = this.pickUp();
    if (n === undefined) return;
    const id = this.nextReadId++;
    const key = `k${this.rng.int(0, this.sc.keyCount)}`;
    const ctx = encoder.encode(`r${id}`);
    try {
      n.raw!.readIndex(ctx);
    } catch (err) {
      if (!(err instanceof ProposalRefusedError)) throw err;
      this.events.add(`read r${id} on n${n.id} refused: ${err.reason}`);
      return;
    }
    this.readsById.set(id, {
      id, key, node: n.id,
      requiredIndex: this.ackedIndexMax,
      requiredKeyIndex: this.ackedIndexByKey.get(key) ?? 0,
    });
    n.reads.set(bytesKey(ctx), { readId: id });
    this.events.add(`read r${id} of ${key} begins on n${n.id} (acknowledged up to ${this.ackedIndexMax})`);
  }

  private changeMembership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const cs = leader.raw!.status().confState;
    const members = new Set([...cs.voters, ...cs.learners]);
    const outside = this.nodes.filter((n) => !members.has(n.id)).map((n) => n.id);
    let cc: ConfChange;
    if (cs.learners.length > 0 && this.rng.chance(0.7)) {
      cc = { type: ConfChangeType.AddNode, nodeId: this.rng.pick(cs.learners), context: new Uint8Array(0) };
    } else if (outside.length > 0 && this.rng.chance(0.7)) {
      const type = this.rng.chance(0.6) ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode;
      cc = { type, nodeId: this.rng.pick(outside), context: new Uint8Array(0) };
    } else if (cs.voters.length > 2) {
      cc = { type: ConfChangeType.RemoveNode, nodeId: this.rng.pick(cs.voters), context: new Uint8Array(0) };
    } else {
      return;
    }
    try {
      leader.raw!.proposeConfChange(cc);
    } catch (err) {
      if (!(err instanceof ProposalRefusedError)) throw err;
      this.events.add(`conf change ${describeCc(cc)} on n${leader.id} refused: ${err.reason}`);
      return;
    }
    this.stats.confChanges++;
    this.events.add(`conf change ${describeCc(cc)} proposed on n${leader.id}`);
  }

  private transferLeadership(): void {
    if (this.lossUnsettled()) return;
    const leader = this.leader();
    if (leader === undefined) return;
    const voters = leader.raw!.status().confState.voters.filter((id) => id !== leader.id);
    if (voters.length === 0) return;
    const to = this.rng.pick(voters);
    this.events.add(`transfer leadership n${leader.id} -> n${to}`);
    leader.raw!.transferLeader(to);
  }

  private forceCampaign(): void {
    if (this.lossUnsettled()) return;
    const n = this.pickUp();
    if (n === undefined) return;
    this.events.add(`n${n.id} campaigns`);
    n.raw!.campaign();
  }

  // ---- Faults ----

  private crashSome(): void {
    if (this.lossUnsettled()) return;
    const n = this.pickUp();
    if (n !== undefined) this.crash(n, 'now');
  }

  private crash(n: SimNode, when: string): void {
    n.crash();
    n.restartAt = this.now + this.rng.int(1, 3 * this.sc.electionTicks);
    this.stats.crashes++;
    this.events.add(`n${n.id} crashes ${when}; back at tick ${n.restartAt}`);
    // A power cut: the disk may come back damaged at once, and the member soon after, while
    // its peers may still lag behind what it had acknowledged.
    if (this.sc.weights.storageFault > 0 && this.rng.chance(POWER_CUT_FAULT_PROBABILITY)) {
      this.storageFaultSome();
      n.restartAt = Math.min(n.restartAt, this.now + 1);
    }
  }

  /**
   * A down member's raft log is lost and the operator reseeds it, as the refusal tells them
   * to: only with every other member up, connected and not repairing, and a leader (the
   * procedure says so; with the leader gone too, its entries would be on fewer members than
   * Raft tolerates).
   */
  private storageFaultSome(): void {
    if (this.lossUnsettled()) return;
    const allowed = this.opts.storageFaultKinds ?? STORAGE_FAULT_KINDS;
    const weights = STORAGE_FAULT_KINDS.map((k, i) => (allowed.includes(k) ? this.sc.storageFaultKinds[i]! : 0));
    let x = this.rng.next() * weights.reduce((a, b) => a + b, 0);
    let kind: StorageFaultKind = allowed[0]!;
    for (let i = 0; i < weights.length; i++) {
      if (x < weights[i]!) {
        kind = STORAGE_FAULT_KINDS[i]!;
        break;
      }
      x -= weights[i]!;
    }
    if (kind === 'reseed') this.reseedSome();
    else if (kind === 'rollback') this.rollBackSome();
    else if (kind === 'corrupt') this.corruptSome();
    else this.loseStateSome();
  }

  /** The one down member, when the others are up, connected, not repairing, and a leader leads. */
  private downAmongHealthy(): SimNode | undefined {
    const down = this.nodes.filter((n) => !n.up);
    if (down.length !== 1 || this.healAt >= 0 || this.net.cutLinks.length > 0 || this.leader() === undefined) return undefined;
    if (this.nodes.some((o) => o.up && o.raw!.storageLossStatus().recovering)) return undefined;
    return down[0];
  }

  /**
   * A down member's disk returns an older image: a prefix of its log (the entries since are
   * gone) and the hard state of then, maybe of an older term, but never across a vote it
   * cast since (a rolled-back vote is the risk docs/architecture.md names: nothing in the
   * member can see it, so it is outside what the protocol claims).
   */
  private rollBackSome(): void {
    const n = this.downAmongHealthy();
    if (n === undefined) return;
    const hs = n.storage.initialState().hardState;
    const fits = n.images.filter((img) => {
      const ihs = img.initialState().hardState;
      const last = img.lastIndex();
      const votedSince = [...n.votesByTerm.keys()].some((t) => t > ihs.term);
      return !votedSince && ihs.vote === (n.votesByTerm.get(ihs.term) ?? NONE_ID) && ihs.term <= hs.term && last < n.storage.lastIndex() &&
        last >= n.storage.firstIndex() - 1 && n.storage.term(last) === img.term(last);
    });
    if (fits.length === 0) return;
    const img = fits[0]!; // the oldest: the deepest rollback the images allow
    const lost = n.storage;
    n.replaceStorage(copyStorage(img));
    this.checker.onStorageLost(n.id, n.storage.initialState().hardState, lost, true);
    this.stats.rollbacks++;
    this.events.add(`n${n.id}'s disk rolls back: log ${lost.firstIndex()}..${lost.lastIndex()} -> ..${n.storage.lastIndex()}, commit ${lost.initialState().hardState.commit} -> ${n.storage.initialState().hardState.commit}`);
  }

  /** An entry of a down member's log fails its checksum on read: the log is lost from there. */
  private corruptSome(): void {
    const n = this.downAmongHealthy();
    if (n === undefined) return;
    const first = n.storage.firstIndex();
    const last = n.storage.lastIndex();
    if (last < first) return;
    const bad = this.rng.int(first, last + 1);
    const lost = n.storage;
    n.replaceStorage(copyStorage(lost, bad - 1));
    this.checker.onStorageLost(n.id, n.storage.initialState().hardState, lost);
    this.stats.corruptions++;
    this.events.add(`n${n.id}'s entry ${bad} fails its checksum: log ${first}..${last} read as ..${bad - 1} (hard state commit ${lost.initialState().hardState.commit} kept)`);
  }

  /** A down member's state machine is lost (its raft log is whole). */
  private loseStateSome(): void {
    // One member at a time: one without a state does not campaign until a leader sends it one.
    const n = this.downAmongHealthy();
    if (n === undefined || this.nodes.some((o) => o.stateLost)) return;
    n.stateLost = true;
    this.stats.stateLosses++;
    this.events.add(`n${n.id} lost its state machine (log ${n.storage.firstIndex()}..${n.storage.lastIndex()} whole)`);
  }

  /**
   * A rolled-back or cut log may lack entries the member acknowledged, and it cannot know
   * until a peer tells it (docs/architecture.md, "what remains a risk"). Until it is safe
   * again, no other fault strikes: it is up, no leader still counts an acknowledgement its
   * log lost (a match past its last index), and the commit it knows covers everything that
   * may have been committed with its lost acknowledgements. From then on the core's rule
   * (no vote, no campaign until caught up) is what keeps the cluster safe.
   */
  private lossUnsettled(): boolean {
    for (const n of this.nodes) {
      const p = n.pendingLoss;
      if (p === undefined) continue;
      if (!n.up) return true;
      const leader = this.leader();
      if (leader === undefined) return true;
      const pr = leader.raw!.status().progress?.get(n.id);
      if (pr !== undefined && pr.match > n.storage.lastIndex()) return true;
      let maxCommit = 0;
      for (const o of this.nodes) {
        maxCommit = Math.max(maxCommit, o.storage.initialState().hardState.commit, o.up ? knownCommit(o) : 0);
      }
      if (knownCommit(n) < Math.min(p.lastIndex, maxCommit)) return true;
      n.pendingLoss = undefined;
      this.events.add(`n${n.id}'s storage loss is known where it matters (known commit ${knownCommit(n)}); faults resume`);
    }
    return false;
  }

  private reseedSome(): void {
    const down = this.nodes.filter((n) => !n.up);
    if (down.length !== 1 || this.healAt >= 0 || this.net.cutLinks.length > 0 || this.leader() === undefined) return;
    // "Healthy" includes not repairing storage themselves: two members short of what they
    // acknowledged in a 3-member cluster is beyond what any protocol can recover from.
    if (this.nodes.some((o) => o.up && o.raw!.storageLossStatus().recovering)) return;
    const n = down[0]!;
    if (n.lostBeforeIncarnation > n.incarnation) return; // reseeded already while down
    // And the others are a quorum on their own: until it catches up the reseeded member
    // does not vote, so with fewer (a 2-voter configuration) the cluster would stop the
    // moment its leader did, waiting for it to come back.
    const voters = this.leader()!.raw!.status().confState.voters;
    if (voters.filter((id) => id !== n.id).length < Math.floor(voters.length / 2) + 1) return;
    let term = n.storage.initialState().hardState.term;
    let commit = 0;
    for (const o of this.nodes) {
      if (o === n) continue;
      const st = o.raw!.status();
      term = Math.max(term, st.term);
      commit = Math.max(commit, st.commit);
    }
    const hs = { term, vote: n.id, commit };
    const lost = n.storage;
    n.reseed(hs);
    this.checker.onStorageLost(n.id, hs, lost);
    this.stats.reseeds++;
    this.events.add(`n${n.id} lost its raft log and state; reseeded at term ${term} commit ${commit}`);
  }

  private restart(n: SimNode): void {
    const stateLost = n.stateLost;
    n.restart(this.rng.fork(), this.opts.serveLostState === true);
    const st = n.raw!.status();
    this.checker.onRestart(n.id, { term: st.term, commit: knownCommit(n) }, n.kv.appliedIndex, stateLost);
    this.events.add(`n${n.id} restarts: term ${st.term} commit ${st.commit} applied ${n.kv.appliedIndex}`);
  }

  private partitionSome(): void {
    if (this.lossUnsettled()) return;
    const kinds = this.sc.partitionKinds;
    let kind = PARTITION_KINDS[PARTITION_KINDS.length - 1]!;
    let x = this.rng.next() * kinds.reduce((a, b) => a + b, 0);
    for (let i = 0; i < kinds.length; i++) {
      if (x < kinds[i]!) {
        kind = PARTITION_KINDS[i]!;
        break;
      }
      x -= kinds[i]!;
    }
    const leader = this.leader();
    if (leader === undefined && (kind === 'isolate-leader' || kind === 'one-way-leader' || kind === 'paused-leader')) kind = 'split';
    this.cut(kind, leader?.id);
  }

  private cut(kind: PartitionKind, leader: NodeId | undefined): void {
    const ids = this.nodes.map((n) => n.id);
    const others = ids.filter((id) => id !== leader);
    this.net.heal();
    this.paused = NONE_ID;
    if (kind === 'isolate-leader' || kind === 'paused-leader') {
      this.net.partition([leader!], others);
      if (kind === 'paused-leader') this.paused = leader!;
    } else if (kind === 'one-way-leader') {
      const deaf = this.rng.chance(0.5);
      for (const o of others) {
        if (deaf) this.net.cutLink(o, leader!);
        else this.net.cutLink(leader!, o);
      }
    } else if (kind === 'split') {
      const shuffled = [...ids];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = this.rng.int(0, i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      const k = this.rng.int(1, Math.ceil(ids.length / 2));
      this.net.partition(shuffled.slice(0, k), shuffled.slice(k));
    } else {
      for (let i = 0; i < ids.length; i++) {
        const a = this.rng.pick(ids);
        const b = this.rng.pick(ids);
        if (a !== b) this.net.cutLink(a, b);
      }
    }
    const t = this.sc.electionTicks;
    this.healAt = this.now + Math.max(1, Math.round(t * (this.sc.partitionElectionsMin +
      this.rng.next() * (this.sc.partitionElectionsMax - this.sc.partitionElectionsMin))));
    this.stats.partitions++;
    this.events.add(`partition ${kind}${this.paused !== NONE_ID ? ` (n${this.paused}'s clock paused)` : ''}: cut [${this.net.cutLinks.join(' ')}] until tick ${this.healAt}`);
  }

  private snapshotSome(): void {
    const n = this.pickUp();
    if (n === undefined) return;
    const applied = n.kv.appliedIndex;
    if (applied <= n.storage.snapshot().metadata.index) return;
    n.storage.createSnapshot(applied, n.confState, n.kv.serialize());
    const compactTo = applied - this.sc.compactKeepEntries;
    if (compactTo >= n.storage.firstIndex()) n.storage.compact(compactTo);
    this.stats.snapshotsTaken++;
    this.events.add(`n${n.id} snapshots at ${applied}, log now starts at ${n.storage.firstIndex()}`);
  }

  // ---- Liveness ----

  private livenessPhase(): void {
    this.phase = 'liveness';
    this.net.faults = NO_FAULTS;
    this.net.heal();
    this.healAt = -1;
    this.paused = NONE_ID;
    for (const n of this.nodes) if (!n.up) this.restart(n);
    this.events.add('liveness phase: network healed, every node up, faults off');
    this.afterStep();
    for (let t = 0; t < LIVENESS_TICKS_MAX; t++) {
      if (t % LIVENESS_RETRY_TICKS === 0) {
        this.retryPendingWrites();
        this.snapshotLeaderForLostState();
      }
      this.tickAll();
      this.afterStep();
      this.drain();
      if (this.converged()) {
        for (const n of this.nodes) for (const key of this.refHistory.keys()) this.checkServedState(n, key);
        this.checkAckedWritesSurvive();
        this.stats.livenessTicks = t + 1;
        this.events.add(`converged after ${t + 1} liveness ticks`);
        return;
      }
    }
    const pending = [...this.writes.values()].filter((w) => w.acked === undefined).length;
    const leader = this.leader();
    const progress = leader?.raw!.status().progress;
    const views = progress === undefined ? '' : `; leader's progress: ${[...progress].map(([id, p]) => `n${id} ${p.state} match ${p.match} next ${p.next}`).join(', ')}`;
    throw new Violation(
      'liveness',
      `after ${LIVENESS_TICKS_MAX} ticks with no faults: leader ${leader?.id ?? 'none'}, ${pending} writes unacknowledged, ${this.nodes.map((n) => `n${n.id} applied ${n.kv.appliedIndex}`).join(', ')}${views}; leader's log starts at ${leader?.storage.firstIndex() ?? '-'}`,
    );
  }

  /**
   * A member with a lost state waits for a snapshot at least as new as its compacted log:
   * the leader takes one on its schedule (a real leader streams its current state).
   */
  private snapshotLeaderForLostState(): void {
    const leader = this.leader();
    if (leader === undefined || !this.nodes.some((n) => n.up && n.stateLost) || leader.stateLost) return;
    const applied = leader.kv.appliedIndex;
    if (applied <= leader.storage.snapshot().metadata.index) return;
    leader.storage.createSnapshot(applied, leader.confState, leader.kv.serialize());
    this.stats.snapshotsTaken++;
    this.events.add(`n${leader.id} snapshots at ${applied} (a member waits for its state)`);
  }

  private drain(): void {
    for (let i = 0; i < LIVENESS_DRAIN_STEPS_MAX; i++) {
      const ready = this.nodes.find((n) => n.raw?.hasReady() === true);
      if (ready !== undefined) this.handleReady(ready);
      else if (this.net.hasDue(this.now)) this.deliverOne();
      else return;
      this.afterStep();
    }
  }

  private retryPendingWrites(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    for (const w of this.writes.values()) if (w.acked === undefined) this.propose(leader, w);
  }

  /** A leader everyone in its configuration follows, every write acknowledged, all caught up. */
  private converged(): boolean {
    const leader = this.leader();
    if (leader === undefined) return false;
    const st = leader.raw!.status();
    for (const w of this.writes.values()) if (w.acked === undefined) return false;
    for (const id of [...st.confState.voters, ...st.confState.learners]) {
      const n = this.nodes[id - 1]!;
      const s = n.raw!.status();
      if (s.term !== st.term || s.leader !== leader.id || n.kv.appliedIndex !== st.commit) return false;
    }
    return leader.kv.appliedIndex === st.commit;
  }

  /** Every acknowledged write is in the final leader's state. */
  private checkAckedWritesSurvive(): void {
    const leader = this.leader()!;
    for (const w of this.writes.values()) {
      if (w.acked !== undefined && !leader.kv.hasApplied(w.id)) {
        throw new Violation('acknowledged writes survive', `write w${w.id} was acknowledged at ${w.acked.index} but the final leader n${leader.id} never applied it`);
      }
    }
  }

  // ---- Helpers ----

  private pickUp(): SimNode | undefined {
    const up = this.nodes.filter((n) => n.up);
    return up.length === 0 ? undefined : this.rng.pick(up);
  }

  /** The up node that is leader in the highest term, if any. */
  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    let bestTerm = -1;
    for (const n of this.nodes) {
      const st = n.raw?.status();
      if (st !== undefined && st.role === StateRole.Leader && st.term > bestTerm) {
        best = n;
        bestTerm = st.term;
      }
    }
    return best;
  }
}

/**
 * The commit index a node knows of: its log's, or past it the point up to which its log is
 * known to have lost committed entries (storage-loss.ts: it persists that one).
 */
function knownCommit(n: SimNode): number {
  const raw = n.raw!;
  return Math.max(raw.status().commit, raw.storageLossStatus().lostEntriesUpTo);
}

function describe(m: Message): string {
  const name = MESSAGE_NAMES.get(m.type) ?? String(m.type);
  let s = `${name} ${m.from}->${m.to} t${m.term}`;
  if (m.type === MessageType.App || m.type === MessageType.AppResp) s += ` i${m.index} lt${m.logTerm} c${m.commit}`;
  if (m.entries.length > 0) s += ` [${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}]`;
  if (m.type === MessageType.Vote || m.type === MessageType.PreVote) s += ` last ${m.index}@${m.logTerm}`;
  if (m.snapshot !== undefined) s += ` snap ${m.snapshot.metadata.index}@${m.snapshot.metadata.term}`;
  if (m.reject) s += ` reject(hint ${m.rejectHint})`;
  return s;
}

function describeReady(rd: Ready): string {
  const parts: string[] = [];
  if (rd.softState !== undefined) parts.push(`${rd.softState.role} (leader ${rd.softState.leader})`);
  if (rd.hardState !== undefined) parts.push(`hs t${rd.hardState.term} v${rd.hardState.vote} c${rd.hardState.commit}`);
  if (rd.entries.length > 0) parts.push(`persist ${rd.entries[0]!.index}..${rd.entries[rd.entries.length - 1]!.index}@${rd.entries[rd.entries.length - 1]!.term}`);
  if (rd.snapshot !== undefined) parts.push(`snapshot ${rd.snapshot.metadata.index}`);
  if (rd.committedEntries.length > 0) {
    parts.push(`apply ${rd.committedEntries[0]!.index}..${rd.committedEntries[rd.committedEntries.length - 1]!.index}`);
  }
  if (rd.readStates.length > 0) parts.push(`reads ${rd.readStates.map((r) => r.index).join(',')}`);
  if (rd.messages.length > 0) parts.push(`${rd.messages.length} msgs`);
  return parts.join(', ') || 'empty';
}

function describeCc(cc: ConfChange): string {
  const kind = cc.type === ConfChangeType.AddNode ? 'add' : cc.type === ConfChangeType.RemoveNode ? 'remove' : 'add-learner';
  return `${kind} n${cc.nodeId}`;
}
