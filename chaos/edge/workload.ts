// The edge crdt workload (issue 15): writers on every edge and on the region at once, over
// five eventual namespaces, one per type: lww registers, mv registers written with the
// context of a read, counters, sets (a remove only of a member the writer's last read
// showed), and events per device (each writer owns its devices; an event that was not
// acknowledged is re-sent with the same device, seq and payload until it is, as a device
// keeps its events until they are taken). Every write and its outcome is a line of
// edge-history.jsonl; the checkers (checkers.ts) judge them against the final reads.

import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { crdtOp, RegionstoreError, type Client, type CrdtOp } from '../../client/index.js';
import type { SeededRandom } from '../../server/util/random.js';
import { errorText, untilDone } from '../workload/common.js';
import type { EdgeFleet, FleetEdge } from './fleet.js';

/** The namespaces (created in the region; every edge syncs all of them). */
export const EDGE_NS = {
  lww: { name: 'ec-lww', prefix: 'ec/lww/', crdtType: 'lww' },
  mv: { name: 'ec-mv', prefix: 'ec/mv/', crdtType: 'mv' },
  counter: { name: 'ec-counter', prefix: 'ec/counter/', crdtType: 'counter' },
  set: { name: 'ec-set', prefix: 'ec/set/', crdtType: 'set' },
  events: { name: 'ec-events', prefix: 'ec/events/', crdtType: 'events' },
} as const;
export const EDGE_NAMESPACE_NAMES = Object.values(EDGE_NS).map((n) => n.name);
/** max_clock_skew_ms of every namespace: the clock-skew nemesis sets offsets inside and outside it. */
export const SKEW_BOUND_MS = 3_000;
/** Short, so causal-stability GC happens within a run (an edge silent longer must resync). */
export const TOMBSTONE_TTL_S = 3_600;
export const LWW_KEYS = 3;
export const MV_KEYS = 2;
export const COUNTER_KEYS = 2;
export const SET_KEYS = 2;
export const SET_MEMBER_POOL = 6;
export const COUNTER_DELTA_MAX = 5;
/** Writers per edge and on the region. */
export const WRITERS_PER_EDGE = 2;
export const REGION_WRITERS = 2;
/** Each writer waits a random time in this range between two writes. */
export const PACE_MS_MIN = 20;
export const PACE_MS_MAX = 120;
/** Share of each kind. */
export const EDGE_OP_MIX: ReadonlyArray<readonly [EdgeOpKind, number]> = [
  ['lww-put', 0.15], ['mv-put', 0.1], ['counter-add', 0.2], ['set-add', 0.15], ['set-remove', 0.1], ['event-append', 0.3],
];
export const EVENT_TYPE = 'reading';

export type EdgeOpKind = 'lww-put' | 'mv-put' | 'counter-add' | 'set-add' | 'set-remove' | 'event-append';

export interface EdgeEvent {
  device: string;
  seq: number;
  payload: string;
  tsMs: number;
}

/** One write and its outcome (a line of edge-history.jsonl). */
export interface EdgeOp {
  /** 'region' or the edge's name. */
  replica: string;
  process: string;
  kind: EdgeOpKind;
  ns: string;
  key: string;
  value: string | null;
  delta: number | null;
  member: string | null;
  /** mv: the dots of the read whose context the put carried (origin:seq). */
  seen: string[] | null;
  event: EdgeEvent | null;
  /** ms since the run started. */
  callMs: number;
  returnMs: number;
  status: 'ok' | 'fail' | 'unknown';
  /** origin:seq of the write, when acknowledged. */
  dot: string | null;
  hlc: { wallMs: number; logical: number } | null;
  error: string | null;
  /** A re-send of an event that was not acknowledged before. */
  resend: boolean;
}

export interface EdgeWorkloadOptions {
  fleet: EdgeFleet;
  /** A client over every region member (leader-following). */
  region: Client;
  random: SeededRandom;
  nowMs: () => number;
  stopAtMs: number;
  historyFile: string;
  /** KPI mode: one event writer per edge at this many events/s, nothing else. */
  kpiRatePerEdge?: number;
}

/** The five namespaces in the region (before the edges start). */
export async function createEdgeNamespaces(region: Client): Promise<void> {
  for (const ns of Object.values(EDGE_NS)) {
    await untilDone(async () => {
      try {
        await region.namespaces.create({ ...ns, level: 'eventual', maxClockSkewMs: SKEW_BOUND_MS, tombstoneTtlS: TOMBSTONE_TTL_S });
      } catch (err) {
        if (!(err instanceof RegionstoreError && err.codeName === 'ALREADY_EXISTS')) throw err;
      }
    });
  }
}

/** A failed write: "fail" only when the client is sure it did not apply. */
function statusOf(err: unknown): 'fail' | 'unknown' {
  return err instanceof RegionstoreError && !err.maybeApplied ? 'fail' : 'unknown';
}

/** Waits while an action holds the edge (fleet.hold). */
async function passGate(edge: FleetEdge): Promise<void> {
  for (let g = edge.gate; g !== undefined; g = edge.gate) await g;
}

function pickKind(random: SeededRandom): EdgeOpKind {
  let x = random.next();
  for (const [kind, share] of EDGE_OP_MIX) {
    if (x < share) return kind;
    x -= share;
  }
  return 'event-append';
}

export class EdgeWorkload {
  readonly ops: EdgeOp[] = [];
  private readonly observed = new Map<string, Map<string, string[]>>();
  private uid = 0;

  constructor(private readonly o: EdgeWorkloadOptions) {}

  private record(op: EdgeOp): void {
    this.ops.push(op);
    appendFileSync(this.o.historyFile, `${JSON.stringify(op)}\n`);
  }

  private running(): boolean {
    return this.o.nowMs() < this.o.stopAtMs;
  }

  /** Runs `call` through the edge's gate (or on the region), recording the outcome. */
  private async write(
    edge: FleetEdge | undefined, base: Omit<EdgeOp, 'callMs' | 'returnMs' | 'status' | 'dot' | 'hlc' | 'error'>,
    call: (c: Client) => Promise<{ dot: { origin: string; seq: number } | undefined; hlc: { wallMs: number; logical: number } | undefined }>,
  ): Promise<EdgeOp> {
    if (edge !== undefined) await passGate(edge);
    if (edge !== undefined) edge.inflight++;
    const callMs = this.o.nowMs();
    let op: EdgeOp;
    try {
      const r = await call(edge === undefined ? this.o.region : edge.client);
      op = { ...base, callMs, returnMs: this.o.nowMs(), status: 'ok', dot: r.dot === undefined ? null : `${r.dot.origin}:${r.dot.seq}`, hlc: r.hlc ?? null, error: null };
    } catch (err) {
      op = { ...base, callMs, returnMs: this.o.nowMs(), status: statusOf(err), dot: null, hlc: null, error: errorText(err) };
    } finally {
      if (edge !== undefined) edge.inflight--;
    }
    this.record(op);
    return op;
  }

  private async writeOne(c: Client, ns: string, op: CrdtOp): Promise<{ dot: { origin: string; seq: number } | undefined; hlc: { wallMs: number; logical: number } | undefined }> {
    const r = await c.crdt.write(ns, [op]);
    return { dot: r.results[0]?.dot, hlc: r.results[0]?.hlc };
  }

  private async step(edge: FleetEdge | undefined, replica: string, process: string, random: SeededRandom, devices: Map<string, number>, pending: { e: EdgeOp | undefined }): Promise<void> {
    const base = { replica, process, key: '', value: null, delta: null, member: null, seen: null, event: null, resend: false };
    // An event not yet acknowledged goes again first, unchanged.
    const again = pending.e;
    if (again !== undefined) {
      const e = again.event!;
      const done = await this.write(edge, { ...base, kind: 'event-append', ns: EDGE_NS.events.name, event: e, resend: true },
        (c) => this.appendEvent(c, e));
      pending.e = done.status === 'ok' ? undefined : done;
      return;
    }
    const kind = pickKind(random);
    const uid = `${replica}.${process}.${++this.uid}`;
    switch (kind) {
      case 'lww-put': {
        const key = `${EDGE_NS.lww.prefix}k${random.int(0, LWW_KEYS)}`;
        await this.write(edge, { ...base, kind, ns: EDGE_NS.lww.name, key, value: uid }, (c) => this.writeOne(c, EDGE_NS.lww.name, crdtOp.lwwPut(key, uid)));
        return;
      }
      case 'mv-put': {
        const key = `${EDGE_NS.mv.prefix}k${random.int(0, MV_KEYS)}`;
        // Filled in by the read inside the call; the recorded op holds this same array.
        const seen: string[] = [];
        await this.write(edge, { ...base, kind, ns: EDGE_NS.mv.name, key, value: uid, seen }, async (c) => {
          const r = await c.crdt.mvGet(key, { serializable: true });
          seen.push(...r.dots.map((d) => `${d.origin}:${d.seq}`));
          return this.writeOne(c, EDGE_NS.mv.name, crdtOp.mvPut(key, uid, r.context === '' ? undefined : r.context));
        });
        return;
      }
      case 'counter-add': {
        const key = `${EDGE_NS.counter.prefix}k${random.int(0, COUNTER_KEYS)}`;
        const delta = random.int(1, COUNTER_DELTA_MAX + 1);
        await this.write(edge, { ...base, kind, ns: EDGE_NS.counter.name, key, delta }, (c) => this.writeOne(c, EDGE_NS.counter.name, crdtOp.counterAdd(key, delta)));
        return;
      }
      case 'set-add':
      case 'set-remove': {
        const key = `${EDGE_NS.set.prefix}k${random.int(0, SET_KEYS)}`;
        const mine = this.observed.get(process) ?? new Map<string, string[]>();
        this.observed.set(process, mine);
        const seenMembers = mine.get(key) ?? [];
        if (kind === 'set-remove' && seenMembers.length > 0) {
          const member = random.pick(seenMembers);
          mine.set(key, seenMembers.filter((m) => m !== member));
          await this.write(edge, { ...base, kind, ns: EDGE_NS.set.name, key, member }, (c) => this.writeOne(c, EDGE_NS.set.name, crdtOp.setRemove(key, member)));
          return;
        }
        if (kind === 'set-remove') {
          // Nothing observed yet: read the set (a read is not a write; not recorded).
          const c = edge === undefined ? this.o.region : edge.client;
          if (edge !== undefined) await passGate(edge);
          const r = await c.crdt.setMemberStrings(key, { serializable: true }).catch(() => undefined);
          if (r !== undefined) mine.set(key, r);
          return;
        }
        const member = `m${random.int(0, SET_MEMBER_POOL)}`;
        await this.write(edge, { ...base, kind, ns: EDGE_NS.set.name, key, member }, (c) => this.writeOne(c, EDGE_NS.set.name, crdtOp.setAdd(key, member)));
        return;
      }
      case 'event-append': {
        const device = `${replica}-${process}`;
        const seq = (devices.get(device) ?? 0) + 1;
        devices.set(device, seq);
        const e: EdgeEvent = { device, seq, payload: JSON.stringify({ v: random.int(0, 1_000_000), uid }), tsMs: Date.now() };
        const done = await this.write(edge, { ...base, kind, ns: EDGE_NS.events.name, event: e }, (c) => this.appendEvent(c, e));
        if (done.status !== 'ok') pending.e = done;
        return;
      }
    }
  }

  private async appendEvent(c: Client, e: EdgeEvent): Promise<{ dot: { origin: string; seq: number } | undefined; hlc: { wallMs: number; logical: number } | undefined }> {
    const r = await c.crdt.eventsAppend(EDGE_NS.events.name, [{ device: e.device, seq: e.seq, type: EVENT_TYPE, payload: e.payload, tsMs: e.tsMs }]);
    return { dot: r.results[0]?.dot, hlc: r.results[0]?.hlc };
  }

  private async writer(edge: FleetEdge | undefined, w: number): Promise<void> {
    const random = this.o.random.fork();
    const replica = edge?.name ?? 'region';
    const process = `p${w}`;
    const devices = new Map<string, number>();
    const pending: { e: EdgeOp | undefined } = { e: undefined };
    // An unacknowledged event keeps its writer going past the stop (until the heal lets it in).
    while (this.running() || pending.e !== undefined) {
      await this.step(edge, replica, process, random, devices, pending);
      await sleep(random.int(PACE_MS_MIN, PACE_MS_MAX + 1));
      if (!this.running() && pending.e !== undefined && this.o.nowMs() > this.o.stopAtMs + LATE_EVENT_RESEND_MS) break;
    }
  }

  /** KPI mode: one event every 1/rate s on each edge (a steady device), whatever the link does. */
  private async steadyDevice(edge: FleetEdge, rate: number): Promise<void> {
    const intervalMs = 1000 / rate;
    const device = `${edge.name}-sensor`;
    let seq = 0;
    let next = this.o.nowMs();
    const pending: EdgeEvent[] = [];
    while (this.running()) {
      const e: EdgeEvent = { device, seq: ++seq, payload: JSON.stringify({ v: seq % 1000, edge: edge.name }), tsMs: Date.now() };
      pending.push(e);
      // The device keeps an event until its edge acknowledged it (an edge killed mid-write).
      while (pending.length > 0) {
        const head = pending[0]!;
        const done = await this.write(edge, { replica: edge.name, process: 'kpi', kind: 'event-append', ns: EDGE_NS.events.name, key: '', value: null, delta: null, member: null, seen: null, event: head, resend: false },
          (c) => this.appendEvent(c, head));
        if (done.status !== 'ok') break;
        pending.shift();
      }
      next += intervalMs;
      await sleep(Math.max(0, next - this.o.nowMs()));
    }
  }

  async run(): Promise<void> {
    const rate = this.o.kpiRatePerEdge;
    if (rate !== undefined) {
      await Promise.all(this.o.fleet.edges.map((e) => this.steadyDevice(e, rate)));
      return;
    }
    const loops: Array<Promise<void>> = [];
    for (const e of this.o.fleet.edges) for (let w = 0; w < WRITERS_PER_EDGE; w++) loops.push(this.writer(e, w));
    for (let w = 0; w < REGION_WRITERS; w++) loops.push(this.writer(undefined, w));
    await Promise.all(loops);
  }
}

/** After --time, an event writer keeps re-sending an unacknowledged event for this long at most. */
export const LATE_EVENT_RESEND_MS = 20_000;
