// A labelled counter and histogram for calls made once per request (issue 20: CPU per put).
// prom-client hashes the label object on every inc/observe, bound children included
// (`labels(...)` binds the label object, not its hash), and a bound histogram's observe
// makes a closure and a label/value pair per call: about 0.6 µs and a few hundred bytes of
// garbage per gRPC call on this machine (scripts/trace-put-cpu.ts, perf). Here a child is
// looked up once by its label values and holds plain numbers; the exposition is built at
// scrape time in prom-client's own shapes, so the text (and getMetricsAsJSON) is the same
// as prom-client's for the same observations (hot-metrics.test.ts compares them).
//
// Registered with Registry.registerMetric: the registry only needs name, help, type,
// aggregator, get() / getForPromString() and reset().
import type { Registry } from 'prom-client';

interface SeriesValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: null | undefined;
}

interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: SeriesValue[];
  aggregator: 'sum';
}

export interface HotCounterChild {
  inc(n?: number): void;
}

export interface HotHistogramChild {
  observe(value: number): void;
}

function labelObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  names.forEach((n, i) => { labels[n] = values[i] as string; });
  return labels;
}

/** Children by their label values joined with a separator no label value holds here. */
const SEPARATOR = '\u0000';

class CounterSeries implements HotCounterChild {
  value = 0;
  /** Exported only once counted (as prom-client, which makes a series on its first inc). */
  touched = false;
  constructor(readonly labels: Record<string, string>) {}
  inc(n = 1): void {
    this.value += n;
    this.touched = true;
  }
}

export class HotCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private series = new Map<string, CounterSeries>();

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[], registry: Registry) {
    registry.registerMetric(this as never);
  }

  /** The child of these label values (kept: look it up once, inc it per call). */
  labels(...values: string[]): HotCounterChild {
    const key = values.join(SEPARATOR);
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = new CounterSeries(labelObject(this.labelNames, values))));
    return s;
  }

  async get(): Promise<MetricData> {
    return {
      help: this.help, name: this.name, type: this.type, aggregator: this.aggregator,
      values: [...this.series.values()].filter((s) => s.touched).map((s) => ({ value: s.value, labels: s.labels })),
    };
  }

  reset(): void {
    // Children stay bound to their callers: zero them rather than dropping them.
    for (const s of this.series.values()) {
      s.value = 0;
      s.touched = false;
    }
  }
}

class HistogramSeries implements HotHistogramChild {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly labels: Record<string, string>, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    // prom-client's bucket: the first bound >= value (bounds are few: a linear scan).
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i]! += 1;
    this.sum += value;
    this.count += 1;
  }
}

export class HotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string, readonly help: string, readonly labelNames: readonly string[],
    private readonly buckets: readonly number[], registry: Registry,
  ) {
    for (let i = 1; i < buckets.length; i++) {
      if (!((buckets[i] as number) > (buckets[i - 1] as number))) throw new Error(`${name}: buckets must increase`);
    }
    registry.registerMetric(this as never);
    if (labelNames.length === 0) this.labels();
  }

  labels(...values: string[]): HotHistogramChild {
    const key = values.join(SEPARATOR);
    let s = this.series.get(key);
    if (s === undefined) this.series.set(key, (s = new HistogramSeries(labelObject(this.labelNames, values), this.buckets)));
    return s;
  }

  /** prom-client's shape for the text format: `le` in labels, the series' labels shared. */
  async getForPromString(): Promise<MetricData> {
    const values: SeriesValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const s of this.series.values()) {
      // prom-client makes a labelled series on its first observe, an unlabelled one at once.
      if (s.count === 0 && this.labelNames.length > 0) continue;
      let acc = 0;
      this.buckets.forEach((bound, i) => {
        acc += s.counts[i] as number;
        values.push({ labels: { le: bound }, sharedLabels: s.labels, value: acc, metricName: bucketName, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: s.labels, value: s.count, metricName: bucketName, exemplar: null });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum`, exemplar: undefined });
      values.push({ labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count`, exemplar: undefined });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** prom-client's get(): the shared labels folded into each value's labels. */
  async get(): Promise<MetricData> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({ ...rest, labels: { ...labels, ...sharedLabels } }));
    return data;
  }

  reset(): void {
    for (const s of this.series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
