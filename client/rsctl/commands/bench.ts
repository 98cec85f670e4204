// rsctl bench put | range | txn | watch-latency | lww | counter | set | events: load
// through the client library (the CRDT ones through client.crdt, see
// client/bench/crdt-workload.ts), a
// progress bar on a terminal, percentiles from an HDR-style histogram, a summary, and a
// final single-line JSON report for scripts (the last line of stdout).
//
// One Node process drives ~1–2k calls/s through grpc-js at best, so these figures are the
// client's view (latency, correctness); `npm run bench:compare` uses h2load for throughput.

import type { BenchResult } from '../../bench/workload.js';
import {
  CRDT_BENCH_DEFAULTS, benchNamespaceName, crdtBenchProblem, runCrdtBench, type CrdtBenchKind,
} from '../../bench/crdt-workload.js';
import { BENCH_DEFAULTS, runBench, type BenchKind, type BenchOptions } from '../../bench/workload.js';
import { runWatchLatency, WATCH_PUT_RATE_DEFAULT } from '../../bench/watch-latency.js';
import { expectArgs, flag, UsageError, type FlagSpec } from '../args.js';
import type { Command, CommandGroup, Context } from '../command.js';
import { serializableOf } from './kv.js';
import { ExitCode } from '../exit.js';

const COMMON_FLAGS: FlagSpec[] = [
  { name: 'clients', type: 'int', arg: '<n>', default: BENCH_DEFAULTS.clients, help: 'Requests in flight at once.' },
  { name: 'conns', type: 'int', arg: '<n>', default: BENCH_DEFAULTS.conns, help: 'TCP connections per member.' },
  { name: 'total', type: 'int', arg: '<n>', default: BENCH_DEFAULTS.total, help: 'Requests to send (with --duration: at most; 0: no bound).' },
  { name: 'duration', type: 'duration', arg: '<duration>', help: 'Stop after this long (e.g. 10s).' },
  { name: 'value-size', type: 'int', arg: '<bytes>', default: BENCH_DEFAULTS.valueSize, help: 'Bytes per value.' },
  { name: 'key-space', type: 'int', arg: '<n>', default: BENCH_DEFAULTS.keySpace, help: 'Distinct keys (key = --key-prefix + number).' },
  { name: 'key-prefix', type: 'string', arg: '<prefix>', default: BENCH_DEFAULTS.keyPrefix, help: 'Prefix of the keys used.' },
  { name: 'sequential-keys', type: 'boolean', help: 'Use the keys in order rather than at random.' },
];
const CONSISTENCY_FLAG: FlagSpec = {
  name: 'consistency', type: 'string', arg: 'l|s', default: 'l', help: 'l: linearizable reads (ReadIndex), s: serializable (local).',
};

function options(ctx: Context): BenchOptions {
  const f = ctx.flags;
  const positive = (name: string): number => {
    const v = flag.int(f, name) as number;
    if (v < 1) throw new UsageError(`--${name} must be at least 1`, ctx.command);
    return v;
  };
  const durationMs = flag.int(f, 'duration');
  const total = flag.int(f, 'total') as number;
  if (total === 0 && durationMs === undefined) throw new UsageError('--total 0 needs --duration', ctx.command);
  return {
    endpoints: ctx.global.endpoints,
    ...(ctx.global.tls !== undefined ? { tls: ctx.global.tls } : {}),
    clients: positive('clients'),
    conns: positive('conns'),
    total,
    ...(durationMs === undefined ? {} : { durationMs }),
    valueSize: flag.int(f, 'value-size') as number,
    keySpace: positive('key-space'),
    keyPrefix: flag.str(f, 'key-prefix') as string,
    sequentialKeys: flag.bool(f, 'sequential-keys'),
    consistency: f['consistency'] === undefined ? 'l' : serializableOf(f, ctx.command) ? 's' : 'l',
    txnOps: flag.int(f, 'txn-ops') ?? BENCH_DEFAULTS.txnOps,
    timeoutMs: ctx.global.commandTimeoutMs,
    progress: ctx.stderr,
    signal: ctx.signal,
  };
}

function printSummary(ctx: Context, r: BenchResult): void {
  const l = r.latency_ms;
  ctx.out.line('Summary:');
  ctx.out.line(`  Total:        ${r.seconds.toFixed(4)} secs.`);
  ctx.out.line(`  Requests/sec: ${r.ops_per_s}`);
  ctx.out.line(`  OK: ${r.ok}  Failed: ${r.failed}${r.failed > 0 ? ` (${Object.entries(r.errors).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}`);
  ctx.out.line(`  Revision: ${r.revision_before} -> ${r.revision_after}`);
  if (typeof r['dots_added'] === 'number') {
    const problem = crdtBenchProblem(r);
    ctx.out.line(`  Dots added: ${String(r['dots_added'])} for ${String(r['dots_expected'])} acknowledged ops${problem === '' ? '' : ` !! ${problem}`}`);
  }
  ctx.out.line(`Latency (ms): min ${l.min}  mean ${l.mean}  p50 ${l.p50}  p90 ${l.p90}  p99 ${l.p99}  p99.9 ${l.p999}  max ${l.max}`);
}

/** 0 when every request succeeded (and the server's counts agree); 3 when none did because the cluster was unreachable; else 1. */
function exitCode(r: BenchResult): number {
  const unavailable = (r.errors['UNAVAILABLE'] ?? 0) + (r.errors['DEADLINE_EXCEEDED'] ?? 0);
  if (r.ok === 0 && r.failed > 0 && unavailable === r.failed) return ExitCode.unavailable;
  const missingEvents = typeof r['events_expected'] === 'number' && r['events_received'] !== r['events_expected'];
  return r.failed > 0 || missingEvents || crdtBenchProblem(r) !== '' ? ExitCode.failed : ExitCode.ok;
}

async function report(ctx: Context, r: BenchResult): Promise<number> {
  if (ctx.global.writeOut !== 'json') printSummary(ctx, r);
  ctx.out.json(r);
  return exitCode(r);
}

function kvBench(kind: BenchKind, summary: string, extra: FlagSpec[]): Command {
  return {
    name: `bench ${kind}`,
    usage: `rsctl bench ${kind} [flags]`,
    summary,
    description: 'Requests are not retried: a failure is counted by its gRPC code. The last line of stdout is a JSON report.',
    flags: [...COMMON_FLAGS, ...extra],
    async run(ctx) {
      expectArgs(ctx.args, 0, 0, this.usage, this.name);
      await ctx.client(); // the dial check: fail fast (exit 3) when nothing answers
      return report(ctx, await runBench(kind, options(ctx)));
    },
  };
}

const watchLatency: Command = {
  name: 'bench watch-latency',
  usage: 'rsctl bench watch-latency [flags]',
  summary: 'Time from a put to its event at --clients watchers',
  description: 'Puts --total values of one key at --rate per second; every watcher should see each. The last line of stdout is a JSON report.',
  flags: [...COMMON_FLAGS, { name: 'rate', type: 'int', arg: '<n>', default: WATCH_PUT_RATE_DEFAULT, help: 'Puts per second (0: back to back).' }],
  async run(ctx) {
    expectArgs(ctx.args, 0, 0, this.usage, this.name);
    await ctx.client();
    return report(ctx, await runWatchLatency({ ...options(ctx), rate: flag.int(ctx.flags, 'rate') as number }));
  },
};

/** COMMON_FLAGS with the key prefix of the kind's namespace, plus --namespace and the kind's own. */
function crdtFlags(kind: CrdtBenchKind, extra: FlagSpec[]): FlagSpec[] {
  return [
    ...COMMON_FLAGS.map((f) => (f.name === 'key-prefix' ? { ...f, default: `${benchNamespaceName(kind)}/`, help: 'Prefix of the keys used (the namespace\'s prefix when it is created).' } : f)),
    { name: 'namespace', type: 'string', arg: '<name>', default: benchNamespaceName(kind), help: `Eventual ${kind} namespace to write (created when missing).` },
    ...extra,
  ];
}

function crdtBench(kind: CrdtBenchKind, summary: string, extra: FlagSpec[]): Command {
  return {
    name: `bench ${kind}`,
    usage: `rsctl bench ${kind} [flags]`,
    summary,
    description: 'Writes through the Crdt service, one op per request (events: --events-per-append), not retried. The namespace\'s vector ' +
      'must grow by one dot per acknowledged op (else exit 1). The last line of stdout is a JSON report.',
    flags: crdtFlags(kind, extra),
    async run(ctx) {
      expectArgs(ctx.args, 0, 0, this.usage, this.name);
      const f = ctx.flags;
      const o = {
        ...options(ctx),
        namespace: flag.str(f, 'namespace') as string,
        memberSpace: flag.int(f, 'member-space') ?? CRDT_BENCH_DEFAULTS.memberSpace,
        removePercent: flag.int(f, 'remove-percent') ?? CRDT_BENCH_DEFAULTS.removePercent,
        eventsPerAppend: flag.int(f, 'events-per-append') ?? CRDT_BENCH_DEFAULTS.eventsPerAppend,
      };
      await ctx.client();
      return report(ctx, await runCrdtBench(kind, o));
    },
  };
}

export const benchGroup: CommandGroup = {
  name: 'bench',
  summary: 'Benchmarks through the client library: put, range, txn, watch-latency, lww, counter, set, events',
  commands: [
    kvBench('put', 'Puts as fast as --clients loops can', []),
    kvBench('range', 'Reads keys of the key space (written once first)', [CONSISTENCY_FLAG]),
    kvBench('txn', 'Transactions of --txn-ops puts each', [{ name: 'txn-ops', type: 'int', arg: '<n>', default: BENCH_DEFAULTS.txnOps, help: 'Puts per transaction.' }]),
    watchLatency,
    crdtBench('lww', 'LWW puts to an eventual lww namespace (each a new value)', []),
    crdtBench('counter', 'Counter adds of 1 (the counters must grow by the adds acknowledged)', []),
    crdtBench('set', 'Set adds (and --remove-percent removes) of members of a member space', [
      { name: 'member-space', type: 'int', arg: '<n>', default: CRDT_BENCH_DEFAULTS.memberSpace, help: 'Distinct members (m0, m1, ...).' },
      { name: 'remove-percent', type: 'int', arg: '<0..100>', default: CRDT_BENCH_DEFAULTS.removePercent, help: 'Share of requests that remove.' },
    ]),
    crdtBench('events', 'Event appends, --key-space devices', [
      { name: 'events-per-append', type: 'int', arg: '<n>', default: CRDT_BENCH_DEFAULTS.eventsPerAppend, help: 'Events per append (one Write); --value-size is the payload size.' },
    ]),
  ],
};
