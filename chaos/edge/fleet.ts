// The edges of an edge chaos run (issue 15): N `regionstore edge` processes (each its own
// data dir and RocksDB), each reaching the region's members through its own set of chaos
// proxies (one per member), so its link can be cut, throttled, made lossy or flapped on
// its own. What the edge nemesis does to an edge happens here: kill -9, restart (with a
// test-only clock offset), a copy of the data dir taken and later restored (an old
// backup: the incarnation path), a wipe (a replaced device), a power cut (kill -9, then
// every WAL byte the edge's database never fsynced dropped: server/util/power-cut.ts).
//
// Writers go through a gate per edge: an action that must not lose acknowledged writes by
// design (a wipe, a restore from an old copy, a clock change) closes the gate, waits for
// the writes in flight, lets the edge upload everything it holds, then acts.

import { cp, mkdir, rm } from 'node:fs/promises';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../../client/index.js';
import { startEdge, type EdgeProcess } from '../../cluster/edge-launcher.js';
import { dropUnsyncedWal, type PowerCutResult } from '../../server/util/power-cut.js';
import type { SeededRandom } from '../../server/util/random.js';
import { ProxySet } from '../proxy/index.js';
import { PASS } from '../proxy/policy.js';

/** Deadlines of the clients that talk to one edge (local: it answers fast unless killed). */
export const EDGE_CLIENT_TIMEOUT_MS = 5_000;
export const EDGE_CLIENT_ATTEMPT_TIMEOUT_MS = 2_000;
/** How long an edge gets to start (tsx compiles at start on a busy machine). */
export const EDGE_READY_TIMEOUT_MS = 60_000;
/** A lossy link resets its connections with this chance every LOSSY_TICK_MS. */
export const LOSSY_TICK_MS = 500;
export const LOSSY_RESET_CHANCE = 0.2;
/** How long a gated action waits for the edge to upload what it holds before acting anyway. */
export const DRAIN_TIMEOUT_MS = 30_000;
export const DRAIN_POLL_MS = 200;
/** How long a fault that needs the edge in session waits for it to reconnect after a restart. */
export const CONNECT_WAIT_MS = 20_000;
/** The edge's RocksDB directory inside its data dir (server/edge/startup-check.ts's
 *  EDGE_STATE_DIR; chaos/ may not import server/edge). */
export const EDGE_DB_DIR = 'state';

export interface EdgeLogEvent {
  /** ms since the run started. */
  atMs: number;
  kind: 'open' | 'down' | 'refused' | 'error';
  text: string;
}

export interface FleetEdge {
  index: number;
  name: string;
  dataDir: string;
  link: ProxySet;
  proc: EdgeProcess;
  client: Client;
  /** The test-only clock offset it runs with now. */
  offsetMs: number;
  /** Writers wait on this while an action holds the edge. */
  gate: Promise<void> | undefined;
  inflight: number;
  /** Session opens, link-downs, refusals and error lines from its log. */
  events: EdgeLogEvent[];
  /** Where a data dir copy is kept (an "old backup"), once taken. */
  backup: string | undefined;
  lossy: NodeJS.Timeout | undefined;
}

export interface FleetOptions {
  count: number;
  /** host:port of every region member's client API. */
  region: readonly string[];
  dir: string;
  logDir: string;
  random: SeededRandom;
  /** ms since the run started (the history's clock), for the log events. */
  nowMs: () => number;
  /** Environment of the edges (e.g. REGIONSTORE_UNSAFE + RS_UNSAFE_EDGE for a tooth). */
  env: NodeJS.ProcessEnv;
  /** Start every edge with --unsafe-record-durable-points, so powerCut() can drop what it never fsynced. */
  recordDurablePoints?: boolean;
}

/** Lines of an edge's JSON log the run cares about. */
function classify(line: string): EdgeLogEvent['kind'] | undefined {
  if (line.includes('"sync session open"')) return 'open';
  if (line.includes('"region link down; reconnecting"')) return 'down';
  if (line.includes('"the region refused a page"') || line.includes('"refused a page from the region"')) return 'refused';
  if (/^\{"level":(50|60),/.test(line)) return 'error';
  return undefined;
}

export class EdgeFleet {
  readonly edges: FleetEdge[] = [];
  private readonly logs: WriteStream[] = [];

  private constructor(private readonly o: FleetOptions) {}

  static async start(o: FleetOptions): Promise<EdgeFleet> {
    const f = new EdgeFleet(o);
    await mkdir(o.logDir, { recursive: true });
    try {
      for (let i = 0; i < o.count; i++) f.edges.push(await f.startOne(i));
    } catch (err) {
      await f.stop();
      throw err;
    }
    return f;
  }

  private async startOne(index: number): Promise<FleetEdge> {
    const name = `e${index + 1}`;
    const targets = this.o.region.map((hp) => ({ host: hp.slice(0, hp.lastIndexOf(':')), port: Number(hp.slice(hp.lastIndexOf(':') + 1)) }));
    const link = await ProxySet.start(targets, this.o.random.fork(), `edge ${name}`);
    const log = createWriteStream(join(this.o.logDir, `edge-${name}.log`));
    this.logs.push(log);
    const events: EdgeLogEvent[] = [];
    const dataDir = join(this.o.dir, name);
    const proc = await startEdge({
      name, dataDir, region: link.addresses, env: this.env(0), readyTimeoutMs: EDGE_READY_TIMEOUT_MS,
      extraArgs: ['--log-level', 'info', ...this.unsafeArgs(0)],
      onLine: (_n, line) => {
        log.write(`${line}\n`);
        const kind = classify(line);
        if (kind !== undefined) events.push({ atMs: this.o.nowMs(), kind, text: line.slice(0, 600) });
      },
    });
    const client = new Client({ endpoints: [proc.hostPort], timeoutMs: EDGE_CLIENT_TIMEOUT_MS, attemptTimeoutMs: EDGE_CLIENT_ATTEMPT_TIMEOUT_MS });
    return { index, name, dataDir, link, proc, client, offsetMs: 0, gate: undefined, inflight: 0, events, backup: undefined, lossy: undefined };
  }

  edge(i: number): FleetEdge {
    const e = this.edges[i];
    if (e === undefined) throw new RangeError(`no edge ${i}`);
    return e;
  }

  cut(i: number): void {
    this.edge(i).link.cut();
  }

  heal(i: number): void {
    const e = this.edge(i);
    this.setLossy(i, false);
    e.link.heal();
  }

  /** Both directions of every connection of the edge's link at `bytesPerSec` (0: unlimited). */
  throttle(i: number, bytesPerSec: number): void {
    for (const p of this.edge(i).link.proxies) p.setPolicy({ ...PASS, ...p.policy, bytesPerSec });
  }

  /** Resets the edge's connections at random (seeded) until turned off. */
  setLossy(i: number, on: boolean): void {
    const e = this.edge(i);
    if (e.lossy !== undefined) clearInterval(e.lossy);
    e.lossy = undefined;
    if (!on) return;
    const random = this.o.random.fork();
    e.lossy = setInterval(() => {
      if (random.chance(LOSSY_RESET_CHANCE)) e.link.reset();
    }, LOSSY_TICK_MS);
  }

  async kill(i: number): Promise<void> {
    await this.edge(i).proc.kill('SIGKILL');
  }

  /**
   * A power cut: kill -9, then every WAL file of the edge's database cut back to the last
   * size an fsync covered (a WAL never synced emptied), then start again. Needs the fleet
   * started with recordDurablePoints.
   */
  async powerCut(i: number): Promise<PowerCutResult> {
    const e = this.edge(i);
    if (this.o.recordDurablePoints !== true) throw new Error('a power cut needs the edges started with --unsafe-record-durable-points (FleetOptions.recordDurablePoints)');
    await this.kill(i);
    try {
      return await dropUnsyncedWal(join(e.dataDir, EDGE_DB_DIR));
    } finally {
      await this.restart(i);
    }
  }

  /** Starts it again (stopped or not) with the clock offset `offsetMs` (test-only flag). */
  async restart(i: number, offsetMs = this.edge(i).offsetMs): Promise<void> {
    const e = this.edge(i);
    await e.proc.kill('SIGKILL');
    await e.proc.stop(); // also drops its exit hook
    e.offsetMs = offsetMs;
    // A new process spec (the offset is a flag), on the same ports: clients keep pointing at it.
    await this.respawn(e);
  }

  /** The test-only flags of an edge: its clock offset, the durable-point recording. */
  private unsafeArgs(offsetMs: number): string[] {
    return [
      ...(offsetMs === 0 ? [] : ['--unsafe-clock-offset-ms', String(offsetMs)]),
      ...(this.o.recordDurablePoints === true ? ['--unsafe-record-durable-points', 'true'] : []),
    ];
  }

  private env(offsetMs: number): NodeJS.ProcessEnv {
    return { ...this.o.env, ...(this.unsafeArgs(offsetMs).length === 0 ? {} : { REGIONSTORE_UNSAFE: '1' }) };
  }

  private async respawn(e: FleetEdge): Promise<void> {
    const log = this.logs[e.index]!;
    e.proc = await startEdge({
      name: e.name, dataDir: e.dataDir, region: e.link.addresses, env: this.env(e.offsetMs), readyTimeoutMs: EDGE_READY_TIMEOUT_MS,
      extraArgs: ['--log-level', 'info', ...this.unsafeArgs(e.offsetMs)], ports: { client: e.proc.clientPort, metrics: e.proc.metricsPort },
      onLine: (_n, line) => {
        log.write(`${line}\n`);
        const kind = classify(line);
        if (kind !== undefined) e.events.push({ atMs: this.o.nowMs(), kind, text: line.slice(0, 600) });
      },
    });
  }

  /** Waits until every edge holds `namespaces` in its registry and has a session open. */
  async waitSyncing(namespaces: readonly string[]): Promise<void> {
    const deadline = Date.now() + EDGE_READY_TIMEOUT_MS;
    for (const e of this.edges) {
      for (;;) {
        const s = await e.proc.status().catch(() => undefined);
        const held = new Set(((s?.['namespaces'] as Array<{ name: string }> | undefined) ?? []).map((n) => n.name));
        if (s?.['connected'] === true && namespaces.every((n) => held.has(n))) break;
        if (Date.now() > deadline) throw new Error(`edge ${e.name} did not sync the registry (${namespaces.join(', ')}) within ${EDGE_READY_TIMEOUT_MS} ms`);
        await sleep(DRAIN_POLL_MS);
      }
    }
  }

  /**
   * Waits (up to CONNECT_WAIT_MS) until the edge has a sync session with the region past HELLO
   * (not only the link: pages flow); says whether it did.
   */
  async waitConnected(i: number): Promise<boolean> {
    const e = this.edge(i);
    const deadline = Date.now() + CONNECT_WAIT_MS;
    while (Date.now() < deadline) {
      const s = await e.proc.status().catch(() => undefined);
      if (s?.['connected'] === true && (s['sync'] as { open?: boolean } | undefined)?.open === true) return true;
      await sleep(DRAIN_POLL_MS);
    }
    return false;
  }

  /** Closes the edge's gate and waits for the writes in flight. */
  async hold(i: number): Promise<() => void> {
    const e = this.edge(i);
    let release!: () => void;
    e.gate = new Promise<void>((r) => (release = r));
    while (e.inflight > 0) await sleep(20);
    return () => {
      e.gate = undefined;
      release();
    };
  }

  /**
   * Waits (up to DRAIN_TIMEOUT_MS) until the region holds every record of the edge's own
   * origins (this incarnation's and the device's earlier ones: a restored copy or a restart
   * may leave unsent writes under an earlier one) in every namespace; says whether it did. A
   * namespace the edge's status does not list is not drained: its vector is unknown (seed 12:
   * an edge whose registry lacked the namespaces passed this check with its writes unsent).
   */
  async drained(i: number, region: Client, namespaces: readonly string[]): Promise<boolean> {
    const e = this.edge(i);
    const device = `edge:${e.name}:`;
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        const s = await e.proc.status();
        const listed = (s['namespaces'] as Array<{ name: string; vector: Array<{ origin: string; seq: number }> }> | undefined) ?? [];
        let all = true;
        for (const ns of namespaces) {
          const entry = listed.find((n) => n.name === ns);
          if (entry === undefined) {
            all = false;
            continue;
          }
          const own = entry.vector.filter((v) => v.origin.startsWith(device) && v.seq > 0);
          if (own.length === 0) continue;
          const held = (await region.crdt.hash(ns)).vector;
          if (own.some((v) => (held[v.origin] ?? 0) < v.seq)) all = false;
        }
        if (all) return true;
      } catch {
        // not answering yet
      }
      await sleep(DRAIN_POLL_MS);
    }
    return false;
  }

  /** Kill -9, copy the data dir aside (the "old backup"), start again. */
  async takeBackup(i: number): Promise<void> {
    const e = this.edge(i);
    await this.kill(i);
    const to = `${e.dataDir}.backup`;
    await rm(to, { recursive: true, force: true });
    await cp(e.dataDir, to, { recursive: true });
    e.backup = to;
    await this.restart(i);
  }

  /**
   * Kill -9, replace the data dir with the copy taken earlier, start again. False: no copy yet.
   * `killed`: called once the edge is dead and before its data dir is replaced.
   */
  async restoreBackup(i: number, killed?: () => Promise<void>): Promise<boolean> {
    const e = this.edge(i);
    if (e.backup === undefined) return false;
    await this.kill(i);
    await killed?.();
    await rm(e.dataDir, { recursive: true, force: true });
    await cp(e.backup, e.dataDir, { recursive: true });
    await this.restart(i);
    return true;
  }

  /** Kill -9, delete the data dir, start empty: a replaced device. `killed`: as restoreBackup's. */
  async wipe(i: number, killed?: () => Promise<void>): Promise<void> {
    const e = this.edge(i);
    await this.kill(i);
    await killed?.();
    await rm(e.dataDir, { recursive: true, force: true });
    await mkdir(e.dataDir, { recursive: true });
    e.backup = undefined;
    await this.restart(i);
  }

  /** Heals every link (policy, throttle, lossy) and starts every stopped edge at offset 0. */
  async healAll(): Promise<void> {
    for (const e of this.edges) this.heal(e.index);
    for (const e of this.edges) {
      if (!e.proc.running || e.offsetMs !== 0) await this.restart(e.index, 0);
    }
  }

  bytes(): { up: number; down: number } {
    let up = 0;
    let down = 0;
    for (const e of this.edges) {
      const b = e.link.bytes();
      up += b.up;
      down += b.down;
    }
    return { up, down };
  }

  async stop(): Promise<void> {
    for (const e of this.edges) {
      if (e.lossy !== undefined) clearInterval(e.lossy);
      e.client.close();
      await e.proc.stop().catch(() => undefined);
      await e.link.close();
    }
    await Promise.all(this.logs.map((s) => new Promise<void>((r) => s.end(() => r()))));
  }
}
