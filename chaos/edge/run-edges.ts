// The edge half of a chaos run (`npm run chaos -- --edges N`, issue 15), driven by
// chaos/runner/run.ts beside the region's workloads and nemesis:
//   start: N edges, each through its own proxies to every member (fleet.ts);
//   setup: the five eventual namespaces; in KPI mode a Watch on the region for arrivals;
//   run:   the edge workload, the edge nemesis (then every edge healed and started) and the
//          link schedule, for --time seconds;
//   finish (after the region recovered): the quiet phase and final reads of every replica,
//          the four checkers, the KPI report in KPI mode.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '../../client/index.js';
import type { SeededRandom } from '../../server/util/random.js';
import { UNSAFE_EDGE_ENV } from '../../server/util/unsafe-edge.js';
import type { CheckerSummary } from '../checker/summary.js';
import type { FaultInterval } from '../report/record.js';
import { ADMIN_ATTEMPT_TIMEOUT_MS, ADMIN_TIMEOUT_MS } from '../runner/cluster.js';
import { checkConvergence, checkEvents, checkNoLostWrite, checkProtocol } from './checkers.js';
import { EdgeFleet } from './fleet.js';
import { readEdgeFinals, type EdgeFinalRead } from './final.js';
import { computeKpi, kpiText, RegionArrivals, type KpiReport } from './kpi.js';
import { EdgeNemesis, LinkFlapper, planEdgeFaults, type EdgeFaultKind, type LinkSchedule, type RegionTarget } from './nemesis.js';
import { createEdgeNamespaces, EDGE_NAMESPACE_NAMES, EdgeWorkload, SKEW_BOUND_MS } from './workload.js';

export interface EdgeRunConfig {
  edges: number;
  nemesis: readonly EdgeFaultKind[];
  linkSchedule: LinkSchedule | undefined;
  linkScheduleText: string;
  /** KPI mode: events only, at this rate per edge. */
  kpiRate: number | undefined;
  /** Test-only switches (server/util/unsafe-edge.ts) on in the edges and members. */
  unsafe: readonly string[];
  seed: number;
  timeS: number;
}

/** The environment of the members and edges for the test-only switches (empty when none). */
export function unsafeEdgeEnv(unsafe: readonly string[]): Record<string, string> {
  return unsafe.length === 0 ? {} : { REGIONSTORE_UNSAFE: '1', [UNSAFE_EDGE_ENV]: unsafe.join(',') };
}

export interface EdgeRunFiles {
  history: string;
  finals: string;
  kpi: string;
  /** Every edge fault with its times, the clock windows past the bound, each edge's session events. */
  faults: string;
}

export class EdgeRun {
  results: CheckerSummary[] = [];
  kpi: KpiReport | undefined;
  private nowMsFn: () => number = () => 0;
  private workload!: EdgeWorkload;
  private nemesis!: EdgeNemesis;
  private flapper: LinkFlapper | undefined;
  private arrivals: RegionArrivals | undefined;
  private readonly region: Client;
  private epochAtZeroMs = Date.now();
  finals: EdgeFinalRead | undefined;

  private constructor(
    private readonly c: EdgeRunConfig, readonly fleet: EdgeFleet, private readonly endpoints: readonly string[],
    private readonly cluster: RegionTarget & { metricsUrls(): string[] }, private readonly random: SeededRandom,
    readonly files: EdgeRunFiles, private readonly log: (line: string) => void,
  ) {
    this.region = new Client({ endpoints: [...endpoints], timeoutMs: ADMIN_TIMEOUT_MS, attemptTimeoutMs: ADMIN_ATTEMPT_TIMEOUT_MS });
  }

  static async start(
    c: EdgeRunConfig, endpoints: readonly string[], cluster: RegionTarget & { metricsUrls(): string[] },
    o: { dataDir: string; logDir: string; outDir: string; random: SeededRandom; log: (line: string) => void },
  ): Promise<EdgeRun> {
    let run: EdgeRun | undefined;
    // The namespaces exist before the edges start: an edge's session syncs the namespaces
    // its registry held at HELLO (one created later waits for its next session).
    const admin = new Client({ endpoints: [...endpoints], timeoutMs: ADMIN_TIMEOUT_MS, attemptTimeoutMs: ADMIN_ATTEMPT_TIMEOUT_MS });
    try {
      await createEdgeNamespaces(admin);
    } finally {
      admin.close();
    }
    const hostPorts = endpoints.map((e) => e.replace(/^https?:\/\//, ''));
    const fleet = await EdgeFleet.start({
      count: c.edges, region: hostPorts, dir: o.dataDir, logDir: o.logDir, random: o.random.fork(),
      nowMs: () => run?.nowMsFn() ?? 0, env: { ...process.env, ...unsafeEdgeEnv(c.unsafe) },
      // Only when a power cut is planned: the recording costs a stat per fsync.
      recordDurablePoints: c.nemesis.includes('edge-power-cut'),
    });
    const files = { history: join(o.outDir, 'edge-history.jsonl'), finals: join(o.outDir, 'edge-final.json'), kpi: join(o.outDir, 'kpi.json'), faults: join(o.outDir, 'edge-faults.json') };
    await writeFile(files.history, '');
    run = new EdgeRun(c, fleet, endpoints, cluster, o.random, files, o.log);
    await fleet.waitSyncing(EDGE_NAMESPACE_NAMES);
    o.log(`edge chaos: ${c.edges} edges started, each through its own proxies${c.unsafe.length > 0 ? `; UNSAFE ${c.unsafe.join(',')}` : ''}`);
    return run;
  }

  /** The run clock is known: the workloads, the nemesis plan. */
  async setup(nowMs: () => number, durationMs: number): Promise<void> {
    this.nowMsFn = nowMs;
    this.epochAtZeroMs = Date.now() - nowMs();
    this.workload = new EdgeWorkload({
      fleet: this.fleet, region: this.region, random: this.random.fork(), nowMs, stopAtMs: durationMs, historyFile: this.files.history,
      ...(this.c.kpiRate === undefined ? {} : { kpiRatePerEdge: this.c.kpiRate }),
    });
    const plan = planEdgeFaults(this.random.fork().seed, this.c.nemesis, this.c.edges, durationMs);
    this.nemesis = new EdgeNemesis({ fleet: this.fleet, region: this.region, cluster: this.cluster, plan, nowMs, log: this.log });
    if (this.c.linkSchedule !== undefined) this.flapper = new LinkFlapper(this.fleet, this.c.linkSchedule, this.random.fork());
    if (this.c.kpiRate !== undefined) {
      this.arrivals = new RegionArrivals();
      await this.arrivals.start(this.region);
    }
  }

  get faults(): FaultInterval[] {
    return this.nemesis?.faults ?? [];
  }

  /** The workload, the nemesis and the link schedule; every edge healed and running at the end. */
  async run(durationMs: number): Promise<void> {
    this.flapper?.start();
    const faults = (async () => {
      await this.nemesis.run(durationMs);
      const left = durationMs - this.nowMsFn();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      await this.flapper?.stop();
      this.log('edge chaos: healing every edge link, starting every edge at clock offset 0');
      await this.fleet.healAll();
    })();
    await Promise.all([faults, this.workload.run()]);
  }

  private async fullReplays(): Promise<number> {
    let total = 0;
    for (const url of this.cluster.metricsUrls()) {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text().catch(() => '');
      for (const line of text.split('\n')) {
        if (line.startsWith('regionstore_sync_full_replays_total')) total += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
      }
    }
    return total;
  }

  /** After the region recovered: the quiet phase, the final reads, the checkers (and the KPIs). */
  async finish(): Promise<void> {
    const replicas = [
      ...this.endpoints.map((e, i) => ({ name: `n${i + 1}`, endpoint: e.replace(/^https?:\/\//, '') })),
      ...this.fleet.edges.map((e) => ({ name: `edge ${e.name}`, endpoint: e.proc.hostPort })),
    ];
    this.finals = await readEdgeFinals(replicas, this.log);
    await writeFile(this.files.finals, JSON.stringify(this.finals, null, 1) + '\n');
    await writeFile(this.files.faults, JSON.stringify({
      faults: this.nemesis.faults, skewWindows: this.nemesis.skewWindows, skews: this.nemesis.skews, replacements: this.nemesis.replacements,
      sessions: this.fleet.edges.map((e) => ({ edge: e.name, events: e.events.map((x) => ({ atMs: Math.round(x.atMs), kind: x.kind })) })),
    }, null, 1) + '\n');
    const ops = this.workload.ops;
    const edgeEvents = this.fleet.edges.map((e) => ({ edge: e.name, events: e.events }));
    this.results = [
      checkConvergence(this.finals),
      checkNoLostWrite(ops, this.finals, this.nemesis.replacements),
      checkEvents(ops, this.finals, this.nemesis.replacements),
      checkProtocol({ fullReplays: await this.fullReplays(), edgeEvents, skewWindows: this.nemesis.skewWindows, skews: this.nemesis.skews, boundMs: SKEW_BOUND_MS }),
    ];
    this.arrivals?.close();
    if (this.c.kpiRate !== undefined) {
      const ref = this.finals.replicas.find((r) => r.error === null && r.replica.startsWith('n'));
      const held = new Set<string>();
      for (const [device, seqs] of Object.entries(ref?.events ?? {})) for (const seq of Object.keys(seqs)) held.add(`${device}/${seq}`);
      const totalMs = this.c.timeS * 1000 * this.c.edges;
      this.kpi = computeKpi({
        ops, arrivals: this.arrivals?.at ?? new Map(), epochAtZeroMs: this.epochAtZeroMs, heldAtEnd: held, edgeEvents,
        wireBytes: ((b) => b.up + b.down)(this.fleet.bytes()), wireUpBytes: this.fleet.bytes().up, linkDownMs: (this.flapper?.downMs ?? []).reduce((a, b) => a + b, 0), linkTotalMs: totalMs,
        seed: this.c.seed, schedule: this.c.linkScheduleText, edges: this.c.edges, ratePerEdge: this.c.kpiRate, durationS: this.c.timeS,
      });
      await writeFile(this.files.kpi, JSON.stringify(this.kpi, null, 2) + '\n');
      this.log(`edge chaos: KPIs\n${kpiText(this.kpi)}`);
    }
  }

  stats(): { writes: number; ok: number; unknown: number; fail: number; events: number } {
    const ops = this.workload?.ops ?? [];
    return {
      writes: ops.length, ok: ops.filter((o) => o.status === 'ok').length, unknown: ops.filter((o) => o.status === 'unknown').length,
      fail: ops.filter((o) => o.status === 'fail').length, events: ops.filter((o) => o.kind === 'event-append' && o.status === 'ok').length,
    };
  }

  async stop(): Promise<void> {
    this.nemesis?.stop();
    this.arrivals?.close();
    await this.flapper?.stop();
    this.region.close();
    await this.fleet.stop();
  }
}
