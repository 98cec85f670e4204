// The deterministic sync simulator (issue 12): one region replica and 2..6 edges, each a
// replica of every CRDT type, with optional edge↔edge links. Every choice comes from one
// seed. A safety phase of random writes, delivery / delay / drop / duplication / reordering,
// partitions, crashes that lose unpersisted state, clock skew inside and outside the bound
// and GC rounds, with invariants checked after every step; then a liveness phase (faults
// off) after which every replica must hold the same state, equal to the reference computed
// from the operations alone (model.ts), with every device's events complete.

import {
  CRDT_KINDS, ClockSkewError, DeltaGapError, SiblingCapError, causalStability, counterAdd, eventAppend,
  lwwPut, mvPut, renderCanonical, setAdd, setRemove, utf8,
  type CrdtKind, type CrdtRecord, type DeltaPage, type MvStore, type SetStore,
  type UnsafeCrdtSwitches, type VersionVector,
} from '../../../server/crdt/index.js';
import { SeededRandom } from '../../../server/util/random.js';
import { Violation, checkDroppedStable, checkFinal, checkLwwWinners, dotId, type Device } from './checks.js';
import type { CreatedOp } from './model.js';
import { SIM_MAX_SKEW_MS, SimReplica } from './node.js';

export const SIM_T0_MS = 1_765_000_000_000;
/** Events kept for a failure report. */
export const EVENTS_KEPT = 30;
/** Sync rounds of the liveness phase before "no convergence" is declared. */
export const LIVENESS_ROUNDS_MAX = 20;
const CLOCK_GRANULARITY_MS = 100;
/** Time a step takes at most (ms): a clock tick every few dozen steps. */
const STEP_MS_MAX = 8;
/** Messages one delivery step hands over at most (the network keeps up with the sends). */
const DELIVER_BURST_MAX = 10;
// Map keys are bytes (etcd keys): one hot key is not UTF-8 ('k' 0xff), one is multi-byte UTF-8.
const KEYS = [utf8('k0'), Uint8Array.of(0x6b, 0xff), utf8('k2'), utf8('ké')];
const LWW_HOT_KEYS = 2;
// Values are bytes: one element is not UTF-8 (0xc3 0x28), so it renders as base64 in
// canonical JSON and must still be equal by content across replicas.
const ELEMS = [utf8('e0'), utf8('e1'), Uint8Array.of(0xc3, 0x28)];
/** Every fifth step writes a value that is not UTF-8 (by step number: no extra random draw). */
const BINARY_VALUE_EVERY = 5;

function simValue(step: number): Uint8Array {
  if (step % BINARY_VALUE_EVERY !== 0) return utf8(`v${step}`);
  return Uint8Array.of(0xff, 0x00, step & 0xff, (step >>> 8) & 0xff, (step >>> 16) & 0xff);
}

function eventPayload(device: string, seq: number): Uint8Array {
  const text = utf8(`${device}#${seq}`);
  if (seq % BINARY_VALUE_EVERY !== 0) return text;
  const out = new Uint8Array(text.length + 1);
  out.set(text);
  out[text.length] = 0xfe; // never valid UTF-8
  return out;
}

export interface SyncSimOptions {
  seed: number;
  steps: number;
  unsafe?: UnsafeCrdtSwitches;
  onEvent?: (line: string) => void;
}

export interface SyncViolation {
  invariant: string;
  detail: string;
  phase: 'safety' | 'liveness';
  step: number;
}

export interface SyncSimResult {
  seed: number;
  ok: boolean;
  edges: number;
  edgeLinks: number;
  steps: number;
  violation?: SyncViolation;
  events: string[];
  stats: Record<string, number>;
}

type Msg =
  | { t: 'delta'; from: string; to: string; kind: CrdtKind; page: DeltaPage }
  | { t: 'ack'; from: string; to: string; kind: CrdtKind; vector: VersionVector };

const pairKey = (a: string, b: string): string => (a < b ? `${a}|${b}` : `${b}|${a}`);

export function runSyncSimulation(o: SyncSimOptions): SyncSimResult {
  const sim = new SyncSim(o);
  return sim.run();
}

class SyncSim {
  private readonly rng: SeededRandom;
  private readonly replicas = new Map<string, SimReplica>();
  private readonly ids: string[];
  private readonly links: Array<[string, string]> = [];
  private readonly cut = new Set<string>();
  private inflight: Msg[] = [];
  private now = SIM_T0_MS;
  private step = 0;
  private phase: 'safety' | 'liveness' = 'safety';
  private readonly created = new Map<string, CreatedOp>();
  private readonly ops = new Map<CrdtKind, CreatedOp[]>(CRDT_KINDS.map((k) => [k, []]));
  private readonly maxSeq = new Map<string, number>();
  private readonly devices: Device[] = [];
  private readonly events: string[] = [];
  private readonly stats: Record<string, number> = {
    writes: 0, pages: 0, gapRefused: 0, skewRefused: 0, dropped: 0, duplicated: 0, crashes: 0, gcRounds: 0, capRefused: 0,
  };
  private readonly edgeCount: number;

  constructor(private readonly o: SyncSimOptions) {
    this.rng = new SeededRandom(o.seed);
    this.edgeCount = this.rng.int(2, 7);
    this.ids = ['region', ...Array.from({ length: this.edgeCount }, (_, i) => `edge${i + 1}`)];
    for (const id of this.ids) this.replicas.set(id, new SimReplica(id, o.unsafe ?? {}));
    for (const e of this.ids.slice(1)) {
      this.links.push(['region', e]);
      this.devices.push({ id: `dev-${e}`, edge: e, next: 1, pending: [], payloads: new Map() });
    }
    for (let i = 1; i < this.ids.length; i++) {
      for (let j = i + 1; j < this.ids.length; j++) if (this.rng.chance(0.25)) this.links.push([this.ids[i]!, this.ids[j]!]);
    }
  }

  run(): SyncSimResult {
    const result = (violation?: SyncViolation): SyncSimResult => ({
      seed: this.o.seed, ok: violation === undefined, edges: this.edgeCount, edgeLinks: this.links.length - this.edgeCount,
      steps: Math.min(this.step, this.o.steps), events: this.events.slice(-EVENTS_KEPT), stats: this.stats, ...(violation ? { violation } : {}),
    });
    try {
      for (this.step = 1; this.step <= this.o.steps; this.step++) this.safetyStep();
      this.phase = 'liveness';
      this.liveness();
    } catch (err) {
      if (!(err instanceof Violation)) {
        const e = err as Error;
        return result({ invariant: 'crash of the simulator or the core', detail: `${e.name}: ${e.message}\n${e.stack ?? ''}`, phase: this.phase, step: this.step });
      }
      return result({ invariant: err.invariant, detail: err.detail, phase: this.phase, step: this.step });
    }
    return result();
  }

  private log(line: string): void {
    const l = `#${this.step} ${line}`;
    this.events.push(l);
    if (this.events.length > EVENTS_KEPT * 4) this.events.splice(0, this.events.length - EVENTS_KEPT);
    this.o.onEvent?.(l);
  }

  private r(id: string): SimReplica {
    return this.replicas.get(id)!;
  }

  /** Replica clocks tick in CLOCK_GRANULARITY_MS steps, as coarse device clocks do (and HLC ties happen). */
  private physical(rep: SimReplica): number {
    const t = this.now + rep.skewMs;
    return t - (t % CLOCK_GRANULARITY_MS);
  }

  private up(): SimReplica[] {
    return [...this.replicas.values()].filter((r) => r.up);
  }

  private safetyStep(): void {
    this.now += this.rng.int(0, STEP_MS_MAX + 1);
    const x = this.rng.int(0, 100);
    if (x < 28) this.write();
    else if (x < 48) this.send();
    else if (x < 73) for (let n = this.rng.int(1, DELIVER_BURST_MAX + 1); n > 0; n--) this.deliver();
    else if (x < 79) this.persist(this.rng.pick(this.up().length > 0 ? this.up() : [...this.replicas.values()]));
    // The region hears every edge first, so half the GC rounds are its own.
    else if (x < 85) this.gc(this.rng.chance(0.5) ? this.r('region') : this.rng.pick([...this.replicas.values()]));
    else if (x < 87) this.crash();
    else if (x < 91) this.restart();
    else if (x < 93) this.partition();
    else if (x < 96) this.heal();
    else if (x < 98) this.skew();
    else this.now += this.rng.int(0, 50);
  }

  // ---- writes ---------------------------------------------------------------------------

  private write(): void {
    const live = this.up();
    if (live.length === 0) return;
    const rep = this.rng.pick(live);
    let kind = this.rng.pick(CRDT_KINDS);
    if (kind === 'events' && rep.id === 'region') kind = 'counter';
    const ns = rep.rep(kind);
    const t = this.physical(rep);
    const key = this.rng.pick(KEYS);
    let rec: CrdtRecord | undefined;
    let observed: CreatedOp['observed'];
    switch (kind) {
      case 'lww':
        // Two hot keys: concurrent writes (and HLC ties between replicas) meet on them.
        rec = lwwPut(ns, KEYS[this.rng.int(0, LWW_HOT_KEYS)]!, this.rng.chance(0.2) ? null : simValue(this.step), t);
        break;
      case 'mv': {
        const { token } = (ns.store as MvStore).read(key);
        try {
          rec = mvPut(ns, key, simValue(this.step), this.rng.chance(0.7) ? token : {}, t);
        } catch (err) {
          if (!(err instanceof SiblingCapError)) throw err;
          this.stats.capRefused!++;
        }
        break;
      }
      case 'counter':
        rec = counterAdd(ns, key, this.rng.int(-3, 6), t);
        break;
      case 'set': {
        const elem = this.rng.pick(ELEMS);
        if (this.rng.chance(0.4)) {
          observed = (ns.store as SetStore).observed(key, elem);
          rec = setRemove(ns, key, elem, t);
        } else rec = setAdd(ns, key, elem, t);
        break;
      }
      case 'events':
        rec = this.appendEvent(rep, t);
        break;
    }
    if (rec === undefined) return;
    this.noteCreated(kind, rec, observed);
    rep.persist(kind); // acknowledged only once durable
    this.log(`write ${rep.id} ${kind} ${rec.origin}:${rec.seq} hlc ${rec.hlc.wall - SIM_T0_MS}.${rec.hlc.logical}`);
  }

  private appendEvent(rep: SimReplica, t: number, fill?: number): CrdtRecord | undefined {
    const dev = this.devices.find((d) => d.edge === rep.id)!;
    let seq: number;
    if (fill !== undefined) seq = fill;
    else if (dev.pending.length > 0 && this.rng.chance(0.3)) seq = dev.pending.shift()!;
    else {
      if (this.rng.chance(0.15)) dev.pending.push(dev.next++); // this one comes late: a gap
      seq = dev.next++;
    }
    let ev = dev.payloads.get(seq);
    if (ev === undefined) dev.payloads.set(seq, (ev = { ts: t, payload: eventPayload(dev.id, seq) }));
    return eventAppend(rep.rep('events'), { deviceId: dev.id, deviceSeq: seq, ts: ev.ts, type: 'reading', payload: ev.payload }, t);
  }

  private noteCreated(kind: CrdtKind, rec: CrdtRecord, observed: CreatedOp['observed']): void {
    const id = dotId(kind, rec);
    if (this.created.has(id)) throw new Violation('no dot reused', `${id} was written twice`);
    const op: CreatedOp = observed === undefined ? { record: rec } : { record: rec, observed };
    this.created.set(id, op);
    this.ops.get(kind)!.push(op);
    const mk = `${kind}/${rec.origin}`;
    this.maxSeq.set(mk, Math.max(this.maxSeq.get(mk) ?? 0, rec.seq));
    this.stats.writes!++;
  }

  // ---- network --------------------------------------------------------------------------

  private connected(a: string, b: string): boolean {
    return !this.cut.has(pairKey(a, b));
  }

  private send(): void {
    const [a, b] = this.rng.chance(0.5) ? this.rng.pick(this.links) : [...this.rng.pick(this.links)].reverse() as [string, string];
    const from = this.r(a);
    if (!from.up) return;
    // One session round covers every namespace; the peer's vector is the one its HELLO
    // carried (here: its current one).
    const budget = this.rng.int(40, 1500);
    for (const kind of CRDT_KINDS) {
      const pages = from.rep(kind).extract(this.r(b).rep(kind).vector, budget);
      for (const page of pages) this.inflight.push({ t: 'delta', from: a, to: b, kind, page });
      if (pages.length > 0) this.log(`send ${a}->${b} ${kind} ${pages.length} page(s), ${pages.reduce((n, p) => n + p.records.length, 0)} records`);
    }
  }

  private deliver(): void {
    if (this.inflight.length === 0) return;
    // Reordering: any of the oldest few messages may go first.
    const i = this.rng.int(0, Math.min(this.inflight.length, 6));
    const m = this.inflight[i]!;
    if (this.rng.chance(0.06)) this.stats.duplicated!++;
    else this.inflight.splice(i, 1);
    const to = this.r(m.to);
    if (this.rng.chance(0.06) || !to.up || !this.connected(m.from, m.to)) {
      this.stats.dropped!++;
      return;
    }
    if (m.t === 'ack') this.receiveAck(to, m);
    else this.applyDelta(to, m.kind, m.page, m.from);
  }

  private receiveAck(to: SimReplica, m: Extract<Msg, { t: 'ack' }>): void {
    let perKind = to.acks.get(m.from);
    if (perKind === undefined) to.acks.set(m.from, (perKind = new Map()));
    const prev = perKind.get(m.kind);
    if (prev === undefined || m.vector.dominates(prev)) perKind.set(m.kind, m.vector);
  }

  /** Applies a page, checking it carries only records some replica wrote, unaltered. */
  private applyDelta(to: SimReplica, kind: CrdtKind, page: DeltaPage, from: string): boolean {
    for (const rec of page.records) {
      if (this.created.get(dotId(kind, rec))?.record !== rec) {
        throw new Violation('state is a join of written deltas', `${from} sent ${dotId(kind, rec)}, which no replica wrote in that form`);
      }
    }
    for (const g of page.ranges) {
      if (g.to > (this.maxSeq.get(`${kind}/${g.origin}`) ?? 0)) {
        throw new Violation('vectors cover only written dots', `${from} sent ${kind} range ${g.origin} ${g.from}..${g.to}, beyond the last write`);
      }
    }
    const ns = to.rep(kind);
    const before = ns.vector;
    try {
      ns.applyPage(page, this.physical(to));
    } catch (err) {
      if (err instanceof DeltaGapError) this.stats.gapRefused!++;
      else if (err instanceof ClockSkewError) this.stats.skewRefused!++;
      else throw err;
      if (this.phase === 'liveness') throw new Violation('liveness: a page was refused', (err as Error).message);
      return false;
    }
    if (!ns.vector.dominates(before)) throw new Violation('vectors never decrease', `${to.id} ${kind}: ${JSON.stringify(before)} -> ${JSON.stringify(ns.vector)}`);
    if (kind === 'lww') checkLwwWinners(to);
    this.stats.pages!++;
    return true;
  }

  // ---- durability, GC, faults -----------------------------------------------------------

  private persist(rep: SimReplica): void {
    if (!rep.up) return;
    rep.persistAll();
    for (const kind of CRDT_KINDS) {
      const v = rep.durableVector(kind);
      const prev = rep.lastDurable.get(kind);
      if (prev !== undefined && !v.dominates(prev)) throw new Violation('vectors never decrease', `${rep.id} durable ${kind}: ${JSON.stringify(prev)} -> ${JSON.stringify(v)}`);
      rep.lastDurable.set(kind, v);
      // The ack carries the durable vector; every replica hears it (relayed in a star).
      for (const other of this.ids) if (other !== rep.id) this.inflight.push({ t: 'ack', from: rep.id, to: other, kind, vector: v.clone() });
    }
  }

  private gc(rep: SimReplica): void {
    if (!rep.up) return;
    for (const kind of CRDT_KINDS) {
      const acks = [rep.durableVector(kind)];
      for (const other of this.ids) {
        if (other === rep.id) continue;
        const a = rep.acks.get(other)?.get(kind);
        if (a === undefined) return; // not every replica has acknowledged yet
        acks.push(a);
      }
      const ns = rep.rep(kind);
      const before = renderCanonical(ns.store);
      const liveBefore = ns.liveRecords();
      ns.gc(causalStability(acks, rep.unsafe));
      if (renderCanonical(ns.store) !== before) throw new Violation('GC never changes the visible state', `${rep.id} ${kind}`);
      checkDroppedStable(rep, kind, liveBefore, ns.liveRecords(), [...this.replicas.values()]);
    }
    this.stats.gcRounds!++;
    this.log(`gc ${rep.id}`);
  }

  private crash(): void {
    const live = this.up();
    if (live.length === 0) return;
    const rep = this.rng.pick(live);
    rep.crash();
    this.stats.crashes!++;
    this.log(`crash ${rep.id}`);
  }

  private restart(): void {
    const down = [...this.replicas.values()].filter((r) => !r.up);
    if (down.length === 0) return;
    const rep = this.rng.pick(down);
    rep.restart();
    this.log(`restart ${rep.id}`);
  }

  private partition(): void {
    if (this.rng.chance(0.5)) {
      const [a, b] = this.rng.pick(this.links);
      this.cut.add(pairKey(a, b));
      this.log(`partition ${a} | ${b}`);
    } else {
      const id = this.rng.pick(this.ids);
      for (const other of this.ids) if (other !== id) this.cut.add(pairKey(id, other));
      this.log(`isolate ${id}`);
    }
  }

  private heal(): void {
    this.cut.clear();
    this.log('heal');
  }

  private skew(): void {
    const rep = this.rng.pick([...this.replicas.values()]);
    const inside = this.rng.chance(0.6);
    rep.skewMs = inside
      // Whole seconds (clock ticks still line up), at most 4 s apart pairwise: inside the 5 s bound.
      ? this.rng.chance(0.5) ? 0 : 1000 * this.rng.int(-2, 3)
      : this.rng.int(1.2 * SIM_MAX_SKEW_MS, 3 * SIM_MAX_SKEW_MS);
    this.log(`skew ${rep.id} ${rep.skewMs} ms (${inside ? 'inside' : 'outside'} the bound)`);
  }

  // ---- liveness -------------------------------------------------------------------------

  private liveness(): void {
    this.cut.clear();
    this.inflight = [];
    for (const rep of this.replicas.values()) {
      rep.restart();
      rep.skewMs = 0;
    }
    // Clocks are fixed; time passes beyond what any skewed stamp was ahead.
    this.now += 4 * SIM_MAX_SKEW_MS;
    for (const dev of this.devices) {
      for (const seq of dev.pending.splice(0)) {
        const rec = this.appendEvent(this.r(dev.edge), this.now, seq);
        if (rec !== undefined) this.noteCreated('events', rec, undefined);
      }
      this.r(dev.edge).persist('events');
    }
    this.log('liveness: healed, all up, clocks fixed, late events sent');
    this.syncUntilQuiet();
    for (const rep of this.replicas.values()) this.persist(rep);
    for (const m of this.inflight) if (m.t === 'ack') this.receiveAck(this.r(m.to), m);
    this.inflight = [];
    for (const rep of this.replicas.values()) this.gc(rep);
    this.syncUntilQuiet();
    checkFinal([...this.replicas.values()], this.ops, this.devices);
  }

  private syncUntilQuiet(): void {
    for (let round = 1; round <= LIVENESS_ROUNDS_MAX; round++) {
      let changed = false;
      for (const [x, y] of this.links) {
        for (const [a, b] of [[x, y], [y, x]] as const) {
          for (const kind of CRDT_KINDS) {
            const to = this.r(b);
            const before = to.rep(kind).vector;
            for (const page of this.r(a).rep(kind).extract(before, this.rng.int(40, 1500))) this.applyDelta(to, kind, page, a);
            if (!to.rep(kind).vector.equals(before)) changed = true;
          }
        }
      }
      if (!changed) return;
    }
    throw new Violation('liveness: no convergence', `vectors still moving after ${LIVENESS_ROUNDS_MAX} rounds`);
  }
}
