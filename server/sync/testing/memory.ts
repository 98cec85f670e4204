// In-memory inputs of a sync session for tests and simulations: manual time (clock + timers),
// a pair of connected channels with taps (drop, duplicate, corrupt, count), and a ReplicaSide
// over server/crdt's CrdtReplica (one per namespace), durable at once unless a test holds it.

import { Incoming } from '../stream-adapter.js';
import {
  HybridClock, VersionVector, createReplica,
  type Body, type CrdtKind, type CrdtRecord, type CrdtReplica, type DeltaPage,
} from '../../crdt/index.js';
import type { Clock } from '../../util/clock.js';
import type { SyncChannel, SyncTimers } from '../channel.js';
import type { Admission, ApplyResult, ExtractedPage, PeerHello, ReplicaSide, SyncNamespace } from '../replica-side.js';

/** Lets every pending microtask run (the in-memory world has no I/O, so this is quiescence). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class ManualTime implements Clock, SyncTimers {
  private mono = 0;
  private seq = 0;
  private readonly timers: Array<{ at: number; seq: number; fn: () => void }> = [];

  constructor(private wall = 1_765_000_000_000) {}

  nowMs(): number {
    return this.wall;
  }
  monotonicMs(): number {
    return this.mono;
  }
  after(ms: number, fn: () => void): () => void {
    const t = { at: this.mono + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.push(t);
    return () => {
      const i = this.timers.indexOf(t);
      if (i >= 0) this.timers.splice(i, 1);
    };
  }
  /** Moves time forward by `ms`, running each timer at its time and settling after each. */
  async advance(ms: number): Promise<void> {
    const target = this.mono + ms;
    await settle();
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const t = this.timers[0];
      if (t === undefined || t.at > target) break;
      this.timers.shift();
      this.wall += t.at - this.mono;
      this.mono = t.at;
      t.fn();
      await settle();
    }
    this.wall += target - this.mono;
    this.mono = target;
    await settle();
  }
}

/** What a tap does with one message on its way: deliver these (none: dropped). */
export type Tap = (message: Uint8Array) => Uint8Array[];

export interface LinkCounters {
  messages: number;
  bytes: number;
}

export interface MemoryLink {
  /** The initiator's end and the acceptor's end. */
  readonly a: SyncChannel;
  readonly b: SyncChannel;
  /** Bytes delivered a → b and b → a. */
  readonly ab: LinkCounters;
  readonly ba: LinkCounters;
  /** Replace to drop / duplicate / corrupt messages a → b and b → a. */
  tapAb: Tap;
  tapBa: Tap;
  /** Cuts the link: both ends see the stream end (an error when given). */
  cut(error?: Error): void;
}

export function memoryLink(): MemoryLink {
  const toB = new Incoming();
  const toA = new Incoming();
  let closed = false;
  const link: MemoryLink = {
    ab: { messages: 0, bytes: 0 },
    ba: { messages: 0, bytes: 0 },
    tapAb: (m) => [m],
    tapBa: (m) => [m],
    a: undefined as unknown as SyncChannel,
    b: undefined as unknown as SyncChannel,
    cut(error?: Error) {
      closed = true;
      toA.finish(error);
      toB.finish(error);
    },
  };
  const end = (out: Incoming, counters: LinkCounters, tap: () => Tap): SyncChannel => ({
    send(message) {
      if (closed) return Promise.reject(new Error('the stream is closed'));
      for (const m of tap()(message)) {
        counters.messages++;
        counters.bytes += m.length;
        out.push(m);
      }
      return Promise.resolve();
    },
    incoming: undefined as unknown as AsyncIterable<Uint8Array>,
    close() {
      if (closed) return;
      closed = true;
      // Messages already sent are still delivered, then the peer sees the end (a half-close).
      toA.finish();
      toB.finish();
    },
  });
  const a = end(toB, link.ab, () => link.tapAb);
  const b = end(toA, link.ba, () => link.tapBa);
  (a as { incoming: AsyncIterable<Uint8Array> }).incoming = toA;
  (b as { incoming: AsyncIterable<Uint8Array> }).incoming = toB;
  (link as { a: SyncChannel }).a = a;
  (link as { b: SyncChannel }).b = b;
  return link;
}

export interface MemoryReplicaOptions {
  readonly replicaId: string;
  readonly namespaces: readonly SyncNamespace[];
  readonly time: Clock;
  /** Added to the shared time to give this replica's physical clock (clock skew tests). */
  skewMs?: number;
  readonly maxSkewMs?: number;
  /** Per-namespace max_clock_skew_ms for pages (SyncClock.maxSkewMsOf); maxSkewMs for the rest. */
  readonly maxSkewMsOf?: Readonly<Record<string, number>>;
  readonly deviceId?: string;
  readonly incarnation?: number;
}

/**
 * A ReplicaSide over one CrdtReplica per namespace. Applies are durable at once unless
 * `hold` is set (then they wait for `release()`); `extracts` counts extraction calls.
 */
export class MemoryReplica implements ReplicaSide {
  readonly replicaId: string;
  readonly deviceId: string;
  readonly incarnation: number;
  readonly clock: HybridClock & { maxSkewMsOf?(ns: string): number };
  readonly reps = new Map<string, CrdtReplica>();
  readonly peerVectors = new Map<string, VersionVector>();
  private readonly listeners = new Set<(ns: string) => void>();
  private view = 0;
  skewMs: number;
  hold = false;
  private held: Array<() => void> = [];
  admission: Admission | undefined;
  resets: string[] = [];
  /** Records of received pages, in apply order (for duplicate checks). */
  readonly appliedLog: Array<{ ns: string; origin: string; seq: number }> = [];

  constructor(private readonly opts: MemoryReplicaOptions) {
    this.replicaId = opts.replicaId;
    this.deviceId = opts.deviceId ?? '';
    this.incarnation = opts.incarnation ?? 0;
    this.skewMs = opts.skewMs ?? 0;
    this.clock = new HybridClock(opts.replicaId, opts.maxSkewMs);
    const byNs = opts.maxSkewMsOf;
    if (byNs !== undefined) this.clock.maxSkewMsOf = (ns: string): number => byNs[ns] ?? this.clock.maxSkewMs;
    for (const n of opts.namespaces) this.reps.set(n.name, createReplica(n.kind, opts.replicaId, this.clock));
  }

  physicalMs(): number {
    return this.opts.time.nowMs() + this.skewMs;
  }

  /** The clock a session of this replica runs on: the shared time plus this replica's skew. */
  sessionClock(): Clock {
    return { nowMs: () => this.physicalMs(), monotonicMs: () => this.opts.time.monotonicMs() };
  }

  rep(ns: string): CrdtReplica {
    const r = this.reps.get(ns);
    if (r === undefined) throw new Error(`no namespace ${ns} on ${this.replicaId}`);
    return r;
  }

  /** A local write: durable at once, then live pushes follow. */
  write(ns: string, body: Body): CrdtRecord {
    const r = this.rep(ns).commit(body, this.physicalMs());
    this.view++;
    for (const l of this.listeners) l(ns);
    return r;
  }

  /** A local write through server/crdt's ops (counterAdd, setAdd, ...): durable at once, then live pushes follow. */
  mutate<T>(ns: string, f: (rep: CrdtReplica, physicalMs: number) => T): T {
    const out = f(this.rep(ns), this.physicalMs());
    this.view++;
    for (const l of this.listeners) l(ns);
    return out;
  }

  namespaces(): readonly SyncNamespace[] {
    return this.opts.namespaces;
  }
  registryRevision(): number {
    return 1;
  }
  vectors(namespaces: readonly string[]): Promise<Map<string, VersionVector>> {
    return Promise.resolve(new Map(namespaces.filter((ns) => this.reps.has(ns)).map((ns) => [ns, this.rep(ns).vector])));
  }
  /** Pages say whether they are the last of their extraction (ExtractedPage.last), as the edge's and the region's do. */
  markLast = false;
  /** Pages taken from extractions so far, and how many of them were taken when each page went out (pageSent). */
  pagesExtracted = 0;
  async *extract(ns: string, peer: VersionVector, budgetBytes: number): AsyncIterable<ExtractedPage> {
    const viewIndex = this.view;
    if (!this.markLast) {
      for (const page of this.rep(ns).extract(peer, budgetBytes)) {
        this.pagesExtracted++;
        yield { page, viewIndex };
      }
      return;
    }
    const pages = [...this.rep(ns).extract(peer, budgetBytes)];
    for (const [i, page] of pages.entries()) {
      this.pagesExtracted++;
      yield { page, viewIndex, last: i === pages.length - 1 };
    }
  }
  async applyPage(ns: string, page: DeltaPage, physicalMs: number): Promise<ApplyResult> {
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
    const r = this.rep(ns);
    const before = r.vector;
    const applied = r.applyPage(page, physicalMs);
    for (const rec of page.records) if (rec.seq > before.get(rec.origin)) this.appliedLog.push({ ns, origin: rec.origin, seq: rec.seq });
    if (applied > 0) {
      this.view++;
      for (const l of this.listeners) l(ns);
    }
    return { status: 'applied', applied, vector: r.vector };
  }
  /** Lets held applies finish. */
  release(): void {
    this.hold = false;
    for (const f of this.held.splice(0)) f();
  }
  get heldCount(): number {
    return this.held.length;
  }
  onChange(listener: (ns: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  admit(_peer: PeerHello): Promise<Admission> {
    return Promise.resolve(this.admission ?? {});
  }
  peerVector(peerReplicaId: string, ns: string, vector: VersionVector): void {
    this.peerVectors.set(`${peerReplicaId}/${ns}`, vector);
  }
  async resetForResync(ns: string): Promise<void> {
    this.resets.push(ns);
    const kind = this.rep(ns).kind as CrdtKind;
    this.reps.set(ns, createReplica(kind, this.replicaId, this.clock));
  }
}
