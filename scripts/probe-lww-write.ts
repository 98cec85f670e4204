// Why the client library's lww put (Crdt.Write) costs the members more than an etcd Put to
// the same lww namespace (issue 13, session 9 probe). A 3-member cluster, one lww namespace,
// and the client library at 256 in flight (4 connections, as bench:compare's client rows;
// --in-flight N for another depth: 1 is bench:compare's 1-in-flight rows, one connection,
// one entry per apply batch),
// alternating these loads in rounds, each measured by /proc CPU per op of every member
// (leader and followers, main thread and all threads) and of this (client) process:
//
//   put       KV.Put of a strong key, one constant value (bench:compare's "put" client row)
//   put-lww   KV.Put of a key of the lww namespace, a new value per op (an etcd Put there:
//             the server's writeRevision, namespace resolved by the router)
//   put-lww-same  the same, one constant value (as bench:compare's h2load lww row sends; a
//             winning lww write is a write, so each still gets a revision, as an etcd Put of
//             the same value does: server/eventual/work.ts project(always))
//   crdt      client.crdt.lwwPut(key, value): Crdt.Write with namespace '' (what
//             bench:compare's lww client row sends: runCrdtBench passes no namespace)
//   crdt-ns   client.crdt.lwwPut(key, value, { namespace }): Crdt.Write naming the namespace
//   crdt-generic  the same Write through proto-loader's codec and writeResult, as client/lib
//             sent it before its own codec (client/lib/crdt-codec.ts, session 10): an A/B
//             of that codec in one run
//
//   RS_CLUSTER_SERVE_FROM=tsx npx tsx scripts/probe-lww-write.ts [--ops 20000] [--rounds 2]
//       [--variants put,put-lww,crdt,crdt-ns] [--in-flight 256] [--prof DIR]
//
// --prof DIR: the members run under the CPU profiler (scripts/profile-preload.mjs) and write
// DIR/proc-<pid>.cpuprofile at stop: give one variant per run to profile it alone.
// --client-prof DIR: this (client) process is profiled during each measured load and writes
// DIR/client-<variant>-<round>.cpuprofile.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSync } from '@grpc/proto-loader';
import type { Caller } from '../client/lib/caller.js';
import { opToWire, writeResult, type CrdtOp, type WireWriteResponse } from '../client/lib/crdt-types.js';
import { LOADER_OPTIONS, type Method } from '../client/lib/proto.js';
import { DIST_SERVE_COMMAND, SERVE_FROM_ENV, TSX_SERVE_COMMAND, startCluster } from '../cluster/launcher.js';
import { leaderOf, settle } from './cluster-settle.js';
import { procCpu } from './proc-thread-cpu.js';
import { profiledEnv } from './profile-env.js';
import { benchClient, runLoops } from '../client/bench/workload.js';
import { ensureBenchNamespace } from '../client/bench/crdt-workload.js';
import { scrape } from '../client/bench/scale-probes.js';

/** The leader's synced log writes (one per Ready with entries) and apply batches: how many
 *  ops each shares (members' CPU per op falls as these grow, so a slower client costs the
 *  members more per op). */
const PERSISTS = 'regionstore_raft_persist_batch_entries_count';
const APPLIES = 'regionstore_apply_batch_entries_count';

/** bench:compare's concurrent rows' depth (--in-flight's default). */
const DEFAULT_IN_FLIGHT = 256;

const { values: args } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '2' },
    'in-flight': { type: 'string', default: String(DEFAULT_IN_FLIGHT) },
    variants: { type: 'string', default: 'put,put-lww,crdt,crdt-ns' },
    prof: { type: 'string' },
    'client-prof': { type: 'string' },
  },
});

const TIMINGS = ['--heartbeat-ms', '100', '--election-ms', '1000', '--log-level', 'warn'];
/** Loops in flight (--in-flight; bench:compare's client rows: 256 over 4 connections per endpoint), 8-byte values (its default). */
const IN_FLIGHT = Number(args['in-flight']);
if (!(Number.isInteger(IN_FLIGHT) && IN_FLIGHT >= 1)) throw new RangeError(`--in-flight must be a positive integer, not ${args['in-flight']}`);
const MAX_CONNECTIONS = 4;
/** As bench:compare: no more connections than requests in flight (1 in flight: one connection). */
const CONNECTIONS = Math.min(MAX_CONNECTIONS, IN_FLIGHT);
const VALUE_BYTES = 8;
const NAMESPACE = 'probe-lww';
const PREFIX = 'probe-lww/';
const SETTLE_TIMEOUT_MS = 120_000;
/** Ops of a warm-up per variant before the first round (JIT). */
const WARMUP_OPS = 3000;

const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

/** As crdt-workload.ts's uniqueValue: every lww put changes the value. */
function uniqueValue(size: number, n: number): Buffer {
  const v = Buffer.alloc(size, 'x');
  const tag = String(n);
  v.write(tag.slice(-size), Math.max(0, size - tag.length));
  return v;
}

const dir = mkdtempSync(join(tmpdir(), 'rs-probe-lww-'));
const env = profiledEnv(args.prof);
const command = process.env[SERVE_FROM_ENV] === 'tsx' ? TSX_SERVE_COMMAND : DIST_SERVE_COMMAND;
const cluster = await startCluster({ dataDir: join(dir, 'rs'), nodes: 3, ready: 'healthy', extraArgs: TIMINGS, env, command });
const endpoints = cluster.nodes.map((n) => n.clientUrl.replace(/^http:\/\//, ''));
const client = benchClient({ endpoints, conns: CONNECTIONS, timeoutMs: 10_000 });
try {
  const leader = await leaderOf(cluster);
  console.log(`members: ${cluster.nodes.map((n) => `${n.name} pid ${n.pid}${n === leader ? ' (leader)' : ''}`).join(', ')}`);
  await ensureBenchNamespace(client, NAMESPACE, 'lww', PREFIX);
  const strongValue = Buffer.alloc(VALUE_BYTES, 'x');
  // crdt-generic: the client's caller (private; a probe may reach it) and proto-loader's Write.
  const caller = (client as unknown as { caller: Caller }).caller;
  const protoDir = fileURLToPath(new URL('../proto', import.meta.url));
  const genericWrite = (loadSync('regionstore/v1/crdt_service.proto', { ...LOADER_OPTIONS, includeDirs: [protoDir] })['regionstore.v1.Crdt'] as unknown as Record<string, Method>)['Write']!;
  const requests: Record<string, (n: number) => Promise<unknown>> = {
    put: () => client.put('probe/client/0', strongValue),
    // As bench:compare's h2load lww row: the same value every time (each winning write still gets a revision).
    'put-lww-same': () => client.put(`${PREFIX}client/0`, strongValue),
    'put-lww': (n) => client.put(`${PREFIX}client/0`, uniqueValue(VALUE_BYTES, n)),
    crdt: (n) => client.crdt.lwwPut(`${PREFIX}client/0`, uniqueValue(VALUE_BYTES, n)),
    'crdt-ns': (n) => client.crdt.lwwPut(`${PREFIX}client/0`, uniqueValue(VALUE_BYTES, n), { namespace: NAMESPACE }),
    'crdt-generic': async (n) => {
      const op: CrdtOp = { op: 'lwwPut', key: `${PREFIX}client/0`, value: uniqueValue(VALUE_BYTES, n) };
      const r = writeResult(await caller.unary<WireWriteResponse>(genericWrite, { namespace: '', ops: [opToWire(op)] }, 'write'));
      client.crdt.session.observe(r.revision);
      return { ...r, dot: r.results[0]?.dot, hlc: r.results[0]?.hlc };
    },
  };
  const variants = args.variants.split(',');
  for (const v of variants) if (requests[v] === undefined) throw new RangeError(`unknown variant ${v}: one of ${Object.keys(requests).join(', ')}`);
  for (const v of variants) await runLoops(`warm ${v}`, requests[v]!, { clients: IN_FLIGHT, total: WARMUP_OPS });
  await settle(cluster, SETTLE_TIMEOUT_MS);
  const ops = Number(args.ops);
  const clientProf = args['client-prof'] === undefined ? undefined : resolve(args['client-prof']);
  let session: Session | undefined;
  if (clientProf !== undefined) {
    mkdirSync(clientProf, { recursive: true });
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 500 });
  }
  const rows: Array<Record<string, string | number>> = [];
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const v of variants) {
      const m0 = await scrape(`${leader.metricsUrl}/metrics`);
      const before = cluster.nodes.map((n) => procCpu(n.pid));
      const own0 = process.cpuUsage();
      const load0 = load();
      if (session !== undefined) await session.post('Profiler.start');
      const r = await runLoops(v, requests[v]!, { clients: IN_FLIGHT, total: ops });
      const own = process.cpuUsage(own0);
      if (session !== undefined) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(join(clientProf!, `client-${v}-${round}.cpuprofile`), JSON.stringify(profile));
      }
      await settle(cluster, SETTLE_TIMEOUT_MS);
      const after = cluster.nodes.map((n) => procCpu(n.pid));
      const m1 = await scrape(`${leader.metricsUrl}/metrics`);
      const perBatch = (name: string): string => ((r.ok / ((m1?.get(name) ?? NaN) - (m0?.get(name) ?? NaN)))).toFixed(1);
      const us = (s: number): number => Math.round((s * 1e6) / r.ok);
      const li = cluster.nodes.indexOf(leader);
      const fi = cluster.nodes.map((_, i) => i).filter((i) => i !== li);
      const d = (i: number, f: 'all' | 'main'): number => after[i]![f] - before[i]![f];
      rows.push({
        round, variant: v, ok: r.ok, failed: r.sent - r.ok, 'ops/s': Math.round(r.ok / r.seconds),
        'ops/log sync': perBatch(PERSISTS), 'ops/apply batch': perBatch(APPLIES),
        'members µs/op': us(cluster.nodes.reduce((s, _, i) => s + d(i, 'all'), 0)),
        'leader all': us(d(li, 'all')), 'leader main': us(d(li, 'main')),
        'followers all (mean)': us(fi.reduce((s, i) => s + d(i, 'all'), 0) / fi.length),
        'followers main (mean)': us(fi.reduce((s, i) => s + d(i, 'main'), 0) / fi.length),
        'client µs/op': Math.round((own.user + own.system) / r.ok),
        'leader µs/op by thread': [...after[li]!.byThread].map(([g, t]) => [g, t - (before[li]!.byThread.get(g) ?? 0)] as const)
          .filter(([, t]) => t > 0).sort((x, y) => y[1] - x[1]).slice(0, 5).map(([g, t]) => `${g} ${us(t)}`).join(', '),
        load: `${load0} -> ${load()}`,
      });
    }
  }
  console.table(rows);
} finally {
  client.close();
  await cluster.stop();
  if (args.prof !== undefined) console.log(`profiles in ${resolve(args.prof)} (proc-<pid>.cpuprofile)`);
  rmSync(dir, { recursive: true, force: true });
}
