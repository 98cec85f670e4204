// `npm run bench:scale`: etcd (Debian etcd-server) and regionstore, each a 3-member
// cluster on loopback with its default settings (heartbeat 100 ms, election 1000 ms, each
// system's own snapshot count), fsync on, fresh temp dirs, one system at a time (etcd
// first), loaded by the same raw HTTP/2 gRPC client to 1 %, 10 % and 100 % of --keys, then
// the top-size steps of client/bench/scale-steps.ts; prints the Markdown report of
// client/bench/scale-report.ts (figures, rs/etcd ratios, the goals of issue 20).
//
//   npm run bench:scale -- [--keys 1000000] [--gets 50000] [--random-values] [--seed N]
//       [--systems etcd,regionstore] [--steps gets,range,count,hashkv,restarts,memberadd,datascale]
//       [--json FILE] [--keep]
//   --steps: only these steps after the load (which always runs), e.g. `--keys 200000
//   --steps datascale` to look at one step's event-loop delay without the others.
//   npm run bench:scale -- --render FILE.json     # the report of an earlier --json again
//
// Event-loop delay (regionstore): each member's `regionstore_event_loop_delay_seconds` on
// its metrics port, whose window the scrape before a step opens and the one after closes;
// a member started during the step (restarts, member add) is read from when its Raft
// started ticking (server/metrics/event-loop-delay.ts: the start-up before it runs no tick
// or heartbeat; its length is the restart and catch-up times). Other readers of the client
// port's /metrics (etcdctl check datascale reads it twice) have a window of their own.
//
// Exits non-zero only when it could not run (a cluster did not start, a step failed),
// never because a goal is unmet. This lives in cluster/ because it starts processes.

import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../client/index.js';
import { waitForLeader } from './wait-leader.js';
import { SYSTEMS, type SystemName } from '../client/bench/compare.js';
import { CONNECTIONS, IN_FLIGHT, KEYS_MAX, KEY_BYTES, VALUE_BYTES } from '../client/bench/scale-load.js';
import { renderScaleReport, type ScaleReport } from '../client/bench/scale-report.js';
import { SCALE_STEPS, STEP_TIMEOUT_MS, emptyResult, runScale, type ScaleMember, type ScaleStep, type ScaleSystem } from '../client/bench/scale-steps.js';
import { describeServeCommand, serveCommandFromEnv, startCluster, type LocalCluster } from './launcher.js';
import { pickFreePorts } from './ports.js';
import { spawnNode, stopPid, type Spawned } from './processes.js';

/** etcd's default timings, given to both systems explicitly. */
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1_000;
const MEMBERS = 3;
const HOST = '127.0.0.1';
const KEYS_DEFAULT = 1_000_000;
/** Linearizable gets at the top size (about 10 s at etcd's rate on 2 cores). */
const GETS_DEFAULT = 50_000;
/** 128 + SIGINT, as a shell reports a Ctrl-C. */
const INTERRUPTED_EXIT_CODE = 130;

interface Running extends ScaleSystem {
  stop(): Promise<void>;
}

function log(line: string): void {
  console.error(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** How long a member add is retried while etcd refuses it as unsafe (members restarted under 5 s ago). */
const MEMBER_ADD_RETRY_MS = 30_000;
const MEMBER_ADD_RETRY_PAUSE_MS = 250;

/**
 * `member add` of `peerUrl` through any running member: the NAME=URL list the new member
 * starts with, and when the add was accepted (performance.now()). etcd's strict reconfig
 * check refuses an add until every member has been connected for 5 s ("unhealthy
 * cluster", refused before anything is proposed, so asking again is safe); that wait
 * after the full restart is not the new member's catch-up, so the clock starts at the
 * attempt that was accepted.
 */
async function memberAdd(endpoints: string[], name: string, peerUrl: string): Promise<{ initialCluster: string; startMs: number }> {
  const c = new Client({ endpoints, attempts: 1, timeoutMs: 10_000 });
  const deadline = performance.now() + MEMBER_ADD_RETRY_MS;
  try {
    for (;;) {
      const startMs = performance.now();
      try {
        const added = await c.cluster.add([peerUrl]);
        const initialCluster = added.members.map((m) => `${m.id === added.member.id ? name : m.name}=${m.peerUrls[0] ?? ''}`).join(',');
        return { initialCluster, startMs };
      } catch (err) {
        if (!/unhealthy cluster/.test((err as Error).message) || performance.now() > deadline) throw err;
        await sleep(MEMBER_ADD_RETRY_PAUSE_MS);
      }
    }
  } finally {
    c.close();
  }
}

interface Proc {
  member: ScaleMember;
  args: string[];
  spawned: Spawned | undefined;
}

/** A 3-member etcd; every member's process is ours to stop and start. */
async function startEtcd(dir: string): Promise<Running> {
  const ports = await pickFreePorts(2 * MEMBERS, HOST);
  const procs: Proc[] = [];
  const token = 'bench-scale';
  const etcdArgs = (name: string, clientPort: number, peerPort: number, initial: string, state: 'new' | 'existing'): string[] => [
    '--name', name, '--data-dir', join(dir, name),
    '--listen-client-urls', `http://${HOST}:${clientPort}`, '--advertise-client-urls', `http://${HOST}:${clientPort}`,
    '--listen-peer-urls', `http://${HOST}:${peerPort}`, '--initial-advertise-peer-urls', `http://${HOST}:${peerPort}`,
    '--initial-cluster', initial, '--initial-cluster-token', token, '--initial-cluster-state', state,
    '--heartbeat-interval', String(HEARTBEAT_MS), '--election-timeout', String(ELECTION_MS), '--logger', 'zap', '--log-level', 'warn',
  ];
  const launch = (p: Proc): void => {
    p.spawned = spawnNode({
      name: p.member.name, executable: 'etcd', cwd: dir, env: process.env,
      output: { kind: 'file', path: join(dir, `${p.member.name}.log`) }, args: p.args,
    });
    p.member.pid = p.spawned.child.pid ?? 0;
  };
  const names = Array.from({ length: MEMBERS }, (_, i) => `e${i + 1}`);
  const initial = names.map((n, i) => `${n}=http://${HOST}:${ports[2 * i + 1]}`).join(',');
  names.forEach((name, i) => {
    const clientPort = ports[2 * i] as number;
    const member = { name, endpoint: `${HOST}:${clientPort}`, metricsUrl: `http://${HOST}:${clientPort}/metrics`, pid: 0, dataDir: join(dir, name) };
    procs.push({ member, args: etcdArgs(name, clientPort, ports[2 * i + 1] as number, initial, 'new'), spawned: undefined });
  });
  procs.forEach(launch);
  const proc = (name: string): Proc => procs.find((p) => p.member.name === name) as Proc;
  const stopMember = async (name: string): Promise<void> => {
    const p = proc(name);
    if (p.spawned !== undefined) await stopPid(p.member.pid, p.spawned.exited);
    p.spawned = undefined;
  };
  const sys: Running = {
    name: 'etcd',
    members: () => procs.filter((p) => p.spawned !== undefined).map((p) => p.member),
    leaderChangesMetric: 'etcd_server_leader_changes_seen_total',
    stopMember,
    startMember: async (name) => launch(proc(name)),
    async addMember() {
      const name = `e${procs.length + 1}`;
      const [clientPort, peerPort] = (await pickFreePorts(2, HOST)) as [number, number];
      const added = await memberAdd(sys.members().map((m) => m.endpoint), name, `http://${HOST}:${peerPort}`);
      const member = { name, endpoint: `${HOST}:${clientPort}`, metricsUrl: `http://${HOST}:${clientPort}/metrics`, pid: 0, dataDir: join(dir, name) };
      const p: Proc = { member, args: etcdArgs(name, clientPort, peerPort, added.initialCluster, 'existing'), spawned: undefined };
      procs.push(p);
      launch(p);
      return { member, startMs: added.startMs };
    },
    stop: async () => {
      await Promise.all(procs.map((p) => stopMember(p.member.name)));
    },
  };
  try {
    await waitForLeader('etcd', sys.members().map((m) => m.endpoint));
  } catch (err) {
    await sys.stop();
    throw new Error(`${(err as Error).message}; see ${dir}/e*.log (is etcd installed? Debian package etcd-server)`, { cause: err });
  }
  return sys;
}

function asMember(n: LocalCluster['nodes'][number]): ScaleMember {
  return { name: n.name, endpoint: n.clientUrl.replace(/^http:\/\//, ''), metricsUrl: `${n.metricsUrl}/metrics`, pid: n.pid, dataDir: n.dataDir };
}

/** A 3-node regionstore through the launcher; an added member is spawned here with the same flags. */
async function startRegionstore(dir: string): Promise<Running> {
  const nodeLog: WriteStream = createWriteStream(join(dir, 'regionstore.log'));
  const onLine = (name: string, line: string): void => void nodeLog.write(`[${name}] ${line}\n`);
  const timings = ['--heartbeat-ms', String(HEARTBEAT_MS), '--election-ms', String(ELECTION_MS), '--log-level', 'warn'];
  // How members run, decided once for the whole run: the launcher falls back to the sources
  // through tsx when a source file is newer than dist/, and a member started later (a
  // restart, a joiner) would otherwise decide again. Said in the log, because members run
  // through tsx use ~90 MiB more RSS each (session 10: a source edited while etcd loaded
  // turned a run's RSS rows into tsx's).
  const serve = serveCommandFromEnv();
  log(describeServeCommand(serve));
  // A restart at a million keys may take longer than the launcher's default readiness wait.
  const cluster: LocalCluster = await startCluster({
    dataDir: join(dir, 'rs'), nodes: MEMBERS, host: HOST, ready: 'healthy', extraArgs: timings, onLine, readyTimeoutMs: STEP_TIMEOUT_MS, command: serve,
  });
  const joiners: Proc[] = [];
  const launchJoiner = (p: Proc): void => {
    p.spawned = spawnNode({
      name: p.member.name, executable: serve.executable, args: [...serve.args, ...p.args], cwd: serve.cwd, env: process.env,
      output: { kind: 'lines', sink: onLine },
    });
    p.member.pid = p.spawned.child.pid ?? 0;
  };
  const joiner = (name: string): Proc | undefined => joiners.find((p) => p.member.name === name);
  const stopMember = async (name: string): Promise<void> => {
    const j = joiner(name);
    if (j === undefined) return cluster.stopNode(name);
    if (j.spawned !== undefined) await stopPid(j.member.pid, j.spawned.exited);
    j.spawned = undefined;
  };
  const sys: Running = {
    name: 'regionstore',
    members: () => [...cluster.nodes.filter((n) => n.running).map(asMember), ...joiners.filter((p) => p.spawned !== undefined).map((p) => p.member)],
    leaderChangesMetric: 'regionstore_raft_leader_changes_total',
    eventLoopMetric: 'regionstore_event_loop_delay_seconds',
    stopMember,
    async startMember(name) {
      const j = joiner(name);
      if (j === undefined) await cluster.restart(name);
      else launchJoiner(j);
    },
    async addMember() {
      const name = `n${MEMBERS + joiners.length + 1}`;
      const [clientPort, peerPort, metricsPort] = (await pickFreePorts(3, HOST)) as [number, number, number];
      const peerUrl = `http://${HOST}:${peerPort}`;
      const clientUrl = `http://${HOST}:${clientPort}`;
      const added = await memberAdd(sys.members().map((m) => m.endpoint), name, peerUrl);
      const dataDir = join(cluster.dataDir, name);
      mkdirSync(dataDir, { recursive: true });
      const member = { name, endpoint: `${HOST}:${clientPort}`, metricsUrl: `http://${HOST}:${metricsPort}/metrics`, pid: 0, dataDir };
      const p: Proc = {
        member, spawned: undefined, args: [
          '--name', name, '--data-dir', dataDir, '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
          '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', added.initialCluster,
          '--initial-cluster-state', 'existing', '--initial-cluster-token', cluster.file.token,
          '--metrics-addr', `${HOST}:${metricsPort}`, ...timings,
        ],
      };
      joiners.push(p);
      launchJoiner(p);
      return { member, startMs: added.startMs };
    },
    stop: async () => {
      await Promise.all(joiners.map((j) => stopMember(j.member.name)));
      await cluster.stop();
      nodeLog.end();
    },
  };
  await waitForLeader('regionstore', sys.members().map((m) => m.endpoint));
  return sys;
}

interface Args {
  keys: number;
  gets: number;
  randomValues: boolean;
  seed: number;
  systems: SystemName[];
  steps: Set<ScaleStep>;
  jsonFile?: string;
  keep: boolean;
}

function positive(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive whole number, got ${String(v)}`);
  return n;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { keys: KEYS_DEFAULT, gets: GETS_DEFAULT, randomValues: false, seed: Math.floor(Math.random() * 2 ** 31), systems: [...SYSTEMS], steps: new Set(SCALE_STEPS), keep: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const v = argv[i + 1];
    if (flag === '--keep') a.keep = true;
    else if (flag === '--random-values') a.randomValues = true;
    else if (flag === '--keys') a.keys = positive(flag, v);
    else if (flag === '--gets') a.gets = positive(flag, v);
    else if (flag === '--seed') a.seed = positive(flag, v);
    else if (flag === '--json') a.jsonFile = resolve(v ?? '');
    else if (flag === '--systems') a.systems = (v ?? '').split(',').filter((s) => s !== '') as SystemName[];
    else if (flag === '--steps') a.steps = new Set((v ?? '').split(',').filter((s) => s !== '') as ScaleStep[]);
    else throw new Error(`unknown flag ${flag}; see the top of cluster/bench-scale.ts`);
    if (flag !== '--keep' && flag !== '--random-values') i++;
  }
  if (a.keys < 100) throw new Error(`--keys must be at least 100 (stages are 1 %, 10 % and 100 % of it), got ${a.keys}`);
  if (a.keys > KEYS_MAX) throw new Error(`--keys may be at most ${KEYS_MAX}, got ${a.keys}`);
  if (a.systems.length === 0 || a.systems.some((s) => !SYSTEMS.includes(s))) throw new Error(`--systems takes ${SYSTEMS.join(', ')}`);
  const unknown = [...a.steps].filter((s) => !(SCALE_STEPS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`--steps takes ${SCALE_STEPS.join(', ')} (the load always runs); unknown: ${unknown.join(', ')}`);
  return a;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--render') {
    const file = process.argv[3] ?? '';
    process.stdout.write(renderScaleReport(JSON.parse(readFileSync(resolve(file), 'utf8')) as ScaleReport));
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'rs-bench-scale-'));
  const settings = `${MEMBERS} members each on ${HOST}, fsync on, heartbeat ${HEARTBEAT_MS} ms, election ${ELECTION_MS} ms, ` +
    `${CONNECTIONS} connections, ${IN_FLIGHT} in flight, ${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte ${args.randomValues ? 'random' : 'constant'} values, ` +
    `--keys ${args.keys}, seed ${args.seed}` +
    `${args.steps.size < SCALE_STEPS.length ? `, steps ${[...args.steps].join(',') || 'none'} after the load` : ''}`;
  log(`data, logs: ${dir}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${settings}`);
  const report: ScaleReport = { started: new Date().toISOString(), settings, keys: args.keys, seed: args.seed, systems: {} };
  let running: Running | undefined;
  process.once('SIGINT', () => {
    log('interrupted: stopping the cluster');
    void (running?.stop() ?? Promise.resolve()).finally(() => {
      if (!args.keep) rmSync(dir, { recursive: true, force: true });
      process.exit(INTERRUPTED_EXIT_CODE);
    });
  });
  let failure: Error | undefined;
  try {
    for (const name of SYSTEMS.filter((s) => args.systems.includes(s))) {
      const sysDir = join(dir, name);
      mkdirSync(sysDir);
      log(`starting ${name}`);
      const result = emptyResult(name);
      report.systems[name] = result;
      try {
        running = name === 'etcd' ? await startEtcd(sysDir) : await startRegionstore(sysDir);
        await runScale(running, { keys: args.keys, gets: args.gets, randomValues: args.randomValues, seed: args.seed, log, steps: args.steps }, result);
      } catch (err) {
        // The other system still runs: half a comparison is better than none.
        failure = err as Error;
        result.problems.push(`the run stopped here: ${failure.message}`);
        log(`${name} failed: ${failure.message}`);
      } finally {
        await running?.stop().catch(() => undefined);
        running = undefined;
        if (!args.keep) rmSync(sysDir, { recursive: true, force: true });
        // After each system, so a long run that is cut short keeps what it measured.
        if (args.jsonFile !== undefined) writeFileSync(args.jsonFile, JSON.stringify(report, null, 2));
      }
    }
  } finally {
    process.stdout.write(`\n${renderScaleReport(report)}`);
    if (args.jsonFile !== undefined) writeFileSync(args.jsonFile, JSON.stringify(report, null, 2));
    if (!args.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
  if (failure !== undefined) throw failure;
}

main().catch((err: unknown) => {
  console.error(`bench:scale failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
