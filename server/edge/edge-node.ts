// An edge replica, assembled: the data dir marker (device id, incarnation), the local store,
// the client API's backend (served by server/main.ts through server/api: server/edge may not
// import it), the sync replica side, the strong feed and the upstream link. Stops cleanly:
// the link first, then the queue drains, then the engine closes.

import { join } from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { crc32 } from '../mvcc/index.js';
import { SeededRandom } from '../util/random.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { EdgeBackend } from './backend.js';
import { EdgeCrdt, type EdgeIdentity } from './crdt.js';
import { bumpIncarnation, replicaId, type EdgeMarker } from './marker.js';
import { EDGE_STATE_DIR, checkEdgeDataDir, type EdgeDamage } from './startup-check.js';
import { sealRocksDir } from '../storage/db-seal.js';
import { EdgeNamespaces } from './namespaces.js';
import { EdgeReplica } from './replica.js';
import { EDGE_CORRUPTION_CONSEQUENCE, EdgeStore } from './store.js';
import { StrongFeed } from './strong-feed.js';
import { Upstream, type SessionRunner } from './upstream.js';

export interface EdgeNodeOptions {
  name: string;
  /** The edge group (`--group`; default "default"), sent in the HELLO for the region's metric labels. */
  group?: string;
  dataDir: string;
  region: readonly string[];
  namespaces: readonly string[] | undefined;
  /** Test-only: added to every wall-clock reading (REGIONSTORE_UNSAFE=1). */
  clockOffsetMs: number;
  /** Test-only (REGIONSTORE_UNSAFE=1): record the local database's durable points for the chaos power cut. */
  recordDurablePoints?: boolean;
  clock: Clock;
  logger: Logger;
  /** Builds the EdgeSync session runner once the node exists (absent: no eventual sync). */
  session?: (node: EdgeNode) => SessionRunner | undefined;
  onApplied?: (namespace: string, type: string, n: number) => void;
  /** Read the local database whole in a child process at start (default true; tests may skip). */
  verify?: boolean;
  backoff?: { baseMs?: number; capMs?: number };
  /** How the region is dialled (TLS: the edge's certificate names it to the region); absent: plaintext. */
  regionCredentials?: () => ChannelCredentials;
}

/** What `rsctl edge status` shows: the edge's own view. */
export interface EdgeStatusView {
  replicaId: string;
  deviceId: string;
  incarnation: number;
  previousIncarnations: number[];
  connected: boolean;
  regionEndpoint: string;
  offlineSinceMs: number;
  connects: number;
  lastError: string;
  strongStalenessMs: number;
  strongRevision: number;
  localRevision: number;
  namespaces: Array<{ name: string; level: string; crdtType: string; vector: ReadonlyArray<{ origin: string; seq: number }> }>;
  commits: { batches: number; writes: number };
  clockOffsetMs: number;
  /** Namespaces reset for a resync since start, and those whose download is not finished. */
  resyncs: number;
  resyncing: readonly string[];
  /** What the start-up storage check found and did ('' when the data dir opened clean). */
  storageNote: string;
}

export class EdgeNode {
  readonly identity: EdgeIdentity;
  readonly crdt: EdgeCrdt;
  readonly backend: EdgeBackend;
  readonly replica: EdgeReplica;
  readonly feed: StrongFeed;
  readonly upstream: Upstream;
  /** regionstore.v1.EdgeAdmin on the edge's port: its own status; the edge list is the region's. */
  readonly edgeAdminOps = {
    listEdges: (): Promise<never> => Promise.reject(Object.assign(new Error(`this is edge ${this.opts.name}: rsctl edge list is answered by the region (rsctl --endpoints <region> edge list); here, rsctl edge status`), { code: 'failed-precondition' })),
    edgeStatus: async (): Promise<Record<string, unknown>> => this.statusWire(),
  };
  /** What the start-up storage check found and did ('' when the data dir opened clean), and why. */
  storageNote = '';
  storageDamage: EdgeDamage | undefined;
  /** A namespace reset for a resync (the node's regionstore_sync_resyncs_total counts it). */
  onResync: ((namespace: string) => void) | undefined;
  /** Bad bytes found while running (corruptionFound): the process counts them and stops. */
  onStorageCorruption: ((err: Error) => void) | undefined;
  private corruption: Error | undefined;
  /** Extra status fields the session runner fills in (bytes, lag, skew). */
  sessionStatus: () => Record<string, unknown> = () => ({});
  /** Ends the current EdgeSync session, if any (set by the session runner). */
  endSession: ((why: string) => void) | undefined;
  /**
   * Whether this process may write under its incarnation (see beforeLocalWrite): true for an
   * incarnation this process took (a new or damaged data dir, a bump), or once a region HELLO
   * showed it holds no more of our origin than we do.
   */
  private originProven: boolean;
  /** Incarnation changes, one at a time (the marker is rewritten through one temp file). */
  private renewal: Promise<void> = Promise.resolve();

  private constructor(readonly opts: EdgeNodeOptions, public marker: EdgeMarker, readonly store: EdgeStore, proven: boolean) {
    this.originProven = proven;
    const held = opts.namespaces === undefined ? undefined : new Set(opts.namespaces);
    const clock = opts.clock;
    this.identity = { name: opts.name, memberId: crc32(Buffer.from(opts.name), 0) || 1, held, now: () => clock.nowMs() + opts.clockOffsetMs };
    this.crdt = new EdgeCrdt(store, this.identity);
    this.crdt.beforeLocalWrite = () => this.beforeLocalWrite();
    this.replica = new EdgeReplica(store, opts.name, marker.incarnation, held);
    if (opts.group !== undefined) this.replica.group = opts.group;
    this.crdt.onLocalWrite = (ns) => this.replica.changed(ns);
    this.replica.onResync = (ns, kept) => {
      opts.logger.warn('resync of a namespace from the region\'s snapshot (this edge was silent past its tombstone_ttl): its state dropped, local writes the region lacks kept', { ns, kept });
      this.onResync?.(ns);
    };
    this.feed = new StrongFeed(store, held, opts.logger, () => clock.monotonicMs());
    const session = opts.session?.(this);
    this.upstream = new Upstream({
      endpoints: opts.region, store, feed: this.feed, clock, random: new SeededRandom(Date.now() >>> 0), logger: opts.logger,
      ...(session !== undefined ? { session } : {}), ...(opts.backoff !== undefined ? { backoff: opts.backoff } : {}),
      ...(opts.regionCredentials !== undefined ? { credentials: opts.regionCredentials } : {}),
      syncedNamespaces: () => this.replica.namespaces().map((n) => n.name).sort().join(','),
    });
    this.backend = new EdgeBackend(store, this.crdt, new EdgeNamespaces(store, opts.name), this.identity, this.upstream, this.edgeAdminOps);
  }

  static async open(opts: EdgeNodeOptions): Promise<EdgeNode> {
    const check = await checkEdgeDataDir({ dataDir: opts.dataDir, deviceId: opts.name, nowMs: opts.clock.nowMs(), logger: opts.logger, ...(opts.verify !== undefined ? { verify: opts.verify } : {}) });
    const { marker, fresh } = check;
    let node: EdgeNode | undefined;
    const store = await EdgeStore.open(opts.dataDir, replicaId(marker.deviceId, marker.incarnation), opts.onApplied, check.createDb, {
      recordDurablePoints: opts.recordDurablePoints === true,
      onCorruption: (err) => node?.corruptionFound(err),
    });
    // A new directory, a damaged database replaced or an unclean stop: the incarnation was
    // taken just now, so local writes may go on under it.
    node = new EdgeNode(opts, marker, store, check.newIncarnation);
    node.storageNote = check.damage?.note ?? '';
    if (check.damage !== undefined) node.storageDamage = check.damage.reason;
    opts.logger.info(fresh ? 'new edge data dir: a new incarnation' : 'edge data dir opened', {
      replicaId: store.origin, localRevision: store.mvcc.currentRevision, strongRevision: store.feedRevision,
    });
    return node;
  }

  start(): void {
    this.upstream.start();
  }

  get replicaId(): string {
    return this.store.origin;
  }

  /**
   * The region holds more of our origin than we do: this data dir was restored from an old
   * copy. Take a new incarnation (durably first), so no (replica, seq) is ever reused; the
   * next session downloads our old history as a foreign origin. `from`: the replica id the
   * caller saw; when the incarnation changed since (a local write renewed it), nothing is done
   * (false).
   */
  async newIncarnation(reason: string, from?: string): Promise<boolean> {
    const step = this.renewal.then(async () => {
      if (from !== undefined && from !== this.store.origin) return false;
      const before = this.store.origin;
      this.marker = await bumpIncarnation(this.opts.dataDir, this.marker, this.opts.clock.nowMs());
      await this.store.switchOrigin(replicaId(this.marker.deviceId, this.marker.incarnation));
      this.replica.setIncarnation(this.marker.incarnation);
      this.originProven = true;
      this.opts.logger.warn('took a new incarnation', { before, after: this.store.origin, reason });
      return true;
    });
    this.renewal = step.then(() => undefined, () => undefined);
    return step;
  }

  /**
   * A region HELLO over a session opened as `replica` did not say it holds more of our origin
   * than we do: this data dir holds the newest writes of its incarnation the region knows, so
   * local writes may go on under it (DESIGN §6).
   */
  incarnationConfirmed(replica: string): void {
    if (replica === this.store.origin) this.originProven = true;
  }

  /**
   * Awaited before every local write is applied (EdgeCrdt.write). Until this process took its
   * incarnation itself or a region HELLO confirmed it, the data dir may be a copy restored from
   * a backup (hot, after a crash, or after a clean stop: nothing local tells a copy from the
   * original) or a disk rolled back, whose incarnation already wrote later seqs the region
   * holds; a local write at such a dot would be dropped there as a duplicate, an acknowledged
   * write lost. So the first such write takes a new incarnation first (durably: the marker is
   * fsynced before the write is applied), and the session opened under the old one ends (its
   * HELLO named the old replica id; the next one names the new). An edge that reaches the
   * region before its first write keeps its incarnation.
   */
  async beforeLocalWrite(): Promise<void> {
    if (this.originProven) return;
    const renewed = await this.newIncarnation('a local write before a region HELLO confirmed this data dir holds the newest writes of its incarnation (it may be a restored copy)', this.store.origin);
    if (renewed) this.endSession?.('took a new incarnation before a local write');
  }

  status(): EdgeStatusView & Record<string, unknown> {
    const defs = this.store.registry.list().filter((d) => this.crdt.holds(d.name));
    return {
      replicaId: this.store.origin,
      deviceId: this.opts.name,
      incarnation: this.marker.incarnation,
      previousIncarnations: this.marker.previous,
      connected: this.upstream.connected,
      regionEndpoint: this.upstream.endpoint ?? '',
      offlineSinceMs: this.upstream.offlineSinceMs ?? 0,
      connects: this.upstream.connects,
      lastError: this.upstream.lastError ?? '',
      strongStalenessMs: Number.isFinite(this.feed.stalenessMs()) ? Math.round(this.feed.stalenessMs()) : -1,
      strongRevision: this.store.feedRevision,
      localRevision: this.store.mvcc.currentRevision,
      namespaces: defs.map((d) => ({ name: d.name, level: d.level, crdtType: d.crdtType, vector: d.level === 'eventual' ? this.store.eventual.vector(d.name) : [] })),
      commits: { ...this.store.commits },
      clockOffsetMs: this.opts.clockOffsetMs,
      resyncs: this.replica.resyncs,
      resyncing: this.replica.resyncing(),
      storageNote: this.storageNote,
      ...this.sessionStatus(),
    };
  }

  /** EdgeStatusResponse (proto/regionstore/v1/edge_admin.proto), camelCase. */
  statusWire(): Record<string, unknown> {
    const s = this.status();
    const sync = (s['sync'] ?? {}) as Record<string, number>;
    return {
      replicaId: s.replicaId, deviceId: s.deviceId, incarnation: s.incarnation, previousIncarnations: s.previousIncarnations,
      connected: s.connected, regionEndpoint: s.regionEndpoint, offlineSinceMs: s.offlineSinceMs, lastError: s.lastError,
      lagOps: sync['lagOps'] ?? 0, lagSeconds: (sync['lagMs'] ?? 0) / 1000, bytesIn: sync['bytesReceived'] ?? 0, bytesOut: sync['bytesSent'] ?? 0,
      opsIn: sync['opsApplied'] ?? 0, opsOut: sync['opsSent'] ?? 0, skewMs: Math.round(sync['skewMs'] ?? 0),
      strongStalenessMs: s.strongStalenessMs, strongRevision: s.strongRevision, localRevision: s.localRevision,
      vectors: s.namespaces.filter((n) => n.level === 'eventual').map((n) => ({ namespace: n.name, vector: n.vector })),
      sessions: sync['sessions'] ?? 0, connects: s.connects,
      skewRefusals: sync['skewRefusals'] ?? 0, lastSkewRefusal: String(sync['lastSkewRefusal'] ?? ''), lastSkewRefusalMs: sync['lastSkewRefusalMs'] ?? 0,
      resyncs: s.resyncs, resyncing: s.resyncing, storageNote: s.storageNote,
    };
  }

  /**
   * RocksDB reported bad bytes while this edge runs (corruption-watch.ts): it serves nothing
   * more (storageProblem), `onStorageCorruption` (the process) counts it and stops, and the
   * stop is unclean (no seal), so the next start reads the database whole, finds the damage
   * and takes a new incarnation (startup-check.ts). Reported once.
   */
  corruptionFound(err: Error): void {
    if (this.corruption !== undefined) return;
    this.corruption = err;
    this.opts.logger.error('storage corruption found while running; serving nothing and stopping, the next start repairs it', { error: err.message });
    this.onStorageCorruption?.(err);
  }

  /** Why this edge must not be served from (health says so), or undefined. */
  storageProblem(): string | undefined {
    return this.corruption === undefined ? undefined : `storage corruption: ${this.corruption.message}; ${EDGE_CORRUPTION_CONSEQUENCE}`;
  }

  async close(): Promise<void> {
    await this.upstream.stop();
    await this.store.close();
    if (this.corruption !== undefined) return; // unclean on purpose: see corruptionFound
    // A local write failed (its fsync, say) after its records may have been uploaded early
    // (replica.ts): this stop is not clean, so the next start takes a new incarnation and never
    // reuses those dots. No seal (and nothing else that marks a clean stop) is written.
    const failure = this.store.mvcc.applyFailure;
    if (failure !== undefined) {
      this.opts.logger.error('a local write failed in this run: stopping uncleanly (the next start takes a new incarnation)', { error: failure.message });
      return;
    }
    // A clean stop seals the closed database, so the next start can skip reading it whole.
    const dir = join(this.opts.dataDir, EDGE_STATE_DIR);
    await sealRocksDir(dir).catch((err: unknown) =>
      this.opts.logger.warn('could not seal the edge database; the next start reads it whole', { dir, error: (err as Error).message }));
  }
}
