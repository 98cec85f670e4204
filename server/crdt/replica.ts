// One replica of one namespace: its version vector, the index of held records by
// (origin, seq), its type's store, and the three ways state changes: a local write (which
// stamps a dot and an HLC and yields the delta record), a received page, a GC round.

import { assert, AssertionError } from '../util/assert.js';
import { VersionVector } from './dots.js';
import { DeltaGapError, MalformedDeltaError } from './errors.js';
import { DELTA_PAGE_BYTES_DEFAULT, type DeltaPage, type PageRange } from './delta.js';
import { compareHlc, type HybridClock } from './hlc.js';
import { recordSizeEstimate, type Body, type CrdtKind, type CrdtRecord } from './records.js';
import type { Stability, TypeStore } from './store.js';

export class CrdtReplica<S extends TypeStore = TypeStore> {
  /** Per origin, the seqs of records applied here (increasing); dominated ones are skipped lazily. */
  private index = new Map<string, number[]>();
  private readonly held = new VersionVector();

  constructor(
    readonly replicaId: string,
    readonly kind: CrdtKind,
    readonly store: S,
    readonly clock: HybridClock,
  ) {}

  get vector(): VersionVector {
    return this.held.clone();
  }

  /** Stamps a body with the next dot and an HLC, applies it and returns the delta record. */
  commit(body: Body, physicalMs: number): CrdtRecord {
    assert(body.kind === this.kind, () => `a ${body.kind} write on a ${this.kind} namespace`);
    const seq = this.held.get(this.replicaId) + 1;
    const r = { ...body, origin: this.replicaId, seq, hlc: this.clock.now(physicalMs) } as CrdtRecord;
    this.applyOne(r);
    return r;
  }

  private applyOne(r: CrdtRecord): void {
    // Invariant: a record is applied once (the callers check the vector first).
    if (r.seq <= this.held.get(r.origin)) throw new AssertionError(`record ${r.origin}:${r.seq} is already held`);
    (this.store as TypeStore).apply(r, this.held);
    let seqs = this.index.get(r.origin);
    if (seqs === undefined) this.index.set(r.origin, (seqs = []));
    seqs.push(r.seq);
    this.held.advance(r.origin, r.seq);
  }

  /**
   * The records `peer` lacks, as pages of at most `budgetBytes` each (a single record larger
   * than the budget gets a page of its own), per origin in seq order.
   */
  extract(peer: VersionVector, budgetBytes = DELTA_PAGE_BYTES_DEFAULT): DeltaPage[] {
    const pages: DeltaPage[] = [];
    let ranges: PageRange[] = [];
    let records: CrdtRecord[] = [];
    let bytes = 0;
    const flush = (): void => {
      if (ranges.length === 0) return;
      if (this.store.unsafe.extractSkipsPageTail && records.length > 0) records.pop();
      pages.push({ ranges, records });
      ranges = [];
      records = [];
      bytes = 0;
    };
    for (const range of this.held.lacks(peer)) {
      const seqs = this.index.get(range.origin) ?? [];
      let from = range.from;
      for (let i = firstAbove(seqs, range.from - 1); i < seqs.length; i++) {
        const r = this.store.live(range.origin, seqs[i]!);
        if (r === undefined) continue;
        const size = recordSizeEstimate(r);
        if (bytes + size > budgetBytes && bytes > 0) {
          ranges.push({ origin: range.origin, from, to: r.seq - 1 });
          flush();
          from = r.seq;
        }
        records.push(r);
        bytes += size;
      }
      ranges.push({ origin: range.origin, from, to: range.to });
    }
    flush();
    return pages;
  }

  /**
   * Applies a page atomically: every range must start inside what this replica holds (else
   * DeltaGapError, "resend from"), every HLC inside the skew bound (else ClockSkewError);
   * nothing is applied when either is refused. Records already held are ignored.
   */
  applyPage(page: DeltaPage, physicalMs: number): number {
    checkWellFormed(page);
    for (const g of page.ranges) {
      if (g.from > this.held.get(g.origin) + 1) throw new DeltaGapError(g.origin, g.from, this.held.get(g.origin));
    }
    let latest: CrdtRecord | undefined;
    for (const r of page.records) {
      this.clock.check(r.hlc, physicalMs, r.origin);
      if (latest === undefined || compareHlc(r.hlc, latest.hlc) > 0) latest = r;
    }
    let applied = 0;
    for (const r of page.records) {
      if (r.seq <= this.held.get(r.origin)) continue;
      this.applyOne(r);
      applied++;
    }
    // One merge per page with its latest stamp: later local writes order after all of it.
    if (latest !== undefined) this.clock.update(latest.hlc, physicalMs, latest.origin);
    for (const g of page.ranges) this.held.advance(g.origin, g.to);
    return applied;
  }

  /** Collects what causal stability allows and forgets index entries of dropped records. */
  gc(s: Stability): void {
    this.store.gc(s, this.held);
    const next = new Map<string, number[]>();
    for (const [o, seqs] of this.index) {
      next.set(o, seqs.filter((seq) => this.store.live(o, seq) !== undefined));
    }
    this.index = next;
  }

  /** Every record a peer with an empty vector would get (for tests and snapshots). */
  liveRecords(): CrdtRecord[] {
    return this.extract(new VersionVector(), Number.MAX_SAFE_INTEGER).flatMap((p) => p.records);
  }

  clone(clock: HybridClock): CrdtReplica<S> {
    const c = new CrdtReplica(this.replicaId, this.kind, this.store.clone() as S, clock);
    for (const [o, seqs] of this.index) c.index.set(o, [...seqs]);
    c.held.join(this.held);
    return c;
  }
}

/** Ranges name each origin once with from <= to; records lie inside their origin's range, in seq order. */
function checkWellFormed(page: DeltaPage): void {
  const ranges = new Map<string, PageRange>();
  for (const g of page.ranges) {
    if (ranges.has(g.origin)) throw new MalformedDeltaError(`origin ${g.origin} has two ranges`);
    if (!(Number.isSafeInteger(g.from) && Number.isSafeInteger(g.to) && g.from >= 1 && g.to >= g.from - 1)) {
      throw new MalformedDeltaError(`origin ${g.origin} has the range ${g.from}..${g.to}`);
    }
    ranges.set(g.origin, g);
  }
  const last = new Map<string, number>();
  for (const r of page.records) {
    const g = ranges.get(r.origin);
    if (g === undefined || r.seq < g.from || r.seq > g.to) throw new MalformedDeltaError(`record ${r.origin}:${r.seq} is outside the page's ranges`);
    if (r.seq <= (last.get(r.origin) ?? 0)) throw new MalformedDeltaError(`record ${r.origin}:${r.seq} is out of seq order`);
    last.set(r.origin, r.seq);
  }
}

/** Index of the first element of an increasing array greater than `seq`. */
function firstAbove(seqs: readonly number[], seq: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]! <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
