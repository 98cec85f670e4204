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
// --prof DIR writes the edge process's CPU profile there (node --cpu-prof).
//
//   npx tsx scripts/trace-edge-live.ts [--writes 300]
//   npx tsx scripts/trace-edge-live.ts --offline 10000 [--prof DIR]
// --bulk N: the edge learns the namespace, restarts pointed at a dead address, takes N events
// offline, then restarts pointed at the region: seconds until the region holds them all
// (bench:edge's convergence without the proxy); --prof DIR profiles the members too.
//   npx tsx scripts/trace-edge-live.ts --bulk 10000 [--prof DIR]

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { startEdge } from '../cluster/edge-launcher.js';
import { startCluster } from '../cluster/launcher.js';
import { waitForLeader } from '../cluster/wait-leader.js';
import { EVENTS_PER_WRITE, benchEvent } from '../chaos/bench-edge/workload.js';

const { values } = parseArgs({
  options: { writes: { type: 'string', default: '300' }, keep: { type: 'boolean', default: false }, offline: { type: 'string' }, bulk: { type: 'string' }, prof: { type: 'string' } },
});
const WRITES = Number(values.writes);
const NS = 'trace';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
}

function row(name: string, xs: number[]): string {
  return `${name.padEnd(28)} p50 ${pct(xs, 50).toFixed(2).padStart(7)}  p95 ${pct(xs, 95).toFixed(2).padStart(7)}  p99 ${pct(xs, 99).toFixed(2).padStart(7)} ms`;
}

/** Times `n` writes one at a time: `write(i)` answered, and its `key(i)` on the Watch. */
async function timed(watcher: Client, prefix: string, n: number, key: (i: number) => string, write: (i: number) => Promise<unknown>): Promise<{ answered: number[]; visible: number[] }> {
  const waiters = new Map<string, () => void>();
  const watch = watcher.watch(prefix, { prefix: true });
  await watch.ready();
  const reader = (async () => {
    for await (const batch of watch) {
      if (batch.type !== 'events') continue;
      for (const ev of batch.events) waiters.get(ev.kv.key.toString())?.();
    }
  })().catch(() => undefined);
  const answered: number[] = [];
  const visible: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = key(i);
    const seen = new Promise<void>((resolve) => waiters.set(k, resolve));
    const t = performance.now();
    await write(i);
    answered.push(performance.now() - t);
    await seen;
    visible.push(performance.now() - t);
    waiters.delete(k);
  }
  watch.close();
  await reader;
  return { answered, visible };
}

const dir = mkdtempSync(join(tmpdir(), 'rs-trace-live-'));
const profEnv = values.prof === undefined ? undefined : { ...process.env, NODE_OPTIONS: `--import ${join(import.meta.dirname, 'profile-preload.mjs')}`, RS_PROF_DIR: values.prof };
const cluster = await startCluster({
  ...(profEnv !== undefined && values.bulk !== undefined ? { env: profEnv } : {}),
  dataDir: join(dir, 'region'), nodes: 3, host: '127.0.0.1', ready: 'healthy',
  extraArgs: ['--heartbeat-ms', '100', '--election-ms', '1000', '--log-level', 'warn'],
});
try {
  const endpoints = cluster.nodes.map((n) => n.clientUrl.replace(/^http:\/\//, ''));
  await waitForLeader('regionstore', endpoints);
  const leaderName = await cluster.leader();
  const leaderEp = cluster.nodes.find((n) => n.name === leaderName)!.clientUrl.replace(/^http:\/\//, '');
  const region = new Client({ endpoints: [leaderEp], timeoutMs: 30_000 });
  await region.namespaces.create({ name: NS, prefix: `${NS}/`, level: 'eventual', crdtType: 'events', description: 'trace' });
  const edgeSpec = (regionEndpoints: string[]) => ({
    name: 'trace', dataDir: join(dir, 'edge'), region: regionEndpoints, namespaces: [NS], extraArgs: ['--log-level', 'warn'],
    ...(profEnv !== undefined ? { env: profEnv } : {}),
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
    const warm = await timed(region, `${NS}/`, 20, (i) => `${NS}/d/${String(i + 1).padStart(20, '0')}`,
      (i) => edgeClient.crdt.eventsAppend(NS, [{ device: 'd', seq: i + 1, type: 't', payload: '{"c":1}' }]));
    void warm;
    const e = await timed(region, `${NS}/`, WRITES, (i) => `${NS}/d/${String(i + 21).padStart(20, '0')}`,
      (i) => edgeClient.crdt.eventsAppend(NS, [{ device: 'd', seq: i + 21, type: 't', payload: '{"c":1}' }]));
    const s = await timed(region, 'plain/', WRITES, (i) => `plain/k${i}`, (i) => region.put(`plain/k${i}`, 'v'));
    console.log(`${WRITES} writes each, one at a time; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (2 shared cores: wall-clock figures are noisy)`);
    console.log(row('edge write answered (local)', e.answered));
    console.log(row('edge write visible (region)', e.visible));
    console.log(row('  visible - local', e.visible.map((v, i) => v - e.answered[i]!)));
    console.log(row('region put answered', s.answered));
    console.log(row('region put visible', s.visible));
    }
  } finally {
    edgeClient.close();
    region.close();
    await edge.stop();
  }
} finally {
  await cluster.stop();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
