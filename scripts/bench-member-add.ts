// Snapshot catch-up speed: a 3-member cluster loaded with --keys keys (16-byte keys,
// 256-byte values, written in multi-put txns), then `member add` + start of a fourth
// member; prints the time until its applied index reaches the leader's, the snapshots the
// leader sent and the joiner's bytes on disk. Issue 20 measured 38.9 s here for 1M keys
// (etcd: 2.6 s).
//
//   tsx scripts/bench-member-add.ts [--keys 100000] [--scatter] [--random-values] [--profile DIR] [--keep] [--data DIR]
//                                   [--serve-root DIR] [--node-flags '...']
//
// --scatter --random-values: bench:scale's keys (scattered order) and values (incompressible).
//
// --profile DIR: every member runs with `node --cpu-prof` and writes its profile to DIR
// when stopped (the leader's is the sender's, the joiner's the receiver's).
// --node-flags '...': node flags of every member (e.g. --trace-gc; NODE_OPTIONS refuses some).
// --serve-root DIR: the members run DIR's build (DIR/dist), e.g. an export of another commit
// built there, to compare it with this one on the same loaded cluster (--data).
// --data DIR: the cluster lives in DIR and is kept; a later run with the same DIR restarts
// it, skips the load when it already holds --keys keys, removes the member the last run
// added, and adds a new one (a loop at 1M keys without reloading each time).
//
// Besides the total it prints each member's CPU during the add (per thread group: figures
// that hold on a loaded machine; the load average beside them) and a timeline of the add: each phase's end in ms from the
// accepted `member add`, from the members' own log lines (pino's `time`, same clock) and
// the joiner's 'snapshot installed' line (its install's phases). And each member's event-loop
// delay p99/max over the add (`regionstore_event_loop_delay_seconds`: the members' windows
// are opened by a scrape at the add, the joiner's when its Raft starts; all read at catch-up,
// as bench:scale's member add step reads them).

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { DIST_SERVE_COMMAND, REPO_ROOT, serveCommandFromEnv, startCluster } from '../cluster/launcher.js';
import { pickFreePorts } from '../cluster/ports.js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { cpuDelta, formatCpu, procCpu, type ProcCpu } from './proc-thread-cpu.js';
import { scaleKey, valueSource } from '../client/bench/scale-load.js';
import { scrape } from '../client/bench/scale-probes.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    profile: { type: 'string' },
    keep: { type: 'boolean', default: false },
    data: { type: 'string' },
    'serve-root': { type: 'string' },
    'node-flags': { type: 'string', default: '' },
    /** Keys in bench:scale's scattered order, values incompressible: its member add's data. */
    scatter: { type: 'boolean', default: false },
    'random-values': { type: 'boolean', default: false },
  },
});

const KEYS = Number(args.keys);
/** Puts per txn while loading (etcd's default max-txn-ops is 128). */
const PUTS_PER_TXN = 100;
const TXNS_IN_FLIGHT = 8;
/** Seed of --random-values (any: the values only need to be incompressible). */
const VALUE_SEED = 20;
/** Small, so the load passes several log compactions and the joiner needs a snapshot. */
const SNAPSHOT_COUNT = 1000;
/** Entries kept after a compaction: few, so the joiner cannot be served from the log. */
const CATCHUP_ENTRIES = 100;
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1000;
const CATCHUP_TIMEOUT_MS = 600_000;
/** Quiet time between the load and the add: the members' flushes and compactions of the
 *  load end first, so they are not timed as the add's. */
const SETTLE_MS = 5000;
const REPORT_WAIT_MS = 500;
const UNAVAILABLE_CODE = 14;
const LOOP_METRIC = 'regionstore_event_loop_delay_seconds';
/** Attempts per txn while loading: a put txn retried after a leader change may apply twice,
 *  which is harmless here (the same keys and values). */
const LOAD_ATTEMPTS = 10;

const reuse = args.data !== undefined;
const dataDir = reuse ? resolve(args.data as string) : mkdtempSync(join(tmpdir(), 'rs-bench-member-add-'));
if (reuse) mkdirSync(dataDir, { recursive: true });
const profileDir = args.profile === undefined ? undefined : resolve(args.profile);
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
// --cpu-prof is refused in NODE_OPTIONS: it goes on each member's command line.
const serveRoot = args['serve-root'] === undefined ? undefined : resolve(args['serve-root']);
const serve = serveRoot === undefined ? serveCommandFromEnv()
  : { ...DIST_SERVE_COMMAND, args: DIST_SERVE_COMMAND.args.map((a) => (a.startsWith(REPO_ROOT) ? join(serveRoot, a.slice(REPO_ROOT.length)) : a)), cwd: serveRoot };
const nodeFlags = args['node-flags'].split(/\s+/).filter((f) => f !== '');
const command = { ...serve, args: [...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]), ...nodeFlags, ...serve.args] };
const flags = ['--heartbeat-ms', String(HEARTBEAT_MS), '--election-ms', String(ELECTION_MS),
  '--snapshot-count', String(SNAPSHOT_COUNT), '--snapshot-catchup-entries', String(CATCHUP_ENTRIES), '--log-level', process.env.MA_LOG ?? 'info'];

/** Log lines of every member (the timeline's source), with the member's name. */
const lines: LogLine[] = [];
const collect = (name: string, line: string): void => {
  if (process.env.MA_VERBOSE !== undefined) console.log(`[${name}] ${line}`);
  try {
    const o = JSON.parse(line) as LogLine;
    if (typeof o.time === 'number' && typeof o.msg === 'string') lines.push({ ...o, name });
  } catch {
    // not a log line
  }
};
const cluster = await startCluster({ dataDir, nodes: 3, ready: 'healthy', readyTimeoutMs: 60_000, extraArgs: flags, command, onLine: collect });
const c = rawClient(cluster.nodes[0]!.clientUrl.replace('http://', ''));
let joiner: ReturnType<typeof spawn> | undefined;
try {
  const nextValue = valueSource(args['random-values'], VALUE_SEED);
  const t0 = Date.now();
  let next = 0;
  let alreadyLoaded = false;
  if (reuse) {
    const held = await loadedKeys(c);
    alreadyLoaded = held >= KEYS;
    if (alreadyLoaded) {
      console.log(`${dataDir} holds ${held} keys: no load`);
      next = KEYS;
    }
    // The member the last run added (and its data): a new one is added below.
    const members = (await c.unary('Cluster', 'MemberList', {})).members as Array<{ ID: string; name: string }>;
    for (const m of members) {
      if (cluster.nodes.some((n) => n.name === m.name)) continue;
      await c.unary('Cluster', 'MemberRemove', { ID: m.ID });
      console.log(`removed member ${m.name || m.ID} of the last run`);
    }
    rmSync(join(dataDir, 'n4'), { recursive: true, force: true });
  }
  await Promise.all(Array.from({ length: TXNS_IN_FLIGHT }, async () => {
    while (next < KEYS) {
      const start = next;
      next = Math.min(KEYS, next + PUTS_PER_TXN);
      const success: Array<{ requestPut: { key: Buffer; value: Buffer } }> = [];
      for (let i = start; i < next; i++) {
        success.push({ requestPut: { key: keyOf(i), value: nextValue() } });
      }
      await retrying(() => c.unary('KV', 'Txn', { compare: [], success, failure: [] }));
    }
  }));
  if (!alreadyLoaded) console.log(`loaded ${KEYS} keys in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // The members settle after the load (flushes, compactions) before the add is timed.
  await new Promise((r) => setTimeout(r, SETTLE_MS));

  const [clientPort, peerPort, metricsPort] = await pickFreePorts(3);
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  await Promise.all(cluster.nodes.map((n) => scrape(`${n.metricsUrl}/metrics`))); // opens the loop-delay windows
  const added = await c.unary('Cluster', 'MemberAdd', { peerURLs: [peerUrl] });
  const initialCluster = added.members
    .map((m: any) => `${String(m.ID) === String(added.member.ID) ? 'n4' : m.name}=${m.peerURLs[0]}`).join(',');
  const addedAt = Date.now();
  const cpuAtAdd = new Map<string, ProcCpu>(cluster.nodes.map((n) => [n.name, procCpu(n.pid)]));
  const loadAtAdd = loadavg()[0] as number;
  joiner = spawn(command.executable, [
    ...command.args, '--name', 'n4', '--data-dir', join(dataDir, 'n4'),
    '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', initialCluster, '--initial-cluster-state', 'existing',
    '--initial-cluster-token', cluster.file.token, '--metrics-addr', `127.0.0.1:${metricsPort}`, ...flags,
  ], { cwd: command.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const spawnedAt = Date.now();
  for (const stream of [joiner.stdout, joiner.stderr]) {
    if (stream !== null) createInterface({ input: stream }).on('line', (l) => collect('n4', l));
  }

  const jc = rawClient(`127.0.0.1:${clientPort}`);
  const leaderIndex = Number((await c.unary('Maintenance', 'Status', {})).raftIndex);
  let caughtUpMs: number | undefined;
  while (Date.now() - addedAt < CATCHUP_TIMEOUT_MS) {
    const applied = await status(jc).then((s) => Number(s.raftAppliedIndex), () => 0);
    if (applied >= leaderIndex) {
      caughtUpMs = Date.now() - addedAt;
      // CPU of the add: the members from the accepted add, the joiner over its whole life.
      const joinerCpu = procCpu(joiner.pid as number);
      console.log(`CPU during the add (load average ${loadAtAdd.toFixed(1)} at the add, ${(loadavg()[0] as number).toFixed(1)} after):`);
      console.log(`  n4 (joiner) ${formatCpu(joinerCpu)}`);
      for (const n of cluster.nodes) console.log(`  ${n.name} ${formatCpu(cpuDelta(procCpu(n.pid), cpuAtAdd.get(n.name) as ProcCpu))}`);
      const loops = await Promise.all([...cluster.nodes.map((n) => n.metricsUrl), `http://127.0.0.1:${metricsPort}`]
        .map((url) => scrape(`${url}/metrics`)));
      console.log(`event-loop delay p99/max (ms) over the add: ${[...cluster.nodes.map((n) => n.name), 'n4 (joiner)'].map((name, i) => {
        const m = loops[i];
        const ms = (q: string): string => ((m?.get(`${LOOP_METRIC}{quantile="${q}"}`) ?? NaN) * 1000).toFixed(1);
        return `${name} ${ms('0.99')}/${ms('1')}`;
      }).join(', ')}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  jc.close();
  // The leader logs its report a moment after the joiner answers.
  await new Promise((r) => setTimeout(r, REPORT_WAIT_MS));
  if (caughtUpMs !== undefined) printTimeline(addedAt, spawnedAt, addedAt + caughtUpMs);
  const sent = await Promise.all(cluster.nodes.map((n) => metric(n.metricsUrl, 'regionstore_snapshots_sent_total')));
  const received = await metric(`http://127.0.0.1:${metricsPort}`, 'regionstore_snapshots_received_total');
  console.log(JSON.stringify({
    keys: KEYS, caughtUpSeconds: caughtUpMs === undefined ? null : caughtUpMs / 1000, leaderIndex, joinerPid: joiner.pid,
    // Wall clock (ms since 1970) of the joiner's 'regionstore serving' line: where its Raft starts (and so its loop-delay window).
    joinerServingAt: lines.find((l) => l.name === 'n4' && l.msg === 'regionstore serving' && l.time >= addedAt)?.time,
    snapshotsSentPerMember: sent, snapshotsReceivedByJoiner: received,
  }));
} finally {
  c.close();
  if (joiner !== undefined) {
    const exited = new Promise((r) => joiner!.once('exit', r));
    joiner.kill('SIGTERM');
    await exited;
  }
  await cluster.stop();
  if (!args.keep && !reuse) rmSync(dataDir, { recursive: true, force: true });
  else console.log(`data kept in ${dataDir}`);
}

interface LogLine {
  name: string;
  time: number;
  msg: string;
  [field: string]: unknown;
}

/** The i-th key: sorted (`key-000000000001`...) or bench:scale's scattered ones. */
function keyOf(i: number): Buffer {
  return args.scatter ? scaleKey(i) : Buffer.from(`key-${String(i).padStart(12, '0')}`);
}

/** Keys the cluster holds (a count of every key). */
async function loadedKeys(client: RawClient): Promise<number> {
  const res = await client.unary('KV', 'Range', { key: Buffer.of(0), rangeEnd: Buffer.of(0), countOnly: true });
  return Number(res.count);
}

/**
 * Each phase's end in ms from the accepted add, from the members' log lines after it:
 * where the time goes between `member add` and caught up (the gaps where neither end works
 * show as phases with no work in them).
 */
function printTimeline(addedAt: number, spawnedAt: number, caughtUpAt: number): void {
  const after = lines.filter((l) => l.time >= addedAt);
  const first = (name: string | undefined, msg: string): LogLine | undefined =>
    after.find((l) => (name === undefined || l.name === name) && l.msg === msg);
  const rows: Array<[string, number | undefined]> = [['joiner spawned', spawnedAt]];
  rows.push(['joiner serving (listening, joined)', first('n4', 'regionstore serving')?.time]);
  const sends = after.filter((l) => l.msg === 'raft sends a snapshot');
  rows.push(['leader: raft sends the snapshot', sends[0]?.time]);
  const installing = first('n4', 'installing a snapshot');
  rows.push(['joiner: snapshot header received', installing?.time]);
  const installed = first('n4', 'snapshot installed');
  if (installed !== undefined) {
    const start = installed.time - Number(installed['ms']);
    for (const [field, label] of [
      ['openedMs', 'joiner: new state database open'],
      ['headerMs', 'joiner: stream header parsed'],
      ['trailerMs', 'joiner: last byte received and parsed'],
      ['writtenMs', 'joiner: every batch written'],
      ['syncedMs', 'joiner: last batch written and synced'],
      ['swappedMs', 'joiner: new state named current'],
      ['doneMs', 'joiner: old state closed and removed'],
    ] as const) rows.push([label, start + Number(installed[field])]);
    rows.push(['joiner: store open, install logged', installed.time]);
  }
  rows.push(['leader: snapshot reported sent', first(undefined, 'snapshot sent')?.time]);
  rows.push(['leader: raft snapshot reported', first(undefined, 'raft snapshot reported')?.time]);
  rows.push(['joiner applied index ≥ leader\'s (polled)', caughtUpAt]);
  console.log('timeline of the add (ms after the accepted member add):');
  for (const [label, at] of rows) console.log(`  ${at === undefined ? '     -' : String(at - addedAt).padStart(6)}  ${label}`);
  if (installed !== undefined) {
    console.log(`  install: ${installed['records']} records, ${(Number(installed['bytes']) / (1 << 20)).toFixed(1)} MiB streamed`);
  }
  console.log(`  snapshots the leader began: ${sends.length}`);
}

/** Retries a call refused as UNAVAILABLE (a leader change under load), a few times. */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if ((err as { code?: number }).code !== UNAVAILABLE_CODE || attempt >= LOAD_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function status(client: RawClient): Promise<any> {
  return client.unary('Maintenance', 'Status', {});
}

async function metric(url: string, name: string): Promise<number> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? 0 : Number(line.split(' ').pop());
  } catch {
    return -1;
  }
}
