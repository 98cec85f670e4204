// The region as one replica of delta sync (issue 14): server/sync's ReplicaSide over a
// member. Uploads are RegionCrdt.uploadPage (one Raft entry per page, answered once this
// member applied it: the session ACKs a page only then); downloads are extracted from the
// persistent store at one applied index (server/eventual/extract.ts); changes are announced
// after each written batch; the HLC is the region's applied one. One instance per session:
// it knows its edge (forged origins), reports the edge's acknowledged vectors to the host,
// and refuses pages once the member lost leadership (the hand-over).

import { HybridClock, VersionVector, type DeltaPage, type Hlc } from '../../crdt/index.js';
import { EvError } from '../../eventual/entry.js';
import { openExtraction } from '../../eventual/extract.js';
import type { NamespaceDefinition } from '../../namespace/index.js';
import { prefixEnd } from '../../util/bytes.js';
import type { Admission, ApplyResult, ExtractedPage, PeerHello, ReplicaSide, SyncClock, SyncNamespace } from '../../sync/index.js';
import type { RegionCrdt } from '../eventual/backend.js';
import type { RegionNode } from '../region-node.js';
import type { EdgeStream } from './channel.js';
import { unsafeEdge } from '../../util/unsafe-edge.js';
import { tracePoint, tracing } from '../../util/trace-points.js';

/** NUL as a key and as a range end: every key (a namespace with the empty prefix). */
const FROM_KEY = Uint8Array.of(0);

/** Test-only tooth (server/util/unsafe-edge.ts): pages from a clock past the bound are taken. */
const unsafeAcceptSkew = unsafeEdge('accept-skew');

/** What a session's replica asks of the host (host.ts). */
export interface ReplicaHost {
  admit(peer: PeerHello): Promise<Admission>;
  peerVector(replicaId: string, ns: string, vector: VersionVector): void;
  /** undefined while this member is the leader; else the leader's client URL ('' if unknown). */
  notLeader(): string | undefined;
}

/**
 * The region's HLC as a SyncClock: stamps follow the last applied region HLC. The session's
 * own skew check uses the widest bound of the eventual namespaces as they are now (applyPage
 * checks each page against its namespace's bound).
 */
class RegionClock implements SyncClock {
  /** Stamps of this session's messages: never behind the applied HLC, never backwards. The
   *  skew bound is checked by the session before update(), so the clock itself takes any stamp. */
  private readonly hlc: HybridClock;
  constructor(private readonly node: RegionNode) {
    this.hlc = new HybridClock(node.regionOrigin, Number.MAX_SAFE_INTEGER);
  }
  get maxSkewMs(): number {
    if (unsafeAcceptSkew) return Number.MAX_SAFE_INTEGER;
    let max = 0;
    for (const d of this.node.namespaces.list()) if (d.level === 'eventual') max = Math.max(max, d.maxClockSkewMs);
    return max;
  }
  maxSkewMsOf(ns: string): number {
    if (unsafeAcceptSkew) return Number.MAX_SAFE_INTEGER;
    return this.node.namespaces.get(ns)?.maxClockSkewMs ?? this.maxSkewMs;
  }
  private clock(): HybridClock {
    this.hlc.restore(this.node.eventual.lastHlc);
    return this.hlc;
  }
  now(physicalMs: number): Hlc {
    return this.clock().now(physicalMs);
  }
  update(remote: Hlc, physicalMs: number, origin: string): Hlc {
    return this.clock().update(remote, physicalMs, origin);
  }
}

export class RegionReplicaSide implements ReplicaSide {
  readonly deviceId = '';
  readonly incarnation = 0;
  readonly clock: SyncClock;
  /** The edge of this session, once admitted ('' before). */
  private peerId = '';
  /** Set at the hand-over: later pages are refused with not-leader (detail: the leader's URL). */
  private deposed: string | undefined;
  private inflight = new Set<Promise<unknown>>();

  /**
   * `caller`: the session's user while auth is on. It syncs only the namespaces it may read or
   * write: downloads need read permission on the namespace's prefix, uploads write permission
   * (checked per page, with the user's roles as they are then).
   */
  constructor(
    private readonly node: RegionNode,
    private readonly crdt: RegionCrdt,
    private readonly caller: EdgeStream['caller'],
    private readonly host: ReplicaHost,
  ) {
    this.clock = new RegionClock(node);
  }

  /** Whether the session's user may `type` on the namespace's keys (always, with auth off). */
  private permits(def: NamespaceDefinition, type: 'read' | 'write'): boolean {
    if (this.caller === undefined) return true;
    if (def.prefix === '') return this.caller.permits(type, FROM_KEY, FROM_KEY);
    const key = Buffer.from(def.prefix, 'utf8');
    return this.caller.permits(type, key, prefixEnd(key) ?? FROM_KEY);
  }

  get replicaId(): string {
    return this.node.regionOrigin;
  }

  /** The eventual namespace `ns` as this member applied the registry, or undefined. */
  definition(ns: string): NamespaceDefinition | undefined {
    const def = this.node.namespaces.get(ns);
    return def?.level === 'eventual' ? def : undefined;
  }

  eventualNamespaces(): NamespaceDefinition[] {
    return this.node.namespaces.list().filter((d) => d.level === 'eventual');
  }

  namespaces(): readonly SyncNamespace[] {
    return this.eventualNamespaces()
      .filter((d) => this.permits(d, 'read') || this.permits(d, 'write'))
      .map((d) => ({ name: d.name, kind: d.crdtType as SyncNamespace['kind'] }));
  }

  registryRevision(): number {
    return 0;
  }

  vector(ns: string): VersionVector {
    return VersionVector.from(this.node.eventual.vector(ns).map((e) => [e.origin, e.seq] as const));
  }

  vectors(namespaces: readonly string[]): Promise<Map<string, VersionVector>> {
    return Promise.resolve(new Map(namespaces.map((ns) => [ns, this.vector(ns)])));
  }

  async admit(peer: PeerHello): Promise<Admission> {
    const a = await this.host.admit(peer);
    if (a.refuse === undefined) this.peerId = peer.replicaId;
    return a;
  }

  peerVector(replicaId: string, ns: string, vector: VersionVector): void {
    this.host.peerVector(replicaId, ns, vector);
  }

  /** Leadership moved: refuse later pages; resolves once the pages already applying are done. */
  async depose(detail: string): Promise<void> {
    this.deposed = detail;
    while (this.inflight.size > 0) await Promise.allSettled(this.inflight);
  }

  applyPage(ns: string, page: DeltaPage, physicalMs: number): Promise<ApplyResult> {
    const p = this.apply(ns, page, physicalMs);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  private async apply(ns: string, page: DeltaPage, physicalMs: number): Promise<ApplyResult> {
    if (this.deposed !== undefined) {
      return { status: 'refused', code: 'not-leader', message: 'this member is no longer the region leader: reconnect to the leader', fatal: true, detail: this.deposed };
    }
    const def = this.definition(ns);
    if (def === undefined) return { status: 'refused', code: 'unknown-namespace', message: `namespace ${JSON.stringify(ns)} is not an eventual namespace of this region`, fatal: false };
    if (!this.permits(def, 'write')) {
      return {
        status: 'refused', code: 'permission-denied', fatal: false,
        message: `user ${JSON.stringify(this.caller?.user)} may not write namespace ${JSON.stringify(ns)} (no write permission on its prefix ` +
          `${JSON.stringify(def.prefix)}); nothing of the page was applied`,
      };
    }
    // Until relay permission exists (auth), an edge uploads only its own origins: this
    // incarnation's and its device's earlier ones. A copy restored from a backup takes a new
    // incarnation (DESIGN §6) yet may hold writes of the old one it never uploaded (taken
    // offline before the backup): they are the device's own, and nothing else can hold a
    // different record at the same dot (the old incarnation wrote it before the copy).
    const own = (origin: string): boolean => origin === this.peerId || earlierIncarnation(origin, this.peerId);
    const forged = page.ranges.find((g) => !own(g.origin)) ?? page.records.find((r) => !own(r.origin));
    if (forged !== undefined) {
      return {
        status: 'refused', code: 'forged-origin', fatal: false,
        message: `a page carrying origin ${JSON.stringify(forged.origin)}: an edge uploads only its own (${this.peerId} and its earlier incarnations); nothing of it was applied`,
      };
    }
    for (const r of page.records) {
      const skew = r.hlc.wall - Math.floor(physicalMs);
      if (skew > def.maxClockSkewMs && !unsafeAcceptSkew) {
        return {
          status: 'refused', code: 'clock-skew', fatal: false,
          message: `record ${r.origin}:${r.seq} is stamped ${skew} ms ahead of the region's clock (max_clock_skew_ms of ${JSON.stringify(ns)} is ${def.maxClockSkewMs}): fix the edge's clock`,
        };
      }
    }
    try {
      if (tracing) tracePoint('region.propose', page.ranges[page.ranges.length - 1]?.to ?? 0);
      const a = await this.crdt.uploadPage(ns, [...page.ranges], [...page.records]);
      if (tracing) tracePoint('region.applied', page.ranges[page.ranges.length - 1]?.to ?? 0);
      return { status: 'applied', applied: a.applied, vector: VersionVector.from(a.vector.map((e) => [e.origin, e.seq] as const)) };
    } catch (e) {
      if (!(e instanceof EvError)) {
        // A proposal lost with a leader change (or timed out): not applied as far as anyone
        // knows, so not ACKed; the edge resends it to the leader (a duplicate is ignored there).
        const leader = this.host.notLeader();
        const code = (e as { code?: string }).code;
        if (leader !== undefined || code === 'leader-changed' || code === 'no-leader') {
          return { status: 'refused', code: 'not-leader', message: `page not applied: ${(e as Error).message}; reconnect to the leader`, fatal: true, detail: leader ?? '' };
        }
        return { status: 'refused', code: 'internal', message: `page not applied: ${(e as Error).message}; reconnect and resend`, fatal: true };
      }
      if (e.resendFrom !== undefined) return { status: 'resend', ...e.resendFrom };
      if (e.code === 'invalid-argument') return { status: 'refused', code: 'malformed', message: e.message, fatal: true };
      if (e.code === 'not-found') return { status: 'refused', code: 'unknown-namespace', message: e.message, fatal: false };
      if (/clock|skew/i.test(e.message)) return { status: 'refused', code: 'clock-skew', message: e.message, fatal: false };
      return { status: 'refused', code: 'internal', message: e.message, fatal: true };
    }
  }

  /**
   * The pages `peer` lacks of `ns`, from one view taken when iteration starts (inside the read
   * gate: never over a store a snapshot install is replacing), each with that view's applied index.
   */
  extract(ns: string, peer: VersionVector, budgetBytes: number): AsyncIterable<ExtractedPage> {
    const node = this.node;
    const def = this.definition(ns);
    // A namespace the user may write but not read: its uploads are taken, nothing is sent back.
    if (def !== undefined && !this.permits(def, 'read')) return { async *[Symbol.asyncIterator]() {} };
    return {
      async *[Symbol.asyncIterator]() {
        const view = await node.readEventual((store, mvcc) => {
          // Same turn: the vector, the applied index and every scan's snapshot.
          const vector = new Map(store.vector(ns).map((e) => [e.origin, e.seq]));
          return { ...openExtraction(store.engine, ns, vector, new Map(peer.entries()), budgetBytes), viewIndex: mvcc.appliedIndex };
        });
        for await (const { page, last } of view.marked()) yield { page, viewIndex: view.viewIndex, last };
      },
    };
  }

  onChange(fn: (ns: string) => void): () => void {
    return this.node.onEventualChange(fn);
  }
}

/** `origin` is an earlier incarnation of the device of `peer` (both `edge:<device>:<incarnation>`). */
export function earlierIncarnation(origin: string, peer: string): boolean {
  const a = EDGE_ORIGIN_RE.exec(origin);
  const b = EDGE_ORIGIN_RE.exec(peer);
  return a !== null && b !== null && a[1] === b[1] && Number(a[2]) < Number(b[2]);
}

const EDGE_ORIGIN_RE = /^edge:([^:]+):(\d+)$/;
