// `rsctl bench watch-latency`: `clients` watchers on one key (spread over `conns`
// connections), then `total` puts of that key, one at a time at most `rate` per second.
// Each put's value carries its number; the latency of an event is the time from sending
// that put to the watcher receiving it. Every watcher should see every put.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Watch } from '../index.js';
import { Histogram, summarize } from './histogram.js';
import { Progress } from './progress.js';
import { benchClient, currentRevision, type BenchOptions, type BenchResult } from './workload.js';

/** After the last put, wait this long for events still on their way. */
const DRAIN_MS_MAX = 5_000;
export const WATCH_PUT_RATE_DEFAULT = 100;

export interface WatchLatencyOptions extends BenchOptions {
  /** Puts per second (0: back to back). */
  rate: number;
}

export async function runWatchLatency(o: WatchLatencyOptions): Promise<BenchResult> {
  const writer = benchClient(o);
  const watcher = benchClient(o);
  const key = `${o.keyPrefix}watch`;
  const sentAt: number[] = [];
  const histogram = new Histogram();
  const errors: Record<string, number> = {};
  const watches: Watch[] = [];
  let received = 0;
  try {
    for (let i = 0; i < Math.max(1, o.clients); i++) watches.push(watcher.watch(key));
    await Promise.all(watches.map((w) => w.ready()));
    const consume = watches.map(async (w) => {
      for await (const e of w.events()) {
        const n = parseInt(e.kv.value.toString('latin1'), 10); // the value is '<n> xxx...'
        const t = sentAt[n];
        if (t === undefined) continue;
        histogram.record((performance.now() - t) * 1000);
        received++;
      }
    });
    const before = await currentRevision(writer);
    const progress = new Progress('bench watch-latency', o.total, o.progress);
    const startMs = performance.now();
    const intervalMs = o.rate > 0 ? 1000 / o.rate : 0;
    let ok = 0;
    for (let n = 0; n < o.total && o.signal?.aborted !== true; n++) {
      const due = startMs + n * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const value = `${n} `.padEnd(o.valueSize, 'x');
      sentAt[n] = performance.now();
      try {
        await writer.put(key, value);
        ok++;
      } catch (err) {
        const name = (err as Error).name;
        errors[name] = (errors[name] ?? 0) + 1;
      }
      progress.tick();
    }
    progress.finish();
    const expected = ok * watches.length;
    const drainUntil = performance.now() + DRAIN_MS_MAX;
    const drained = (): boolean => received >= expected; // `received` grows in the consumers
    while (!drained() && performance.now() < drainUntil) await sleep(10);
    const seconds = (performance.now() - startMs) / 1000;
    const after = await currentRevision(writer);
    for (const w of watches) w.close();
    await Promise.allSettled(consume);
    return {
      bench: 'watch-latency',
      endpoints: o.endpoints,
      clients: watches.length,
      conns: o.conns,
      total: sentAt.length,
      ok,
      failed: sentAt.length - ok,
      errors,
      seconds: Math.round(seconds * 1000) / 1000,
      ops_per_s: seconds > 0 ? Math.round((received / seconds) * 10) / 10 : 0,
      latency_ms: summarize(histogram),
      revision_before: before,
      revision_after: after,
      events_expected: expected,
      events_received: received,
      put_rate: o.rate,
      value_size: o.valueSize,
    };
  } finally {
    for (const w of watches) w.close();
    writer.close();
    watcher.close();
  }
}
