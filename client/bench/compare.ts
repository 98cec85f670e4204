// The rows of `npm run bench:compare`: the same workloads against etcd and regionstore,
// one system after the other for every row (etcd, regionstore, etcd, ...), so a change
// in the machine's load hits both alike. With `repeat` N > 1 every row runs N times, the
// rounds alternating both the row order (forwards, backwards, ...) and which system goes
// first, so a drift of the machine's load hits every row and both systems alike; a row then
// reports the median of its N runs (ops/s, latencies, members' CPU per op) with min-max. Each row is driven by h2load (throughput: a C
// client that is not the bottleneck) or by this repository's client (the user's view).
//
// Work is counted from the servers, not from the load generator: a put row counts the
// revisions it added, a range row counts the response bytes that came back (a gRPC
// error carries none) and must add no revision. Starting the clusters is the caller's
// job (cluster/bench-compare.ts); this module only needs their endpoints.
//
// The eventual put rows write an lww namespace of regionstore (created first) through the
// same driver: h2load sends the same etcd Put frames (an etcd Put on an lww key is an LWW
// write through Raft), the client driver calls client.crdt.lwwPut. etcd has no eventual
// level, so its column there is a plain put of the same keys. Regionstore's work in those
// rows is counted from the namespace's vector (one dot per applied op), not revisions.

import { loadavg } from 'node:os';
import { Client } from '../index.js';
import { processesCpuSeconds, type CpuMeter } from './cpu-meter.js';
import { summarize } from './histogram.js';
import { runH2load, type H2loadResult } from './h2load.js';
import { PUT_PATH, RANGE_PATH, putRequestFrame, rangeRequestFrame } from './grpc-frames.js';
import { crdtBenchProblem, ensureBenchNamespace, namespaceDots, runCrdtBench } from './crdt-workload.js';
import { runBench } from './workload.js';

export type SystemName = 'etcd' | 'regionstore';
export const SYSTEMS: readonly SystemName[] = ['etcd', 'regionstore'];

export interface Target {
  name: SystemName;
  /** host:port of every member. */
  endpoints: string[];
  /** The members' processes, when local: their CPU per op is measured (serverCpuUsPerOp). */
  pids?: () => number[];
  /**
   * The log syncs (fsyncs of the Raft log / WAL) the member at `endpoint` has made so far,
   * from its /metrics; undefined when not known. The leader's, per row, give its ops per log
   * sync (opsPerLogSync).
   */
  logSyncs?: (endpoint: string) => Promise<number | undefined>;
}

export type WorkloadId = 'put-1' | 'put-256' | 'lww-1' | 'lww-256' | 'range-l' | 'range-s';
export type Driver = 'h2load' | 'client';

export interface Workload {
  id: WorkloadId;
  label: string;
  kind: 'put' | 'range';
  inFlight: number;
  serializable: boolean;
  /** Regionstore writes the lww namespace LWW_NAMESPACE (etcd: the same keys, strongly). */
  eventual?: boolean;
}

/** In-flight requests of the concurrent rows, as h2load connections × streams per connection. */
export const CONNECTIONS = 4;
export const STREAMS_PER_CONNECTION = 64;
const CONCURRENT = CONNECTIONS * STREAMS_PER_CONNECTION;

export const WORKLOADS: readonly Workload[] = [
  { id: 'put-1', label: 'put, 1 in flight', kind: 'put', inFlight: 1, serializable: false },
  { id: 'put-256', label: `put, ${CONCURRENT} in flight`, kind: 'put', inFlight: CONCURRENT, serializable: false },
  { id: 'lww-1', label: 'eventual put (lww), 1 in flight', kind: 'put', inFlight: 1, serializable: false, eventual: true },
  { id: 'lww-256', label: `eventual put (lww), ${CONCURRENT} in flight`, kind: 'put', inFlight: CONCURRENT, serializable: false, eventual: true },
  { id: 'range-l', label: `range linearizable, ${CONCURRENT} in flight`, kind: 'range', inFlight: CONCURRENT, serializable: false },
  { id: 'range-s', label: `range serializable, ${CONCURRENT} in flight`, kind: 'range', inFlight: CONCURRENT, serializable: true },
];

/** The key every h2load request names (8 bytes, as etcd's benchmark) and the value size of puts. */
export const BENCH_KEY = 'bench/h2';
/** The lww namespace of the eventual rows, its prefix, and the key h2load puts there. */
export const LWW_NAMESPACE = 'bench-lww';
export const LWW_PREFIX = 'bench-lww/';
export const LWW_BENCH_KEY = 'bench-lww/h2';
export const VALUE_SIZE_DEFAULT = 256;
/** Requests of an h2load row with CONCURRENT in flight; other rows take a share of it (ROW_SHARE). */
export const TOTAL_DEFAULT = 20_000;
/** Fraction of --total a row sends: one request in flight, or a Node client (~1–2k calls/s), is slower. */
const ROW_SHARE: Record<Driver, Record<'serial' | 'concurrent', number>> = {
  h2load: { serial: 0.1, concurrent: 1 },
  // 0.5 at 256 in flight (10,000 calls, ~2.5 s): at 0.25 a row of ~1 s moved 0.75-1.01
  // between runs of one build (session 9), one GC pause or scheduler hiccup weighing a lot.
  client: { serial: 0.05, concurrent: 0.5 },
};
/** Requests of each warm-up run (not measured): JIT, connections, caches. */
const WARMUP_REQUESTS = 3_000;

export interface CompareOptions {
  total: number;
  /** Each row runs this long instead of a request count. */
  durationS?: number;
  valueSize: number;
  drivers: Driver[];
  workloads: WorkloadId[];
  log: (line: string) => void;
  /** Measures other processes' CPU during each row (see cpu-meter.ts). */
  meter?: CpuMeter;
  /** Runs of every row (default 1): rounds alternate row order and system order; rows report medians. */
  repeat?: number;
}

export interface Measurement {
  opsPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests the servers show were served. */
  ok: number;
  sent: number;
  seconds: number;
  /** 1-minute load average when the run started (it counts the benchmark's own processes too). */
  load: number;
  /** Share of all cores that processes other than the benchmark's used during the run. */
  othersCpu: number | undefined;
  /** CPU µs per op of the system's members together (every thread), when their pids are known. */
  serverCpuUsPerOp?: number;
  /** Client rows: CPU µs per op of this process (the client library runs in it), to tell the client's share from the members'. */
  clientCpuUsPerOp?: number;
  /**
   * Ops per log sync of the leader during the row, when the target tells its syncs: the
   * fsync, Ready and apply-batch costs are shared by that many ops, so a slower driver (fewer
   * ops in flight at each sync) raises the members' CPU per op without any cost of the path.
   */
  opsPerLogSync?: number;
  /** '' when the checks passed, else what was wrong. */
  problem: string;
}

export interface Row {
  workload: Workload;
  driver: Driver;
  /** With one run, that run; with more, each figure the median of the runs (medianOf). */
  results: Record<SystemName, Measurement>;
  /** Every run, in the order they ran (one unless `repeat`). */
  runs: Record<SystemName, Measurement[]>;
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The runs of one row of one system as one Measurement: each figure's median, counts summed, problems by run. */
export function medianOf(runs: readonly Measurement[]): Measurement {
  if (runs.length === 1) return runs[0]!;
  const med = (f: (m: Measurement) => number | undefined): number | undefined => {
    const xs = runs.map(f).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? undefined : median(xs);
  };
  const cpu = med((m) => m.serverCpuUsPerOp);
  const clientCpu = med((m) => m.clientCpuUsPerOp);
  const perSync = med((m) => m.opsPerLogSync);
  return {
    opsPerS: med((m) => m.opsPerS) ?? 0, p50Ms: med((m) => m.p50Ms) ?? 0, p99Ms: med((m) => m.p99Ms) ?? 0,
    ok: runs.reduce((a, m) => a + m.ok, 0), sent: runs.reduce((a, m) => a + m.sent, 0), seconds: runs.reduce((a, m) => a + m.seconds, 0),
    load: med((m) => m.load) ?? 0, othersCpu: med((m) => m.othersCpu),
    problem: runs.map((m, i) => (m.problem === '' ? '' : `run ${i + 1}: ${m.problem}`)).filter((p) => p !== '').join('; '),
    ...(cpu === undefined ? {} : { serverCpuUsPerOp: cpu }), ...(clientCpu === undefined ? {} : { clientCpuUsPerOp: clientCpu }),
    ...(perSync === undefined ? {} : { opsPerLogSync: perSync }),
  };
}

async function withClient<T>(t: Target, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ endpoints: t.endpoints });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** host:port of the leader and the store's revision. */
async function leaderAndRevision(t: Target): Promise<{ leader: string; revision: number }> {
  return withClient(t, async (c) => {
    const all = await c.maintenance.statusAll();
    const leader = all.find((s) => 'status' in s && s.status.isLeader);
    if (leader === undefined || !('status' in leader)) throw new Error(`${t.name} has no leader among ${t.endpoints.join(',')}`);
    return { leader: leader.endpoint, revision: leader.status.header.revision };
  });
}

/** CPU seconds a target's members have used so far (undefined: not known). */
function serverCpuSeconds(t: Target): number | undefined {
  return t.pids === undefined ? undefined : processesCpuSeconds(t.pids());
}

/** µs per op of the CPU seconds between two readings. */
function perOpUs(a: number | undefined, b: number | undefined, ops: number): { serverCpuUsPerOp: number } | undefined {
  return a === undefined || b === undefined || ops <= 0 ? undefined : { serverCpuUsPerOp: ((b - a) * 1e6) / ops };
}

/** The leader's log syncs so far (undefined: not known). */
async function leaderSyncs(t: Target, leader: string): Promise<number | undefined> {
  return t.logSyncs === undefined ? undefined : t.logSyncs(leader).catch(() => undefined);
}

/** ok ops per log sync between two readings of the leader's syncs. */
function perLogSync(a: number | undefined, b: number | undefined, ops: number): { opsPerLogSync: number } | undefined {
  return a === undefined || b === undefined || b <= a || ops <= 0 ? undefined : { opsPerLogSync: ops / (b - a) };
}

function rowTotal(o: CompareOptions, w: Workload, d: Driver): number {
  return Math.max(1, Math.round(o.total * ROW_SHARE[d][w.inFlight > 1 ? 'concurrent' : 'serial']));
}

/** Bytes of one successful answer to `body`, measured with a single request. */
async function answerBytes(target: string, path: string, body: Buffer): Promise<number> {
  const one = await runH2load({ target, path, body, connections: 1, streams: 1, total: 1 });
  if (one.dataBytes === 0) throw new Error(`a single request to ${target}${path} got no answer body (a gRPC error?):\n${one.output}`);
  return one.dataBytes;
}

/** Whether regionstore's lww namespace takes this row (etcd's column is a strong put). */
function eventualOn(t: Target, w: Workload): boolean {
  return w.eventual === true && t.name === 'regionstore';
}

/** The ops an eventual row applied so far: the lww namespace's vector, summed. */
async function lwwDots(t: Target): Promise<number> {
  return withClient(t, (c) => namespaceDots(c, LWW_NAMESPACE));
}

async function h2loadRow(t: Target, w: Workload, o: CompareOptions): Promise<Measurement> {
  const value = Buffer.alloc(o.valueSize, 'x');
  const key = w.eventual === true ? LWW_BENCH_KEY : BENCH_KEY;
  const body = w.kind === 'put' ? putRequestFrame(key, value) : rangeRequestFrame(key, w.serializable);
  const path = w.kind === 'put' ? PUT_PATH : RANGE_PATH;
  const eventual = eventualOn(t, w);
  const dotsBefore = eventual ? await lwwDots(t) : 0;
  const before = await leaderAndRevision(t);
  const perAnswer = w.kind === 'range' ? await answerBytes(before.leader, path, body) : 0;
  const syncs0 = await leaderSyncs(t, before.leader);
  const load = loadavg()[0] ?? 0;
  const others = o.meter?.start();
  const cpu0 = serverCpuSeconds(t);
  const r: H2loadResult = await runH2load({
    target: before.leader, path, body,
    connections: Math.min(CONNECTIONS, w.inFlight), streams: Math.max(1, w.inFlight / CONNECTIONS),
    total: rowTotal(o, w, 'h2load'), ...(o.durationS === undefined ? {} : { durationS: o.durationS }),
  });
  const othersCpu = others?.();
  const cpu1 = serverCpuSeconds(t);
  const syncs1 = await leaderSyncs(t, before.leader);
  const after = await leaderAndRevision(t);
  // Counted by dots, not revisions: every acknowledged lww write has a dot (a winning one also gets a revision,
  // even with the value the key holds, but a write that loses its merge gets none).
  const added = eventual ? (await lwwDots(t)) - dotsBefore : after.revision - before.revision;
  let ok: number;
  let problem = '';
  if (w.kind === 'put') {
    ok = Math.min(added, r.http2xx);
    if (added < r.http2xx) problem = `${r.http2xx - added} of ${r.http2xx} HTTP 200s added no ${eventual ? 'dot' : 'revision'} (gRPC errors)`;
    // With -D, h2load stops at the deadline with requests in flight: the servers applied
    // them but h2load never counted their answers. Only answered puts are counted.
    else if (added > r.http2xx && o.durationS === undefined) problem = `${added - r.http2xx} more ${eventual ? 'dots' : 'revisions'} than HTTP 200s`;
  } else {
    ok = Math.floor(r.dataBytes / perAnswer);
    if (ok < r.http2xx) problem = `${r.http2xx - ok} of ${r.http2xx} answers carried no data (gRPC errors)`;
    if (added !== 0) problem += `${problem === '' ? '' : '; '}revision moved by ${added} during a read-only row`;
  }
  if (after.leader !== before.leader) problem += `${problem === '' ? '' : '; '}leader changed`;
  const latency = summarize(r.histogram);
  return {
    opsPerS: ok / r.seconds, p50Ms: latency.p50, p99Ms: latency.p99, ok, sent: r.done, seconds: r.seconds, load, othersCpu, problem,
    ...perOpUs(cpu0, cpu1, ok), ...perLogSync(syncs0, syncs1, ok),
  };
}

async function clientRow(t: Target, w: Workload, o: CompareOptions): Promise<Measurement> {
  const leader = t.logSyncs === undefined ? undefined : (await leaderAndRevision(t)).leader;
  const syncs0 = leader === undefined ? undefined : await leaderSyncs(t, leader);
  const load = loadavg()[0] ?? 0;
  const others = o.meter?.start();
  const cpu0 = serverCpuSeconds(t);
  const own0 = process.cpuUsage();
  const eventual = eventualOn(t, w);
  const settings = {
    endpoints: t.endpoints, clients: w.inFlight, conns: Math.min(CONNECTIONS, w.inFlight), total: rowTotal(o, w, 'client'),
    ...(o.durationS === undefined ? {} : { durationMs: o.durationS * 1000, total: 0 }),
    valueSize: o.valueSize, keySpace: 1, keyPrefix: w.eventual === true ? `${LWW_PREFIX}client/` : 'bench/client/', sequentialKeys: false,
    consistency: w.serializable ? 's' : 'l', txnOps: 1, timeoutMs: 10_000,
  } as const;
  const r = eventual
    ? await runCrdtBench('lww', { ...settings, namespace: LWW_NAMESPACE, memberSpace: 1, removePercent: 0, eventsPerAppend: 1 })
    : await runBench(w.kind, settings);
  const othersCpu = others?.();
  const cpu1 = serverCpuSeconds(t);
  const own = process.cpuUsage(own0);
  const syncs1 = leader === undefined ? undefined : await leaderSyncs(t, leader);
  const added = r.revision_after - r.revision_before;
  const problems: string[] = [];
  if (r.failed > 0) problems.push(`${r.failed} failed (${Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  if (eventual) {
    const p = crdtBenchProblem(r);
    if (p !== '') problems.push(p);
  } else if (w.kind === 'put' && added !== r.ok) problems.push(`revision moved by ${added} for ${r.ok} acknowledged puts`);
  if (w.kind === 'range' && added !== 0) problems.push(`revision moved by ${added} during a read-only row`);
  return {
    opsPerS: r.ops_per_s, p50Ms: r.latency_ms.p50, p99Ms: r.latency_ms.p99, ok: r.ok, sent: r.total, seconds: r.seconds, load, othersCpu,
    problem: problems.join('; '), ...perOpUs(cpu0, cpu1, r.ok), ...perLogSync(syncs0, syncs1, r.ok),
    ...(r.ok > 0 ? { clientCpuUsPerOp: (own.user + own.system) / r.ok } : {}),
  };
}

/** Not measured: brings both systems to a steady state (Node's JIT above all) before the first row. */
async function warmUp(t: Target, o: CompareOptions, eventual: boolean): Promise<void> {
  const { leader } = await leaderAndRevision(t);
  const value = Buffer.alloc(o.valueSize, 'x');
  const run = { target: leader, connections: CONNECTIONS, streams: STREAMS_PER_CONNECTION, total: WARMUP_REQUESTS };
  await runH2load({ ...run, path: PUT_PATH, body: putRequestFrame(BENCH_KEY, value) });
  if (eventual) await runH2load({ ...run, path: PUT_PATH, body: putRequestFrame(LWW_BENCH_KEY, value) });
  await runH2load({ ...run, path: RANGE_PATH, body: rangeRequestFrame(BENCH_KEY, false) });
  await runH2load({ ...run, path: RANGE_PATH, body: rangeRequestFrame(BENCH_KEY, true) });
}

export async function runComparison(targets: Record<SystemName, Target>, o: CompareOptions): Promise<Row[]> {
  const eventualRows = WORKLOADS.some((w) => w.eventual === true && o.workloads.includes(w.id));
  if (eventualRows) {
    o.log(`creating the eventual lww namespace ${LWW_NAMESPACE} (prefix ${LWW_PREFIX}) on regionstore`);
    await withClient(targets.regionstore, (c) => ensureBenchNamespace(c, LWW_NAMESPACE, 'lww', LWW_PREFIX));
  }
  for (const name of SYSTEMS) {
    o.log(`warming up ${name} (${(eventualRows ? 2 : 1) * WARMUP_REQUESTS} puts and ${2 * WARMUP_REQUESTS} ranges through h2load, not measured)`);
    await warmUp(targets[name], o, eventualRows);
  }
  const pairs = WORKLOADS.filter((x) => o.workloads.includes(x.id)).flatMap((w) => o.drivers.map((driver) => ({ w, driver })));
  const rows: Row[] = pairs.map(({ w, driver }) => ({ workload: w, driver, results: {} as Record<SystemName, Measurement>, runs: { etcd: [], regionstore: [] } }));
  const repeat = o.repeat ?? 1;
  for (let round = 0; round < repeat; round++) {
    // Odd rounds go backwards and start with the other system: drift hits every row and both systems alike.
    const order = round % 2 === 0 ? rows : [...rows].reverse();
    const systems = round % 2 === 0 ? SYSTEMS : [...SYSTEMS].reverse();
    if (repeat > 1) o.log(`round ${round + 1} of ${repeat} (${round % 2 === 0 ? 'rows in order' : 'rows backwards'}, ${systems[0]} first)`);
    for (const row of order) {
      const w = row.workload;
      for (const name of systems) {
        const m = row.driver === 'h2load' ? await h2loadRow(targets[name], w, o) : await clientRow(targets[name], w, o);
        o.log(`${w.label} via ${row.driver}, ${name}: ${Math.round(m.opsPerS)} ops/s, p50 ${m.p50Ms} ms, p99 ${m.p99Ms} ms` +
          ` (${m.ok}/${m.sent} in ${m.seconds.toFixed(2)} s, load ${m.load.toFixed(2)}, other processes ${percent(m.othersCpu)} of the CPU, ` +
          `members' CPU ${usPerOp(m.serverCpuUsPerOp)} µs/op${m.clientCpuUsPerOp === undefined ? '' : `, client ${usPerOp(m.clientCpuUsPerOp)} µs/op`}, ` +
          `leader ${perSyncCell(m.opsPerLogSync)} ops per log sync)` +
          `${m.problem === '' ? '' : ` !! ${m.problem}`}`);
        row.runs[name].push(m);
      }
    }
  }
  for (const row of rows) for (const name of SYSTEMS) row.results[name] = medianOf(row.runs[name]);
  return rows;
}

function usPerOp(us: number | undefined): string {
  return us === undefined ? '?' : Math.round(us).toString();
}

function perSyncCell(n: number | undefined): string {
  return n === undefined ? '?' : n.toFixed(1);
}

function percent(share: number | undefined): string {
  return share === undefined ? '?' : `${Math.round(share * 100)}%`;
}

function ratio(rs: number, etcd: number): string {
  return etcd > 0 ? (rs / etcd).toFixed(2) : '-';
}

function fmt(n: number, digits: number): string {
  return n >= 100 ? Math.round(n).toString() : n.toFixed(digits);
}

function opsCell(n: number): string {
  return fmt(n, 0);
}

/** ` (min-max)` of a figure over a row's runs, when there are several. */
function spread(runs: readonly Measurement[], f: (m: Measurement) => number | undefined, show: (n: number) => string): string {
  if (runs.length < 2) return '';
  const xs = runs.map(f).filter((x): x is number => x !== undefined);
  return xs.length < 2 ? '' : ` (${show(Math.min(...xs))}-${show(Math.max(...xs))})`;
}

/** The comparison as a Markdown table (for the terminal and the README alike); with several runs per row, medians (min-max). */
export function renderComparison(rows: readonly Row[]): string {
  const runs = Math.max(1, ...rows.map((r) => r.runs.etcd.length));
  const head = `| workload | driver | etcd ops/s${runs > 1 ? ` (median of ${runs}, min-max)` : ''} | rs ops/s | rs/etcd | etcd p50 ms | rs p50 ms | rs/etcd | etcd p99 ms | rs p99 ms | rs/etcd | ` +
    `load (etcd, rs) | other CPU (etcd, rs) | members' CPU µs/op (etcd, rs)${runs > 1 ? ', median (min-max)' : ''} | leader's ops per log sync (etcd, rs) | checks |`;
  const rule = `|${head.split('|').slice(1, -1).map(() => '---').join('|')}|`;
  const lines = rows.map((r) => {
    const e = r.results.etcd;
    const s = r.results.regionstore;
    const problems = SYSTEMS.filter((n) => r.results[n].problem !== '').map((n) => `${n}: ${r.results[n].problem}`);
    const cpu = (n: SystemName): string => usPerOp(r.results[n].serverCpuUsPerOp) + spread(r.runs[n], (m) => m.serverCpuUsPerOp, (x) => usPerOp(x));
    return `| ${r.workload.label} | ${r.driver} | ${opsCell(e.opsPerS)}${spread(r.runs.etcd, (m) => m.opsPerS, opsCell)} | ` +
      `${opsCell(s.opsPerS)}${spread(r.runs.regionstore, (m) => m.opsPerS, opsCell)} | ${ratio(s.opsPerS, e.opsPerS)} | ` +
      `${fmt(e.p50Ms, 2)} | ${fmt(s.p50Ms, 2)} | ${ratio(s.p50Ms, e.p50Ms)} | ${fmt(e.p99Ms, 2)} | ${fmt(s.p99Ms, 2)} | ${ratio(s.p99Ms, e.p99Ms)} | ` +
      `${e.load.toFixed(2)}, ${s.load.toFixed(2)} | ${percent(e.othersCpu)}, ${percent(s.othersCpu)} | ` +
      `${cpu('etcd')}, ${cpu('regionstore')} | ${perSyncCell(e.opsPerLogSync)}, ${perSyncCell(s.opsPerLogSync)} | ${problems.length === 0 ? 'ok' : problems.join('; ')} |`;
  });
  return [head, rule, ...lines].join('\n') + '\n' + lwwVsPut(rows);
}

/** Regionstore's eventual put rows beside its strong put rows of the same driver and in-flight
 *  count (issue 13: an lww write should cost no more than a strong put), from the medians. */
export function lwwVsPut(rows: readonly Row[]): string {
  const out: string[] = [];
  for (const l of rows.filter((r) => r.workload.eventual === true)) {
    const p = rows.find((r) => r.driver === l.driver && r.workload.kind === 'put' && r.workload.eventual !== true && r.workload.inFlight === l.workload.inFlight);
    if (p === undefined) continue;
    const a = l.results.regionstore;
    const b = p.results.regionstore;
    const cpu = a.serverCpuUsPerOp !== undefined && b.serverCpuUsPerOp !== undefined
      ? `, members' CPU ${usPerOp(a.serverCpuUsPerOp)} vs ${usPerOp(b.serverCpuUsPerOp)} µs/op (${ratio(a.serverCpuUsPerOp, b.serverCpuUsPerOp)})` : '';
    const client = a.clientCpuUsPerOp !== undefined && b.clientCpuUsPerOp !== undefined
      ? `, client CPU ${usPerOp(a.clientCpuUsPerOp)} vs ${usPerOp(b.clientCpuUsPerOp)} µs/op (${ratio(a.clientCpuUsPerOp, b.clientCpuUsPerOp)})` : '';
    // Ops per leader log sync beside the CPU: members' CPU per op falls as more ops share a
    // sync, so a row whose driver kept fewer ops in flight pays more per op for that alone.
    const sync = a.opsPerLogSync !== undefined && b.opsPerLogSync !== undefined
      ? `, leader's ops per log sync ${perSyncCell(a.opsPerLogSync)} vs ${perSyncCell(b.opsPerLogSync)}` : '';
    out.push(`- regionstore lww/put, ${l.workload.inFlight} in flight via ${l.driver}: ops/s ${fmt(a.opsPerS, 0)} vs ${fmt(b.opsPerS, 0)} (${ratio(a.opsPerS, b.opsPerS)})${cpu}${sync}${client}`);
  }
  return out.length === 0 ? '' : `\n${out.join('\n')}\n`;
}
