// Where a live edge write's time goes (issue 14's live row: edge write → visible in the
// region): a 3-member region and one edge (real processes, fsync on, as bench:edge runs
// them, without the counting proxy), then per write, one at a time:
//   local    the edge's Crdt Write answered (durable on the edge: its group commit's fsync)
//   visible  the region's Watch shows it (the sync session's push + the region's Raft)
// and, for scale, the same for a strong etcd Put sent to the region leader itself (answered
// once applied there; visible on the Watch). visible − local is what the session and the
// region add; a region Put's visible is the floor the region sets. p50/p95/p99 in ms.
//
// --offline N instead: the region is stopped once the edge knows the namespace, then N
// events are written on the edge as bench:edge writes them offline (500 per Write), timed;
// --prof DIR writes every process's CPU profile there (node --cpu-prof), the members' too.
//
//   npx tsx scripts/trace-edge-live.ts [--writes 300]
//   npx tsx scripts/trace-edge-live.ts --offline 10000 [--prof DIR]
// --points: every process records trace points (server/util/trace-points.ts, RS_TRACE_POINTS)
// and each edge write is broken down into its parts on the processes it crosses: the edge's
// call, engine write issued (early upload), page sent, the leader's receipt, proposal, Raft
// (leader persist, follower receipt and persist, the leader hearing the follower, commit,
// apply), the region's answer, the Watch event sent, and this script seeing it. Members run
// with --heartbeat-ms 100 as in bench:edge; the watcher is on the leader (--watch-follower:
// on a follower, as bench:edge's round-robin client picked before session 8). Every live run
// also prints each process's CPU per edge write (/proc, less its idle rate): on 2 shared cores
// that holds where the wall-clock figures do not.
//   npx tsx scripts/trace-edge-live.ts --points [--writes 300] [--watch-follower]
// --bulk N: the edge learns the namespace, restarts pointed at a dead address, takes N events
// offline, then restarts pointed at the region: seconds until the region holds them all
// (bench:edge's convergence without the proxy); --prof DIR profiles the members too.
//   npx tsx scripts/trace-edge-live.ts --bulk 10000 [--prof DIR]

import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { startEdge } from '../cluster/edge-launcher.js';
import { startCluster } from '../cluster/launcher.js';
import { waitForLeader } from '../cluster/wait-leader.js';
import { EVENTS_PER_WRITE, benchEvent } from '../chaos/bench-edge/workload.js';
import { TRACE_POINTS_ENV, traceNow } from '../server/util/trace-points.js';

const { values } = parseArgs({
  options: {
    writes: { type: 'string', default: '300' }, keep: { type: 'boolean', default: false }, offline: { type: 'string' }, bulk: { type: 'string' }, prof: { type: 'string' },
    points: { type: 'boolean', default: false }, 'watch-follower': { type: 'boolean', default: false },
  },
});
const WRITES = Number(values.writes);
const NS = 'trace';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** How long each process's idle CPU is sampled before the timed writes. */
const IDLE_SAMPLE_MS = 3_000;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
}

function row(name: string, xs: number[]): string {
  return `${name.padEnd(28)} p50 ${pct(xs, 50).toFixed(2).padStart(7)}  p95 ${pct(xs, 95).toFixed(2).padStart(7)}  p99 ${pct(xs, 99).toFixed(2).padStart(7)} ms`;
}

/** One timed write on the trace clock (traceNow): called, answered, seen; its dot's seq and the event's revision. */
interface Stamp {
  call: number;
  answered: number;
  seen: number;
  seq: number;
  revision: number;
}

/** Times `n` writes one at a time: `write(i)` answered, and its `key(i)` on the Watch. */
async function timed(watcher: Client, prefix: string, n: number, key: (i: number) => string, write: (i: number) => Promise<unknown>): Promise<{ answered: number[]; visible: number[]; stamps: Stamp[] }> {
  const waiters = new Map<string, (revision: number) => void>();
  const watch = watcher.watch(prefix, { prefix: true });
  await watch.ready();
  const reader = (async () => {
    for await (const batch of watch) {
      if (batch.type !== 'events') continue;
      for (const ev of batch.events) waiters.get(ev.kv.key.toString())?.(Number(ev.kv.modRevision));
    }
  })().catch(() => undefined);
  const answered: number[] = [];
  const visible: number[] = [];
  const stamps: Stamp[] = [];
  for (let i = 0; i < n; i++) {
    const k = key(i);
    let seenAt = 0;
    const seen = new Promise<number>((resolve) => waiters.set(k, (rev) => {
      seenAt = traceNow();
      resolve(rev);
    }));
    const t = traceNow();
    const res = await write(i) as { results?: Array<{ dot?: { seq: number } }> } | undefined;
    const a = traceNow();
    answered.push(a - t);
    const revision = await seen;
    visible.push(Math.max(a, seenAt) - t);
    stamps.push({ call: t, answered: a, seen: seenAt, seq: res?.results?.[0]?.dot?.seq ?? 0, revision });
    waiters.delete(k);
  }
  watch.close();
  await reader;
  return { answered, visible, stamps };
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux; 0 elsewhere). */
function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** One process's trace points: name → key → times (a key may repeat: Raft indexes are re-sent). */
type Points = Map<string, Array<{ t: number; key: number }>>;

function readPoints(dir: string): Map<string, Points> {
  const out = new Map<string, Points>();
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.tsv')) continue;
    const pts: Points = new Map();
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const [t, name, key] = line.split('\t');
      if (name === undefined || key === undefined) continue;
      let list = pts.get(name);
      if (list === undefined) pts.set(name, (list = []));
      list.push({ t: Number(t), key: Number(key) });
    }
    out.set(f.replace(/-\d+\.tsv$/, ''), pts);
  }
  return out;
}

/** The first point `name` with key `key` (or, `atLeast`, key ≥ it) at or after `after`. */
function first(p: Points | undefined, name: string, key: number, after = 0, atLeast = false): number | undefined {
  for (const x of p?.get(name) ?? []) if ((atLeast ? x.key >= key : x.key === key) && x.t >= after) return x.t;
  return undefined;
}

function add(m: Map<string, number[]>, k: string, v: number): void {
  let l = m.get(k);
  if (l === undefined) m.set(k, (l = []));
  l.push(v);
}

function minOf(xs: Array<number | undefined>): number | undefined {
  const ys = xs.filter((x): x is number => x !== undefined);
  return ys.length > 0 ? Math.min(...ys) : undefined;
}

/**
 * Each write's way, from the trace points: the p50 (and p95) over the writes of each segment,
 * and of each point's time since the script called the write. Segments in parallel (the
 * edge's fsync beside the upload, the leader's fsync beside the follower's round) are listed
 * apart; "visible" is the critical path.
 */
function breakdown(stamps: readonly Stamp[], processes: Map<string, Points>, edgeName: string, leader: string): void {
  const edge = processes.get(edgeName);
  const lead = processes.get(leader);
  const followers = [...processes.keys()].filter((k) => k !== edgeName && k !== leader).map((k) => processes.get(k)!);
  const segs = new Map<string, number[]>();
  const since = new Map<string, number[]>();
  let skipped = 0;
  for (const s of stamps) {
    const call = s.call;
    const handler = first(edge, 'edge.call', s.seq);
    const writing = first(edge, 'edge.writing', s.seq);
    const sent = first(edge, 'sync.send', s.seq);
    const recv = first(lead, 'sync.recv', s.seq);
    const prop = first(lead, 'region.propose', s.seq);
    const ent = (lead?.get('raft.entries') ?? []).find((x) => x.t >= (prop ?? Infinity));
    const idx = ent?.key ?? -1;
    const fRecv = minOf(followers.map((f) => first(f, 'raft.recv.app', idx, 0, true)));
    const fPers = minOf(followers.map((f) => first(f, 'raft.persisted', idx, 0, true)));
    const lPers = first(lead, 'raft.persisted', idx, 0, true);
    const resp = first(lead, 'raft.recv.appresp', idx, 0, true);
    const committed = first(lead, 'raft.committed', idx, 0, true);
    const applied = first(lead, 'raft.applied', idx, 0, true);
    const wsent = first(lead, 'watch.send', s.revision, 0, true);
    const ack = first(lead, 'sync.ack', s.seq);
    const acked = first(edge, 'sync.acked', s.seq);
    const durable = first(edge, 'edge.durable', s.seq);
    const mPre = first(lead, 'mvcc.prefetch', idx, committed ?? 0, true);
    const mPred = first(lead, 'mvcc.prefetched', idx, committed ?? 0, true);
    const mWrite = first(lead, 'mvcc.write', idx, committed ?? 0, true);
    const mWritten = first(lead, 'mvcc.written', idx, committed ?? 0, true);
    const pts = { mPre, mPred, mWrite, mWritten, handler, writing, sent, recv, prop, ready: ent?.t, fRecv, fPers, lPers, resp, committed, applied, wsent, ack, acked, durable };
    if (Object.values(pts).some((t) => t === undefined)) {
      skipped++;
      continue;
    }
    const p = pts as { [K in keyof typeof pts]: number };
    const seg = (name: string, from: number, to: number): void => add(segs, name, to - from);
    seg('client → edge Write handler', call, p.handler);
    seg('edge: apply until the engine write is issued', p.handler, p.writing);
    seg('edge: push (engine write issued → DELTA sent)', p.writing, p.sent);
    seg('edge → leader (DELTA sent → decoded)', p.sent, p.recv);
    seg('leader: decoded → proposed', p.recv, p.prop);
    seg('leader: proposed → Ready', p.prop, p.ready);
    seg('leader Ready → follower has MsgApp', p.ready, p.fRecv);
    seg('follower: MsgApp → fsynced', p.fRecv, p.fPers);
    seg('follower fsynced → leader has MsgAppResp', p.fPers, p.resp);
    seg('  (beside it) leader: Ready → own fsync done', p.ready, p.lPers);
    seg('leader: MsgAppResp and own fsync → commit Ready', Math.max(p.resp, p.lPers), p.committed);
    seg('leader: commit Ready → Watch event sent (apply)', p.committed, p.wsent);
    seg('  apply: commit Ready → mvcc apply starts', p.committed, p.mPre);
    seg('  apply: prefetch (engine read)', p.mPre, p.mPred);
    seg('  apply: prefetched → engine write issued', p.mPred, p.mWrite);
    seg('  apply: engine write', p.mWrite, p.mWritten);
    seg('  apply: written → Watch event sent', p.mWritten, p.wsent);
    seg('leader: Watch event sent → script sees it', p.wsent, s.seen);
    seg('  (after) leader: applied → ACK sent', p.applied, p.ack);
    seg('  (after) ACK sent → edge has it', p.ack, p.acked);
    seg('  (beside) edge: engine write issued → fsync done', p.writing, p.durable);
    seg('  (beside) edge fsync done → script has the answer', p.durable, s.answered);
    const at = (name: string, t: number): void => add(since, name, t - call);
    at('edge handler', p.handler);
    at('DELTA sent', p.sent);
    at('leader Ready', p.ready);
    at('leader commit Ready', p.committed);
    at('Watch event seen (visible)', s.seen);
    at('edge fsync done', p.durable);
    at('answer (local)', s.answered);
  }
  console.log(`per write (${stamps.length - skipped} writes${skipped > 0 ? `; ${skipped} without every point left out` : ''}), segments: p50 / p95 ms`);
  for (const [name, xs] of segs) console.log(`  ${name.padEnd(50)} ${pct(xs, 50).toFixed(2).padStart(6)} / ${pct(xs, 95).toFixed(2).padStart(6)}`);
  console.log('time since the call: p50 / p95 ms');
  for (const [name, xs] of since) console.log(`  ${name.padEnd(50)} ${pct(xs, 50).toFixed(2).padStart(6)} / ${pct(xs, 95).toFixed(2).padStart(6)}`);
}

const dir = mkdtempSync(join(tmpdir(), 'rs-trace-live-'));
const pointsDir = join(dir, 'points');
const profEnv = values.prof === undefined ? undefined : { ...process.env, NODE_OPTIONS: `--import ${join(import.meta.dirname, 'profile-preload.mjs')}`, RS_PROF_DIR: values.prof };
const pointsEnv = values.points ? { ...process.env, [TRACE_POINTS_ENV]: pointsDir } : undefined;
const cluster = await startCluster({
  ...(profEnv !== undefined ? { env: profEnv } : {}),
  ...(pointsEnv !== undefined ? { env: pointsEnv } : {}),
  dataDir: join(dir, 'region'), nodes: 3, host: '127.0.0.1', ready: 'healthy',
  extraArgs: ['--heartbeat-ms', '100', '--election-ms', '1000', '--log-level', 'warn'],
});
try {
  const endpoints = cluster.nodes.map((n) => n.clientUrl.replace(/^http:\/\//, ''));
  await waitForLeader('regionstore', endpoints);
  const leaderName = await cluster.leader();
  const leaderEp = cluster.nodes.find((n) => n.name === leaderName)!.clientUrl.replace(/^http:\/\//, '');
  const region = new Client({ endpoints: [leaderEp], timeoutMs: 30_000 });
  const followerEp = cluster.nodes.find((n) => n.name !== leaderName)!.clientUrl.replace(/^http:\/\//, '');
  const watcher = values['watch-follower'] ? new Client({ endpoints: [followerEp], timeoutMs: 30_000 }) : region;
  await region.namespaces.create({ name: NS, prefix: `${NS}/`, level: 'eventual', crdtType: 'events', description: 'trace' });
  const edgeSpec = (regionEndpoints: string[]) => ({
    name: 'trace', dataDir: join(dir, 'edge'), region: regionEndpoints, namespaces: [NS], extraArgs: ['--log-level', 'warn'],
    ...(profEnv !== undefined ? { env: profEnv } : {}),
    ...(pointsEnv !== undefined ? { env: pointsEnv } : {}),
  });
  let edge = await startEdge(edgeSpec(endpoints));
  let edgeClient = new Client({ endpoints: [edge.hostPort], timeoutMs: 30_000 });
  try {
    for (;;) {
      try {
        if ((await edgeClient.namespaces.get(NS)).name === NS) break;
      } catch {
        // not synced yet
      }
      await sleep(50);
    }
    if (values.bulk !== undefined) {
      const n = Number(values.bulk);
      edgeClient.close();
      await edge.stop();
      edge = await startEdge(edgeSpec(['127.0.0.1:9'])); // discard: nothing answers there
      edgeClient = new Client({ endpoints: [edge.hostPort], timeoutMs: 30_000 });
      const w0 = performance.now();
      for (let start = 0; start < n; start += EVENTS_PER_WRITE) {
        const batch = [];
        for (let i = start; i < Math.min(n, start + EVENTS_PER_WRITE); i++) {
          const e = benchEvent(i);
          batch.push({ device: e.device, seq: e.seq, type: e.type, payload: e.payload });
        }
        await edgeClient.crdt.eventsAppend(NS, batch);
      }
      const written = (performance.now() - w0) / 1000;
      edgeClient.close();
      await edge.stop();
      const t0 = performance.now();
      edge = await startEdge(edgeSpec(endpoints));
      edgeClient = new Client({ endpoints: [edge.hostPort], timeoutMs: 30_000 });
      for (;;) {
        const r = await region.crdt.read(NS, { device: '', limit: 1 });
        if (Object.values(r.vector).reduce((a, b) => a + b, 0) >= n) break;
        await sleep(10);
      }
      const s = (performance.now() - t0) / 1000;
      console.log(`${n} events: written offline in ${written.toFixed(2)} s; edge restarted and converged in ${s.toFixed(2)} s (${Math.round(n / s)} events/s, edge start-up included); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    } else if (values.offline !== undefined) {
      await cluster.stop();
      const n = Number(values.offline);
      const t0 = performance.now();
      for (let start = 0; start < n; start += EVENTS_PER_WRITE) {
        const batch = [];
        for (let i = start; i < Math.min(n, start + EVENTS_PER_WRITE); i++) {
          const e = benchEvent(i);
          batch.push({ device: e.device, seq: e.seq, type: e.type, payload: e.payload });
        }
        await edgeClient.crdt.eventsAppend(NS, batch);
      }
      const s = (performance.now() - t0) / 1000;
      console.log(`${n} events written on the offline edge in ${s.toFixed(2)} s (${Math.round(n / s)} events/s); load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
      process.exitCode = 0;
    } else {
    // One write through first: the session is up and caught up before the clock runs.
    const warm = await timed(watcher, `${NS}/`, 20, (i) => `${NS}/d/${String(i + 1).padStart(20, '0')}`,
      (i) => edgeClient.crdt.eventsAppend(NS, [{ device: 'd', seq: i + 1, type: 't', payload: '{"c":1}' }]));
    void warm;
    const pids = [...cluster.nodes.map((n) => ({ name: n.name === leaderName ? `${n.name} (leader)` : n.name, pid: n.pid })), { name: 'edge', pid: edge.pid }];
    // What each process spends idle (heartbeats, ticks, metrics): subtracted below.
    const idle0 = pids.map((p) => cpuMs(p.pid));
    const idleT0 = performance.now();
    await sleep(IDLE_SAMPLE_MS);
    const idleRate = pids.map((p, i) => (cpuMs(p.pid) - idle0[i]!) / (performance.now() - idleT0));
    const cpu0 = pids.map((p) => cpuMs(p.pid));
    const self0 = process.cpuUsage();
    const busyT0 = performance.now();
    const e = await timed(watcher, `${NS}/`, WRITES, (i) => `${NS}/d/${String(i + 21).padStart(20, '0')}`,
      (i) => edgeClient.crdt.eventsAppend(NS, [{ device: 'd', seq: i + 21, type: 't', payload: '{"c":1}' }]));
    const busyMs = performance.now() - busyT0;
    const cpu = pids.map((p, i) => `${p.name} ${((cpuMs(p.pid) - cpu0[i]! - idleRate[i]! * busyMs) / WRITES).toFixed(2)}`);
    const self = process.cpuUsage(self0);
    cpu.push(`this script ${((self.user + self.system) / 1000 / WRITES).toFixed(2)}`);
    const s = await timed(watcher, 'plain/', WRITES, (i) => `plain/k${i}`, (i) => region.put(`plain/k${i}`, 'v'));
    console.log(`${WRITES} writes each, one at a time; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 shared cores: wall-clock figures are noisy)`);
    console.log(`CPU ms per edge write (user + system from /proc in 10 ms ticks, less each process's idle rate): ${cpu.join(', ')}`);
    console.log(row('edge write answered (local)', e.answered));
    console.log(row('edge write visible (region)', e.visible));
    console.log(row('  visible - local', e.visible.map((v, i) => v - e.answered[i]!)));
    console.log(row('region put answered', s.answered));
    console.log(row('region put visible', s.visible));
    if (values.points) {
      // Every process flushes its points within TRACE_FLUSH_MS.
      await sleep(1_000);
      console.log(`watching on ${values['watch-follower'] ? 'a follower' : 'the leader'} (${leaderName} leads)`);
      breakdown(e.stamps, readPoints(pointsDir), 'trace', leaderName ?? '');
    }
    }
  } finally {
    edgeClient.close();
    region.close();
    if (watcher !== region) watcher.close();
    await edge.stop();
  }
} finally {
  await cluster.stop();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
