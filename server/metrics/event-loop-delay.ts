// `regionstore_event_loop_delay_seconds`: how late this process's event loop ran, from
// perf_hooks.monitorEventLoopDelay. Raft's tick and heartbeats run on that loop, so a
// request that holds it for an election timeout (1 s by default) costs a leader change
// (DESIGN.md §9); this metric shows a hold before it gets that far.
//
// Exported as gauges per scrape window, not as a cumulative summary: at each scrape the
// gauges are set from the samples taken since the previous scrape, and the samples are
// then dropped. So a value says "during the last scrape interval", a spike is not diluted
// by hours of calm, and `regionstore_event_loop_delay_window_seconds` says how long that
// interval was. The cost of that choice: two scrapers of one endpoint each see only the
// samples since the other's last scrape; one scraper per endpoint is the supported setup.
// Each endpoint that serves /metrics has a window of its own (inScrapeWindow): the metrics
// port's (Prometheus, `bench:scale`) is not cut by a scrape of the client port's /metrics
// (`etcdctl check datascale` reads it twice, so the leader's figure for that step covered
// only the delete after etcdctl's second read; s9-eventloop). (A prom-client Summary cannot
// be fed from Node's histogram, and Prometheus cannot take a max out of buckets, which is
// the figure that matters here.)
//
// The windows open when the member's Raft starts ticking (startEventLoopDelay), not when
// the process starts: before that the loop runs no tick or heartbeat to delay (the start-up
// work, opening the databases and loading the .proto files, is what "restart to serving"
// times), and the monitor's first sample would be the rest of the synchronous run it was
// enabled in (the .proto parse and the node's construction: 50-120 ms in a restarted
// member's first window, where its profile held no later stall over 15 ms on the CPU).
//
//   regionstore_event_loop_delay_seconds{quantile="0.5"}   median delay in the window
//   regionstore_event_loop_delay_seconds{quantile="0.99"}  99th percentile
//   regionstore_event_loop_delay_seconds{quantile="1"}     the longest delay (max)
//   regionstore_event_loop_delay_window_seconds            length of that window
//
// Node samples the loop with a timer every EVENT_LOOP_RESOLUTION_MS and records the time
// between two firings; that includes the interval itself, so it is subtracted here (a
// loop that is never late reads 0). Samples are per firing: a loop held for 300 ms yields
// one sample of 300 ms, so the max shows it at once while the p99 needs many of them.
// The first interval after a reset is not recorded (Node restarts its clock).
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { Gauge, type Registry } from 'prom-client';

/** Sampling interval of the loop monitor (Node's default; finer costs more wake-ups). */
export const EVENT_LOOP_RESOLUTION_MS = 10;
/** The quantiles exported; 1 is the maximum. */
export const EVENT_LOOP_QUANTILES = [0.5, 0.99, 1] as const;

const NS_PER_S = 1e9;
const NS_PER_MS = 1e6;

/** The delay figures of one window, in seconds (what the gauges are set to). */
export interface EventLoopDelayWindow {
  /** By quantile: 0.5, 0.99 and 1 (max). */
  quantiles: Map<number, number>;
  /** Samples in the window. */
  samples: number;
}

/** Reads `h` as delays (the resolution subtracted, never below 0), in seconds. */
export function readDelayWindow(h: Pick<IntervalHistogram, 'count' | 'max' | 'percentile'>, resolutionMs: number): EventLoopDelayWindow {
  const quantiles = new Map<number, number>();
  for (const q of EVENT_LOOP_QUANTILES) {
    // A percentile is read at its bucket's edge, which can lie above the max: never report more than the max.
    const ns = h.count === 0 ? 0 : q === 1 ? h.max : Math.min(h.max, h.percentile(q * 100));
    quantiles.set(q, Math.max(0, ns - resolutionMs * NS_PER_MS) / NS_PER_S);
  }
  return { quantiles, samples: h.count };
}

/** The window of the metrics port's /metrics (and of a registry read outside inScrapeWindow). */
export const METRICS_PORT_WINDOW = 'metrics-port';
/** The window of the client port's /metrics (etcd's place for it, where etcdctl reads). */
export const CLIENT_PORT_WINDOW = 'client-port';
/** Every window a process keeps: one monitor each (a 10 ms timer: negligible). */
const WINDOWS = [METRICS_PORT_WINDOW, CLIENT_PORT_WINDOW] as const;
export type ScrapeWindow = (typeof WINDOWS)[number];

/**
 * The window of the registry read inScrapeWindow is running. prom-client's
 * Registry.metrics() calls every metric's get(), and so its collect(), synchronously
 * before its first await (the per-endpoint test in event-loop-delay.test.ts fails if that
 * changes), so a variable set around the call is enough. It was an AsyncLocalStorage:
 * its first run() turns on Node's promise hooks for the whole process for good, a JS
 * callback and an async id on every promise and native handle made after it, about 3 µs
 * of the leader's CPU per put (issue 20, perf; `promiseInitHook`, `emitInitScript`).
 */
let currentWindow: ScrapeWindow | undefined;

/** Runs `read` (a registry read) as a scrape of `window`: the delay gauges read and reset that window only. */
export function inScrapeWindow<T>(window: ScrapeWindow, read: () => Promise<T>): Promise<T> {
  const outer = currentWindow;
  currentWindow = window;
  try {
    return read();
  } finally {
    currentWindow = outer;
  }
}

export interface EventLoopDelayHandle {
  /** Opens every window now (idempotent); until then the gauges read 0 over an empty window. */
  start(): void;
}

/**
 * Registers the gauges in `registry`. The monitors run from start() (or at once with
 * `startNow`) as long as the process (their timers do not keep it alive).
 */
export function eventLoopDelayCollectors(registry: Registry, prefix: string, o: { startNow?: boolean } = {}): EventLoopDelayHandle {
  const windows = new Map(WINDOWS.map((w) => [w, { h: monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS }), startMs: performance.now() }]));
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    for (const w of windows.values()) {
      w.h.enable();
      w.startMs = performance.now();
    }
  };
  let windowSeconds = 0;
  const delayGauge = new Gauge({
    name: `${prefix}event_loop_delay_seconds`,
    help: 'How late the event loop ran since the previous scrape of this endpoint (quantile 1 is the max); reset at every scrape; from when Raft started.',
    labelNames: ['quantile'],
    registers: [],
    collect() {
      const w = windows.get(currentWindow ?? METRICS_PORT_WINDOW) as { h: IntervalHistogram; startMs: number };
      const d = readDelayWindow(w.h, EVENT_LOOP_RESOLUTION_MS);
      for (const [q, seconds] of d.quantiles) this.set({ quantile: String(q) }, seconds);
      const now = performance.now();
      windowSeconds = started ? (now - w.startMs) / 1000 : 0;
      w.startMs = now;
      w.h.reset();
    },
  });
  const windowGauge = new Gauge({
    name: `${prefix}event_loop_delay_window_seconds`,
    help: 'Length of the window regionstore_event_loop_delay_seconds covers: the time since the previous scrape of this endpoint (or since Raft started).',
    registers: [],
    collect() {
      this.set(windowSeconds);
    },
  });
  // A scrape collects in registration order: the window gauge then reads the window that
  // the delay gauge's collect() has just closed.
  registry.registerMetric(delayGauge);
  registry.registerMetric(windowGauge);
  if (o.startNow === true) start();
  return { start };
}
