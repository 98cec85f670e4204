// A timeline of one bulk edge sync (issue 14's "10k offline → connect" row): a 3-member region
// (real processes, fsync on, as bench:edge runs them) and one edge IN THIS PROCESS (so its
// session can be timestamped), dialling the region through a counting proxy as bench:edge's
// edge does. N events are written on the edge while the proxy is cut, then the proxy heals
// and every phase is stamped, in ms from the heal:
//   accepted   the leader's proxy accepted the edge's connection (bench:edge's clock starts here)
//   registry   the edge's registry pull answered (Namespaces.List, before the session opens)
//   hello>     the edge's HELLO sent;  <hello  the region's HELLO received
//   page>      each DELTA page sent (records, wire bytes); <ack its ACK received
//   <delta     each page from the region received (its catch-up)
//   region     the region's vector holds all N (polled every POLL_MS on the leader, serializable)
// Wall-clock figures on a shared 2-core machine are noisy: read the gaps, not the totals.
// Then, once every member applied what the leader committed, per member (leader, followers)
// and for this process (the edge, the proxy, the poller): CPU µs per event from the heal on,
// of the process (every thread) and of its main thread (scripts/proc-cpu.ts), which hold on
// a loaded machine. --prof DIR: the members run under the CPU profiler
// (scripts/profile-preload.mjs, DIR/proc-<pid>.cpuprofile written when they stop).
//
//   npx tsx scripts/trace-edge-bulk.ts [--events 10000] [--runs 1] [--prof DIR]

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client } from '../client/index.js';
import { startCluster } from '../cluster/launcher.js';
import { waitForLeader } from '../cluster/wait-leader.js';
import { EVENTS_PER_WRITE, benchEvent } from '../chaos/bench-edge/workload.js';
import { ProxySet } from '../chaos/proxy/index.js';
import { EdgeNode } from '../server/edge/edge-node.js';
import { RegionClient } from '../server/edge/region-client.js';
import { edgeSessionRunner } from '../server/edge/session.js';
import { SyncSession } from '../server/sync/index.js';
import { SeededRandom } from '../server/util/random.js';
import { systemClock } from '../server/util/system-clock.js';
import type { Logger } from '../server/util/logger.js';
import { settle } from './cluster-settle.js';
import { profiledEnv } from './profile-env.js';
import { cpuPer, procCpu } from './proc-cpu.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '10000' }, runs: { type: 'string', default: '1' }, prof: { type: 'string' } } });
const N = Number(values.events);
const RUNS = Number(values.runs);
const POLL_MS = 2;
/** How long the members get to apply what the leader committed before the CPU is read. */
const SETTLE_TIMEOUT_MS = 60_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let t0 = 0;
const marks: string[] = [];
const mark = (what: string): void => {
  if (t0 > 0) marks.push(`${(performance.now() - t0).toFixed(1).padStart(8)} ms  ${what}`);
};

// Stamps from inside the edge's session (private methods: a tracing script's liberty).
type AnyFn = (...a: unknown[]) => unknown;
const proto = SyncSession.prototype as unknown as Record<string, AnyFn>;
const wrap = (name: string, before: (self: unknown, args: unknown[]) => void): void => {
  const orig = proto[name]!;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    before(this, args);
    return orig.apply(this, args);
  };
};
wrap('send', (_s, [m]) => {
  const msg = m as { kind: string; page?: Uint8Array; pageId?: number; caughtUp?: boolean };
  if (msg.kind === 'hello') mark('hello>');
  else if (msg.kind === 'delta') mark(`page> #${msg.pageId} ${msg.page?.length ?? 0} B${msg.caughtUp ? ' caught-up' : ''}`);
  else if (msg.kind === 'ack') mark(`ack> #${msg.pageId}`);
});
wrap('dispatch', (_s, [m]) => {
  const msg = m as { kind: string; pageId?: number; page?: Uint8Array; caughtUp?: boolean };
  if (msg.kind === 'hello') mark('<hello');
  else if (msg.kind === 'ack') mark(`<ack #${msg.pageId}`);
  else if (msg.kind === 'delta') mark(`<delta #${msg.pageId} ${msg.page?.length ?? 0} B${msg.caughtUp ? ' caught-up' : ''}`);
  else if (msg.kind !== 'heartbeat') mark(`<${msg.kind}`);
});
const rcProto = RegionClient.prototype as unknown as Record<string, AnyFn>;
const listNs = rcProto['listNamespaces']!;
rcProto['listNamespaces'] = async function (this: unknown, ...a: unknown[]) {
  mark('registry> Namespaces.List');
  const r = await listNs.apply(this, a);
  mark('<registry');
  return r;
};

const logger: Logger = {
  debug() {},
  info(msg) {
    if (/session|connected|link/.test(msg)) mark(`edge log: ${msg}`);
  },
  warn(msg, f) {
    mark(`edge WARN: ${msg} ${JSON.stringify(f ?? {})}`);
  },
  error(msg, f) {
    mark(`edge ERROR: ${msg} ${JSON.stringify(f ?? {})}`);
  },
};

const dir = mkdtempSync(join(tmpdir(), 'rs-trace-bulk-'));
const cluster = await startCluster({
  ...(values.prof === undefined ? {} : { env: profiledEnv(values.prof) }),
  dataDir: join(dir, 'region'), nodes: 3, host: '127.0.0.1', ready: 'healthy',
  extraArgs: ['--heartbeat-ms', '100', '--election-ms', '1000', '--log-level', 'info'],
  onLine: (name, line) => {
    if (/edge session|sync:/.test(line)) mark(`[${name}] ${line.replace(/.*"msg":"([^"]*)".*/, '$1')}`);
  },
});
try {
  const endpoints = cluster.nodes.map((n) => n.clientUrl.replace(/^http:\/\//, ''));
  await waitForLeader('regionstore', endpoints);
  const leaderName = await cluster.leader();
  const leaderIndex = cluster.nodes.findIndex((n) => n.name === leaderName);
  const region = new Client({ endpoints: [endpoints[leaderIndex]!], timeoutMs: 30_000 });
  for (let run = 1; run <= RUNS; run++) {
    const ns = `trace${run}`;
    await region.namespaces.create({ name: ns, prefix: `${ns}/`, level: 'eventual', crdtType: 'events', description: 'trace' });
    const link = await ProxySet.start(endpoints.map((e) => ({ host: '127.0.0.1', port: Number(e.split(':')[1]) })), new SeededRandom(run), `trace-${run}`);
    const node = await EdgeNode.open({
      name: `trace${run}`, dataDir: join(dir, `edge${run}`), region: link.addresses, namespaces: [ns], clockOffsetMs: 0,
      clock: systemClock, logger, verify: false, session: (n) => edgeSessionRunner(n, systemClock, logger),
    });
    node.start();
    while (!node.store.registry.list().some((d) => d.name === ns)) await sleep(20);
    link.cut();
    const w0 = performance.now();
    for (let start = 0; start < N; start += EVENTS_PER_WRITE) {
      const ops = [];
      for (let i = start; i < Math.min(N, start + EVENTS_PER_WRITE); i++) {
        const e = benchEvent(i);
        ops.push({ type: 'eventAppend' as const, device: e.device, seq: e.seq, eventType: e.type, schemaVersion: 0, payload: Buffer.from(e.payload), tsMs: e.ts });
      }
      await node.crdt.write({ namespace: ns, ops }, undefined);
    }
    const written = performance.now() - w0;
    // Let the reconnect loop settle into its unreachable probing before the heal.
    await sleep(1_500);
    marks.length = 0;
    const acceptedBefore = link.accepted(leaderIndex);
    const cpuBefore = cluster.nodes.map((n) => procCpu(n.pid));
    const selfBefore = procCpu(process.pid);
    t0 = performance.now();
    link.heal();
    mark('heal');
    void (async () => {
      while (link.accepted(leaderIndex) === acceptedBefore) await sleep(1);
      mark('accepted (bench:edge clock starts)');
    })();
    for (;;) {
      const r = await region.crdt.read(ns, { device: '', limit: 1 }, { readLevel: 'serializable' }); // the leader's applied state: no ReadIndex round per poll
      if (Object.values(r.vector).reduce((a, b) => a + b, 0) >= N) break;
      await sleep(POLL_MS);
    }
    mark(`region holds all ${N}`);
    await sleep(300);
    t0 = 0;
    await settle(cluster, SETTLE_TIMEOUT_MS);
    const cpuAfter = cluster.nodes.map((n) => procCpu(n.pid));
    const selfAfter = procCpu(process.pid);
    console.log(`run ${run}: ${N} events written offline in ${(written / 1000).toFixed(2)} s; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    for (const m of marks) console.log(m);
    console.log('CPU µs per event from the heal until every member applied (process / main thread):');
    cluster.nodes.forEach((n, i) => {
      const c = cpuPer(cpuBefore[i], cpuAfter[i], N);
      console.log(`  ${n.name} (${i === leaderIndex ? 'leader' : 'follower'}, pid ${n.pid}): ${c.all} / ${c.main}`);
    });
    const self = cpuPer(selfBefore, selfAfter, N);
    console.log(`  this process (edge, proxy, poller): ${self.all} / ${self.main}`);
    await node.close();
    await link.close();
  }
  region.close();
} finally {
  await cluster.stop();
  if (values.prof !== undefined) console.log(`member profiles in ${resolve(values.prof)} (proc-<pid>.cpuprofile)`);
  rmSync(dir, { recursive: true, force: true });
}
