// The edge's side of a sync session (server/sync's ReplicaSide) over the edge store: vectors
// and extraction from the local eventual store (one view: the vector and the index scans
// opened in one turn), received pages applied as eventual `page` entries through the same
// group-committed apply as local writes (durable before the ACK), and a change signal for
// local writes and applied pages so live pushes follow.
//
// Early upload: a batch of local writes is pushed to the region as soon as its engine write is
// issued (mvcc ExternalApplier.writing), while its fsync runs, not after: the live path pays
// the edge's fsync and the region's Raft round side by side instead of one after the other.
// The client's answer still waits for the fsync (EdgeStore.submit resolves after the synced
// write): a local write is durable before it is acknowledged. Why nothing acknowledged can be
// lost and no dot reused, in any order of crash, fsync and upload — resting on ONE rule, "a
// start not preceded by a clean stop takes a new incarnation" (server/edge/startup-check.ts,
// marker.ts), plus a stop after a failed local write not counting as clean (edge-node.ts):
//  - acknowledged writes are durable locally before the answer, exactly as without the early
//    upload; the upload only adds a copy in the region, it never replaces the local one;
//  - a write pushed and then lost locally (crash before its fsync, or a failed fsync) was never
//    acknowledged, so losing it locally breaks no promise; the region may keep it (an
//    unacknowledged write may or may not take effect, as with any lost answer);
//  - its dot (origin, seq) is never reused for another write: losing it locally needs a crash
//    (an unclean start: new incarnation, a new origin, before any local write is accepted) or
//    a failed engine write (the mvcc store refuses every later apply in this process, and the
//    stop that follows is not clean); either way the next write is under a new origin, and the
//    old origin's records the region holds come back down as a foreign origin like any other.
// The region's own check (it holds more of our origin than our HELLO says: new incarnation)
// stays as a second line; vectors() counts the records being written, so a session that
// reconnects while an fsync is in flight does not trip it for nothing.

import {
  HybridClock, VersionVector, recordSizeEstimate,
  type CrdtRecord, type DeltaPage, type Hlc,
} from '../crdt/index.js';
import { BinReader } from '../mvcc/index.js';
import { resyncCommand } from './resync-command.js';
import { EvError, decodeAnswer, encodeBody } from '../eventual/entry.js';
import { openExtraction } from '../eventual/extract.js';
import type { ApplyResult, ExtractedPage, ReplicaSide, SyncClock, SyncNamespace } from '../sync/index.js';
import { eventualCommand, type EdgeStore } from './store.js';
import { unsafeEdge } from '../util/unsafe-edge.js';
import { tracePoint, tracing } from '../util/trace-points.js';

/** Test-only tooth (server/util/unsafe-edge.ts): the last page of each upload loses its records. */
const unsafeDropLastPage = unsafeEdge('drop-last-page');

/**
 * Upload own writes while their fsync runs (the top of this file). Safe only with the rule "a
 * start not preceded by a clean stop takes a new incarnation" (server/edge/startup-check.ts):
 * without it, a crash between an early upload and its fsync lets the restarted edge reuse
 * the uploaded dots for other writes (a HELLO cannot tell: the upload may still be in the
 * region's Raft log, not yet applied).
 */
export const EDGE_EARLY_UPLOAD = true;

/** The skew bound of session messages when no namespace names one (DESIGN §6). */
export const EDGE_SESSION_MAX_SKEW_MS_DEFAULT = 60_000;
/**
 * Own records kept in memory per namespace for live pushes (a peer a few writes behind gets
 * them without an engine read); a peer further behind is served from the engine as before.
 */
export const EDGE_LIVE_RECORDS_MAX = 512;
/**
 * ... and at most about this many bytes of them (recordSizeEstimate): a push larger than the
 * page budget (64 KiB by default) is extracted from the engine anyway, and an edge writing
 * 1 MiB values offline must not hold hundreds of them.
 */
export const EDGE_LIVE_RECORDS_BYTES_MAX = 256 * 1024;

/** The CRDT types whose own records dominate one another simply: the later write of a key wins
 *  (lww, counter) or none dominates (events); mv and set pushes read the engine. */
const LIVE_KINDS: ReadonlySet<string> = new Set(['lww', 'counter', 'events']);

/** This replica's latest own records of a namespace, contiguous seqs, as its writes merged them. */
interface LiveRecords {
  readonly origin: string;
  records: CrdtRecord[];
  /** recordSizeEstimate of `records`, summed. */
  bytes: number;
}

export class EdgeReplica implements ReplicaSide {
  private readonly listeners = new Set<(ns: string) => void>();
  private hybrid: HybridClock;
  readonly clock: SyncClock;
  /** The edge group (`--group`) this edge's HELLO carries: the region's metrics label it by. */
  group = 'default';

  /** Per namespace, the own records of the writes since anything else last changed it. */
  private readonly live = new Map<string, LiveRecords>();
  /** Pages a live push built from memory, and from the engine (the tests' and benches' view). */
  readonly pushes = { fromMemory: 0, fromEngine: 0 };

  constructor(
    private readonly store: EdgeStore,
    readonly deviceId: string,
    private incarnationNow: number,
    private readonly held: ReadonlySet<string> | undefined,
  ) {
    store.localRecords = (ns, records) => this.noteLocalRecords(ns, records);
    this.hybrid = this.freshClock();
    const maxSkewMs = (): number => this.maxSkewMs();
    this.clock = {
      get maxSkewMs() {
        return maxSkewMs();
      },
      maxSkewMsOf: (ns: string): number => this.store.registry.get(ns)?.maxClockSkewMs ?? maxSkewMs(),
      now: (physicalMs: number): Hlc => this.hybrid.now(physicalMs),
      update: (remote: Hlc, physicalMs: number, origin: string): Hlc => this.hybrid.update(remote, physicalMs, origin),
    };
  }

  private freshClock(): HybridClock {
    const c = new HybridClock(this.store.origin, Number.MAX_SAFE_INTEGER);
    c.restore(this.store.eventual.lastHlc);
    return c;
  }

  /**
   * The bound for merging a peer's message stamps into this edge's one HLC: the tightest of its
   * namespaces, since the HLC stamps local writes in every namespace. Pages are checked per
   * namespace (maxSkewMsOf).
   */
  private maxSkewMs(): number {
    const skews = this.namespaceDefs().map((d) => d.maxClockSkewMs);
    return skews.length === 0 ? EDGE_SESSION_MAX_SKEW_MS_DEFAULT : Math.min(...skews);
  }

  get replicaId(): string {
    return this.store.origin;
  }

  get incarnation(): number {
    return this.incarnationNow;
  }

  /** After an incarnation bump (the store already switched its origin). */
  setIncarnation(incarnation: number): void {
    this.incarnationNow = incarnation;
    this.hybrid = this.freshClock();
  }

  private namespaceDefs() {
    return this.store.registry.list().filter((d) => d.level === 'eventual' && (this.held === undefined || this.held.has(d.name)));
  }

  namespaces(): readonly SyncNamespace[] {
    return this.namespaceDefs().map((d) => ({ name: d.name, kind: d.crdtType as SyncNamespace['kind'] }));
  }

  registryRevision(): number {
    return 0;
  }

  async vectors(namespaces: readonly string[]): Promise<Map<string, VersionVector>> {
    const out = new Map<string, VersionVector>();
    for (const ns of namespaces) {
      const v = VersionVector.from(this.store.eventual.vector(ns).map((e) => [e.origin, e.seq] as const));
      // Own records being written (pushed already, maybe): held here, in memory until the fsync.
      const buf = EDGE_EARLY_UPLOAD ? this.live.get(ns) : undefined;
      if (buf !== undefined && buf.origin === this.store.origin) v.advance(buf.origin, buf.records[buf.records.length - 1]!.seq);
      // Resyncing: our own writes up to y are ours (kept aside or being downloaded again); saying
      // less would read as lost data to the region's incarnation check.
      const mark = this.store.eventual.resyncMark(ns);
      if (mark !== undefined) v.advance(this.store.origin, mark.y);
      out.set(ns, v);
    }
    return out;
  }

  // ---- resync from a snapshot (server/eventual/resync.ts)

  /** Namespaces reset for a resync since start (the edge's regionstore_sync_resyncs_total). */
  resyncs = 0;

  resyncing(): readonly string[] {
    return this.store.eventual.resyncing();
  }

  async resetForResync(ns: string, peer: VersionVector): Promise<void> {
    const res = await this.store.external(resyncCommand('reset', ns, peer.get(this.store.origin)), undefined, true);
    const n = new BinReader(res.body).uint();
    if (n === 0) return; // resyncing already: the download goes on
    this.resyncs++;
    this.onResync?.(ns, n - 1);
  }

  /** Called with the namespace and the local writes kept, once a reset is written. */
  onResync: ((ns: string, kept: number) => void) | undefined;

  /** The region's catch-up of `ns` is applied: a resync in progress merges the kept writes back and uploads them. */
  async caughtUp(ns: string): Promise<number> {
    if (this.store.eventual.resyncMark(ns) === undefined) return 0;
    const res = await this.store.external(resyncCommand('restore', ns), undefined, true);
    const n = new BinReader(res.body).uint();
    this.changed(ns);
    return Math.max(0, n - 1);
  }

  /** `origin` is this device's: `edge:<device>:<n>` with n at most the current incarnation. */
  private ownOrigin(origin: string): boolean {
    if (origin === this.store.origin) return true;
    const prefix = `edge:${this.deviceId}:`;
    if (!origin.startsWith(prefix)) return false;
    const n = origin.slice(prefix.length);
    return /^\d+$/.test(n) && Number(n) < this.incarnationNow;
  }

  async *extract(ns: string, peer: VersionVector, budgetBytes: number): AsyncIterable<ExtractedPage> {
    // The vector and the index scans in one synchronous turn: one view (extract.ts).
    // Only this device's own origins (this incarnation and earlier ones): the region takes no
    // relayed records (forged-origin). A region origin can look lacking for a moment after a
    // leader change (the new leader's HELLO vector is its applied state, behind what the old
    // leader sent us); it is the region's to deliver, never ours to upload.
    const vector = new Map(this.store.eventual.vector(ns).filter((e) => this.ownOrigin(e.origin)).map((e) => [e.origin, e.seq] as const));
    const viewIndex = this.store.mvcc.currentRevision;
    const fromMemory = this.livePage(ns, vector, peer, budgetBytes);
    if (fromMemory !== undefined) {
      this.pushes.fromMemory++;
      yield { page: fromMemory, viewIndex, last: true };
      return;
    }
    this.pushes.fromEngine++;
    const view = openExtraction(this.store.engine, ns, vector, new Map(peer.entries()), budgetBytes);
    if (unsafeDropLastPage) return yield* withoutLastRecords(view.pages(), viewIndex);
    for await (const { page, last } of view.marked()) yield { page, viewIndex, last };
  }

  /**
   * A batch's own records of `ns`, as its engine write is issued (not durable yet: see the top
   * of this file); undefined: `ns` changed otherwise: forget them. Sessions push them now.
   */
  private noteLocalRecords(ns: string, records: readonly CrdtRecord[] | undefined): void {
    if (records === undefined) {
      this.live.delete(ns);
      return;
    }
    const first = records[0];
    if (first === undefined) return; // nothing merged (duplicate events): nothing changed
    let kept = this.live.get(ns);
    if (kept === undefined || kept.origin !== first.origin || kept.records[kept.records.length - 1]!.seq + 1 !== first.seq) {
      kept = { origin: first.origin, records: [], bytes: 0 };
      this.live.set(ns, kept);
    }
    for (const r of records) {
      kept.records.push(r);
      kept.bytes += recordSizeEstimate(r);
    }
    // The oldest go first (a peer that far behind reads the engine).
    let drop = 0;
    while (kept.records.length - drop > 1 && (kept.records.length - drop > EDGE_LIVE_RECORDS_MAX || kept.bytes > EDGE_LIVE_RECORDS_BYTES_MAX)) {
      kept.bytes -= recordSizeEstimate(kept.records[drop]!);
      drop++;
    }
    if (drop > 0) kept.records = kept.records.slice(drop);
    if (tracing) tracePoint('edge.writing', records[records.length - 1]!.seq);
    // The early upload (top of this file): off the mvcc apply's stack, before any I/O callback.
    if (EDGE_EARLY_UPLOAD) queueMicrotask(() => this.changed(ns));
  }

  /**
   * What a peer holding `peer` lacks of `ns`, from memory, when it is only this replica's own
   * latest writes and memory holds all of them (one page within the budget); else undefined
   * (the engine answers). The same page the engine would give: nothing but own writes changed
   * the namespace since they were merged, so a record is dominated only by a later own write
   * of its key (lww, counter), and only the last of each key is sent.
   */
  private livePage(ns: string, vector: ReadonlyMap<string, number>, peer: VersionVector, budgetBytes: number): DeltaPage | undefined {
    const buf = this.live.get(ns);
    const origin = this.store.origin;
    if (buf === undefined || buf.origin !== origin) return undefined;
    const kind = this.store.registry.get(ns)?.crdtType;
    if (kind === undefined || !LIVE_KINDS.has(kind)) return undefined;
    for (const [o, s] of vector) if (o !== origin && s > peer.get(o)) return undefined;
    const from = peer.get(origin) + 1;
    const recs = buf.records;
    // The published vector, or past it: records whose write is still syncing (early upload).
    const to = EDGE_EARLY_UPLOAD ? Math.max(vector.get(origin) ?? 0, recs[recs.length - 1]?.seq ?? 0) : vector.get(origin) ?? 0;
    if (from > to || recs.length === 0 || recs[0]!.seq > from || recs[recs.length - 1]!.seq !== to) return undefined;
    const wanted = recs.slice(recs.length - (to - from + 1));
    let records: CrdtRecord[] = wanted;
    if (kind !== 'events') {
      // The last write of each key is its live record; earlier ones are dominated.
      const last = new Map<string, number>();
      wanted.forEach((r, i) => {
        if (r.kind !== 'events') last.set(Buffer.from(r.key).toString('latin1'), i);
      });
      records = wanted.filter((r, i) => r.kind === 'events' || last.get(Buffer.from(r.key).toString('latin1')) === i);
    }
    let bytes = 0;
    for (const r of records) bytes += recordSizeEstimate(r);
    if (bytes > budgetBytes) return undefined;
    return { ranges: [{ origin, from, to }], records };
  }

  async applyPage(ns: string, page: DeltaPage, physicalMs: number): Promise<ApplyResult> {
    const body = encodeBody({ kind: 'page', namespace: ns, physicalMs, ranges: [...page.ranges], records: [...page.records] });
    let res: { revision: number; body: Uint8Array };
    try {
      res = await this.store.external(eventualCommand(body));
    } catch (e) {
      if (e instanceof EvError) return refusal(e);
      throw e;
    }
    const a = decodeAnswer(res.body);
    if (a.kind === 'error') {
      if (a.resendFrom !== undefined) return { status: 'resend', origin: a.resendFrom.origin, seq: a.resendFrom.seq };
      return refusal(new EvError(a.code, a.message));
    }
    if (a.kind !== 'page') throw new Error(`a page apply got a ${a.kind} answer`);
    // Merge the page's stamps into the session clock too (the store merged them into its own).
    this.hybrid.restore(maxHlc(this.hybrid.current, this.store.eventual.lastHlc));
    // Its ranges moved the vector even when no record merged (all held, or dominated at the
    // sender): other peers must hear of that too, or they keep a smaller vector.
    if (a.applied > 0 || page.ranges.length > 0) this.changed(ns);
    const vector = (await this.vectors([ns])).get(ns)!;
    return { status: 'applied', applied: a.applied, vector };
  }

  onChange(listener: (ns: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A local write or an applied page: live pushes follow. */
  changed(ns: string): void {
    for (const l of this.listeners) {
      try {
        l(ns);
      } catch {
        // a listener's failure is its own
      }
    }
  }
}

/** The tooth: pages as they come, the last one with its ranges but none of its records. */
async function* withoutLastRecords(pages: AsyncIterable<DeltaPage>, viewIndex: number): AsyncIterable<ExtractedPage> {
  let held: DeltaPage | undefined;
  for await (const page of pages) {
    if (held !== undefined) yield { page: held, viewIndex };
    held = page;
  }
  if (held !== undefined) yield { page: { ...held, records: [] }, viewIndex };
}

function maxHlc(a: Hlc, b: Hlc): Hlc {
  return a.wall > b.wall || (a.wall === b.wall && a.logical >= b.logical) ? a : b;
}

function refusal(e: EvError): ApplyResult {
  if (/ahead|skew/i.test(e.message) && e.code === 'failed-precondition') return { status: 'refused', code: 'clock-skew', message: e.message, fatal: false };
  if (e.code === 'not-found') return { status: 'refused', code: 'unknown-namespace', message: e.message, fatal: false };
  if (e.code === 'invalid-argument') return { status: 'refused', code: 'malformed', message: e.message, fatal: true };
  return { status: 'refused', code: 'internal', message: e.message, fatal: false };
}

