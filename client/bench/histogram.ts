// A latency histogram in the manner of HdrHistogram: log-linear buckets (every power of
// two split into SUB_BUCKETS linear sub-buckets), so any recorded value is kept to 3
// significant digits (relative error below 1/SUB_BUCKETS) in a fixed, small array,
// whatever the range. Values are whole microseconds.
//
// Written here rather than taken from the hdr-histogram-js package: ~80 lines, no new
// dependency (and no package.json change), and exactly what the percentiles need.

/** Linear sub-buckets per power of two: 2^10 gives a relative error under 0.1 %. */
const SUB_BUCKET_BITS = 10;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
/** Values below this are counted exactly, one bucket each. */
const LINEAR_LIMIT = 2 * SUB_BUCKETS;
/** Largest recordable value: 2^40 µs (12.7 days); larger values are clamped to it. */
const VALUE_BITS_MAX = 40;
export const HISTOGRAM_VALUE_MAX_US = 2 ** VALUE_BITS_MAX - 1;
const BUCKETS = LINEAR_LIMIT + (VALUE_BITS_MAX - SUB_BUCKET_BITS - 1) * SUB_BUCKETS;

/** floor(log2(v)) for v >= 1, exact for the whole recordable range. */
function log2Floor(v: number): number {
  if (v < 2 ** 31) return 31 - Math.clz32(v);
  let e = Math.floor(Math.log2(v));
  while (2 ** e > v) e--;
  while (2 ** (e + 1) <= v) e++;
  return e;
}

export function bucketOf(valueUs: number): number {
  const v = Math.min(HISTOGRAM_VALUE_MAX_US, Math.max(0, Math.floor(valueUs)));
  if (v < LINEAR_LIMIT) return v;
  const shift = log2Floor(v) - SUB_BUCKET_BITS; // >= 1 here
  const sub = Math.floor(v / 2 ** shift); // in [SUB_BUCKETS, 2 * SUB_BUCKETS)
  return LINEAR_LIMIT + (shift - 1) * SUB_BUCKETS + (sub - SUB_BUCKETS);
}

/** The highest value that falls into `bucket`. */
export function bucketHighUs(bucket: number): number {
  if (bucket < LINEAR_LIMIT) return bucket;
  const shift = Math.floor((bucket - LINEAR_LIMIT) / SUB_BUCKETS) + 1;
  const sub = ((bucket - LINEAR_LIMIT) % SUB_BUCKETS) + SUB_BUCKETS;
  return (sub + 1) * 2 ** shift - 1;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  minUs = Infinity;
  maxUs = 0;
  private sumUs = 0;

  record(valueUs: number): void {
    const v = Math.max(0, valueUs);
    this.counts[bucketOf(v)]! += 1;
    this.count += 1;
    this.sumUs += v;
    if (v < this.minUs) this.minUs = v;
    if (v > this.maxUs) this.maxUs = v;
  }

  add(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.count += other.count;
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  get meanUs(): number {
    return this.count === 0 ? 0 : this.sumUs / this.count;
  }

  /** The value at `percentile` (0–100]: at least that share of the values are <= it (0 when empty). */
  percentileUs(percentile: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((percentile / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxUs, Math.max(this.minUs, bucketHighUs(i)));
    }
    return this.maxUs;
  }
}

/** The percentiles every report gives, in milliseconds. */
export interface LatencySummaryMs {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummaryMs {
  return {
    min: h.count === 0 ? 0 : ms(h.minUs),
    mean: ms(h.meanUs),
    p50: ms(h.percentileUs(50)),
    p90: ms(h.percentileUs(90)),
    p99: ms(h.percentileUs(99)),
    p999: ms(h.percentileUs(99.9)),
    max: ms(h.maxUs),
  };
}
