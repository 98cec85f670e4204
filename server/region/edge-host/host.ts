// The region's edge host (issue 14): serves regionstore.v1.EdgeSync streams (server/api's
// EdgeSyncBackend, structurally) with server/sync's SyncSession in the acceptor role over a
// RegionReplicaSide, and regionstore.v1.EdgeAdmin's list.
//
// The leader hosts the sessions; a follower refuses the HELLO with SyncError{not-leader,
// detail: the leader's client URL, fatal} rather than forwarding: a session's uploads become
// Raft entries and its downloads follow the applied state, so hosting it where proposals and
// the freshest applied state are costs the edge one redirect, where a forwarding follower
// would add a hop to every page and still have to hand over on every leader change. A member
// that loses leadership hands each session over: later pages are refused, the pages already
// applying finish (and are ACKed: an ACK is only sent for an applied page), then not-leader.
//
// Known edges are recorded through Raft (RegionCrdt.recordEdge): one entry at open and at
// close, and between them at most one per EDGE_RECORD_INTERVAL_MS when something changed.

import { VersionVector } from '../../crdt/index.js';
import type { EdgeRecord, EdgeUpdate } from '../../eventual/edges.js';
import { lacksCollected, readGcFrontier } from '../../eventual/gc.js';
import { DEFAULT_EDGE_GROUP, EDGE_GROUP_NAME_RE, REGION_LABEL, type SyncMetrics } from '../../metrics/sync-metrics.js';
import { encodeSyncMessage } from '../../../proto/sync-codec.js';
import { SyncSession, realTimers, type Admission, type PeerHello, type SyncEndReason, type SyncOutcome } from '../../sync/index.js';
import type { Logger } from '../../util/logger.js';
import { systemClock } from '../../util/system-clock.js';
import type { RegionCrdt } from '../eventual/backend.js';
import type { RegionNode } from '../region-node.js';
import { streamChannel, type EdgeStream } from './channel.js';
import { SYNC_PAGE_CODECS } from '../../transport/sync-codecs.js';
import { RegionReplicaSide } from './replica-side.js';
import { StabilityGc } from './gc.js';
import { certificateRefusal } from './identity.js';
import { unsafeEdge } from '../../util/unsafe-edge.js';

/** Test-only tooth (server/util/unsafe-edge.ts): the stable vector ignores the edges. */
const unsafeEarlyGc = unsafeEdge('early-gc');

/** How often the host looks at the member's role (to hand sessions over). */
const LEADER_POLL_MS = 100;
/** Known-edge entries of one session: at most one per this interval, plus open and close. */
export const EDGE_RECORD_INTERVAL_MS = 1_000;
/** An idle session's known-edge entry is refreshed this often (its last seen). */
const EDGE_LAST_SEEN_REFRESH_MS = 10_000;
/** Attempts of one known-edge entry, and the pause before the next (times the attempt). */
const EDGE_RECORD_ATTEMPTS = 4;
const EDGE_RECORD_RETRY_MS = 250;
/** A known edge counts as connected (to another member) if that member heard from it within this. */
const CONNECTED_RECENT_MS = 15_000;
/** After the pages in flight applied, this long for their ACKs to be written before not-leader. */
const HANDOVER_ACK_GRACE_MS = 50;
/**
 * Session ends counted as failures (source: the edge's group, target: the region). A refusal
 * either way is counted where it happens (`refused`), so protocol-error and peer-error are not
 * counted twice; closed and peer-closed are clean ends.
 */
const FAILED_ENDS: ReadonlySet<SyncEndReason> = new Set(['deadline', 'stream-error', 'replica-error', 'new-incarnation']);
/** A redirect to the leader, not a failure: every leader change sends each edge one. */
const NOT_A_FAILURE = 'not-leader';

interface Live {
  session: SyncSession;
  replica: RegionReplicaSide;
  stream: EdgeStream;
  replicaId: string;
  device: string;
  incarnation: number;
  /** The edge's group as its HELLO named it ('' until then: the default group). */
  groupName: string;
  /** The edge's group as a metrics label ("edge-group:<group>"; the default group's until its HELLO). */
  group: string;
  /** Per namespace, what the edge acknowledged (its HELLO, then its ACKs). */
  acked: Map<string, VersionVector>;
  /** Figures already in the known-edge table (the next entry carries the rest). */
  recorded: { bytesIn: number; bytesOut: number; opsIn: number; opsOut: number };
  lastRecordMs: number;
  timer: NodeJS.Timeout | undefined;
  handingOver: boolean;
}

/** A monotonic instant as wall-clock ms (whole: the known-edge entry stores integers). */
function wallOf(monotonicMs: number): number {
  return Math.floor(Date.now() - (systemClock.monotonicMs() - monotonicMs));
}

export class EdgeHost {
  private readonly live = new Set<Live>();
  private readonly poll: NodeJS.Timeout;
  private nextSession = 1;
  readonly gc: StabilityGc;

  constructor(private readonly node: RegionNode, private readonly crdt: RegionCrdt, private readonly metrics: SyncMetrics, private readonly logger: Logger) {
    this.poll = setInterval(() => this.checkLeadership(), LEADER_POLL_MS);
    this.poll.unref();
    this.gc = new StabilityGc(node, crdt, (ns) => this.stable(ns), logger);
    metrics.setSource(() => {
      const admitted = [...this.live].filter((l) => l.replicaId !== '');
      return {
        connected: admitted.length,
        lag: [
          ...admitted.map((l) => ({ source: REGION_LABEL, target: l.group, seconds: l.session.stats.lagMs / 1000 })),
          ...this.disconnectedLag(new Set(admitted.map((l) => l.replicaId))),
        ],
        skewSeconds: admitted.map((l) => l.session.stats.skewMs / 1000),
      };
    });
  }

  close(): void {
    clearInterval(this.poll);
    this.gc.close();
    for (const l of this.live) {
      clearTimeout(l.timer);
      l.session.close('the member is stopping');
    }
  }

  // ---- EdgeSyncBackend

  serve(stream: EdgeStream): void {
    const l: Live = {
      session: undefined as unknown as SyncSession, replica: undefined as unknown as RegionReplicaSide, stream,
      replicaId: '', device: '', incarnation: 0, groupName: '', group: this.metrics.groupLabel(''), acked: new Map(), recorded: { bytesIn: 0, bytesOut: 0, opsIn: 0, opsOut: 0 },
      lastRecordMs: 0, timer: undefined, handingOver: false,
    };
    l.replica = new RegionReplicaSide(this.node, this.crdt, stream.caller, {
      admit: (peer) => this.admit(l, peer),
      notLeader: () => this.notLeader(),
      peerVector: (_id, ns, v) => {
        l.acked.set(ns, v);
        this.changed(l);
      },
    });
    const channel = streamChannel(stream, (direction, n) => {
      if (direction === 'in') this.metrics.bytes(l.group, REGION_LABEL, n);
      else this.metrics.bytes(REGION_LABEL, l.group, n);
    });
    l.session = new SyncSession({
      role: 'acceptor', replica: l.replica, channel, clock: systemClock, timers: realTimers, codecs: SYNC_PAGE_CODECS,
      sessionId: `${this.node.id.toString(16)}-${this.nextSession++}`, logger: this.logger,
      observer: {
        pageSent: (_ns, records) => this.metrics.ops(REGION_LABEL, l.group, records),
        pageApplied: (_ns, applied) => this.metrics.ops(l.group, REGION_LABEL, applied),
        // sent: we refused the edge's page (its upload failed); else the edge refused ours.
        refused: (code, _message, sent) => {
          if (code !== NOT_A_FAILURE) this.metrics.failure(sent ? l.group : REGION_LABEL, sent ? REGION_LABEL : l.group, code);
        },
        hello: () => this.opened(l),
        ended: (o) => this.closed(l, o),
      },
    });
    this.live.add(l);
    void l.session.run();
  }

  // ---- admission, leadership

  /** The leader's client URL when this member is not the leader ('' when no leader is known). */
  notLeader(): string | undefined {
    if (this.node.isLeader) return undefined;
    const leader = this.node.members.list().find((m) => m.id === this.node.leaderId);
    return leader?.clientUrls[0] ?? '';
  }

  private async admit(l: Live, peer: PeerHello): Promise<Admission> {
    const detail = this.notLeader();
    if (detail !== undefined) {
      return { refuse: { code: 'not-leader', message: 'this member is not the region leader: connect to the leader (detail)', detail } };
    }
    if (peer.group !== '' && !EDGE_GROUP_NAME_RE.test(peer.group)) {
      return { refuse: { code: 'malformed', message: `edge group ${JSON.stringify(peer.group)} is not [a-z0-9][a-z0-9._-]*, at most 64 characters: fix the edge's --group` } };
    }
    l.groupName = peer.group === '' ? DEFAULT_EDGE_GROUP : peer.group;
    l.group = this.metrics.groupLabel(l.groupName);
    const id = /^edge:([^:]+):(\d+)$/.exec(peer.replicaId);
    if (id === null || id[1] !== peer.deviceId || Number(id[2]) !== peer.incarnation) {
      return { refuse: { code: 'malformed', message: `replica id ${JSON.stringify(peer.replicaId)} is not edge:<device_id>:<incarnation> of the HELLO's device ${JSON.stringify(peer.deviceId)} and incarnation ${peer.incarnation}` } };
    }
    // With TLS client certificates the certificate says which edge this is (identity.ts).
    const forged = certificateRefusal(l.stream.certificate, peer.deviceId);
    if (forged !== undefined) {
      this.logger.warn('edge session refused: forged origin', { peer: l.stream.peer, replica: peer.replicaId, reason: forged });
      return { refuse: { code: 'forged-origin', message: forged } };
    }
    l.replicaId = peer.replicaId;
    l.device = peer.deviceId;
    l.incarnation = peer.incarnation;
    const names = peer.vectors.size > 0 ? [...peer.vectors.keys()] : l.replica.eventualNamespaces().map((d) => d.name);
    // What it holds counts for causal stability from now on (a GC round starting while the
    // frontier is read below already leaves what it lacks alone).
    for (const [ns, v] of peer.vectors) if (!l.acked.has(ns)) l.acked.set(ns, v.clone());
    const frontiers = await this.node.readEventual(async (store) => {
      const out = new Map<string, Map<string, number>>();
      for (const ns of names) out.set(ns, await readGcFrontier(store.engine, ns));
      return out;
    });
    // The region holds more of the peer's own origin than it does: the peer takes a new
    // incarnation on our HELLO and comes back as another replica (server/edge/edge-node.ts),
    // so nothing is decided or counted for this one (no replay happens: the session ends).
    const renewing = names.some((ns) => {
      const held = this.node.eventual.vector(ns).find((e) => e.origin === peer.replicaId)?.seq ?? 0;
      return held > (peer.vectors.get(ns)?.get(peer.replicaId) ?? 0);
    });
    if (renewing) return { resync: [] };
    const rec = this.node.eventual.edges().get(peer.replicaId);
    const now = Date.now();
    const resync: string[] = [];
    for (const ns of names) {
      const def = l.replica.definition(ns);
      if (def === undefined) continue;
      // A copy restored from a backup older than a set remove GC already dropped (a new
      // incarnation whose vector predates it: gc.ts, the GC frontier): no delta carries that
      // remove any more, so the namespace comes again from a snapshot.
      const said = peer.vectors.get(ns);
      const lacking = unsafeEarlyGc || said === undefined ? undefined : lacksCollected(frontiers.get(ns) ?? new Map(), new Map(said.entries()));
      if (lacking !== undefined) {
        this.logger.info('edge resyncs a namespace: its vector predates removes GC dropped', { replica: peer.replicaId, namespace: ns, origin: lacking });
        resync.push(ns);
        this.metrics.resync('gc_frontier');
        continue;
      }
      if (rec === undefined) continue;
      if (now - rec.lastSeenMs > def.tombstoneTtlS * 1000) {
        resync.push(ns);
        this.metrics.resync('tombstone_ttl');
        continue;
      }
      // It held data the region knows of, yet says it holds nothing: everything goes again.
      const known = rec.acked[ns];
      if (known !== undefined && Object.values(known).some((s) => s > 0) && (said === undefined || said.origins().length === 0)) this.metrics.fullReplay(REGION_LABEL, l.group);
    }
    return { resync };
  }

  private checkLeadership(): void {
    if (this.live.size === 0) return;
    if (this.node.isLeader) {
      // An idle session still refreshes its edge's last seen (tombstone_ttl counts from it).
      const now = Date.now();
      for (const l of this.live) if (l.replicaId !== '' && l.timer === undefined && now - l.lastRecordMs > EDGE_LAST_SEEN_REFRESH_MS) this.record(l, this.node.id);
      return;
    }
    const detail = this.notLeader() ?? '';
    for (const l of this.live) if (l.replicaId !== '' && !l.handingOver) void this.handOver(l, detail);
  }

  /** Not-leader once the pages already applying are applied and ACKed. */
  private async handOver(l: Live, detail: string): Promise<void> {
    l.handingOver = true;
    await l.replica.depose(detail);
    await new Promise((r) => setTimeout(r, HANDOVER_ACK_GRACE_MS));
    if (l.session.outcome !== undefined) return;
    const message = 'this member is no longer the region leader: reconnect to the leader (detail)';
    l.stream.send(encodeSyncMessage({ kind: 'error', code: 'not-leader', message, pageId: 0, fatal: true, detail }));
    l.session.close('leadership moved: not-leader sent');
  }

  // ---- known edges

  private opened(l: Live): void {
    this.logger.info('edge session opened', { replica: l.replicaId, skewMs: l.session.stats.skewMs });
    this.record(l, this.node.id);
  }

  private closed(l: Live, o: SyncOutcome): void {
    this.live.delete(l);
    clearTimeout(l.timer);
    if (FAILED_ENDS.has(o.reason) && o.code !== NOT_A_FAILURE) this.metrics.failure(l.group, REGION_LABEL, o.code ?? o.reason);
    if (l.replicaId !== '') this.record(l, 0);
  }

  private changed(l: Live): void {
    if (!this.live.has(l) || l.timer !== undefined || l.replicaId === '') return;
    const wait = Math.max(0, l.lastRecordMs + EDGE_RECORD_INTERVAL_MS - Date.now());
    l.timer = setTimeout(() => {
      l.timer = undefined;
      if (this.live.has(l)) this.record(l, this.node.id);
    }, wait);
  }

  private record(l: Live, member: number): void {
    l.lastRecordMs = Date.now();
    const s = l.session.stats;
    const acked: Record<string, Record<string, number>> = {};
    for (const [ns, v] of l.acked) acked[ns] = v.toJSON();
    const u: EdgeUpdate = {
      replicaId: l.replicaId, device: l.device, incarnation: l.incarnation, acked, lastSeenMs: wallOf(s.lastReceivedMs), member,
      bytesInDelta: s.bytesReceived - l.recorded.bytesIn, bytesOutDelta: s.bytesSent - l.recorded.bytesOut, skewMs: Math.round(s.skewMs),
      opsInDelta: s.opsApplied - l.recorded.opsIn, opsOutDelta: s.opsSent - l.recorded.opsOut,
      ...(l.groupName !== '' ? { group: l.groupName } : {}),
    };
    l.recorded = { bytesIn: s.bytesReceived, bytesOut: s.bytesSent, opsIn: s.opsApplied, opsOut: s.opsSent };
    void this.propose(u, EDGE_RECORD_ATTEMPTS);
  }

  /**
   * Proposes a known-edge entry, again after EDGE_RECORD_RETRY_MS when it fails (a leader
   * change: a follower's proposal reaches the next leader). Given up after `attempts`: the next
   * entry carries the vectors again (they only grow), this one's counts are lost (figures, not data).
   */
  private async propose(u: EdgeUpdate, attempts: number): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await this.crdt.recordEdge(u);
        return;
      } catch (e) {
        if (i >= attempts) {
          this.logger.warn('known-edge entry not recorded', { replica: u.replicaId, error: (e as Error).message });
          return;
        }
      }
      await new Promise((r) => setTimeout(r, EDGE_RECORD_RETRY_MS * i));
    }
  }

  // ---- lag toward edges in session with no member

  /**
   * Known edges in session with no member (not `live` here, not heard from by another member
   * within CONNECTED_RECENT_MS) that lack records the region holds in a namespace they sync whose
   * tombstone_ttl has not passed for them: lag region → their group = seconds since they were
   * last seen (the region cannot date their oldest missing record without reading it; one
   * silent past tombstone_ttl will resync, and is counted by the resync metric instead). Every
   * member holds the known-edge table, so every member reports the same; an edge with nothing
   * missing reports 0, so its group's series exists. Cost per scrape: known edges × eventual
   * namespaces × origins, all in memory.
   */
  private disconnectedLag(live: ReadonlySet<string>): Array<{ source: string; target: string; seconds: number }> {
    const now = Date.now();
    const defs = this.node.namespaces.list().filter((d) => d.level === 'eventual');
    const vectors = new Map(defs.map((d) => [d.name, this.node.eventual.vector(d.name)]));
    const out: Array<{ source: string; target: string; seconds: number }> = [];
    const edges = [...this.node.eventual.edges().values()];
    const superseded = supersededIncarnations(edges, live);
    for (const rec of edges) {
      if (live.has(rec.replicaId) || superseded.has(rec.replicaId) || (rec.member !== 0 && now - rec.lastSeenMs < CONNECTED_RECENT_MS)) continue;
      const silentMs = Math.max(0, now - rec.lastSeenMs);
      let behind = false;
      for (const d of defs) {
        // Only the namespaces the edge syncs (its HELLO's, recorded even when empty).
        const acked = rec.acked[d.name];
        if (acked === undefined || silentMs > d.tombstoneTtlS * 1000) continue;
        if ((vectors.get(d.name) ?? []).some((e) => e.seq > (acked[e.origin] ?? 0))) {
          behind = true;
          break;
        }
      }
      out.push({ source: REGION_LABEL, target: this.metrics.groupLabel(rec.group ?? DEFAULT_EDGE_GROUP), seconds: behind ? silentMs / 1000 : 0 });
    }
    return out;
  }

  // ---- causal stability and the admin list

  /**
   * Per namespace, the pointwise minimum of the region's vector and the acknowledged vector of
   * every known edge heard from within the namespace's tombstone_ttl (one silent longer leaves
   * the minimum and must resync when it returns), but for incarnations their device has
   * replaced (supersededIncarnations): every restart after a crash or a restore may take one,
   * and a dead one would hold the minimum back until its tombstone_ttl ran out.
   */
  stable(ns: string, now = Date.now()): Map<string, number> {
    const def = this.node.namespaces.get(ns);
    const out = new Map(this.node.eventual.vector(ns).map((e) => [e.origin, e.seq]));
    if (unsafeEarlyGc) return out;
    const meet = (v: ReadonlyMap<string, number>): void => {
      for (const [o, s] of out) out.set(o, Math.min(s, v.get(o) ?? 0));
    };
    // Edges in session here count as heard from now, with what they acknowledged so far
    // (their known-edge entry may not be applied yet, or may be older than an idle session).
    const live = new Map<string, VersionVector>();
    for (const l of this.live) {
      const v = l.acked.get(ns);
      if (l.replicaId !== '' && v !== undefined) live.set(l.replicaId, v);
    }
    const edges = [...this.node.eventual.edges().values()];
    const superseded = supersededIncarnations(edges, new Set(live.keys()));
    for (const rec of edges) {
      const v = rec.acked[ns];
      const session = live.get(rec.replicaId);
      if (session !== undefined) {
        meet(new Map(session.clone().join(VersionVector.from(v ?? {})).entries()));
        live.delete(rec.replicaId);
        continue;
      }
      if (superseded.has(rec.replicaId)) continue;
      if (def !== undefined && now - rec.lastSeenMs > def.tombstoneTtlS * 1000) continue;
      if (v !== undefined) meet(new Map(Object.entries(v)));
    }
    for (const v of live.values()) meet(new Map(v.entries()));
    return out;
  }

  listEdges(): Promise<{ memberId: number; edges: Array<Record<string, unknown>>; stable: Array<{ namespace: string; vector: Array<{ origin: string; seq: number }> }> }> {
    const now = Date.now();
    const sessions = new Map([...this.live].filter((l) => l.replicaId !== '').map((l) => [l.replicaId, l]));
    const edges = [...this.node.eventual.edges().values()]
      .sort((a, b) => (a.replicaId < b.replicaId ? -1 : 1))
      .map((rec) => this.info(rec, sessions.get(rec.replicaId), now));
    const stable = this.node.namespaces.list().filter((d) => d.level === 'eventual').map((d) => ({ namespace: d.name, vector: toWire(this.stable(d.name, now)) }));
    return Promise.resolve({ memberId: this.node.id, edges, stable });
  }

  private info(rec: EdgeRecord, l: Live | undefined, now: number): Record<string, unknown> {
    const acked = new Map(Object.entries(rec.acked).map(([ns, v]) => [ns, VersionVector.from(v)]));
    for (const [ns, v] of l?.acked ?? []) acked.set(ns, (acked.get(ns) ?? new VersionVector()).join(v));
    let lagOps = 0;
    for (const [ns, v] of acked) {
      for (const e of this.node.eventual.vector(ns)) lagOps += Math.max(0, e.seq - v.get(e.origin));
    }
    const s = l?.session.stats;
    const lastSeen = s !== undefined ? wallOf(s.lastReceivedMs) : rec.lastSeenMs;
    return {
      replicaId: rec.replicaId, deviceId: rec.device, incarnation: rec.incarnation,
      connected: l !== undefined || (rec.member !== 0 && now - rec.lastSeenMs < CONNECTED_RECENT_MS),
      memberId: l !== undefined ? this.node.id : rec.member, lastSeenMs: lastSeen, lagOps,
      lagSeconds: l !== undefined ? oldestLagMs(l, systemClock.monotonicMs()) / 1000 : lagOps === 0 ? 0 : (now - lastSeen) / 1000,
      bytesIn: pending(rec.bytesIn, s?.bytesReceived, l?.recorded.bytesIn), bytesOut: pending(rec.bytesOut, s?.bytesSent, l?.recorded.bytesOut),
      opsIn: pending(rec.opsIn, s?.opsApplied, l?.recorded.opsIn), opsOut: pending(rec.opsOut, s?.opsSent, l?.recorded.opsOut),
      skewMs: s?.skewMs ?? rec.skewMs,
      acked: [...acked].sort(([a], [b]) => (a < b ? -1 : 1)).map(([namespace, v]) => ({ namespace, vector: toWire(new Map(v.entries())) })),
    };
  }
}

/**
 * The known edges whose device was heard from later as another incarnation (live: replica ids
 * in session now, heard from now). A device runs one process at a time, so such an
 * incarnation will never send or acknowledge anything again: its data dir took a new
 * incarnation in place (holding all it held), was wiped, or was replaced by a restored copy.
 * Its acknowledged vector then says nothing about what any live replica holds, and causal
 * stability leaves it out instead of waiting for its tombstone_ttl. A copy of its data dir
 * restored later comes back under a new incarnation whose HELLO vector is checked against
 * the GC frontier (a resync when it predates a collected remove), as any edge's is.
 * "Later" is the region's own clock (lastSeenMs), not the incarnation number (a wall-clock
 * ms of the device, which may run backwards); equal times supersede neither.
 */
export function supersededIncarnations(edges: readonly EdgeRecord[], live: ReadonlySet<string>): Set<string> {
  const latest = new Map<string, number>();
  const seen = (r: EdgeRecord): number => (live.has(r.replicaId) ? Infinity : r.lastSeenMs);
  for (const r of edges) latest.set(r.device, Math.max(latest.get(r.device) ?? -Infinity, seen(r)));
  const out = new Set<string>();
  for (const r of edges) if (seen(r) < latest.get(r.device)!) out.add(r.replicaId);
  return out;
}

/** A stored figure plus what the live session added since its last entry. */
function pending(stored: number, total: number | undefined, recorded: number | undefined): number {
  return stored + (total ?? 0) - (recorded ?? 0);
}

function oldestLagMs(l: Live, _now: number): number {
  return l.session.stats.lagMs;
}

function toWire(v: ReadonlyMap<string, number>): Array<{ origin: string; seq: number }> {
  return [...v].filter(([, s]) => s > 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([origin, seq]) => ({ origin, seq }));
}
