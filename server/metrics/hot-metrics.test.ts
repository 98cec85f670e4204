import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry, exponentialBuckets } from 'prom-client';
import { HotCounter, HotHistogram } from './hot-metrics.js';

const BUCKETS = exponentialBuckets(0.0001, 2, 17);

/** A seeded generator (mulberry32), so a failure replays from the printed seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('hot counter and histogram: the same exposition (text and JSON) as prom-client for the same observations', async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1e9);
  console.log(`seed ${seed} (SEED=${seed} replays)`);
  const random = rng(seed);
  const ours = new Registry();
  const theirs = new Registry();
  const hotCount = new HotCounter('t_requests_total', 'Requests.', ['method', 'code'], ours);
  const hotHist = new HotHistogram('t_duration_seconds', 'Duration.', ['method', 'code'], BUCKETS, ours);
  const hotPlain = new HotHistogram('t_batch_entries', 'Entries.', [], exponentialBuckets(1, 2, 14), ours);
  const pCount = new Counter({ name: 't_requests_total', help: 'Requests.', labelNames: ['method', 'code'], registers: [theirs] });
  const pHist = new Histogram({ name: 't_duration_seconds', help: 'Duration.', labelNames: ['method', 'code'], buckets: BUCKETS, registers: [theirs] });
  const pPlain = new Histogram({ name: 't_batch_entries', help: 'Entries.', buckets: exponentialBuckets(1, 2, 14), registers: [theirs] });
  // Before any observation: only the unlabelled histogram shows (zeros), as prom-client's.
  assert.equal(await ours.metrics(), await theirs.metrics());

  const methods = ['etcdserverpb.KV/Put', 'etcdserverpb.KV/Range', 'etcdserverpb.Lease/LeaseGrant'];
  const codes = ['OK', 'NOT_FOUND', 'UNAVAILABLE'];
  const children = new Map<string, { c: ReturnType<HotCounter['labels']>; h: ReturnType<HotHistogram['labels']> }>();
  for (let i = 0; i < 5000; i++) {
    const method = methods[Math.floor(random() * methods.length)]!;
    const code = codes[Math.floor(random() * codes.length)]!;
    // Values on, between and beyond the bounds (an exact bound counts in its own bucket).
    const r = random();
    const seconds = r < 0.1 ? BUCKETS[Math.floor(random() * BUCKETS.length)]! : r < 0.15 ? 0 : r < 0.2 ? 20 : random() * 0.05;
    const key = `${method} ${code}`;
    let child = children.get(key);
    if (child === undefined) children.set(key, (child = { c: hotCount.labels(method, code), h: hotHist.labels(method, code) }));
    child.c.inc();
    child.h.observe(seconds);
    pCount.inc({ method, code });
    pHist.observe({ method, code }, seconds);
    const entries = Math.floor(random() * 300) + 1;
    hotPlain.labels().observe(entries);
    pPlain.observe(entries);
  }
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.deepEqual(await ours.getMetricsAsJSON(), await theirs.getMetricsAsJSON());
});

test('hot counter inc(n) adds n; a child bound but never used is not exported', async () => {
  const reg = new Registry();
  const c = new HotCounter('t_total', 'T.', ['kind'], reg);
  c.labels('unused');
  c.labels('a').inc(3);
  c.labels('a').inc();
  assert.equal(await reg.metrics(), '# HELP t_total T.\n# TYPE t_total counter\nt_total{kind="a"} 4\n');
});

test('hot histogram refuses buckets that do not increase', () => {
  assert.throws(() => new HotHistogram('t_bad', 'B.', [], [1, 1, 2], new Registry()), /buckets must increase/);
});
