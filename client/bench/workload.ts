// The request loops of `rsctl bench put|range|txn`: `clients` loops each keep one
// request in flight over one Client (with `conns` connections per member) until `total`
// requests were sent or `durationMs` passed. Each request's latency goes into the
// histogram; failures are counted by gRPC code and never retried (attempts: 1), so a
// number of "ok" is requests the cluster answered with success on the first try.

import type { ClientTlsFiles } from '../../server/util/tls-client.js';
import { performance } from 'node:perf_hooks';
import { Client, RegionstoreError, op } from '../index.js';
import { Histogram, summarize, type LatencySummaryMs } from './histogram.js';
import { Progress, type ProgressSink } from './progress.js';

export type BenchKind = 'put' | 'range' | 'txn';

export interface BenchOptions {
  endpoints: string[];
  /** TLS files (rsctl's --cacert/--cert/--key); present: TLS to every endpoint. */
  tls?: ClientTlsFiles;
  /** Requests in flight at once (one loop each). */
  clients: number;
  /** TCP connections per member, shared by the loops round-robin. */
  conns: number;
  /** Requests to send; 0 with durationMs: as many as fit in the duration. */
  total: number;
  durationMs?: number;
  valueSize: number;
  /** Keys are keyPrefix + a number in [0, keySpace). */
  keySpace: number;
  keyPrefix: string;
  /** Keys in order (0, 1, 2, ...) rather than at random. */
  sequentialKeys: boolean;
  /** Range reads: 'l' linearizable (ReadIndex through the leader), 's' serializable. */
  consistency: 'l' | 's';
  /** Puts per transaction of `bench txn`. */
  txnOps: number;
  /** Deadline of one request. */
  timeoutMs: number;
  progress?: ProgressSink | undefined;
  signal?: AbortSignal | undefined;
}

export const BENCH_DEFAULTS = {
  clients: 1, conns: 1, total: 10_000, valueSize: 8, keySpace: 1, keyPrefix: 'bench/', txnOps: 1, timeoutMs: 5_000,
} as const;

/** Keys a range bench writes first (so that it reads keys that exist); larger key spaces are capped. */
export const PREFILL_KEYS_MAX = 100_000;

export interface BenchResult {
  bench: string;
  endpoints: string[];
  clients: number;
  conns: number;
  /** Requests sent. */
  total: number;
  ok: number;
  failed: number;
  /** Failures by gRPC code name. */
  errors: Record<string, number>;
  seconds: number;
  /** Successful requests per second. */
  ops_per_s: number;
  /** Latency of the successful requests. */
  latency_ms: LatencySummaryMs;
  /** The cluster's revision before and after (a put or txn adds one per success). */
  revision_before: number;
  revision_after: number;
  [setting: string]: unknown;
}

export function keyName(prefix: string, i: number, keySpace: number): string {
  return prefix + String(i).padStart(String(Math.max(0, keySpace - 1)).length, '0');
}

/** What one loop iteration sends; resolves when answered with success. */
type Request = (n: number) => Promise<unknown>;

export function benchClient(o: Pick<BenchOptions, 'endpoints' | 'conns' | 'timeoutMs' | 'tls'>): Client {
  return new Client({
    endpoints: o.endpoints, connectionsPerEndpoint: o.conns, attempts: 1, timeoutMs: o.timeoutMs, attemptTimeoutMs: o.timeoutMs,
    ...(o.tls !== undefined ? { tls: o.tls } : {}),
  });
}

export async function currentRevision(client: Client): Promise<number> {
  return (await client.maintenance.status()).header.revision;
}

function errorName(err: unknown): string {
  return err instanceof RegionstoreError ? err.codeName : err instanceof Error ? err.name : 'UNKNOWN';
}

export interface LoopResult {
  sent: number;
  ok: number;
  errors: Record<string, number>;
  seconds: number;
  histogram: Histogram;
}

/** The fields every bench's result shares: what ran, what answered, how fast, the revisions. */
export function loopReport(bench: string, o: Pick<BenchOptions, 'endpoints' | 'clients' | 'conns'>, r: LoopResult, before: number, after: number) {
  return {
    bench,
    endpoints: o.endpoints,
    clients: o.clients,
    conns: o.conns,
    total: r.sent,
    ok: r.ok,
    failed: r.sent - r.ok,
    errors: r.errors,
    seconds: Math.round(r.seconds * 1000) / 1000,
    ops_per_s: r.seconds > 0 ? Math.round((r.ok / r.seconds) * 10) / 10 : 0,
    latency_ms: summarize(r.histogram),
    revision_before: before,
    revision_after: after,
  };
}

/** Runs `clients` loops of `request` (see BenchOptions for when they stop). */
export async function runLoops(label: string, request: Request, o: Pick<BenchOptions, 'clients' | 'total' | 'durationMs' | 'progress' | 'signal'>): Promise<LoopResult> {
  const histogram = new Histogram();
  const errors: Record<string, number> = {};
  const progress = new Progress(label, o.total, o.progress, o.durationMs ?? 0);
  const startMs = performance.now();
  const endMs = o.durationMs === undefined || o.durationMs <= 0 ? Infinity : startMs + o.durationMs;
  let sent = 0;
  let ok = 0;
  const more = (): boolean => (o.total <= 0 || sent < o.total) && performance.now() < endMs && o.signal?.aborted !== true;
  const loop = async (): Promise<void> => {
    while (more()) {
      const n = sent++;
      const t0 = performance.now();
      try {
        await request(n);
        histogram.record((performance.now() - t0) * 1000);
        ok++;
      } catch (err) {
        const name = errorName(err);
        errors[name] = (errors[name] ?? 0) + 1;
      }
      progress.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.clients) }, loop));
  progress.finish();
  return { sent, ok, errors, seconds: (performance.now() - startMs) / 1000, histogram };
}

function pickIndex(o: BenchOptions, n: number): number {
  return o.sequentialKeys ? n % o.keySpace : Math.floor(Math.random() * o.keySpace);
}

function pickKey(o: BenchOptions, n: number): string {
  return keyName(o.keyPrefix, pickIndex(o, n), o.keySpace);
}

/** Writes every key a range bench may read (not measured). */
async function prefill(client: Client, o: BenchOptions, value: Buffer): Promise<void> {
  const keys = Math.min(o.keySpace, PREFILL_KEYS_MAX);
  await runLoops('prefill', (n) => client.put(keyName(o.keyPrefix, n, o.keySpace), value), {
    clients: o.clients, total: keys, progress: o.progress, signal: o.signal,
  });
}

export async function runBench(kind: BenchKind, o: BenchOptions): Promise<BenchResult> {
  if (kind === 'txn' && o.keySpace < o.txnOps) {
    throw new RangeError(`--key-space (${o.keySpace}) must be at least --txn-ops (${o.txnOps}): a txn may not put one key twice`);
  }
  const client = benchClient(o);
  try {
    const value = Buffer.alloc(o.valueSize, 'x');
    if (kind === 'range') await prefill(client, o, value);
    const serializable = o.consistency === 's';
    const requests: Record<BenchKind, Request> = {
      put: (n) => client.put(pickKey(o, n), value),
      range: (n) => client.range(pickKey(o, n), { serializable }),
      // A txn may not put one key twice: its keys are consecutive from a picked one.
      txn: (n) => {
        const first = pickIndex(o, n * o.txnOps);
        const puts = Array.from({ length: o.txnOps }, (_, j) => op.put(keyName(o.keyPrefix, (first + j) % o.keySpace, o.keySpace), value));
        return client.txn().success(...puts).commit();
      },
    };
    const before = await currentRevision(client);
    const r = await runLoops(`bench ${kind}`, requests[kind], o);
    const after = await currentRevision(client);
    return {
      ...loopReport(kind, o, r, before, after),
      value_size: o.valueSize,
      key_space: o.keySpace,
      ...(kind === 'range' ? { consistency: o.consistency } : {}),
      ...(kind === 'txn' ? { txn_ops: o.txnOps } : {}),
    };
  } finally {
    client.close();
  }
}
