// The edge nemesis (issue 15): faults of edges and their links, drawn from the seed before
// the run (a shuffled deck of kinds, so a short run meets many), played one after another
// beside the region's nemesis, each action logged with its time (the report's faults).
//
//   edge-cut / edge-cut-all      the link of one edge / of every edge cut, then healed
//   edge-flap                    one edge's link cut and healed every FLAP_PERIOD_MS
//   edge-throttle                one edge's link at THROTTLE_BYTES_PER_S each way
//   edge-lossy                   one edge's connections reset at random
//   edge-kill-upload             the edge writes offline, the link heals, kill -9 mid-upload
//   edge-kill-download           the region writes while the edge is cut off, kill -9 mid-download
//   edge-old-copy                a copy of the data dir taken, writes go on, the copy restored (new incarnation)
//   edge-wipe                    the data dir deleted: a replaced device
//   edge-skew-in / edge-skew-out the edge's clock ahead inside / outside max_clock_skew_ms
//   edge-kill-leader             kill -9 of the region leader while edge sessions stream
//   edge-power-cut               the edge writes offline, then a power cut: kill -9 and every WAL byte
//                                its database never fsynced dropped (server/util/power-cut.ts); restart, heal
//
// A wipe, a restore and a clock change first let the edge upload what it holds (fleet.ts's
// gate): the device is replaced after its data reached the region, as an operator does.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '../../client/index.js';
import { SeededRandom } from '../../server/util/random.js';
import { shuffle } from '../nemesis/schedule.js';
import { untilDone } from '../workload/common.js';
import type { FaultInterval } from '../report/record.js';
import { describePowerCut } from '../../server/util/power-cut.js';
import type { EdgeFleet } from './fleet.js';
import { EDGE_NAMESPACE_NAMES, SKEW_BOUND_MS } from './workload.js';

export const EDGE_FAULT_KINDS = [
  'edge-cut', 'edge-cut-all', 'edge-flap', 'edge-throttle', 'edge-lossy', 'edge-kill-upload', 'edge-kill-download',
  'edge-old-copy', 'edge-wipe', 'edge-skew-in', 'edge-skew-out', 'edge-kill-leader', 'edge-power-cut',
] as const;
export type EdgeFaultKind = (typeof EDGE_FAULT_KINDS)[number];

export const FIRST_EDGE_FAULT_MS = 2_000;
export const HOLD_MS_MIN = 2_000;
export const HOLD_MS_MAX = 5_000;
export const GAP_MS_MIN = 500;
export const GAP_MS_MAX = 1_500;
export const FLAP_PERIOD_MS = 700;
/** A slow uplink (a few kB/s: pages take seconds). */
export const THROTTLE_BYTES_PER_S = 4_096;
/** How long after the heal the kill -9 lands (the upload or download under way). */
export const KILL_AFTER_HEAL_MS = 300;
/** Offsets of the clock-skew faults: well inside the bound, and past it. */
export const SKEW_INSIDE_MS = Math.floor(SKEW_BOUND_MS / 3);
export const SKEW_OUTSIDE_MS = SKEW_BOUND_MS + 4_000;

export interface PlannedEdgeFault {
  atMs: number;
  kind: EdgeFaultKind;
  edge: number;
  holdMs: number;
}

/** One edge's clock ahead past the bound, and what the region held of it before and after. */
export interface SkewWindow {
  edge: string;
  origin: string;
  offsetMs: number;
  startMs: number;
  endMs: number;
  /** Per namespace: the seq of the edge's origin the region held when the window opened and when it closed. */
  heldAtStart: Record<string, number>;
  heldAtEnd: Record<string, number>;
}

/**
 * A data dir replaced (a wipe, or a restore from an old copy) and what the region held of the
 * device's origins once the edge was dead, per namespace and origin (the most any member
 * answered). The device's writes acknowledged before it and past these seqs never reached the
 * region: they went with the replaced data dir, lost by design (checkers.ts).
 */
export interface DeviceReplacement {
  edge: string;
  kind: 'wipe' | 'restore';
  atMs: number;
  regionHeld: Record<string, Record<string, number>>;
}

/** What the edge nemesis needs of the region (the chaos cluster). */
export interface RegionTarget {
  leader(): Promise<number | undefined>;
  signal(node: number, signal: 'SIGKILL'): Promise<void>;
  running(node: number): boolean;
  restart(node: number): Promise<void>;
}

export function planEdgeFaults(seed: number, kinds: readonly EdgeFaultKind[], edges: number, durationMs: number): PlannedEdgeFault[] {
  const random = new SeededRandom(seed);
  const out: PlannedEdgeFault[] = [];
  if (kinds.length === 0 || edges === 0) return out;
  let deck: EdgeFaultKind[] = [];
  let at = FIRST_EDGE_FAULT_MS;
  while (at < durationMs) {
    if (deck.length === 0) deck = shuffle(kinds, random);
    const kind = deck.pop()!;
    const holdMs = random.int(HOLD_MS_MIN, HOLD_MS_MAX + 1);
    out.push({ atMs: at, kind, edge: random.int(0, edges), holdMs });
    at += holdMs + random.int(GAP_MS_MIN, GAP_MS_MAX + 1);
  }
  return out;
}

export interface EdgeNemesisOptions {
  fleet: EdgeFleet;
  region: Client;
  cluster: RegionTarget;
  plan: readonly PlannedEdgeFault[];
  nowMs: () => number;
  log: (line: string) => void;
}

const NS_PER_MS = 1_000_000;

export class EdgeNemesis {
  readonly faults: FaultInterval[] = [];
  readonly skewWindows: SkewWindow[] = [];
  /** Offsets an edge ran with, and when (for the protocol checker). */
  readonly skews: Array<{ edge: string; offsetMs: number; startMs: number; endMs: number }> = [];
  /** Every data dir replaced, with the region's vectors of the device then. */
  readonly replacements: DeviceReplacement[] = [];
  private stopped = false;

  constructor(private readonly o: EdgeNemesisOptions) {}

  private note(kind: string, detail: string, startMs: number): void {
    const endMs = this.o.nowMs();
    this.faults.push({ start: Math.round(startMs * NS_PER_MS), end: Math.round(endMs * NS_PER_MS), kind, detail });
    this.o.log(`edge nemesis: ${kind} ${detail} (${((endMs - startMs) / 1000).toFixed(1)} s)`);
  }

  /** Plays the plan until `durationMs`; every fault is healed before it returns. */
  async run(durationMs: number): Promise<void> {
    for (const f of this.o.plan) {
      if (this.stopped || f.atMs >= durationMs) break;
      const wait = f.atMs - this.o.nowMs();
      if (wait > 0) await sleep(wait);
      // Faults take longer than planned (restarts, drains): none starts after the workload stopped.
      if (this.o.nowMs() >= durationMs) break;
      const start = this.o.nowMs();
      let detail = `edge ${this.o.fleet.edge(f.edge).name}`;
      try {
        detail = await this.play(f);
      } catch (err) {
        detail += `: the action failed: ${(err as Error).message}`;
      }
      this.note(f.kind, detail, start);
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private async regionHeld(origin: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    // A member catching up may not know the namespace yet (NOT_FOUND): ask again.
    for (const ns of EDGE_NAMESPACE_NAMES) out[ns] = await untilDone(async () => (await this.o.region.crdt.hash(ns)).vector[origin] ?? 0);
    return out;
  }

  /**
   * Notes what the region holds of the device's origins, read from every member (the most any
   * answered: all of it is committed) once the edge is dead, so nothing more of the replaced
   * data dir can arrive but pages already proposed (which only add writes the checkers excuse).
   */
  private async noteReplacement(edge: string, kind: DeviceReplacement['kind']): Promise<void> {
    const prefix = `edge:${edge}:`;
    const regionHeld: Record<string, Record<string, number>> = {};
    for (const ns of EDGE_NAMESPACE_NAMES) {
      regionHeld[ns] = await untilDone(async () => {
        const held: Record<string, number> = {};
        const answers = (await this.o.region.crdt.hashAll(ns)).filter((a) => 'hash' in a);
        if (answers.length === 0) throw new Error(`no region member answered CrdtHash of ${ns}`);
        for (const a of answers) {
          for (const [origin, seq] of Object.entries(a.hash.vector)) if (origin.startsWith(prefix)) held[origin] = Math.max(held[origin] ?? 0, seq);
        }
        return held;
      });
    }
    this.replacements.push({ edge, kind, atMs: this.o.nowMs(), regionHeld });
  }

  private async play(f: PlannedEdgeFault): Promise<string> {
    const fleet = this.o.fleet;
    const e = fleet.edge(f.edge);
    const i = f.edge;
    switch (f.kind) {
      case 'edge-cut':
        fleet.cut(i);
        await sleep(f.holdMs);
        fleet.heal(i);
        return `edge ${e.name}`;
      case 'edge-cut-all':
        for (const x of fleet.edges) fleet.cut(x.index);
        await sleep(f.holdMs);
        for (const x of fleet.edges) fleet.heal(x.index);
        return 'every edge';
      case 'edge-flap': {
        const until = this.o.nowMs() + f.holdMs;
        let n = 0;
        while (this.o.nowMs() < until) {
          fleet.cut(i);
          await sleep(FLAP_PERIOD_MS / 2);
          fleet.heal(i);
          await sleep(FLAP_PERIOD_MS / 2);
          n++;
        }
        return `edge ${e.name}, ${n} cuts`;
      }
      case 'edge-throttle':
        fleet.throttle(i, THROTTLE_BYTES_PER_S);
        await sleep(f.holdMs);
        fleet.throttle(i, 0);
        return `edge ${e.name} at ${THROTTLE_BYTES_PER_S} B/s`;
      case 'edge-lossy':
        fleet.setLossy(i, true);
        await sleep(f.holdMs);
        fleet.setLossy(i, false);
        return `edge ${e.name}`;
      case 'edge-kill-upload':
      case 'edge-kill-download':
        fleet.cut(i);
        await sleep(f.holdMs);
        fleet.heal(i);
        await sleep(KILL_AFTER_HEAL_MS);
        await fleet.kill(i);
        await fleet.restart(i);
        return `edge ${e.name} (offline ${f.holdMs} ms, kill -9 ${KILL_AFTER_HEAL_MS} ms after the heal)`;
      case 'edge-old-copy': {
        await fleet.takeBackup(i);
        await sleep(f.holdMs);
        const release = await fleet.hold(i);
        try {
          const drained = await fleet.drained(i, this.o.region, EDGE_NAMESPACE_NAMES);
          await fleet.restoreBackup(i, () => this.noteReplacement(e.name, 'restore'));
          return `edge ${e.name}: copy taken, ${f.holdMs} ms of writes, copy restored${drained ? '' : ' (it had NOT uploaded everything: writes may be lost by design)'}`;
        } finally {
          release();
        }
      }
      case 'edge-wipe': {
        const release = await fleet.hold(i);
        try {
          const drained = await fleet.drained(i, this.o.region, EDGE_NAMESPACE_NAMES);
          await fleet.wipe(i, () => this.noteReplacement(e.name, 'wipe'));
          return `edge ${e.name}${drained ? '' : ' (it had NOT uploaded everything: writes may be lost by design)'}`;
        } finally {
          release();
        }
      }
      case 'edge-skew-in':
      case 'edge-skew-out':
        return this.skew(f);
      case 'edge-power-cut': {
        // Offline first: what the edge acknowledges meanwhile is held by it alone, so a write
        // acknowledged before its fsync (the edge-skip-fsync tooth) is lost for good.
        fleet.cut(i);
        await sleep(f.holdMs);
        try {
          const cut = await fleet.powerCut(i);
          return `edge ${e.name} (offline ${f.holdMs} ms, then power cut: ${describePowerCut(cut)})`;
        } finally {
          fleet.heal(i);
        }
      }
      case 'edge-kill-leader': {
        const leader = await this.o.cluster.leader();
        if (leader === undefined) return 'no leader to kill';
        await this.o.cluster.signal(leader, 'SIGKILL');
        await sleep(f.holdMs);
        if (!this.o.cluster.running(leader)) await this.o.cluster.restart(leader);
        return `region leader n${leader}`;
      }
    }
  }

  /** The edge restarted with its clock ahead; outside the bound, what the region takes of it meanwhile is recorded. */
  private async skew(f: PlannedEdgeFault): Promise<string> {
    const fleet = this.o.fleet;
    const e = fleet.edge(f.edge);
    const offsetMs = f.kind === 'edge-skew-in' ? SKEW_INSIDE_MS : SKEW_OUTSIDE_MS;
    const release = await fleet.hold(f.edge);
    let startMs: number;
    let origin = '';
    let heldAtStart: Record<string, number> = {};
    let drained = false;
    try {
      drained = await fleet.drained(f.edge, this.o.region, EDGE_NAMESPACE_NAMES);
      await fleet.restart(f.edge, offsetMs);
      startMs = this.o.nowMs();
      origin = String((await e.proc.status())['replicaId'] ?? '');
      heldAtStart = await this.regionHeld(origin);
    } finally {
      release();
    }
    // The window counts from a session with the clock ahead: what the edge writes meanwhile is offered to the region.
    const connected = await fleet.waitConnected(f.edge);
    await sleep(f.holdMs);
    if (f.kind === 'edge-skew-out') {
      // Cut first: what the region holds now is what it took while the clock was past the bound.
      fleet.cut(f.edge);
      await sleep(KILL_AFTER_HEAL_MS);
      // The skewed process may have taken a new incarnation at its first write (it started
      // after a kill -9: server/edge/edge-node.ts): what it wrote is under that one.
      const endOrigin = String((await e.proc.status().catch(() => ({} as Record<string, unknown>)))['replicaId'] ?? origin);
      const endMs = this.o.nowMs();
      // The start origin's records the region takes now are the skewed process's only if the
      // edge had uploaded all it held before (else they may be older ones, stamped in time).
      if (drained) this.skewWindows.push({ edge: e.name, origin, offsetMs, startMs, endMs, heldAtStart, heldAtEnd: await this.regionHeld(origin) });
      if (endOrigin !== origin && endOrigin !== '') {
        const none = Object.fromEntries(EDGE_NAMESPACE_NAMES.map((ns) => [ns, 0]));
        this.skewWindows.push({ edge: e.name, origin: endOrigin, offsetMs, startMs, endMs, heldAtStart: none, heldAtEnd: await this.regionHeld(endOrigin) });
      }
    }
    await fleet.restart(f.edge, 0);
    fleet.heal(f.edge);
    this.skews.push({ edge: e.name, offsetMs, startMs, endMs: this.o.nowMs() });
    return `edge ${e.name} clock +${offsetMs} ms (bound ${SKEW_BOUND_MS} ms)${connected ? '' : ' (it did not reconnect while skewed)'}`;
  }
}

/** Every edge's link cut and healed on a schedule (`--link-schedule up:10s,down:5s`), each edge at its own phase. */
export class LinkFlapper {
  private stopped = false;
  private loops: Array<Promise<void>> = [];
  readonly downMs: number[];

  constructor(private readonly fleet: EdgeFleet, private readonly schedule: LinkSchedule, private readonly random: SeededRandom) {
    this.downMs = fleet.edges.map(() => 0);
  }

  start(): void {
    this.loops = this.fleet.edges.map(async (e) => {
      // A phase per edge, so the edges do not all go down at once.
      await this.pause(this.random.int(0, this.schedule.upMs));
      while (!this.stopped) {
        this.fleet.cut(e.index);
        const t0 = performance.now();
        await this.pause(this.schedule.downMs);
        this.fleet.heal(e.index);
        this.downMs[e.index]! += performance.now() - t0;
        await this.pause(this.schedule.upMs);
      }
    });
  }

  private async pause(ms: number): Promise<void> {
    const until = performance.now() + ms;
    while (!this.stopped && performance.now() < until) await sleep(Math.min(100, until - performance.now()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

export interface LinkSchedule {
  upMs: number;
  downMs: number;
}

/** `up:10s,down:5s` (ms or s units; both parts required). */
export function parseLinkSchedule(text: string): LinkSchedule {
  const parts = new Map<string, number>();
  for (const p of text.split(',')) {
    const m = /^\s*(up|down):(\d+(?:\.\d+)?)(ms|s)\s*$/.exec(p);
    if (m === null) throw new RangeError(`--link-schedule: expected up:<n>s,down:<n>s (or ms), got ${JSON.stringify(text)}`);
    parts.set(m[1]!, Number(m[2]) * (m[3] === 's' ? 1000 : 1));
  }
  const upMs = parts.get('up');
  const downMs = parts.get('down');
  if (upMs === undefined || downMs === undefined || upMs <= 0 || downMs <= 0) {
    throw new RangeError(`--link-schedule: both up and down must be given and > 0, got ${JSON.stringify(text)}`);
  }
  return { upMs, downMs };
}
