// One chaos run, start to verdict:
//   1. a cluster behind a proxy mesh, in a temp dir; the workloads' setup (accounts, watchers);
//   2. the workloads for --time seconds while the nemesis plays its seeded schedule;
//   3. every fault healed, the cluster healthy again (or the run says it did not recover);
//   4. the final reads (every register key through every member, the bank, the watchers
//      caught up and the store's history read back, every member's CRDT state once they agree);
//   5. every checker; history.jsonl, report.html, summary.json and the node logs in --out.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SeededRandom } from '../../server/util/random.js';
import type { Verdict } from '../checker/linearizability.js';
import type { CheckerSummary } from '../checker/summary.js';
import { HistoryWriter } from '../history/writer.js';
import { RunClock } from '../history/run-clock.js';
import { Nemesis } from '../nemesis/nemesis.js';
import { planSchedule } from '../nemesis/schedule.js';
import type { FaultInterval } from '../report/record.js';
import { writeReport } from '../report/write.js';
import { BankWorkload, type BankStats } from '../workload/bank.js';
import { errorText, untilDone, type WorkloadContext } from '../workload/common.js';
import { RegisterWorkload, type RegisterStats } from '../workload/register.js';
import { WatchWorkload } from '../workload/watch.js';
import { SessionWorkload } from '../workload/session.js';
import { CrdtWorkload, type CrdtStats } from '../workload/crdt.js';
import { checkSession, summarizeSession } from '../checker/session.js';
import { CRDT_CODEC, type CrdtHistoryOp } from '../history/crdt-op.js';
import { replayLine, type RunConfig } from './args.js';
import { checkBankReads, checkCrdtWorkload, checkRegister, checkWatchWorkload, nodeErrorsSummary, notRun, overallVerdict, recoverySummary } from './checks.js';
import { ChaosCluster } from './cluster.js';
import { EdgeRun, unsafeEdgeEnv } from '../edge/run-edges.js';
import type { KpiReport } from '../edge/kpi.js';
import { kpiSection } from '../edge/report.js';

/** Register workers per client (one client per member plus one over all of them). */
export const REGISTER_WORKERS_PER_CLIENT = 2;
export const BANK_WORKERS = 4;
/** Watch writers per client: one through each member, one following the leader. */
export const WATCH_WRITERS_PER_CLIENT = 1;
/** Session workload processes per member (each with its own client and session clock). */
export const SESSION_WORKERS_PER_NODE = 2;
/** Crdt workload processes per client (one client per member plus one over all of them). */
export const CRDT_WORKERS_PER_CLIENT = 2;
/** After the heal, the cluster must be healthy and take a write within this. */
export const RECOVERY_TIMEOUT_MS = 60_000;

export const EXIT_BY_VERDICT: Record<Verdict, number> = { ok: 0, violation: 1, unknown: 2 };

export interface RunOutcome {
  verdict: Verdict;
  exitCode: number;
  results: CheckerSummary[];
  faults: FaultInterval[];
  replay: string;
  register?: RegisterStats;
  bank?: BankStats;
  watch?: { writes: number; acknowledged: number; events: number };
  crdt?: CrdtStats;
  edges?: { edges: number; writes: number; ok: number; unknown: number; fail: number; events: number; faults: number };
  kpi?: KpiReport;
  files: RunFiles;
}

export interface RunFiles {
  history: string;
  html: string;
  json: string;
  logs: string;
  /** The crdt workload's history and every member's final read (with --workload crdt). */
  crdtHistory: string;
  crdtFinal: string;
  /** With --edges: the edge workload's history, every replica's final read, the KPIs (--kpi). */
  edgeHistory: string;
  edgeFinal: string;
  kpi: string;
}

interface Workloads {
  register?: RegisterWorkload;
  bank?: BankWorkload;
  watch?: WatchWorkload;
  session?: SessionWorkload;
  crdt?: CrdtWorkload;
}

function makeWorkloads(config: RunConfig, ctx: WorkloadContext, history: HistoryWriter, crdtHistory: HistoryWriter<CrdtHistoryOp> | undefined): Workloads {
  const has = (w: string): boolean => (config.workloads as readonly string[]).includes(w);
  const w: Workloads = {};
  if (has('register')) w.register = new RegisterWorkload(ctx, { workers: REGISTER_WORKERS_PER_CLIENT * (config.nodes + 1), history });
  if (has('bank')) w.bank = new BankWorkload(ctx, BANK_WORKERS);
  if (has('watch')) w.watch = new WatchWorkload(ctx, WATCH_WRITERS_PER_CLIENT * (config.nodes + 1));
  if (has('session')) w.session = new SessionWorkload(ctx, SESSION_WORKERS_PER_NODE * config.nodes, config.unsafe === 'no-session');
  if (crdtHistory !== undefined) w.crdt = new CrdtWorkload(ctx, CRDT_WORKERS_PER_CLIENT * (config.nodes + 1), crdtHistory);
  return w;
}

/** Heals everything and waits until the cluster answers a write; returns why not, if it does not. */
async function recover(nemesis: Nemesis, cluster: ChaosCluster): Promise<string | undefined> {
  try {
    await nemesis.healAll();
    await cluster.waitHealthy(RECOVERY_TIMEOUT_MS);
    // A put is retried until FINAL_READ_TIMEOUT_MS: a majority must be up and have a leader.
    await untilDone(() => cluster.admin.put('chaos/recovered', 'yes'));
    return undefined;
  } catch (err) {
    return errorText(err);
  }
}

/** The final reads of each workload; a failure is noted and leaves that checker "unknown". */
async function finalReads(w: Workloads, log: (line: string) => void): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  const attempt = async (name: string, f: (() => Promise<void>) | undefined): Promise<void> => {
    if (f === undefined) return;
    try {
      await f();
    } catch (err) {
      failed.set(name, errorText(err));
      log(`final reads of ${name}: ${errorText(err)}`);
    }
  };
  await Promise.all([
    attempt('register', w.register && (() => w.register!.finalReads())),
    attempt('bank', w.bank && (() => w.bank!.finalReads())),
    attempt('watch', w.watch && (() => w.watch!.finish())),
    attempt('crdt', w.crdt && (() => w.crdt!.finalReads())),
  ]);
  return failed;
}

function runChecks(w: Workloads, failed: Map<string, string>, recovery: CheckerSummary, nodeErrors: CheckerSummary): CheckerSummary[] {
  const results: CheckerSummary[] = [];
  if (w.register !== undefined) {
    const lin = checkRegister(w.register.ops);
    if (failed.has('register') && lin.verdict === 'ok') {
      results.push({ ...lin, verdict: 'unknown', summary: `${lin.summary}; the final reads failed: ${failed.get('register')}` });
    } else results.push(lin);
  }
  if (w.bank !== undefined) results.push(checkBankReads(w.bank));
  if (w.watch !== undefined) {
    if (failed.has('watch')) results.push(notRun('watch', `the final reads failed: ${failed.get('watch')}`));
    else results.push(...checkWatchWorkload(w.watch));
  }
  if (w.session !== undefined) results.push(summarizeSession(checkSession(w.session.ops)));
  if (w.crdt !== undefined) results.push(checkCrdtWorkload(w.crdt, failed.get('crdt')));
  results.push(recovery, nodeErrors);
  return results;
}

interface Seeds {
  mesh: SeededRandom;
  schedule: number;
  workloads: SeededRandom;
  /** The edges' proxies, workload, nemesis plan and link phases. */
  edges: SeededRandom;
}

/** One seed, split in a fixed order: the mesh's jitter, the schedule, the workloads' choices, the edges. */
function splitSeed(seed: number): Seeds {
  const random = new SeededRandom(seed);
  return { mesh: random.fork(), schedule: random.fork().seed, workloads: random.fork(), edges: random.fork() };
}

interface Phases {
  w: Workloads;
  crdtHistory?: HistoryWriter<CrdtHistoryOp>;
  nemesis?: Nemesis;
  edges?: EdgeRun;
  durationNs?: number;
  results?: CheckerSummary[];
}

/** Steps 2 to 5 of the module comment, on a started cluster; fills `p` as it goes. */
async function runPhases(config: RunConfig, cluster: ChaosCluster, history: HistoryWriter, seeds: Seeds, p: Phases, log: (line: string) => void): Promise<void> {
  const durationMs = config.timeS * 1000;
  const clock = new RunClock();
  const ctx: WorkloadContext = { clock, endpoints: cluster.endpoints, random: seeds.workloads, stopAtMs: durationMs, log };
  const w = makeWorkloads(config, ctx, history, p.crdtHistory);
  p.w = w;
  log('chaos: cluster healthy; setting up the workloads');
  await w.bank?.setup();
  await w.watch?.setup();
  await w.crdt?.setup();
  await p.edges?.setup(() => clock.nowNs() / 1_000_000, durationMs);
  const schedule = planSchedule({ seed: seeds.schedule, kinds: config.nemesis, nodes: cluster.nodes, durationMs });
  const nemesis = new Nemesis({ target: cluster, schedule, clock, log });
  p.nemesis = nemesis;
  await Promise.all([nemesis.run(durationMs), w.register?.run(), w.bank?.run(), w.watch?.run(), w.session?.run(), w.crdt?.run(), p.edges?.run(durationMs)]);
  p.durationNs = clock.nowNs();
  log(`chaos: ${config.timeS} s of workload done; healing every fault`);
  const healStart = performance.now();
  const recovery = recoverySummary(await recover(nemesis, cluster), (performance.now() - healStart) / 1000);
  log(`chaos: ${recovery.summary}; final reads`);
  const failed = await finalReads(w, log);
  if (p.edges !== undefined) await p.edges.finish();
  await history.close();
  await p.crdtHistory?.close();
  await closeWorkloads(w);
  log('chaos: final reads done; stopping the cluster');
  await cluster.stop();
  log('chaos: checking');
  p.results = [...(p.edges?.results ?? []), ...runChecks(w, failed, recovery, nodeErrorsSummary(cluster.errorLines))];
  log('chaos: checked');
}

function outcomeOf(config: RunConfig, p: Phases, results: CheckerSummary[], files: RunFiles): RunOutcome {
  const verdict = overallVerdict(results);
  const { w } = p;
  return {
    verdict, exitCode: EXIT_BY_VERDICT[verdict], results, faults: [...(p.nemesis?.faults ?? []), ...(p.edges?.faults ?? [])], replay: replayLine(config), files,
    ...(w.register === undefined ? {} : { register: w.register.stats() }),
    ...(w.bank === undefined ? {} : { bank: w.bank.stats }),
    ...(w.crdt === undefined ? {} : { crdt: w.crdt.stats() }),
    ...(p.edges === undefined ? {} : { edges: { edges: config.edges, ...p.edges.stats(), faults: p.edges.faults.length } }),
    ...(p.edges?.kpi === undefined ? {} : { kpi: p.edges.kpi }),
    ...(w.watch === undefined ? {} : {
      watch: {
        writes: w.watch.writes.length, acknowledged: w.watch.writes.filter((x) => x.status === 'ok').length,
        events: w.watch.logs.reduce((n, l) => n + l.sessions.reduce((m, s) => m + s.events.length, 0), 0),
      },
    }),
  };
}

export async function runChaos(config: RunConfig, print: (line: string) => void = console.log): Promise<RunOutcome> {
  const t0 = performance.now();
  const log = (line: string): void => print(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const seeds = splitSeed(config.seed);
  const out = resolve(config.out);
  await mkdir(out, { recursive: true });
  const files: RunFiles = {
    history: join(out, 'history.jsonl'), html: join(out, 'report.html'), json: join(out, 'summary.json'), logs: join(out, 'logs'),
    crdtHistory: join(out, 'crdt-history.jsonl'), crdtFinal: join(out, 'crdt-final.json'),
    edgeHistory: join(out, 'edge-history.jsonl'), edgeFinal: join(out, 'edge-final.json'), kpi: join(out, 'kpi.json'),
  };
  const workDir = await mkdtemp(join(tmpdir(), 'rs-chaos-'));
  const history = await HistoryWriter.create(files.history);
  const startedAt = new Date().toISOString();
  log(`chaos: ${config.nodes} nodes, ${config.timeS} s, nemesis ${config.nemesisText}, workloads ${config.workloads.join(',')}, seed ${config.seed}` +
    `${config.unsafe === undefined ? '' : `, UNSAFE ${config.unsafe}`}` +
    `${config.edges === 0 ? '' : `, ${config.edges} edges (faults ${config.edgeNemesis.join(',') || 'none'}${config.linkScheduleText === '' ? '' : `, links ${config.linkScheduleText}`})`}; data in ${workDir}`);
  const p: Phases = { w: {} };
  if (config.workloads.includes('crdt')) p.crdtHistory = await HistoryWriter.createWith(files.crdtHistory, CRDT_CODEC);
  let cluster: ChaosCluster | undefined;
  try {
    const edgeTeeth = config.unsafe?.startsWith('edge-') === true ? [config.unsafe.slice('edge-'.length)] : [];
    cluster = await ChaosCluster.start({ nodes: config.nodes, dataDir: join(workDir, 'data'), logDir: files.logs, random: seeds.mesh, unsafe: config.unsafe, env: unsafeEdgeEnv(edgeTeeth) });
    if (config.edges > 0) {
      p.edges = await EdgeRun.start({
        edges: config.edges, nemesis: config.edgeNemesis, linkSchedule: config.linkSchedule, linkScheduleText: config.linkScheduleText,
        kpiRate: config.kpiRate, unsafe: edgeTeeth, seed: config.seed, timeS: config.timeS,
      }, cluster.endpoints, cluster, { dataDir: join(workDir, 'edges'), logDir: files.logs, outDir: out, random: seeds.edges, log });
    }
    await runPhases(config, cluster, history, seeds, p, log);
  } finally {
    await closeWorkloads(p.w);
    await p.edges?.stop().catch(() => undefined);
    await cluster?.stop().catch(() => undefined);
    await history.close().catch(() => undefined);
    await p.crdtHistory?.close().catch(() => undefined);
    if (p.w.crdt?.finals !== undefined) await writeFile(files.crdtFinal, JSON.stringify(p.w.crdt.finals, null, 1) + '\n');
    if (!config.keep) await rm(workDir, { recursive: true, force: true });
  }
  const results = p.results ?? [];
  const outcome = outcomeOf(config, p, results, files);
  await writeReport(out, {
    title: `regionstore chaos run: ${config.nodes} nodes, nemesis ${config.nemesisText}${config.unsafe === undefined ? '' : ` (UNSAFE ${config.unsafe})`}`,
    seed: config.seed, nodes: config.nodes, replay: outcome.replay, startedAt,
    ...(p.durationNs === undefined ? {} : { durationNs: p.durationNs }),
    history: p.w.register?.ops ?? [], faults: outcome.faults, results,
    ...(p.edges?.kpi === undefined ? {} : { sections: [kpiSection(p.edges.kpi)] }),
  });
  return outcome;
}

const closed = new WeakSet<Workloads>();
async function closeWorkloads(w: Workloads): Promise<void> {
  if (closed.has(w)) return;
  closed.add(w);
  w.register?.close();
  w.bank?.close();
  w.session?.close();
  w.crdt?.close();
  await w.watch?.close();
}
