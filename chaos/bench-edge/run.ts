// The steps of bench:edge, the same for every system (system.ts): per run size, a fresh
// replica pair; N events written on the local replica while it is cut off; connect and
// time convergence, bytes through the proxy; cut off again, RESUME more events, connect:
// resume bytes; on the first size, live writes timed until the server side shows them.
import type { BenchSystem, SystemId, WireBytes } from './system.js';
import { eventBatches, percentile } from './workload.js';

export const SIZES_DEFAULT = [10_000, 100_000];
export const RESUME_EVENTS = 1_000;
export const LIVE_WRITES_DEFAULT = 1_000;
/**
 * Events synced once on each system before the measured rows, not measured (as bench:compare
 * warms both systems up): the first sync a freshly started server side runs is its code's
 * first run (JIT, caches), 1.5-1.9x the CPU per event of later runs in session 8's traces,
 * which no long-running region or PouchDB server pays. `--warmup 0` measures the cold start.
 */
export const WARMUP_EVENTS_DEFAULT = 2_000;

export interface Transfer {
  events: number;
  /** From the first byte on the wire to the server side holding every event. */
  seconds: number;
  /** Before that: a reconnect backoff still running when the link came back. */
  waitSeconds: number;
  up: number;
  down: number;
}

export interface SizeResult {
  size: number;
  /** Seconds to write the events locally (durable), for context. */
  writeSeconds: number;
  bulk: Transfer;
  resume: Transfer;
}

export interface LiveResult {
  writes: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface SystemRun {
  system: SystemId;
  sizes: SizeResult[];
  live?: LiveResult;
  /** The run stopped here (the rows before it stand). */
  error?: string;
}

export interface RunOptions {
  sizes: readonly number[];
  liveWrites: number;
  /** Events synced on a pair of its own before the measured rows (0: none). */
  warmupEvents: number;
  log: (line: string) => void;
}

const diff = (a: WireBytes, b: WireBytes): WireBytes => ({ up: b.up - a.up, down: b.down - a.down });

const round = (v: number): number => Math.round(v * 1000) / 1000;

export function liveSummary(samplesMs: readonly number[]): LiveResult {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    writes: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? 0),
    meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
  };
}

export async function runSystem(system: BenchSystem, o: RunOptions): Promise<SystemRun> {
  const run: SystemRun = { system: system.id, sizes: [] };
  try {
    if (o.warmupEvents > 0) {
      const pair = await system.pair('warmup');
      try {
        for (const batch of eventBatches(0, o.warmupEvents)) await pair.writeLocal(batch);
        const t = await pair.connectAndConverge(o.warmupEvents);
        o.log(`${system.id}: warm-up of ${o.warmupEvents} events synced in ${t.seconds.toFixed(2)} s (not measured)`);
      } finally {
        await pair.close();
      }
    }
    for (const [n, size] of o.sizes.entries()) {
      // A size given twice (a cold and a warm run of it) gets a pair of its own each time.
      const pair = await system.pair(o.sizes.indexOf(size) === n ? `${size}` : `${size}-${n}`);
      try {
        const t0 = performance.now();
        for (const batch of eventBatches(0, size)) await pair.writeLocal(batch);
        const writeSeconds = (performance.now() - t0) / 1000;
        o.log(`${system.id} ${size}: ${size} events written offline in ${writeSeconds.toFixed(1)} s; connecting`);
        const transfer = async (events: number, total: number): Promise<Transfer> => {
          const before = pair.bytes();
          const t = await pair.connectAndConverge(total);
          const bytes = diff(before, pair.bytes());
          return { events, ...t, ...bytes };
        };
        const bulk = await transfer(size, size);
        o.log(`${system.id} ${size}: converged in ${bulk.seconds.toFixed(2)} s, ${((bulk.up + bulk.down) / size).toFixed(1)} B/event`);
        await pair.disconnect();
        for (const batch of eventBatches(size, size + RESUME_EVENTS)) await pair.writeLocal(batch);
        const resume = await transfer(RESUME_EVENTS, size + RESUME_EVENTS);
        o.log(`${system.id} ${size}: resume of ${RESUME_EVENTS} in ${resume.seconds.toFixed(2)} s, ${((resume.up + resume.down) / RESUME_EVENTS).toFixed(1)} B/event`);
        run.sizes.push({ size, writeSeconds, bulk, resume });
        if (n === 0 && o.liveWrites > 0) {
          const samples = await pair.live(o.liveWrites, size + RESUME_EVENTS);
          run.live = liveSummary(samples);
          o.log(`${system.id}: live p50 ${run.live.p50Ms} ms, p95 ${run.live.p95Ms} ms, p99 ${run.live.p99Ms} ms`);
        }
      } finally {
        await pair.close();
      }
    }
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
    o.log(`${system.id}: failed: ${run.error}`);
  }
  return run;
}
