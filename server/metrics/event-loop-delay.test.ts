import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLIENT_PORT_WINDOW, EVENT_LOOP_RESOLUTION_MS, inScrapeWindow, readDelayWindow } from './event-loop-delay.js';
import { createNodeMetrics } from './node-metrics.js';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** A loop held this long must show in the max (the bound below leaves room for timer slack). */
const HOLD_MS = 150;

describe('event-loop delay metric', () => {
  it('reads a histogram as delays: the resolution subtracted, never negative, 0 when empty', () => {
    const ms = 1e6;
    const h = { count: 3, max: 310 * ms, percentile: (p: number) => (p === 50 ? 10.1 * ms : 310 * ms) };
    const w = readDelayWindow(h, 10);
    assert.equal(w.samples, 3);
    assert.ok(Math.abs((w.quantiles.get(0.5) ?? -1) - 0.0001) < 1e-9);
    assert.ok(Math.abs((w.quantiles.get(0.99) ?? -1) - 0.3) < 1e-9);
    assert.ok(Math.abs((w.quantiles.get(1) ?? -1) - 0.3) < 1e-9);
    const edge = readDelayWindow({ count: 2, max: 300 * ms, percentile: () => 300.5 * ms }, 10);
    assert.ok(Math.abs((edge.quantiles.get(0.99) ?? -1) - 0.29) < 1e-9, 'a percentile is never above the max');
    const early = readDelayWindow({ count: 1, max: 9 * ms, percentile: () => 9 * ms }, 10);
    assert.equal(early.quantiles.get(1), 0);
    const empty = readDelayWindow({ count: 0, max: 0, percentile: () => 0 }, 10);
    assert.deepEqual([...empty.quantiles.values()], [0, 0, 0]);
  });

  it('is exported only when asked for; a held loop shows in the max of the next scrape', async () => {
    assert.doesNotMatch(await createNodeMetrics({ name: 'n0', defaultMetrics: false }).registry.metrics(), /event_loop_delay/);
    const h = createNodeMetrics({ name: 'n1', defaultMetrics: false, eventLoopDelay: true });
    await h.registry.metrics(); // opens a window
    await sleep(5 * EVENT_LOOP_RESOLUTION_MS); // the monitor's first interval after a reset is not recorded
    const start = Date.now();
    while (Date.now() - start < HOLD_MS) { /* hold the loop */ }
    await sleep(5 * EVENT_LOOP_RESOLUTION_MS);
    const text = await h.registry.metrics();
    assert.match(text, /# TYPE regionstore_event_loop_delay_seconds gauge/);
    const max = sample(text, 'regionstore_event_loop_delay_seconds{quantile="1"}') ?? -1;
    const p50 = sample(text, 'regionstore_event_loop_delay_seconds{quantile="0.5"}') ?? -1;
    const window = sample(text, 'regionstore_event_loop_delay_window_seconds') ?? -1;
    assert.ok(max >= (HOLD_MS - 2 * EVENT_LOOP_RESOLUTION_MS) / 1000, `max ${max} s after holding the loop ${HOLD_MS} ms`);
    assert.ok(p50 >= 0 && p50 <= max, `p50 ${p50} within [0, max ${max}]`);
    assert.ok(window >= HOLD_MS / 1000, `window ${window} s covers the hold`);
  });

  it('keeps a window per endpoint: a scrape of the client port does not cut the metrics port\'s', async () => {
    const h = createNodeMetrics({ name: 'n2', defaultMetrics: false, eventLoopDelay: true });
    await h.registry.metrics(); // opens the metrics port's window
    await sleep(5 * EVENT_LOOP_RESOLUTION_MS);
    const start = Date.now();
    while (Date.now() - start < HOLD_MS) { /* hold the loop */ }
    await sleep(5 * EVENT_LOOP_RESOLUTION_MS);
    // etcdctl check datascale reads the client port's /metrics in the middle of a step.
    const client = await inScrapeWindow(CLIENT_PORT_WINDOW, () => h.registry.metrics());
    assert.ok((sample(client, 'regionstore_event_loop_delay_seconds{quantile="1"}') ?? -1) >= (HOLD_MS - 2 * EVENT_LOOP_RESOLUTION_MS) / 1000, 'the client port saw the hold');
    const text = await h.registry.metrics();
    const max = sample(text, 'regionstore_event_loop_delay_seconds{quantile="1"}') ?? -1;
    assert.ok(max >= (HOLD_MS - 2 * EVENT_LOOP_RESOLUTION_MS) / 1000, `the metrics port still sees the hold: max ${max} s`);
    const again = await inScrapeWindow(CLIENT_PORT_WINDOW, () => h.registry.metrics());
    assert.ok((sample(again, 'regionstore_event_loop_delay_seconds{quantile="1"}') ?? 1) < HOLD_MS / 1000, 'the client port\'s window was reset by its own scrape');
  });

  it('a scrape leaves Node\'s promise hooks off (they cost every promise of the process CPU: issue 20)', () => {
    // In a child: the test runner's own process may have them on. With promise hooks on (an
    // AsyncLocalStorage run, async_hooks.createHook) a promise continuation runs under the
    // promise's own async id; with them off, under 0.
    const script = `
      import { executionAsyncId } from 'node:async_hooks';
      import { CLIENT_PORT_WINDOW, inScrapeWindow } from ${JSON.stringify(new URL('./event-loop-delay.ts', import.meta.url).href)};
      import { createNodeMetrics } from ${JSON.stringify(new URL('./node-metrics.ts', import.meta.url).href)};
      const id = () => Promise.resolve().then(() => executionAsyncId());
      const before = await id();
      const h = createNodeMetrics({ name: 'n4', defaultMetrics: false, eventLoopDelay: true });
      await inScrapeWindow(CLIENT_PORT_WINDOW, () => h.registry.metrics());
      await h.registry.metrics();
      console.log(JSON.stringify({ before, after: await id() }));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
    const { before, after } = JSON.parse(out.trim().split('\n').at(-1) as string) as { before: number; after: number };
    assert.equal(before, 0, 'promise hooks were on before the scrape in a fresh process');
    assert.equal(after, 0, 'a scrape turned on promise hooks for the whole process');
  });

  it('from-start: the windows open only when the member starts them (Raft ticking)', async () => {
    const h = createNodeMetrics({ name: 'n3', defaultMetrics: false, eventLoopDelay: 'from-start' });
    const start = Date.now();
    while (Date.now() - start < HOLD_MS) { /* start-up work before Raft ticks */ }
    await sleep(5 * EVENT_LOOP_RESOLUTION_MS);
    const before = await h.registry.metrics();
    assert.equal(sample(before, 'regionstore_event_loop_delay_seconds{quantile="1"}'), 0);
    assert.equal(sample(before, 'regionstore_event_loop_delay_window_seconds'), 0);
    h.startEventLoopDelay();
    await sleep(10 * EVENT_LOOP_RESOLUTION_MS);
    const after = await h.registry.metrics();
    assert.ok((sample(after, 'regionstore_event_loop_delay_seconds{quantile="1"}') ?? 1) < HOLD_MS / 1000, 'the hold before the start is not in the window');
    assert.ok((sample(after, 'regionstore_event_loop_delay_window_seconds') ?? 0) > 0, 'a window since the start');
  });
});
