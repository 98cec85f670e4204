// Where a member's event-loop delay goes during `etcdctl check datascale` (issue 20: p99
// 21-32 ms on every member of a 4-member cluster on 2 cores): a cluster from dist/, an
// optional preload, then rounds of the check against the leader, with thread-priority
// variants alternated in every round. Per round and member: the event-loop delay p99/max
// over the check (`regionstore_event_loop_delay_seconds`, whose window a scrape opens and
// closes) and, per thread class (server/util/node-threads.ts), the CPU and the time spent
// runnable but waiting for a core (/proc/<pid>/task/<tid>/schedstat: run ns, wait ns,
// timeslices), and etcdctl's own CPU and wait. Figures that hold on a loaded machine.
//
//   npx tsx scripts/probe-datascale.ts [--members 4] [--keys 0] [--rounds 3]
//       [--variants base,v8=10] [--stalls DIR] [--node-flags '...'] [--keep]
//
// --variants: comma-separated; each is "base" (Node's own threads at nice 0) or
// class=nice pairs joined by "/", e.g. "v8=10/pool=5" (v8 = V8's platform workers, pool =
// libuv's pool, main = the main thread; a negative nice needs root). The probe renices the
// members' threads itself before each check, so variants alternate in one cluster; members
// run with their own renicing of Node's threads off (REGIONSTORE_NODE_NICE=off) and keep
// RocksDB's (thread-priority.ts).
// --perf DIR: a scheduler trace of every check (perf record -k mono -a, sched_switch and
// sched_wakeup; needs perf and root), analysed by scripts/sched-waits.ts: each member's main
// thread's waits for a core (woken or preempted until it runs), and for the waits of
// PERF_LONG_WAIT_MS or more, which threads ran on the cores meanwhile.
// --stalls DIR: members run the stall watch of scripts/profile-preload.mjs (profiler off)
// with RS_STALL_MIN_MS=20 (--profile: and the CPU profiler, for scripts/long-tasks.ts
// --stalls --by-cpu); after the run, per round: stalls ≥ 20 ms, their wall and main-thread CPU.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DIST_SERVE_COMMAND, SERVE_FROM_ENV, TSX_SERVE_COMMAND, startCluster, type ClusterNode } from '../cluster/launcher.js';
import { leaderOf, settle } from './cluster-settle.js';
import { profiledEnv } from './profile-env.js';
import { loadStage, valueSource } from '../client/bench/scale-load.js';
import { scrape } from '../client/bench/scale-probes.js';
import { runDatascale } from '../client/bench/scale-datascale.js';
import { nodeThreads, ownPoolSizes } from '../server/util/node-threads.js';
import { analyzeWaits } from './sched-waits.js';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

const { values: args } = parseArgs({
  options: {
    members: { type: 'string', default: '4' },
    keys: { type: 'string', default: '0' },
    rounds: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'base' },
    stalls: { type: 'string' },
    perf: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'node-flags': { type: 'string', default: '' },
    keep: { type: 'boolean', default: false },
  },
});

const TIMINGS = ['--heartbeat-ms', '100', '--election-ms', '1000', '--log-level', 'warn'];
const SETTLE_TIMEOUT_MS = 300_000;
/** Pause after a check (and its settle) before the next one: RocksDB's flushes of the check's writes. */
const PAUSE_BETWEEN_MS = 3_000;
/** How often etcdctl's threads are read while it runs (its CPU is gone once it exits). */
const ETCDCTL_POLL_MS = 50;
const STALL_MIN_MS = 20;
/** A main-thread wait for a core at least this long is attributed to what ran meanwhile. */
const PERF_LONG_WAIT_MS = 5;
/** Time given perf record to start tracing before the check starts. */
const PERF_START_MS = 500;
const LOOP_METRIC = 'regionstore_event_loop_delay_seconds';
const VARIANT_CLASSES: Record<string, string> = { v8: 'v8-worker', pool: 'libuv-pool', main: 'main' };
/** Classes the probe renices; the rest (RocksDB's threads) keep what the member set. */
const RENICED = new Set(Object.values(VARIANT_CLASSES));

const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

type Variant = { name: string; nice: Map<string, number> };
function parseVariant(s: string): Variant {
  const nice = new Map<string, number>();
  if (s !== 'base') {
    for (const part of s.split('/')) {
      const [k, v] = part.split('=');
      const cls = VARIANT_CLASSES[k ?? ''];
      if (cls === undefined || v === undefined || !Number.isInteger(Number(v))) throw new Error(`variant part ${part}: want v8=N, pool=N or main=N`);
      nice.set(cls, Number(v));
    }
  }
  return { name: s, nice };
}

interface Sched {
  cpuNs: number;
  waitNs: number;
  slices: number;
  /** Times the scheduler took a CPU from a runnable thread (nonvoluntary_ctxt_switches). */
  preempted?: number;
}
function preemptions(pid: number, tid: number): number {
  const m = /nonvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'latin1'));
  return Number(m?.[1] ?? 0);
}
/** schedstat of every thread of `pid` by class: summed run ns, wait ns, timeslices. */
function schedByClass(pid: number): Map<string, Sched> {
  const out = new Map<string, Sched>();
  for (const th of nodeThreads(pid, ownPoolSizes([], {}))) {
    try {
      const [run, wait, slices] = readFileSync(`/proc/${pid}/task/${th.tid}/schedstat`, 'latin1').trim().split(' ').map(Number);
      const cls = th.cls.startsWith('rocksdb:') ? 'rocksdb' : th.cls;
      const s = out.get(cls) ?? { cpuNs: 0, waitNs: 0, slices: 0 };
      s.cpuNs += run ?? 0;
      s.waitNs += wait ?? 0;
      s.slices += slices ?? 0;
      s.preempted = (s.preempted ?? 0) + preemptions(pid, th.tid);
      out.set(cls, s);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
function schedDelta(after: Map<string, Sched>, before: Map<string, Sched>): Map<string, Sched> {
  const out = new Map<string, Sched>();
  for (const [c, a] of after) {
    const b = before.get(c) ?? { cpuNs: 0, waitNs: 0, slices: 0 };
    out.set(c, { cpuNs: a.cpuNs - b.cpuNs, waitNs: a.waitNs - b.waitNs, slices: a.slices - b.slices, preempted: (a.preempted ?? 0) - (b.preempted ?? 0) });
  }
  return out;
}
/** Summed schedstat of every thread of a (Go) process, any names. */
function schedAll(pid: number): Sched | undefined {
  try {
    const s = { cpuNs: 0, waitNs: 0, slices: 0 };
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const [run, wait, slices] = readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'latin1').trim().split(' ').map(Number);
      s.cpuNs += run ?? 0;
      s.waitNs += wait ?? 0;
      s.slices += slices ?? 0;
    }
    return s;
  } catch {
    return undefined;
  }
}

function applyVariant(nodes: ClusterNode[], v: Variant): void {
  for (const n of nodes) {
    for (const th of nodeThreads(n.pid, ownPoolSizes([], {}))) {
      if (!RENICED.has(th.cls)) continue;
      try {
        setPriority(th.tid, v.nice.get(th.cls) ?? 0);
      } catch {
        // exited meanwhile
      }
    }
  }
}

const ms = (ns: number): string => (ns / 1e6).toFixed(0);

const variants = args.variants.split(',').map(parseVariant);
const rounds = Number(args.rounds);
const dir = mkdtempSync(join(tmpdir(), 'rs-probe-datascale-'));
const baseEnv = { ...process.env, REGIONSTORE_NODE_NICE: 'off' };
const env = args.stalls === undefined ? baseEnv : { ...profiledEnv(args.stalls, baseEnv), RS_PROF_OFF: args.profile ? '0' : '1', RS_STALL_MIN_MS: String(STALL_MIN_MS) };
const nodeFlags = args['node-flags'].split(/\s+/).filter((f) => f !== '');
const serve = process.env[SERVE_FROM_ENV] === 'tsx' ? TSX_SERVE_COMMAND : DIST_SERVE_COMMAND;
const command = { ...serve, args: [...nodeFlags, ...serve.args] };
const cluster = await startCluster({ dataDir: join(dir, 'rs'), nodes: Number(args.members), ready: 'healthy', extraArgs: TIMINGS, env, command });
interface Row { round: number; variant: string; startMs: number; endMs: number; leader: string; p99: Map<string, number>; max: Map<string, number> }
const rows: Row[] = [];
try {
  const leader = await leaderOf(cluster);
  const endpoint = leader.clientUrl.replace(/^http:\/\//, '');
  console.log(`members: ${cluster.nodes.map((n) => `${n.name} pid ${n.pid}${n === leader ? ' (leader)' : ''}`).join(', ')}; run as ${command.args.join(' ')}`);
  const keys = Number(args.keys);
  if (keys > 0) {
    const r = await loadStage(endpoint, 0, keys, valueSource(true, 1));
    await settle(cluster, SETTLE_TIMEOUT_MS);
    console.log(`preloaded ${keys} keys in ${r.seconds.toFixed(1)} s, ${r.failed} failed`);
  }
  for (let round = 1; round <= rounds; round++) {
    for (const v of variants) {
      applyVariant(cluster.nodes, v);
      await new Promise((r) => setTimeout(r, PAUSE_BETWEEN_MS));
      const loadBefore = load();
      await Promise.all(cluster.nodes.map((n) => scrape(`${n.metricsUrl}/metrics`))); // opens the loop-delay window
      const perfFile = args.perf === undefined ? undefined : join(resolve(args.perf), `round${round}-${v.name.replace(/[^\w=-]/g, '_')}.data`);
      const perf = perfFile === undefined ? undefined : await startPerf(perfFile);
      const before = cluster.nodes.map((n) => schedByClass(n.pid));
      const startMs = monoMs();
      const etcdctlTids = new Set<number>();
      let etcdctl: Sched | undefined;
      const poll = setInterval(() => {
        // the members are children of this process too: etcdctl is the child of that name
        const pids = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'latin1').trim().split(' ').filter((p) => p !== '');
        for (const p of pids) {
          try {
            if (readFileSync(`/proc/${p}/comm`, 'latin1').trim() !== 'etcdctl') continue;
            etcdctl = schedAll(Number(p)) ?? etcdctl;
            for (const t of readdirSync(`/proc/${p}/task`)) etcdctlTids.add(Number(t));
          } catch {
            // exited meanwhile
          }
        }
      }, ETCDCTL_POLL_MS);
      const result = await runDatascale(endpoint);
      clearInterval(poll);
      const endMs = monoMs();
      const after = cluster.nodes.map((n) => schedByClass(n.pid));
      const loops = await Promise.all(cluster.nodes.map((n) => scrape(`${n.metricsUrl}/metrics`)));
      const wallS = (endMs - startMs) / 1000;
      const row: Row = { round, variant: v.name, startMs, endMs, leader: leader.name, p99: new Map(), max: new Map() };
      let memberCpuNs = 0;
      console.log(`\n## round ${round}, ${v.name}: ${result?.detail ?? 'etcdctl missing'}; ${wallS.toFixed(1)} s; load average ${loadBefore} before, ${load()} after`);
      for (const [i, n] of cluster.nodes.entries()) {
        const d = schedDelta(after[i]!, before[i]!);
        const p99 = (loops[i]?.get(`${LOOP_METRIC}{quantile="0.99"}`) ?? NaN) * 1000;
        const max = (loops[i]?.get(`${LOOP_METRIC}{quantile="1"}`) ?? NaN) * 1000;
        row.p99.set(n.name, p99);
        row.max.set(n.name, max);
        const total = [...d.values()].reduce((s, x) => s + x.cpuNs, 0);
        memberCpuNs += total;
        const main = d.get('main') ?? { cpuNs: 0, waitNs: 0, slices: 0 };
        const cls = [...d].filter(([, s]) => s.cpuNs + s.waitNs > 5e6).sort((a, b) => b[1].cpuNs - a[1].cpuNs)
          .map(([c, s]) => `${c} ${ms(s.cpuNs)}/${ms(s.waitNs)}`).join(', ');
        console.log(`  ${n.name}${n === leader ? '*' : ' '} loop p99 ${p99.toFixed(1)} max ${max.toFixed(0)} ms | CPU ${ms(total)} ms | main: CPU ${ms(main.cpuNs)}, ` +
          `wait ${ms(main.waitNs)} ms over ${main.slices} slices (${(main.waitNs / Math.max(1, main.slices) / 1e3).toFixed(0)} µs/slice), preempted ${main.preempted ?? 0}× | CPU/wait ms by class: ${cls}`);
      }
      const e = etcdctl ?? { cpuNs: 0, waitNs: 0, slices: 0 };
      console.log(`  etcdctl CPU ${ms(e.cpuNs)} ms, wait ${ms(e.waitNs)} ms | members + etcdctl CPU ${ms(memberCpuNs + e.cpuNs)} ms = ` +
        `${((memberCpuNs + e.cpuNs) / 1e9 / wallS / 2 * 100).toFixed(0)} % of 2 cores over the check`);
      rows.push(row);
      if (perf !== undefined && perfFile !== undefined) {
        perf.kill('SIGINT');
        await new Promise((r) => perf.once('exit', r));
        reportWaits(perfFile, cluster.nodes, etcdctlTids, startMs / 1000, endMs / 1000);
      }
      await settle(cluster, SETTLE_TIMEOUT_MS);
    }
  }
} finally {
  await cluster.stop();
  console.log('\n## summary: loop p99 / max (ms) per member, every round');
  for (const v of variants) {
    console.log(`  ${v.name}:`);
    for (const r of rows.filter((x) => x.variant === v.name)) {
      console.log(`    round ${r.round}: ${[...r.p99].map(([n, p]) => `${n}${n === r.leader ? '*' : ''} ${p.toFixed(1)}/${(r.max.get(n) ?? NaN).toFixed(0)}`).join(', ')}`);
    }
  }
  if (args.stalls !== undefined) stallReport(resolve(args.stalls));
  if (args.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

async function startPerf(file: string): Promise<ReturnType<typeof spawn>> {
  mkdirSync(resolve(file, '..'), { recursive: true });
  const p = spawn('perf', ['record', '-q', '-k', 'mono', '-a', '-e', 'sched:sched_switch', '-e', 'sched:sched_wakeup', '-o', file], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, PERF_START_MS));
  return p;
}

/** "label ms, ...", largest first, of the labels with 1 ms or more. */
function largestFirst(m: Map<string, number>): string {
  return [...m].sort((a, b) => b[1] - a[1]).filter(([, x]) => x >= 1).map(([k, x]) => `${k} ${x.toFixed(0)}`).join(', ');
}

/** The main threads' waits for a core in one check, and what ran during the long ones. */
function reportWaits(file: string, nodes: ClusterNode[], etcdctlTids: Set<number>, fromS: number, toS: number): void {
  const labels = new Map<number, string>();
  const watched = new Map<number, string>();
  for (const n of nodes) {
    for (const th of nodeThreads(n.pid, ownPoolSizes([], {}))) labels.set(th.tid, `${n.name} ${th.cls.startsWith('rocksdb:') ? 'rocksdb' : th.cls}`);
    watched.set(n.pid, n.name);
  }
  for (const t of etcdctlTids) labels.set(t, 'etcdctl');
  for (const t of readdirSync(`/proc/${process.pid}/task`)) labels.set(Number(t), 'probe');
  const text = spawnSync('perf', ['script', '-i', file, '-F', 'tid,cpu,time,event,trace'], { encoding: 'utf8', maxBuffer: 1 << 30 }).stdout;
  const r = analyzeWaits(text, (tid) => labels.get(tid) ?? (tid === 0 ? 'idle' : 'other'), watched, PERF_LONG_WAIT_MS, fromS, toS);
  console.log(`  main-thread waits for a core (perf): ${[...r.waits].map(([n, w]) => `${n} ${w.all} waits ${w.allMs.toFixed(0)} ms (max ${w.maxMs.toFixed(1)}), ` +
    `${w.long} ≥ ${PERF_LONG_WAIT_MS} ms: ${w.longMs.toFixed(0)} ms`).join('; ')}`);
  console.log(`  ran on the cores during those long waits (ms, both cores): ${largestFirst(r.behind)}`);
  console.log(`  ran on the cores over the check (ms): ${largestFirst(r.ran)}`);
}

/** Per round and member: stalls ≥ STALL_MIN_MS the member's own 5 ms timer saw: wall, and the
 *  main thread's CPU and runqueue wait in them (the rest: blocked, e.g. in a syscall). */
function stallReport(stallDir: string): void {
  console.log(`\n## stalls ≥ ${STALL_MIN_MS} ms (member's own timer): count, summed wall / main-thread CPU / waiting for a core ms, the 3 longest as wall/CPU/wait (wall - CPU - wait: blocked)`);
  for (const r of rows) {
    const parts: string[] = [];
    for (const n of cluster.nodes) {
      const f = join(stallDir, `proc-${n.pid}.stalls.json`);
      if (!existsSync(f)) continue;
      // [start, wall, cpu, wait]; wait is missing in logs of builds before session 13 (-1 shown).
      const stalls = (JSON.parse(readFileSync(f, 'utf8')) as Array<[number, number, number, number?]>).filter(([t]) => t >= r.startMs && t <= r.endMs);
      const wall = stalls.reduce((s, x) => s + x[1], 0);
      const cpu = stalls.reduce((s, x) => s + Math.max(0, x[2]), 0);
      const wait = stalls.reduce((s, x) => s + Math.max(0, x[3] ?? -1), 0);
      const top = [...stalls].sort((a, b) => b[1] - a[1]).slice(0, 3).map((x) => `${x[1].toFixed(0)}/${x[2].toFixed(0)}/${(x[3] ?? -1).toFixed(0)}`).join(' ');
      parts.push(`${n.name} ${stalls.length}: ${wall.toFixed(0)}/${cpu.toFixed(0)}/${wait.toFixed(0)} [${top}]`);
    }
    console.log(`  round ${r.round} ${r.variant}: ${parts.join('; ')}`);
  }
}
