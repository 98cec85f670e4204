// What a put costs each member in CPU as the store grows (issue 20: the put rate at 1M
// keys): a 3-member cluster from dist/, loaded by bench:scale's raw client (4 connections,
// 256 puts in flight to the leader, 16-byte keys in scattered order, 256-byte values), in
// stages. Per stage and member: CPU time per put of the whole process (every thread: the
// main thread, RocksDB's flush and compaction threads, libuv's pool running the binding's
// reads and writes) and of the main thread alone, from /proc (so the figures hold up on a
// loaded machine, unlike the rate), and the event-loop delay p99/max over the stage
// (`regionstore_event_loop_delay_seconds`, whose window a scrape opens and closes), and the
// synced log writes and apply batches per 1000 puts (how much each Ready batches).
//
//   npx tsx scripts/trace-put-cpu.ts [--stages 20000,200000] [--random-values] [--gets 20000] [--node-flags '--v8-pool-size=1'] [--prof DIR] [--keep]
//
// --gets N: after the last stage, N linearizable gets of random loaded keys (bench:scale's
// read step: 256 in flight to the leader) and their CPU per get per member and thread.
// RS_CLUSTER_SERVE_FROM=tsx runs the members from the sources instead of dist/.
//
// --stages: the key counts at the end of each stage. --node-flags: node flags for the
// members, before the launcher's own. --prof DIR: every member runs under
// the CPU profiler (scripts/profile-preload.mjs) and writes DIR/proc-<pid>.cpuprofile when
// it stops; the pids of the leader and followers are printed.
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DIST_SERVE_COMMAND, SERVE_FROM_ENV, TSX_SERVE_COMMAND, startCluster } from '../cluster/launcher.js';
import { leaderOf, settle as settleWithin } from './cluster-settle.js';
import { procCpu } from './proc-thread-cpu.js';
import { profiledEnv } from './profile-env.js';
import { getRandomKeys, loadStage, partRates, valueSource } from '../client/bench/scale-load.js';
import { scrape } from '../client/bench/scale-probes.js';

const { values: args } = parseArgs({
  options: {
    stages: { type: 'string', default: '20000,200000' },
    'random-values': { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    prof: { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    keep: { type: 'boolean', default: false },
    gets: { type: 'string', default: '0' },
  },
});

const TIMINGS = ['--heartbeat-ms', '100', '--election-ms', '1000', '--log-level', 'warn'];
const SETTLE_TIMEOUT_MS = 300_000;
/** Kernel clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's CPU times. */
const LOOP_METRIC = 'regionstore_event_loop_delay_seconds';
/** Synced log writes (one per Ready with entries or hard state) and apply batches: how much
 *  group commit each member gets, as counts per 1000 puts over the stage. */
const PERSISTS = 'regionstore_raft_persist_batch_entries_count';
const APPLIES = 'regionstore_apply_batch_entries_count';

const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

const stages = args.stages.split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'rs-put-cpu-'));
const env = profiledEnv(args.prof);
const nodeFlags = args['node-flags'].split(/\s+/).filter((f) => f !== '');
const serve = process.env[SERVE_FROM_ENV] === 'tsx' ? TSX_SERVE_COMMAND : DIST_SERVE_COMMAND;
const command = { ...serve, args: [...nodeFlags, ...serve.args] };
const cluster = await startCluster({ dataDir: join(dir, 'rs'), nodes: 3, ready: 'healthy', extraArgs: TIMINGS, env, command });
try {
  const value = valueSource(args['random-values'], Number(args.seed));
  const leader = await leaderOf(cluster);
  console.log(`members: ${cluster.nodes.map((n) => `${n.name} pid ${n.pid}${n === leader ? ' (leader)' : ''}`).join(', ')}; values ${args['random-values'] ? 'random' : 'constant'}; ` +
    `node flags ${command.args.slice(0, -2).join(' ') || 'none'}`);
  let from = 0;
  for (const to of stages) {
    const countsBefore = await Promise.all(cluster.nodes.map((n) => scrape(`${n.metricsUrl}/metrics`))); // opens the loop-delay window
    const before = cluster.nodes.map((n) => procCpu(n.pid));
    const loadBefore = load();
    const stageStartMs = Date.now();
    const r = await loadStage(leader.clientUrl.replace(/^http:\/\//, ''), from, to, value);
    await settleWithin(cluster, SETTLE_TIMEOUT_MS);
    const after = cluster.nodes.map((n) => procCpu(n.pid));
    const loops = await Promise.all(cluster.nodes.map((n) => scrape(`${n.metricsUrl}/metrics`)));
    const puts = to - from;
    const rates = partRates(r).map((x) => Math.round(x));
    console.log(`\n## ${from}→${to}: ${puts} puts in ${r.seconds.toFixed(1)} s (${Math.round(puts / r.seconds)}/s, last tenth ${rates.at(-1)}/s; tenths ${rates.join(' ')}), ` +
      `${r.failed} failed${r.failed > 0 ? ` (${JSON.stringify(r.errors)})` : ''}; load average ${loadBefore} before, ${load()} after; ` +
      `began at ${stageStartMs} (ms since 1970, for the stall logs)`);
    console.table(cluster.nodes.map((n, i) => {
      const all = (after[i]!.all - before[i]!.all) / puts;
      const main = (after[i]!.main - before[i]!.main) / puts;
      const m = loops[i];
      const per1k = (name: string): string => {
        const d = (m?.get(name) ?? NaN) - (countsBefore[i]?.get(name) ?? NaN);
        return Number.isFinite(d) ? (d * 1000 / puts).toFixed(1) : '?';
      };
      return {
        member: `${n.name}${n === leader ? ' (leader)' : ''}`,
        'CPU µs/put (all threads)': Math.round(all * 1e6),
        'main thread µs/put': Math.round(main * 1e6),
        'other threads µs/put': Math.round((all - main) * 1e6),
        'loop p99 ms': m === undefined ? '?' : ((m.get(`${LOOP_METRIC}{quantile="0.99"}`) ?? NaN) * 1000).toFixed(1),
        'loop max ms': m === undefined ? '?' : ((m.get(`${LOOP_METRIC}{quantile="1"}`) ?? NaN) * 1000).toFixed(0),
        'log syncs /1k puts': per1k(PERSISTS),
        'apply batches /1k puts': per1k(APPLIES),
      };
    }));
    for (const [i, n] of cluster.nodes.entries()) {
      const groups = [...after[i]!.byThread].map(([g, s]) => [g, (s - (before[i]!.byThread.get(g) ?? 0)) / puts] as const)
        .filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]);
      console.log(`  ${n.name} µs/put by thread: ${groups.map(([g, s]) => `${g} ${(s * 1e6).toFixed(1)}`).join(', ')}`);
    }
    from = to;
  }
  const gets = Number(args.gets);
  if (gets > 0) {
    const before = cluster.nodes.map((n) => procCpu(n.pid));
    const loadBefore = load();
    const r = await getRandomKeys(leader.clientUrl.replace(/^http:\/\//, ''), from, new Set(), gets, Number(args.seed));
    const after = cluster.nodes.map((n) => procCpu(n.pid));
    console.log(`\n## ${gets} linearizable gets of ${from} keys: ${Math.round(r.ok / r.seconds)}/s, ${r.failed} failed; load average ${loadBefore} before, ${load()} after`);
    for (const [i, n] of cluster.nodes.entries()) {
      const groups = [...after[i]!.byThread].map(([g, s]) => [g, (s - (before[i]!.byThread.get(g) ?? 0)) / gets] as const)
        .filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]);
      console.log(`  ${n.name}${n === leader ? ' (leader)' : ''} CPU µs/get ${Math.round(((after[i]!.all - before[i]!.all) / gets) * 1e6)}, ` +
        `main ${Math.round(((after[i]!.main - before[i]!.main) / gets) * 1e6)}; by thread: ${groups.map(([g, s]) => `${g} ${(s * 1e6).toFixed(1)}`).join(', ')}`);
    }
  }
} finally {
  await cluster.stop();
  if (args.prof !== undefined) console.log(`profiles in ${resolve(args.prof)} (proc-<pid>.cpuprofile)`);
  if (args.keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}
