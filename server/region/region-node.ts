// A region node: the one place that wires the Raft core to storage, the peer transport and
// the mvcc state machine. The Ready loop below keeps DESIGN.md §3's ordering rules:
//  - messages of a Ready go out at once (the core withholds what depends on durability);
//  - entries and hard state are persisted in one synced batch per Ready (group commit:
//    everything proposed while the previous Ready was being written lands in the next);
//  - committed entries (already durable) are applied in order, exactly once (the mvcc
//    store records the applied index in the same batch and skips re-deliveries), while
//    the same Ready's entries are being persisted;
//  - advance() only after both.

import { performance } from 'node:perf_hooks';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import {
  RawNode, StateRole, ProposalRefusedError, EntryType, MessageType,
  type ConfChange, type Message, type Ready, type ConfState, type UnsafeTestingSwitches,
} from '../raft/index.js';
import {
  RaftLogStore, openRocksEngine, openExistingRocksEngine, openStateRocksEngine, openExistingStateRocksEngine, openStateEngine, raftDir, installStateSnapshot, readStateSnapshot, currentStateDirName, sealRocksDir,
  stateMetaKey, encodeU64, decodeU64, writeU64, U64_BYTES, STATE_SNAPSHOT_INSTALL_KEY, isCorruption, newInstallTimings, type Engine, type InstallTimings,
} from '../storage/index.js';
import {
  MvccStore, Lessor, MVCC_SNAPSHOT_DERIVATION, encodeCommand, encodeExternalCommand, MvccError, type BinWriter, type ClientSeq, type Command, type CommandResponse,
} from '../mvcc/index.js';
import { GrpcTransport, type PeerTlsOptions } from '../transport/grpc-transport.js';
import type { TransportEvent } from '../transport/transport.js';
import type { NodeMetrics } from '../metrics/node-metrics.js';
import type { Logger } from '../util/logger.js';
import { SeededRandom } from '../util/random.js';
import { systemClock } from '../util/system-clock.js';
import { tracePoint, tracing } from '../util/trace-points.js';
import { AppliedWaiter } from './applied-waiter.js';
import { PAYLOAD_HEADER_BYTES, PayloadKind, decodePayload, writePayloadHeader } from './entry-payload.js';
import { APPLY_PIECE_BYTES, DEFAULT_REGION_LIMITS, type RegionLimits } from './limits.js';
import { BackendQuota } from './quota.js';
import { Members, encodeConfContext } from './members.js';
import { Membership, type MemberAttributes } from './membership.js';
import { PendingProposals } from './proposals.js';
import { ReadIndexBatcher } from './read-index.js';
import { SerialLock, WakeSignal } from './serial.js';
import { RegionError } from './errors.js';
import { LocalReadGate } from './read-gate.js';
import { discoverMembers } from './join.js';
import { NamespaceApplier, type NamespaceApplyResult } from './namespace-applier.js';
import { StalenessTracker } from './staleness.js';
import { encodeCommand as encodeNamespaceCommand, type NamespaceCommand } from '../namespace/index.js';
import type { PeerMember } from '../transport/peer-proto.js';
import { EventualStore } from '../eventual/store.js';
import { applyGuard } from './eventual-routing.js';
import type { CrdtNamespaceFigures } from '../metrics/crdt-metrics.js';
import { AuthApplier, type AuthApplyResult } from './auth-applier.js';
import { AuthError, SIMPLE_TOKEN_TTL_MS_DEFAULT, SimpleTokens, encodeAuthCommand, type AuthCommand, type AuthStore } from '../auth/index.js';
import { DataDirRefusedError, checkDataDir, reseedCommand, type StartupCheck, type StartupVerify } from './startup-check.js';
import { fromDb, storageDbOf, type StorageDb } from './storage-origin.js';
import { StateRepair } from './state-repair.js';


export interface InitialMember {
  id: number;
  name: string;
  peerUrls: string[];
}

export interface RegionNodeOptions {
  name: string;
  memberId: number;
  clusterId: number;
  dataDir: string;
  /** host:port the peer transport listens on (port 0: chosen by the OS). */
  peerListen: string;
  peerUrls: string[];
  clientUrls: string[];
  /** The members named in the flags: the founders, or (when joining) members to ask for the member list. */
  initialMembers: InitialMember[];
  /** How long a joining member asks the cluster for its members before giving up (join.ts). */
  joinTimeoutMs?: number;
  /** The id MemberAdd gives a member with these peer URLs (the joining node computes the same). */
  idForNewMember: (peerUrls: string[]) => number;
  /** Member name → URL to dial instead of its advertised peer URL (NAT, test proxies). */
  peerDialMap?: Record<string, string>;
  /** Peer TLS (--peer-* flags); absent: plaintext peers. */
  peerTls?: PeerTlsOptions;
  /** true: join a running cluster (do not bootstrap a new one). */
  joinExisting: boolean;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  logger: Logger;
  metrics: NodeMetrics;
  limits?: Partial<RegionLimits>;
  /** etcd's --auth-token-ttl for simple tokens, in ms (default 300 s). */
  authTokenTtlMs?: number;
  /** Test-only switches (chaos harness); `regionstore serve` refuses them unless REGIONSTORE_UNSAFE=1. */
  unsafe?: {
    raft?: UnsafeTestingSwitches;
    /** Serve linearizable reads from the local state without ReadIndex (stale reads under partitions). */
    localReads?: boolean;
    /** Acknowledge a put as soon as it is proposed, before the log is synced or committed. */
    ackBeforeSync?: boolean;
    /** A CRDT write re-sent with the same identity applies again (the dedupe table is skipped). */
    crdtApplyDuplicates?: boolean;
  };
  /** The region's CRDT replica id is `region:<token>`; absent: the cluster id in hex. */
  clusterToken?: string;
  /** When the databases are read whole at start (startup-check.ts; default 'auto'). */
  startupVerify?: StartupVerify;
}

type ProposalResult = CommandResponse | NamespaceApplyResult | AuthApplyResult | undefined;

const SYNC_MARKER_KEY = stateMetaKey('synced-before-compaction');
const EMPTY = new Uint8Array(0);
/** How often expired simple tokens are dropped (etcd's simpleTokenTTLResolution: 1 s). */
const TOKEN_SWEEP_INTERVAL_MS = 1_000;
/** How old a data-directory size dbSize() answers may be (see dbSize). */
const DB_SIZE_CACHE_MS = 1_000;
/** The u64 auth revision before an AuthedMvcc entry's command. */
const AUTH_REVISION_BYTES = 8;
/** Leader changes this member remembers for the dashboard (the oldest go first). */
export const LEADER_HISTORY_MAX = 20;

/** One leader change as this member saw it (wall-clock ms, the new leader's id, its term). */
export interface LeaderChange {
  atMs: number;
  leader: number;
  term: number;
}

export class RegionNode {
  readonly id: number;
  readonly clusterId: number;
  readonly limits: RegionLimits;
  /** --quota-backend-bytes over the state database (quota.ts). */
  readonly quota: BackendQuota;
  private raft!: RawNode;
  private log!: RaftLogStore;
  private raftEngine!: Engine;
  private stateEngine!: Engine;
  mvcc!: MvccStore;
  lessor!: Lessor;
  private membership!: Membership;
  /** The namespace registry and its applier (replaced when a snapshot replaces the state). */
  private namespaceApplier!: NamespaceApplier;
  /** The persistent CRDT state of eventual namespaces (replaced with the state on a snapshot install). */
  eventual!: EventualStore;
  /** etcd's auth state and this member's tokens (the state is replaced by a snapshot install; tokens stay). */
  private authApplier!: AuthApplier;
  private readonly authTokens: SimpleTokens;
  private tokensSweptAtMs = 0;
  readonly transport: GrpcTransport;
  peerPort = 0;
  private readonly pending: PendingProposals<ProposalResult>;
  private readonly reads: ReadIndexBatcher;
  private appliedWaiter = new AppliedWaiter(0);
  private readonly stateLock = new SerialLock();
  private readonly wake = new WakeSignal();
  private ticker: NodeJS.Timeout | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private stopped = false;
  private leader = 0;
  private role: StateRole = StateRole.Follower;
  private lastSnapshotIndex = 0;
  private published = false;
  /** Reads of the local state, refused while a snapshot from the leader replaces it. */
  private readonly localReads = new LocalReadGate();
  private readonly onStopListeners: Array<(reason: string) => void> = [];
  /** Appends from the current leader and their commit index: bounded reads' proof. */
  private readonly staleness = new StalenessTracker();
  /** What start-up found in the data directory (startup-check.ts). */
  private startup!: StartupCheck;
  /** A damaged or lost state being rebuilt (state-repair.ts); nothing is served meanwhile. */
  private readonly stateRepair = new StateRepair();
  /** dbSize()'s last measurement (a promise: callers meanwhile share it) and when it began. */
  private dbSizeCache: { at: number; size: Promise<number> } | undefined;
  /** Bad bytes RocksDB reported while running (onCorruption): the member serves nothing more. */
  private corruption: { message: string; db: StorageDb } | undefined;
  /** A fatal error or corruption stopped the member: its close must not seal the databases. */
  private failed = false;
  /** The state's applied index when opened (stateAppliedIndex). */
  private stateAppliedAtOpen = 0;
  /** Raft's storage-loss figures last seen (lost log entries), for the log and metrics. */
  private lostEntries = { detected: 0, since: 0 };
  /** The latest leader changes seen here, oldest first (the dashboard's list). */
  private readonly leaderHistory: LeaderChange[] = [];

  private constructor(readonly opts: RegionNodeOptions) {
    this.id = opts.memberId;
    this.clusterId = opts.clusterId;
    this.limits = { ...DEFAULT_REGION_LIMITS, ...opts.limits };
    this.authTokens = new SimpleTokens(opts.authTokenTtlMs ?? SIMPLE_TOKEN_TTL_MS_DEFAULT);
    // The engine is read at each measurement: a snapshot install replaces it.
    this.quota = new BackendQuota(this.limits.quotaBackendBytes, () => this.stateEngine.approximateSize());
    this.pending = new PendingProposals(systemClock, this.limits.proposalTimeoutMs);
    this.reads = new ReadIndexBatcher({ readIndex: (ctx) => this.raft.readIndex(ctx) }, () => performance.now());
    this.transport = new GrpcTransport({
      id: opts.memberId,
      clusterId: String(opts.clusterId),
      handlers: {
        onMessages: (msgs) => this.onPeerMessages(msgs),
        onUnreachable: (id) => this.raft.reportUnreachable(id),
        onSnapshotStatus: (id, status) => {
          this.raft.reportSnapshot(id, status);
          this.wake.notify();
        },
        onSnapshot: (message, chunks) => this.installSnapshot(message, chunks),
        onEvent: (e) => this.onTransportEvent(e),
        listMembers: () => this.members.list().map((m) => ({ id: m.id, name: m.name, peerUrls: m.peerUrls, isLearner: m.isLearner })),
      },
      ...(opts.peerTls !== undefined ? { tls: opts.peerTls } : {}),
    });
  }

  static async open(opts: RegionNodeOptions): Promise<RegionNode> {
    const node = new RegionNode(opts);
    await node.openStorage();
    await node.startRaft();
    return node;
  }

  private async openStorage(): Promise<void> {
    const o = this.opts;
    await mkdir(o.dataDir, { recursive: true });
    // Checked before anything is opened: a database is created only where there is none,
    // a damaged raft/ is refused, a damaged state/ moved aside (startup-check.ts).
    this.startup = await checkDataDir({
      dataDir: o.dataDir, clusterId: o.clusterId, memberId: o.memberId, logger: o.logger, verify: o.startupVerify ?? 'auto',
    });
    const rdir = raftDir(o.dataDir);
    try {
      this.raftEngine = await (this.startup.raftIsNew ? openRocksEngine : openExistingRocksEngine)(rdir);
      this.log = await RaftLogStore.open(this.raftEngine);
    } catch (err) {
      await this.raftEngine?.close().catch(() => undefined);
      o.metrics.storageCorruption('raft', 'unreadable');
      throw new DataDirRefusedError(rdir, `cannot be read: ${err instanceof Error ? err.message : String(err)}`, reseedCommand(o.dataDir));
    }
    const damage = this.startup.stateDamage;
    this.stateEngine = await openStateEngine(o.dataDir, this.startup.stateIsNew ? openStateRocksEngine : openExistingStateRocksEngine);
    this.mvcc = await MvccStore.open(this.stateEngine, { recordCacheBytes: this.limits.recordCacheBytes });
    this.lessor = new Lessor(this.mvcc, systemClock);
    this.namespaceApplier = await NamespaceApplier.load(this.stateEngine);
    this.authApplier = await AuthApplier.load(this.stateEngine, this.authTokens, () => systemClock.monotonicMs());
    await this.openEventual();
    this.opts.metrics.crdtFigures(() => eventualFigures(this.eventual));
    this.membership = new Membership({
      selfId: this.id,
      transport: this.transport,
      ...(this.opts.peerDialMap !== undefined ? { peerDialMap: this.opts.peerDialMap } : {}),
      applyConfChange: (cc) => this.raft.applyConfChange(cc),
      logger: this.opts.logger,
      onRemoved: () => this.emitStop('removed from the cluster'),
    }, await Members.load(this.stateEngine));
    // The state must hold every entry the log no longer does (DESIGN §5): else rebuild it.
    const firstIndex = this.log.firstIndex();
    this.stateAppliedAtOpen = await this.stateAppliedIndex();
    // A snapshot install whose last batch is not there (cut short, or a WAL damaged later and
    // opened as a prefix of its batches): its applied index came in an early batch, so it
    // proves nothing; the state is rebuilt from a snapshot (state-snapshot.ts).
    const incomplete = !this.startup.stateIsNew && (await this.stateEngine.get(STATE_SNAPSHOT_INSTALL_KEY)) !== undefined;
    const claimed = this.stateAppliedAtOpen;
    if (incomplete) this.stateAppliedAtOpen = 0;
    const behind = !this.startup.raftIsNew && (incomplete || this.stateAppliedAtOpen < firstIndex - 1);
    if (damage !== undefined || behind) {
      const reason = damage?.reason ?? (incomplete ? 'incomplete-install' : 'behind-log');
      const detail = damage?.detail ?? (incomplete
        ? `a snapshot install did not finish (its last batch is missing; the applied index ${claimed} it holds proves nothing)`
        : `applied index ${this.stateAppliedAtOpen}, log starts at ${firstIndex}`);
      const mode = behind ? 'snapshot' : 'replay';
      this.stateRepair.start(reason, detail, mode, this.log.initialState().hardState.commit, Date.now());
      o.metrics.storageCorruption('state', reason);
      o.logger.warn('rebuilding the state database', { reason, detail, mode, movedTo: damage?.movedTo ?? null, logFirstIndex: firstIndex });
    }
  }

  /**
   * How far the state provably reaches: the store's applied index, or the index synced
   * before the last log compaction (maybeSnapshot) when entries without a command (a
   * leader's empty entry, member attributes) came after the store's last write.
   */
  private async stateAppliedIndex(): Promise<number> {
    const synced = await this.stateEngine.get(SYNC_MARKER_KEY);
    return Math.max(this.mvcc.appliedIndex, synced === undefined ? 0 : decodeU64(synced));
  }

  /** Opens the eventual store over the current state engine and wires it into the mvcc apply. */
  private async openEventual(): Promise<void> {
    this.eventual = await EventualStore.open(this.stateEngine, {
      localOrigin: this.regionOrigin,
      registry: () => this.namespaceApplier.registry,
      unsafeApplyDuplicates: this.opts.unsafe?.crdtApplyDuplicates === true,
      onApplied: (ns, type, n) => this.opts.metrics.crdtOpsApplied(ns, type, n),
      // Every vector change, not only merged ops: a page of held or dominated records still
      // advances the vector, and the other edges must hear of it (issue 14's hidden-state bug).
      onChanged: (ns) => {
        for (const l of this.eventualListeners) l(ns);
      },
    });
    this.mvcc.setExternalApplier(this.eventual);
    this.mvcc.setWriteGuard(applyGuard(() => this.namespaceApplier.registry));
  }

  private readonly eventualListeners = new Set<(ns: string) => void>();

  /** Calls `fn(namespace)` after each written batch that changed its CRDT record (vector or counts): edge sessions push them. */
  onEventualChange(fn: (ns: string) => void): () => void {
    this.eventualListeners.add(fn);
    return () => this.eventualListeners.delete(fn);
  }

  /** This region's CRDT replica id (ev-common: one logical replica per Raft group). */
  get regionOrigin(): string {
    return `region:${this.opts.clusterToken ?? this.clusterId.toString(16)}`;
  }

  /** The member registry (replaced when a received snapshot replaces the state). */
  get members(): Members {
    return this.membership.members;
  }

  private async startRaft(): Promise<void> {
    const o = this.opts;
    const { hardState } = this.log.initialState();
    const fresh = this.log.lastIndex() === 0 && hardState.term === 0 && this.log.snapshot().metadata.index === 0;
    const snapIndex = this.log.snapshot().metadata.index;
    this.lastSnapshotIndex = snapIndex;
    // Committed entries after the state's applied index are handed out again when the log
    // still holds them (a state rebuilt by replay, or one that trails the raft snapshot).
    const stateApplied = this.stateAppliedAtOpen;
    const applied = stateApplied >= this.log.firstIndex() - 1 ? Math.min(snapIndex, stateApplied) : snapIndex;
    this.raft = new RawNode({
      id: this.id,
      storage: this.log,
      random: new SeededRandom(randomInt(2 ** 31)),
      logger: o.logger,
      electionTicks: o.electionTicks,
      heartbeatTicks: o.heartbeatTicks,
      applied,
      ...(o.unsafe?.raft !== undefined ? { unsafe: o.unsafe.raft } : {}),
    });
    const repairing = this.stateRepair.status !== undefined;
    // What the state holds, not the raft snapshot's index: a state whose unsynced WAL lost
    // its tail (damaged, not just cut) is behind the snapshot, and reads must wait for the
    // replay (chaos seed 7 of --nemesis storage served a 27 s old value through such a member).
    this.appliedWaiter = new AppliedWaiter(stateApplied);
    if (this.stateRepair.awaitingSnapshot) this.raft.requestStateSnapshot();
    if (fresh || (repairing && this.startup.stateIsNew)) {
      // A founder records the members of its flags and bootstraps raft; a joiner records
      // the members the running cluster told it about (join.ts says why).
      const known = o.joinExisting ? await this.discoverMembers() : o.initialMembers.map((m) => ({ ...m, isLearner: false }));
      const ops = known.map((m) => this.members.upsert({ id: m.id, name: m.name, peerUrls: m.peerUrls, isLearner: m.isLearner }));
      ops.push(this.members.upsert({ id: this.id, name: o.name, peerUrls: o.peerUrls, clientUrls: o.clientUrls }));
      await this.stateEngine.write(ops, { sync: true });
      if (fresh && !o.joinExisting) this.raft.bootstrap(o.initialMembers.map((m) => m.id).sort((a, b) => a - b));
    }
    const { port } = await this.transport.start(o.peerListen);
    this.peerPort = port;
    for (const m of this.members.list()) this.membership.connect(m);
    if (fresh && o.joinExisting) this.announceJoined();
    this.ticker = setInterval(() => this.onTick(), o.tickMs);
    this.loopDone = this.runLoop().catch((err: unknown) => this.fail(err));
    void this.publishAttributes();
  }

  /**
   * A member just added is listening now: it calls every member once (a Probe), so the
   * leader, whose sender has been backing off from this address since the add (up to
   * the transport's backoffMaxMs, 3 s), reconnects at once (transport accept: a peer that
   * calls is up) and learns that this member needs a snapshot. Before, the leader's next
   * reconnect attempt was most of the wait between a new member's start and its snapshot.
   */
  private announceJoined(): void {
    const o = this.opts;
    for (const m of this.members.list()) {
      const url = o.peerDialMap?.[m.name] ?? m.peerUrls[0];
      if (m.id === this.id || url === undefined) continue;
      void this.transport.probe(url, m.id);
    }
  }

  private discoverMembers(): Promise<PeerMember[]> {
    const o = this.opts;
    return discoverMembers({
      selfId: this.id,
      candidates: o.initialMembers
        .filter((m) => m.name !== o.name && m.id !== this.id)
        .map((m) => ({ name: m.name, url: o.peerDialMap?.[m.name] ?? m.peerUrls[0]! })),
      fetchMembers: (url) => this.transport.fetchMembers(url),
      logger: o.logger,
      ...(o.joinTimeoutMs !== undefined ? { timeoutMs: o.joinTimeoutMs } : {}),
    });
  }

  // ---------------------------------------------------------------- the Ready loop

  private async runLoop(): Promise<void> {
    while (!this.stopped) {
      if (!this.raft.hasReady()) {
        await this.wake.wait();
        continue;
      }
      const rd = this.raft.ready();
      if (tracing) traceReady(rd);
      this.onSoftState(rd);
      this.sendMessages(rd.messages);
      for (const rs of rd.readStates) this.reads.onReadState(rs.requestCtx, rs.index);
      const t0 = performance.now();
      // Marked, so a corruption either meets in fail() is counted against its database.
      const persist = fromDb(this.persist(rd), 'raft');
      const apply = fromDb(this.applyCommitted(rd), 'state');
      await persist;
      const persisted = performance.now();
      if (tracing && rd.entries.length > 0) tracePoint('raft.persisted', rd.entries[rd.entries.length - 1]!.index);
      await apply;
      if (tracing && rd.committedEntries.length > 0) tracePoint('raft.applied', rd.committedEntries[rd.committedEntries.length - 1]!.index);
      if (rd.entries.length > 0 || rd.hardState !== undefined) {
        this.opts.metrics.persistDuration((persisted - t0) / 1000, rd.entries.length);
      }
      if (this.stopped) return;
      this.raft.advance(rd);
      await this.maybeSnapshot();
    }
  }

  private persist(rd: Ready): Promise<void> {
    if (rd.entries.length === 0 && rd.hardState === undefined && rd.snapshot === undefined) return Promise.resolve();
    return this.log.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot }, rd.mustSync);
  }

  private sendMessages(messages: Message[]): void {
    if (messages.length === 0) return;
    let plain = messages;
    if (messages.some((m) => m.type === MessageType.Snap)) {
      plain = [];
      for (const m of messages) {
        if (m.type === MessageType.Snap) this.sendSnapshot(m);
        else plain.push(m);
      }
    }
    this.transport.send(plain);
  }

  private onSoftState(rd: Ready): void {
    const ss = rd.softState;
    if (ss === undefined) return;
    if (ss.leader !== this.leader) {
      this.staleness.reset();
      // Counted as etcd counts etcd_server_leader_changes_seen_total: on arriving at a
      // leader other than the last one seen, not on losing one. A follower that passes an
      // election timeout without hearing from the leader becomes a pre-candidate and
      // forgets it (leader 0) without any new term; hearing from it again is one change,
      // not two.
      if (ss.leader !== 0) {
        this.opts.metrics.leaderChanged();
        this.leaderHistory.push({ atMs: Date.now(), leader: ss.leader, term: this.raft.basicStatus().term });
        if (this.leaderHistory.length > LEADER_HISTORY_MAX) this.leaderHistory.shift();
      }
      this.opts.logger.info('leader changed', { leader: ss.leader, role: ss.role });
      // A proposal forwarded to (or not yet committed by) the old leader may be lost with
      // it; answer its waiter now instead of at the proposal deadline. It may still apply,
      // as after any timeout: clients retry with their (client id, seq) to be safe.
      if (this.leader !== 0 && this.pending.size > 0) {
        this.pending.rejectAll(new RegionError('leader-changed', 'etcdserver: leader changed'));
      }
    }
    const wasLeader = this.role === StateRole.Leader;
    this.leader = ss.leader;
    this.role = ss.role;
    if (ss.role === StateRole.Leader && !wasLeader) {
      // Leases get their TTL again plus an election timeout: a leader change never
      // expires a lease whose holder kept it alive (etcd does the same).
      this.lessor.promote(this.opts.tickMs * this.opts.electionTicks);
    } else if (ss.role !== StateRole.Leader && wasLeader) {
      this.lessor.demote();
    }
  }

  // ---------------------------------------------------------------- apply

  private applyCommitted(rd: Ready): Promise<void> {
    const entries = this.stateRepair.filterCommitted(rd.committedEntries);
    if (entries.length === 0 && rd.snapshot === undefined) return Promise.resolve();
    return this.stateLock.run(async () => {
      const t0 = performance.now();
      if (rd.snapshot !== undefined) this.onSnapshotApplied(rd.snapshot.metadata.index);
      let items: Array<{ index: number; command: Uint8Array }> = [];
      let itemBytes = 0;
      let local: Array<{ pos: number; counter: number }> = [];
      const localMeta: number[] = [];
      const metaOps = [];
      // mvcc entries are applied in batches; a registry entry first applies the batch before
      // it, so its key checks see exactly the entries before it in the log.
      const flushMvcc = async (): Promise<void> => {
        if (items.length === 0) return;
        const results = await this.mvcc.applyBatch(items);
        for (const { pos, counter } of local) this.pending.resolve(counter, results[pos]?.response);
        committedLocal += local.length;
        items = [];
        itemBytes = 0;
        local = [];
      };
      let committedLocal = 0;
      for (const e of entries) {
        if (e.type === EntryType.ConfChange) {
          metaOps.push(...this.membership.applyConfChange(e));
          continue;
        }
        const p = decodePayload(e.data);
        if (p === undefined) continue;
        if (p.kind === PayloadKind.Mvcc) {
          if (p.proposer === this.id) local.push({ pos: items.length, counter: p.counter });
          items.push({ index: e.index, command: p.body });
          itemBytes += p.body.length;
          // Large entries (upload pages) in pieces: their waiters are answered piece by piece.
          if (itemBytes >= APPLY_PIECE_BYTES) await flushMvcc();
        } else if (p.kind === PayloadKind.AuthedMvcc) {
          // Auth entries before it have been applied (they flush the batch first), so the
          // revision read here is the one this entry follows in the log.
          if (decodeU64(p.body, 0) !== this.authApplier.store.revision) {
            if (p.proposer === this.id) this.pending.reject(p.counter, new AuthError('auth-old-revision'));
            continue;
          }
          if (p.proposer === this.id) local.push({ pos: items.length, counter: p.counter });
          items.push({ index: e.index, command: p.body.subarray(AUTH_REVISION_BYTES) });
        } else if (p.kind === PayloadKind.MemberAttributes) {
          metaOps.push(...this.membership.applyAttributes(JSON.parse(new TextDecoder().decode(p.body)) as MemberAttributes));
          if (p.proposer === this.id) localMeta.push(p.counter);
        } else if (p.kind === PayloadKind.Namespace) {
          await flushMvcc();
          const res = await this.namespaceApplier.apply(e.index, p.body, this.mvcc, this.stateEngine, this.eventual);
          if (p.proposer === this.id) this.pending.resolve(p.counter, res);
        } else if (p.kind === PayloadKind.Auth) {
          // In log order with the mvcc entries around it (its writes follow theirs).
          await flushMvcc();
          const res = await this.authApplier.apply(e.index, p.body, this.stateEngine);
          if (p.proposer === this.id) this.pending.resolve(p.counter, res);
        }
      }
      await flushMvcc();
      if (metaOps.length > 0) await this.stateEngine.write(metaOps);
      for (const counter of localMeta) this.pending.resolve(counter, undefined);
      const last = entries[entries.length - 1];
      if (last !== undefined) this.appliedWaiter.notify(Math.max(this.appliedWaiter.appliedIndex, last.index));
      if (entries.length > 0) {
        this.opts.metrics.applyDuration((performance.now() - t0) / 1000, entries.length);
        this.opts.metrics.proposalCommitted(committedLocal);
      }
    });
  }

  // ---------------------------------------------------------------- snapshots

  private async maybeSnapshot(): Promise<void> {
    // Raft's applied index, not the state's: a snapshot received from the leader puts the
    // state ahead of the raft log until the Ready carrying it is persisted (and for good
    // if the node dies first), and a raft snapshot must name an entry of this log.
    const applied = this.raft.basicStatus().applied;
    if (applied - this.lastSnapshotIndex < this.limits.snapshotEveryEntries) return;
    const confState = this.raft.status().confState;
    // The state database is written without sync (the raft log is its WAL): sync it
    // before dropping log entries it depends on.
    await fromDb(this.stateLock.run(() => this.stateEngine.write([{ type: 'put', key: SYNC_MARKER_KEY, value: encodeU64(applied) }], { sync: true })), 'state');
    await fromDb(this.log.createSnapshot(applied, confState, EMPTY), 'raft');
    this.lastSnapshotIndex = applied;
    const compactTo = applied - this.limits.keepEntriesAfterCompaction;
    if (compactTo >= this.log.firstIndex()) await fromDb(this.log.compact(compactTo), 'raft');
  }

  /** A lagging follower gets the live state database, read from one consistent view. */
  private sendSnapshot(m: Message): void {
    const index = this.appliedWaiter.appliedIndex;
    let term: number;
    try {
      term = this.log.term(index);
    } catch (err) {
      this.opts.logger.warn('cannot send snapshot now', { to: m.to, error: String(err) });
      this.raft.reportSnapshot(m.to, 'failure');
      return;
    }
    const confState: ConfState = this.raft.status().confState;
    // The state may move past `index` before the iterator opens; that is safe: the
    // follower's mvcc skips re-delivered entries at or below its applied index.
    const msg: Message = { ...m, snapshot: { metadata: { index, term, confState }, data: EMPTY } };
    // Counted by the transport's 'snapshot-sent' event: once per stream, not per request
    // (a request while one is in flight shares its outcome).
    // One pair per key: the receiver rebuilds the mvcc key index as it writes the records.
    void this.transport.sendSnapshot(m.to, msg, readStateSnapshot(this.stateEngine, MVCC_SNAPSHOT_DERIVATION));
  }

  private installSnapshot(message: Message, chunks: AsyncIterable<Uint8Array>): Promise<void> {
    return this.stateLock.run(async () => {
      const index = message.snapshot?.metadata.index ?? 0;
      this.opts.logger.info('installing a snapshot', { from: message.from, index });
      // From here until the new store is open, reads of the local state answer UNAVAILABLE
      // (readLocal): the old store is about to be closed under them, and a linearizable
      // read could only wait for the install anyway.
      const startedAt = Date.now();
      const timings = newInstallTimings();
      await this.localReads.replace((readsIdle) => this.swapInSnapshot(chunks, readsIdle, timings));
      // The leader's applied index when it sent the snapshot: the store's own trails it when
      // the last entries carried no command. Recorded, so a restart knows the state reaches
      // it (else a member whose log starts right after it found its state "behind" and
      // fetched the same snapshot again at every start).
      if (index > this.mvcc.appliedIndex) await this.stateEngine.write([{ type: 'put', key: SYNC_MARKER_KEY, value: encodeU64(index) }], { sync: true });
      this.opts.metrics.snapshotReceived();
      // Phase ends in ms from the install's start: where a member add's time goes
      // (scripts/bench-member-add.ts prints them as a timeline).
      this.opts.logger.info('snapshot installed', { from: message.from, index, ms: Date.now() - startedAt, ...timings });
      this.onStateReplaced(index);
    });
  }

  private async swapInSnapshot(chunks: AsyncIterable<Uint8Array>, readsIdle: () => Promise<void>, timings: InstallTimings): Promise<void> {
    await this.mvcc.idle();
    this.lessor.close();
    // Open watches carry on against the new state from the revision each had reached;
    // meanwhile they do not read the old store, whose engine the install closes.
    const previous = this.mvcc;
    previous.watchHub.retire();
    try {
      // Reads that began before the install finish against the old engine, which
      // installStateSnapshot closes only after the new state is complete.
      const engine = await installStateSnapshot(this.opts.dataDir, chunks, openStateRocksEngine, {
        previous: this.stateEngine,
        beforeClosePrevious: readsIdle,
        derivation: MVCC_SNAPSHOT_DERIVATION,
        timings,
      });
      this.stateEngine = engine;
      this.mvcc = await MvccStore.open(engine, { recordCacheBytes: this.limits.recordCacheBytes });
    } catch (err) {
      previous.watchHub.closeAll();
      // A transfer that failed left the live state untouched: keep leasing against it.
      this.lessor = new Lessor(this.mvcc, systemClock);
      throw err;
    }
    previous.watchHub.moveAllTo(this.mvcc.watchHub);
    this.lessor = new Lessor(this.mvcc, systemClock);
    this.membership.replaceRegistry(await Members.load(this.stateEngine));
    this.namespaceApplier = await NamespaceApplier.load(this.stateEngine);
    this.authApplier = await AuthApplier.load(this.stateEngine, this.authTokens, () => systemClock.monotonicMs());
    await this.openEventual();
    this.appliedWaiter.notify(Math.max(this.appliedWaiter.appliedIndex, this.mvcc.appliedIndex));
  }

  /**
   * A snapshot replaced the state: a rebuild waiting for it goes on with the entries after
   * it. `index` is the leader's applied index when it sent it (the state is at least
   * there; the store's own applied index trails it when the last entries carried no command).
   */
  private onStateReplaced(index: number): void {
    const applied = Math.max(index, this.mvcc.appliedIndex);
    this.appliedWaiter.notify(Math.max(this.appliedWaiter.appliedIndex, applied));
    if (!this.stateRepair.awaitingSnapshot) return;
    if (this.stateRepair.onSnapshotInstalled(applied, this.log.firstIndex(), this.raft.basicStatus().commit)) {
      this.raft.stateRestored(applied);
      this.opts.logger.info('state rebuilt from the leader\'s snapshot; catching up from the log', { applied, target: this.stateRepair.status?.target });
    } else {
      this.opts.logger.warn('the snapshot is older than our compacted log; asking for another', { applied, logFirstIndex: this.log.firstIndex() });
    }
    this.wake.notify();
  }

  /** Ends repairs that are done, and counts and logs the ones raft found (lost log entries). */
  private checkStorageRepairs(): void {
    const o = this.opts;
    // The node's applied index, not the store's: entries without a command (a new leader's
    // empty entry, member attributes) do not move the store's.
    const applied = this.appliedWaiter.appliedIndex;
    const done = this.stateRepair.maybeDone(applied);
    if (done !== undefined) {
      o.metrics.storageRepair('state', done.reason);
      o.logger.warn('state database repaired; serving again', { reason: done.reason, applied, ms: Date.now() - done.startedAtMs });
    }
    const loss = this.raft.storageLossStatus();
    if (loss.lossesDetected > this.lostEntries.detected) {
      for (let i = this.lostEntries.detected; i < loss.lossesDetected; i++) o.metrics.storageCorruption('raft', 'lost-entries');
      this.lostEntries = { detected: loss.lossesDetected, since: this.lostEntries.since || Date.now() };
    }
    if (this.lostEntries.since !== 0 && loss.lostEntriesUpTo <= this.raft.basicStatus().commit) {
      o.metrics.storageRepair('raft', 'lost-entries');
      o.logger.warn('raft log has the lost entries again; serving and voting again', { upTo: loss.lostEntriesUpTo, ms: Date.now() - this.lostEntries.since });
      this.lostEntries.since = 0;
    }
  }

  /**
   * Why this member serves nothing now (a state being rebuilt, a raft log missing entries
   * it had acknowledged), for a person; undefined when it may serve.
   */
  storageProblem(): string | undefined {
    if (this.corruption !== undefined) {
      const next = this.corruption.db === 'state' ? 'the next start rebuilds the state' : 'the next start checks raft/ and refuses it with the recovery named if it cannot be read';
      return `storage corruption in ${this.corruption.db}/: ${this.corruption.message}; stopping, ${next}`;
    }
    const state = this.stateRepair.problem();
    if (state !== undefined) return state;
    // Asked on every proposal and read: the two numbers, not the status objects.
    const lostUpTo = this.raft.lostEntriesUpTo();
    if (lostUpTo > this.raft.committedIndex()) {
      return `storage repair: the raft log lost entries it had acknowledged (up to ${lostUpTo}, has ${this.log.lastIndex()}); ` +
        'catching up from the leader; this member serves nothing until then';
    }
    return undefined;
  }

  /** Throws UNAVAILABLE while storageProblem() says this member must not serve. */
  private refuseWhileRepairing(): void {
    const problem = this.storageProblem();
    if (problem !== undefined) throw new RegionError('unavailable', problem);
  }

  /**
   * Runs `read` against the local state (the mvcc store and its engine). Every read of the
   * local state goes through here: while a snapshot from the leader replaces the state it
   * answers UNAVAILABLE at once (INSTALLING_SNAPSHOT_MESSAGE), and the install closes the
   * old engine only once the reads that began before it are done.
   */
  readLocal<T>(read: (mvcc: MvccStore, engine: Engine) => Promise<T> | T): Promise<T> {
    try {
      this.refuseWhileRepairing();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.localReads.read(() => read(this.mvcc, this.stateEngine)).catch((err: unknown) => {
      if (isCorruption(err)) {
        this.onCorruption(err as Error, storageDbOf(err, this.opts.dataDir, 'state'));
        throw new RegionError('unavailable', `storage corruption: ${(err as Error).message}`);
      }
      throw err;
    });
  }

  /** Like readLocal, for the eventual store (the same gate: a snapshot install replaces both). */
  readEventual<T>(read: (store: EventualStore, mvcc: MvccStore) => Promise<T> | T): Promise<T> {
    return this.localReads.read(() => read(this.eventual, this.mvcc));
  }

  private onSnapshotApplied(index: number): void {
    this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, index);
    this.appliedWaiter.notify(Math.max(this.appliedWaiter.appliedIndex, index));
  }

  // ---------------------------------------------------------------- inputs

  private onTick(): void {
    this.raft.tick();
    this.reads.tick();
    this.pending.expire();
    const now = systemClock.monotonicMs();
    // etcd sweeps its simple tokens once a second; a sweep walks every token, so not per tick.
    if (now - this.tokensSweptAtMs >= TOKEN_SWEEP_INTERVAL_MS) {
      this.tokensSweptAtMs = now;
      this.authTokens.expire(now);
    }
    if (this.lessor.isPrimary) {
      for (const id of this.lessor.expired()) {
        this.proposeCommand({ type: 'leaseRevoke', leaseRevoke: { id } }).catch(() => undefined);
      }
    }
    const st = this.raft.basicStatus();
    this.opts.metrics.raftStatus({
      term: st.term, isLeader: st.role === StateRole.Leader, hasLeader: st.leader !== 0,
      commit: st.commit, applied: this.appliedWaiter.appliedIndex,
    });
    this.opts.metrics.pendingProposals(this.pending.size);
    this.checkStorageRepairs();
    this.wake.notify();
  }

  private onPeerMessages(msgs: Message[]): void {
    for (const m of msgs) {
      if (tracing && (m.type === MessageType.App || m.type === MessageType.AppResp) && (m.type !== MessageType.App || m.entries.length > 0)) {
        tracePoint(m.type === MessageType.App ? 'raft.recv.app' : 'raft.recv.appresp', m.type === MessageType.App ? m.entries[m.entries.length - 1]!.index : m.index);
      }
      this.raft.step(m);
      if (m.type === MessageType.App) this.noteLeaderAppend(m);
    }
    this.wake.notify();
  }

  private noteLeaderAppend(m: Message): void {
    const st = this.raft.basicStatus();
    // Accepted from the leader of the current term only (the core rejects the others).
    if (m.from === st.leader && m.term === st.term && st.role !== StateRole.Leader) {
      this.staleness.onLeaderAppend(performance.now(), m.commit);
    }
  }

  /**
   * How far this member's state provably trails the leader's, in ms (DESIGN §2 bounded):
   * 0 on the leader is not claimed (it may be deposed without knowing); undefined when
   * there is no proof (no append from the current leader whose commit index is applied).
   */
  provenStalenessMs(): number | undefined {
    if (this.role === StateRole.Leader || this.leader === 0) return undefined;
    return this.staleness.stalenessMs(performance.now(), this.appliedWaiter.appliedIndex);
  }

  /**
   * Waits until this member's store has reached `revision` (session reads), at most until
   * `deadlineMs` (epoch ms); resolves false when the deadline came first.
   */
  async waitForRevision(revision: number, deadlineMs: number): Promise<boolean> {
    while (this.mvcc.currentRevision < revision) {
      const left = deadlineMs - Date.now();
      if (left <= 0 || this.stopped) return false;
      const next = this.appliedWaiter.waitFor(this.appliedWaiter.appliedIndex + 1);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([next, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
    }
    return true;
  }

  /** 'leader' or 'follower' (learners and candidates count as followers), for metrics. */
  get roleName(): 'leader' | 'follower' {
    return this.role === StateRole.Leader ? 'leader' : 'follower';
  }

  private onTransportEvent(e: TransportEvent): void {
    if (e.type === 'send-failure') this.opts.metrics.peerSendFailed(e.peer);
    else if (e.type === 'snapshot-sent') {
      this.opts.metrics.snapshotSent();
      if (e.status === 'failure') this.opts.logger.warn('snapshot send failed', { to: e.peer, reason: e.reason });
      else this.opts.logger.info('snapshot sent', { to: e.peer, bytes: e.bytes });
    }
    else if (e.type === 'messages-dropped') this.opts.metrics.peerQueueDrop(e.peer, e.messages);
    else if (e.type === 'flow-window-default') this.opts.logger.warn('peer server keeps 64 KiB HTTP/2 windows', { reason: e.reason });
  }

  // ---------------------------------------------------------------- the node's API

  /**
   * Proposes an mvcc command and resolves with its answer once this node applied it.
   * `authRevision`: the auth revision its permissions were checked at; applied only if
   * the auth state is still there (else AuthError auth-old-revision).
   */
  proposeCommand(cmd: Command, authRevision?: number): Promise<CommandResponse> {
    // Not async, and one reaction on the waiter's promise for both outcomes (not a .catch, then
    // an await): every put in flight holds this chain for its whole round trip, and on a loaded
    // leader that is long enough to live through two scavenges and be promoted (issue 20).
    // The command is encoded after room for the payload header (and the auth revision), which
    // proposeInPlace fills in: one array per proposal, not the command's and then a copy.
    let pending: Promise<ProposalResult>;
    if (authRevision === undefined) pending = this.proposeInPlace(PayloadKind.Mvcc, encodeCommand(cmd, PAYLOAD_HEADER_BYTES));
    else {
      const data = encodeCommand(cmd, PAYLOAD_HEADER_BYTES + U64_BYTES);
      writeU64(data, PAYLOAD_HEADER_BYTES, authRevision);
      pending = this.proposeInPlace(PayloadKind.AuthedMvcc, data);
    }
    if (this.opts.unsafe?.ackBeforeSync === true && cmd.type === 'put' && this.isLeader) {
      // UNSAFE (testing only): answer before the entry is durable or committed.
      pending.catch(() => undefined);
      return Promise.resolve({ type: 'put', put: { revision: this.mvcc.currentRevision + 1 } });
    }
    return pending.then(commandAnswer, this.proposalFailed);
  }

  /**
   * Proposes an eventual entry (server/eventual/entry.ts) as an mvcc external command,
   * so a retry with the same identity applies at most once (the mvcc dedupe table).
   */
  proposeEventual(body: Uint8Array, client: ClientSeq | undefined): Promise<{ revision: number; body: Uint8Array }> {
    const cmd: Command = client === undefined ? { type: 'external', external: { body } } : { type: 'external', external: { body }, client };
    // Not async: a .then, not a frame per write held for its whole round trip.
    return this.propose(PayloadKind.Mvcc, encodeCommand(cmd)).then(externalAnswer);
  }

  /**
   * proposeEventual of a body that `writeBody` writes straight into the command's bytes (mvcc
   * encodeExternalCommand): the same entry, with one copy of the body less (an lww write, every
   * write a leader proposes).
   */
  proposeEventualWritten(writeBody: (w: BinWriter) => void, client: ClientSeq | undefined): Promise<{ revision: number; body: Uint8Array }> {
    // One reaction for both outcomes (as proposeCommand), not propose()'s .catch then a .then:
    // a promise less held per write for its round trip. The same answers: a proposal's failure
    // mapped by proposalFailed, externalAnswer's own throws as they are.
    return this.proposeRaw(PayloadKind.Mvcc, encodeExternalCommand(client, writeBody)).then(externalAnswer, this.proposalFailed);
  }

  private propose(kind: PayloadKind, body: Uint8Array): Promise<ProposalResult> {
    return this.proposeRaw(kind, body).catch(this.proposalFailed);
  }

  /** A failed proposal's count and the error its caller sees (a RegionError or AuthError). */
  private readonly proposalFailed = (err: unknown): never => {
    this.opts.metrics.proposalFailed((err as RegionError).code === 'no-leader' ? 'no-leader' as never : 'timeout' as never);
    throw err instanceof RegionError || err instanceof AuthError ? err : new RegionError('timeout', 'etcdserver: request timed out');
  };

  /** propose() without the failure mapping: its caller maps a rejection with proposalFailed. */
  private proposeRaw(kind: PayloadKind, body: Uint8Array): Promise<ProposalResult> {
    const data = new Uint8Array(PAYLOAD_HEADER_BYTES + body.length);
    data.set(body, PAYLOAD_HEADER_BYTES);
    return this.proposeInPlace(kind, data);
  }

  /**
   * proposeRaw of a payload whose body is already in `data` from PAYLOAD_HEADER_BYTES on; the
   * header (kind, this member, the proposal's counter) is written here.
   */
  private proposeInPlace(kind: PayloadKind, data: Uint8Array): Promise<ProposalResult> {
    if (this.stopped) return Promise.reject(new RegionError('stopped', 'etcdserver: server stopped'));
    // Its answer would come from a state being rebuilt: let the client use another member.
    const problem = this.storageProblem();
    if (problem !== undefined) return Promise.reject(new RegionError('unavailable', problem));
    if (this.raft.committedIndex() - this.appliedWaiter.appliedIndex > this.limits.maxApplyLagEntries) {
      this.opts.metrics.proposalFailed('too-many-requests' as never);
      return Promise.reject(new RegionError('too-many-requests', 'etcdserver: too many requests'));
    }
    if (this.pending.size >= this.limits.maxPendingProposals) {
      return Promise.reject(new RegionError('too-many-requests', 'etcdserver: too many requests'));
    }
    const { counter, done } = this.pending.register();
    try {
      this.raft.propose(writePayloadHeader(data, kind, this.id, counter));
    } catch (err) {
      this.pending.reject(counter, toRegionError(err));
    }
    this.wake.notify();
    return done;
  }

  /** The namespace registry as this member has applied it. */
  get namespaces() {
    return this.namespaceApplier.registry;
  }

  /** Proposes a registry change; resolves with its outcome once this member applied it. */
  async proposeNamespace(cmd: NamespaceCommand): Promise<NamespaceApplyResult> {
    const res = await this.propose(PayloadKind.Namespace, encodeNamespaceCommand(cmd));
    if (res === undefined || (res.type !== 'namespace' && res.type !== 'namespace-error')) {
      throw new RegionError('timeout', 'etcdserver: request timed out');
    }
    return res;
  }

  /** Resolves once the entry at `index` is applied here, or after `timeoutMs` (never rejects). */
  async waitForApplied(index: number, timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.appliedWaiter.waitFor(index), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  /** etcd's auth state as this member has applied it. */
  get auth(): AuthStore {
    return this.authApplier.store;
  }

  /** This member's simple tokens. */
  get tokens(): SimpleTokens {
    return this.authTokens;
  }

  /** Proposes an Auth change; resolves with its outcome once this member applied it. */
  async proposeAuth(cmd: AuthCommand): Promise<AuthApplyResult> {
    const res = await this.propose(PayloadKind.Auth, encodeAuthCommand(cmd));
    if (res === undefined || res.type !== 'auth') throw new RegionError('timeout', 'etcdserver: request timed out');
    return res;
  }

  /** Waits until a linearizable read may be served from the local state (ReadIndex). */
  async linearizableBarrier(): Promise<void> {
    if (this.stopped) throw new RegionError('stopped', 'etcdserver: server stopped');
    // Installing: the read could only wait for the whole install; another member answers now.
    this.localReads.check();
    this.refuseWhileRepairing();
    if (this.opts.unsafe?.localReads === true) return; // UNSAFE (testing only): may be stale
    let index: number;
    try {
      const pendingRead = this.reads.request();
      this.wake.notify();
      index = await withTimeout(pendingRead, this.limits.proposalTimeoutMs);
    } catch (err) {
      throw toRegionError(err);
    }
    await this.appliedWaiter.waitFor(index);
  }

  async proposeConfChange(cc: ConfChange): Promise<void> {
    const { applied, abandon } = this.membership.waitApplied(cc);
    try {
      this.raft.proposeConfChange(cc);
    } catch (err) {
      abandon();
      throw toRegionError(err);
    }
    this.wake.notify();
    await withTimeout(applied, this.limits.proposalTimeoutMs * 2).catch((err: unknown) => {
      throw toRegionError(err);
    });
  }

  /** The context a ConfChange for a new member carries. */
  static confContext(peerUrls: string[], name?: string): Uint8Array {
    return encodeConfContext(name === undefined ? { peerUrls } : { name, peerUrls });
  }

  transferLeader(to: number): void {
    this.raft.transferLeader(to);
    this.wake.notify();
  }

  /** Changes a member's attributes (peer URLs) through the log: etcd's MemberUpdate. */
  async publishMemberUpdate(attrs: { id: number; peerUrls: string[] }): Promise<void> {
    await this.propose(PayloadKind.MemberAttributes, new TextEncoder().encode(JSON.stringify(attrs)));
  }

  /** Publishes this member's name and client URLs through the log (like etcd's publish). */
  private async publishAttributes(): Promise<void> {
    const o = this.opts;
    const body = new TextEncoder().encode(JSON.stringify({ id: this.id, name: o.name, clientUrls: o.clientUrls, peerUrls: o.peerUrls }));
    while (!this.stopped && !this.published) {
      try {
        if (this.leader !== 0) {
          await this.propose(PayloadKind.MemberAttributes, body);
          this.published = true;
          return;
        }
      } catch {
        /* retried below */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Current raft term (answer headers carry it). */
  get term(): number {
    return this.raft.basicStatus().term;
  }

  status() {
    return { ...this.raft.status(), applied: this.appliedWaiter.appliedIndex, lastIndex: this.log.lastIndex() };
  }

  get leaderId(): number {
    return this.leader;
  }

  /** The leader changes this member saw, oldest first (at most LEADER_HISTORY_MAX). */
  recentLeaderChanges(): readonly LeaderChange[] {
    return [...this.leaderHistory];
  }

  get isLeader(): boolean {
    return this.role === StateRole.Leader;
  }

  get appliedIndex(): number {
    return this.appliedWaiter.appliedIndex;
  }

  get state(): Engine {
    return this.stateEngine;
  }

  /**
   * Bytes the data directory takes on disk (RocksDB's own estimate leaves out the memtable
   * and WAL), at most DB_SIZE_CACHE_MS old. Every Status call asks (etcdctl endpoint status,
   * and bench:scale polls every member's every 50 ms while a member catches up): measured
   * afresh, each was a readdir and a stat per file, on the libuv threads a snapshot install
   * writes RocksDB batches on (7 % of a joiner's main-thread samples in a profile of a 1M-key
   * add, Status polled every 100 ms, on a loaded machine).
   */
  dbSize(): Promise<number> {
    const now = Date.now();
    if (this.dbSizeCache === undefined || now - this.dbSizeCache.at > DB_SIZE_CACHE_MS) {
      const size = directorySize(this.opts.dataDir);
      this.dbSizeCache = { at: now, size };
      // A failed measurement is not kept (directorySize answers 0 rather than throw, but be sure).
      size.catch(() => (this.dbSizeCache = undefined));
    }
    return this.dbSizeCache.size;
  }

  onStop(listener: (reason: string) => void): void {
    this.onStopListeners.push(listener);
  }

  private emitStop(reason: string): void {
    for (const l of this.onStopListeners) l(reason);
  }

  private fail(err: unknown): void {
    this.failed = true;
    if (isCorruption(err)) {
      // Unmarked and unnamed, it came from the state (the raft log is read from memory).
      this.onCorruption(err as Error, storageDbOf(err, this.opts.dataDir, 'state'));
      return;
    }
    this.opts.logger.error('region node failed; stopping', { error: err instanceof Error ? err.stack : String(err) });
    this.emitStop(`fatal: ${String(err)}`);
  }

  /**
   * RocksDB found bad bytes while running (a checksum mismatch on a read, a block that does
   * not decompress). Nothing more is served; the member stops, and the next start's checks
   * find the damage and repair it (startup-check.ts), which cannot be done under open
   * engines. Counted and logged once.
   */
  private onCorruption(err: Error, db: StorageDb): void {
    this.failed = true;
    if (this.corruption !== undefined) return;
    this.corruption = { message: err.message, db };
    this.opts.metrics.storageCorruption(db, 'corrupt');
    this.opts.logger.error('storage corruption found while running; serving nothing and stopping, the next start repairs it', { db, error: err.message });
    this.emitStop(`fatal: storage corruption: ${err.message}`);
  }

  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.wake.notify();
    await this.loopDone.catch(() => undefined);
    const stopped = new RegionError('stopped', 'etcdserver: server stopped');
    this.pending.rejectAll(stopped);
    this.reads.failAll(stopped);
    await this.transport.close();
    this.lessor.close();
    await this.stateLock.run(async () => {
      await this.mvcc.idle();
      await this.log.flush();
      await this.stateEngine.close();
      await this.raftEngine.close();
    });
    if (!this.failed) await this.sealDatabases();
  }

  /**
   * A clean stop seals both databases (db-seal.ts), so the next start can skip reading
   * them whole. A member that failed or found corruption leaves no seal: its next start
   * reads everything.
   */
  private async sealDatabases(): Promise<void> {
    const dataDir = this.opts.dataDir;
    try {
      const t0 = Date.now();
      await sealRocksDir(raftDir(dataDir));
      await sealRocksDir(join(dataDir, await currentStateDirName(dataDir)));
      this.opts.logger.info('databases sealed at a clean stop', { ms: Date.now() - t0 });
    } catch (err) {
      this.opts.logger.warn('could not seal the databases; the next start reads them whole', { error: (err as Error).message });
    }
  }
}

function toRegionError(err: unknown): RegionError {
  if (err instanceof RegionError) return err;
  if (err instanceof ProposalRefusedError) {
    switch (err.reason) {
      case 'no-leader':
        return new RegionError('no-leader', 'etcdserver: no leader');
      case 'leader-transfer-in-progress':
        return new RegionError('leader-changed', 'etcdserver: leader changed');
      case 'too-many-uncommitted-bytes':
        return new RegionError('too-many-requests', 'etcdserver: too many requests');
      case 'conf-change-pending':
        return new RegionError('unhealthy', 'etcdserver: unhealthy cluster: a membership change is still being applied; retry');
      default:
        return new RegionError('no-leader', `etcdserver: ${err.message}`);
    }
  }
  if (err instanceof TimeoutError) return new RegionError('timeout', 'etcdserver: request timed out');
  return new RegionError('timeout', `etcdserver: ${String(err)}`);
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

async function directorySize(dir: string): Promise<number> {
  let total = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const path = join(dir, name);
    try {
      const st = await stat(path);
      total += st.isDirectory() ? await directorySize(path) : st.size;
    } catch {
      /* removed meanwhile (compaction, snapshot install) */
    }
  }
  return total;
}

/** The gauges' figures from the store's running counts (no scan). */
function eventualFigures(store: EventualStore): CrdtNamespaceFigures[] {
  return store.namespaces().map((namespace) => {
    const c = store.counts(namespace);
    return {
      namespace,
      unresolvedConflicts: c.unresolved,
      supersededRecords: c.superseded,
      completenessRatio: c.eventsHighest === 0 ? 1 : c.eventsHeld / c.eventsHighest,
      gaps: c.gaps,
    };
  });
}

/** Trace points of one Ready (server/util/trace-points.ts): the entries it brings to persist and those committed. */
function traceReady(rd: Ready): void {
  if (rd.entries.length > 0) tracePoint('raft.entries', rd.entries[rd.entries.length - 1]!.index);
  if (rd.committedEntries.length > 0) tracePoint('raft.committed', rd.committedEntries[rd.committedEntries.length - 1]!.index);
}

/** An mvcc proposal's answer, or the error it stands for (proposeCommand's checks). */
function commandAnswer(res: ProposalResult): CommandResponse {
  if (res === undefined) throw new RegionError('timeout', 'etcdserver: request timed out');
  if (res.type === 'error') throw new MvccError(res.code, res.message);
  if (res.type === 'namespace' || res.type === 'namespace-error' || res.type === 'auth') throw new Error(`an mvcc proposal got a ${res.type} answer`);
  return res;
}

/** An eventual proposal's result (proposeCommand's checks, without its async frame). */
function externalAnswer(res: ProposalResult): { revision: number; body: Uint8Array } {
  if (res === undefined) throw new RegionError('timeout', 'etcdserver: request timed out');
  if (res.type === 'error') throw new MvccError(res.code, res.message);
  if (res.type !== 'external') throw new Error(`an eventual proposal got a ${res.type} answer`);
  return res.external;
}
