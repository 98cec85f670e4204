// `npm run bench:compare`: a 3-member etcd (Debian etcd-server) and a 3-node regionstore
// cluster side by side on loopback, with the same settings (heartbeat 100 ms, election
// 1000 ms, snapshot every 10000 entries, data in temp dirs on the same disk, fsync on),
// then the rows of client/bench/compare.ts, then a Markdown table.
//
//   npm run bench:compare -- [--total 20000 | --duration 10] [--value-size 256]
//       [--drivers h2load,client] [--rows put-1,put-256,lww-1,lww-256,range-l,range-s]
//       [--repeat N] [--cpu-prof DIR] [--json FILE] [--keep]
//
// --repeat N runs every chosen row N times, rounds alternating the row order and which
// system goes first, and reports per row the median of the N runs with min-max (a single
// row of a few seconds cannot tell two figures within ~10 % of each other apart).
//
// The lww rows put to an eventual lww namespace of regionstore (bench-lww, created first)
// beside the strong put rows, through the same drivers (see client/bench/compare.ts).
//
// --cpu-prof runs every regionstore node under `node --cpu-prof` (profiles are written to
// DIR when the nodes stop; the leader's pid is printed). This lives in cluster/ because
// it starts processes with the launcher; client/bench holds the measuring.

import { createWriteStream, mkdtempSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { waitForLeader } from './wait-leader.js';
import {
  SYSTEMS, TOTAL_DEFAULT, VALUE_SIZE_DEFAULT, WORKLOADS, renderComparison, runComparison,
  type CompareOptions, type Driver, type Target, type WorkloadId,
} from '../client/bench/compare.js';
import { CpuMeter } from '../client/bench/cpu-meter.js';
import { scrape } from '../client/bench/scale-probes.js';
import { REPO_ROOT, describeServeCommand, serveCommandFromEnv, startCluster, type LocalCluster, type ServeCommand } from './launcher.js';
import { pickFreePorts } from './ports.js';
import { spawnNode, stopPid, type Spawned } from './processes.js';

/** Settings both systems get (etcd's defaults for the timings). */
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1_000;
const SNAPSHOT_COUNT = 10_000;
const MEMBERS = 3;
const HOST = '127.0.0.1';
/** The series counting each system's log syncs (one observation per synced log write). */
const ETCD_LOG_SYNCS = 'etcd_disk_wal_fsync_duration_seconds_count';
const RS_LOG_SYNCS = 'regionstore_raft_persist_batch_entries_count';
/** 128 + SIGINT, as a shell reports a Ctrl-C. */
const INTERRUPTED_EXIT_CODE = 130;

interface Running {
  target: Target;
  /** The server processes (for the CPU meter). */
  pids(): number[];
  stop(): Promise<void>;
}

/** etcd serves /metrics on its client URLs: its WAL fsyncs are its log syncs. */
function etcdLogSyncs(endpoint: string): Promise<number | undefined> {
  return scrape(`http://${endpoint}/metrics`).then((m) => m?.get(ETCD_LOG_SYNCS));
}

async function startEtcd(dir: string): Promise<Running> {
  const ports = await pickFreePorts(2 * MEMBERS, HOST);
  const names = Array.from({ length: MEMBERS }, (_, i) => `e${i + 1}`);
  const peer = (i: number): string => `http://${HOST}:${ports[2 * i + 1]}`;
  const client = (i: number): string => `http://${HOST}:${ports[2 * i]}`;
  const initial = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const spawned: Spawned[] = names.map((name, i) => spawnNode({
    name, executable: 'etcd', cwd: dir, env: process.env, output: { kind: 'file', path: join(dir, `${name}.log`) },
    args: [
      '--name', name, '--data-dir', join(dir, name),
      '--listen-client-urls', client(i), '--advertise-client-urls', client(i),
      '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
      '--initial-cluster', initial, '--initial-cluster-token', 'bench-compare', '--initial-cluster-state', 'new',
      '--heartbeat-interval', String(HEARTBEAT_MS), '--election-timeout', String(ELECTION_MS),
      '--snapshot-count', String(SNAPSHOT_COUNT), '--logger', 'zap', '--log-level', 'warn',
    ],
  }));
  const endpoints = names.map((_, i) => `${HOST}:${ports[2 * i]}`);
  const stop = async (): Promise<void> => {
    await Promise.all(spawned.map((s) => (s.child.pid === undefined ? undefined : stopPid(s.child.pid, s.exited))));
  };
  try {
    await waitForLeader('etcd', endpoints);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; see ${dir}/e*.log (is etcd installed? Debian package etcd-server)`, { cause: err });
  }
  const pids = (): number[] => spawned.map((s) => s.child.pid ?? 0);
  return { target: { name: 'etcd', endpoints, pids, logSyncs: etcdLogSyncs }, pids, stop };
}

async function startRegionstore(dir: string, cpuProfDir: string | undefined): Promise<Running & { cluster: LocalCluster }> {
  const nodeLog: WriteStream = createWriteStream(join(dir, 'regionstore.log'));
  const command: ServeCommand = cpuProfDir === undefined ? serveCommandFromEnv() : {
    executable: process.execPath,
    args: ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, '--import', 'tsx', join(REPO_ROOT, 'server', 'main.ts'), 'serve'],
    cwd: REPO_ROOT,
  };
  log(describeServeCommand(command));
  const cluster = await startCluster({
    dataDir: join(dir, 'rs'), nodes: MEMBERS, host: HOST, ready: 'healthy',
    command,
    extraArgs: ['--heartbeat-ms', String(HEARTBEAT_MS), '--election-ms', String(ELECTION_MS), '--snapshot-count', String(SNAPSHOT_COUNT), '--log-level', 'warn'],
    onLine: (name, line) => nodeLog.write(`[${name}] ${line}\n`),
  });
  const endpoints = cluster.nodes.map((n) => n.clientUrl.replace(/^http:\/\//, ''));
  await waitForLeader('regionstore', endpoints);
  const pids = (): number[] => cluster.nodes.map((n) => n.pid);
  const metricsOf = new Map(cluster.nodes.map((n, i) => [endpoints[i]!, `${n.metricsUrl}/metrics`]));
  const logSyncs = async (endpoint: string): Promise<number | undefined> => {
    const url = metricsOf.get(endpoint);
    return url === undefined ? undefined : (await scrape(url))?.get(RS_LOG_SYNCS);
  };
  return {
    cluster,
    target: { name: 'regionstore', endpoints, pids, logSyncs },
    pids,
    stop: async () => {
      await cluster.stop();
      nodeLog.end();
    },
  };
}

interface Args extends Omit<CompareOptions, 'log'> {
  cpuProfDir?: string;
  jsonFile?: string;
  keep: boolean;
}

function positive(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive whole number, got ${String(v)}`);
  return n;
}

function log(line: string): void {
  console.error(`[bench] ${line}`);
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    total: TOTAL_DEFAULT, valueSize: VALUE_SIZE_DEFAULT, drivers: ['h2load', 'client'], workloads: WORKLOADS.map((w) => w.id), keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const v = argv[i + 1];
    const list = (): string[] => (v ?? '').split(',').filter((s) => s !== '');
    if (flag === '--keep') a.keep = true;
    else if (flag === '--total') a.total = positive(flag, v);
    else if (flag === '--duration') a.durationS = positive(flag, v);
    else if (flag === '--value-size') a.valueSize = positive(flag, v);
    else if (flag === '--repeat') a.repeat = positive(flag, v);
    else if (flag === '--drivers') a.drivers = list() as Driver[];
    else if (flag === '--rows') a.workloads = list() as WorkloadId[];
    else if (flag === '--cpu-prof') a.cpuProfDir = resolve(v ?? '');
    else if (flag === '--json') a.jsonFile = resolve(v ?? '');
    else throw new Error(`unknown flag ${flag}; see the top of cluster/bench-compare.ts`);
    if (flag !== '--keep') i++;
  }
  if (a.drivers.some((d) => d !== 'h2load' && d !== 'client')) throw new Error('--drivers takes h2load and/or client');
  const ids = WORKLOADS.map((w) => w.id);
  if (a.workloads.some((w) => !ids.includes(w))) throw new Error(`--rows takes ${ids.join(', ')}`);
  return a;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-compare-'));
  log(`data, logs: ${dir}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const running: Running[] = [];
  process.once('SIGINT', () => {
    log('interrupted: stopping both clusters');
    void Promise.allSettled(running.map((r) => r.stop())).then(() => {
      if (!args.keep) rmSync(dir, { recursive: true, force: true });
      process.exit(INTERRUPTED_EXIT_CODE);
    });
  });
  try {
    const etcd = await startEtcd(dir);
    running.push(etcd);
    const rs = await startRegionstore(dir, args.cpuProfDir);
    running.push(rs);
    const leader = await rs.cluster.leader();
    if (args.cpuProfDir !== undefined) log(`regionstore leader ${String(leader)} pid ${leader === undefined ? '?' : rs.cluster.node(leader).pid}`);
    const started = new Date();
    const meter = new CpuMeter(() => running.flatMap((r) => r.pids()));
    const rows = await runComparison({ etcd: etcd.target, regionstore: rs.target }, { ...args, log, meter });
    const settings = `${MEMBERS} members each on ${HOST}, fsync on, heartbeat ${HEARTBEAT_MS} ms, election ${ELECTION_MS} ms, ` +
      `value ${args.valueSize} B, ${args.durationS === undefined ? `--total ${args.total}` : `--duration ${args.durationS}s`}` +
      `${(args.repeat ?? 1) > 1 ? `, every row ${args.repeat} times (medians, min-max)` : ''}`;
    process.stdout.write(`\nregionstore vs etcd, ${started.toISOString()}; ${settings}\n` +
      'ratio rs/etcd: above 1 is better for throughput, below 1 is better for latency; other CPU: share of all cores used by ' +
      'processes other than the two clusters, h2load, this one and kernel threads (fsync work) during the row; members\' CPU: ' +
      'CPU time of the three members together (every thread) per answered op, which holds on a loaded machine\n\n' + renderComparison(rows));
    if (args.jsonFile !== undefined) writeFileSync(args.jsonFile, JSON.stringify({ started, settings, systems: SYSTEMS, rows }, null, 2));
  } finally {
    for (const r of running.reverse()) await r.stop().catch(() => undefined);
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().catch((err: unknown) => {
  console.error(`bench:compare failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
