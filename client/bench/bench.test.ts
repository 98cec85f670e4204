// The bench pieces: the histogram's precision, the hand-written gRPC frames, h2load's
// summary parsing, and a smoke run against a real cluster: `rsctl bench put` as a
// process (a few hundred requests, the JSON line parsed) and a few hundred h2load puts
// and ranges counted the way bench:compare counts them.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { haveTool, startTestCluster, type TestCluster } from '../../test/helpers/cluster.js';
import { rsctl, rsctlProcess } from '../rsctl/testing/run.js';
import { Client } from '../index.js';
import { Histogram, bucketHighUs, bucketOf } from './histogram.js';
import { PUT_PATH, RANGE_PATH, putRequestFrame, rangeRequestFrame } from './grpc-frames.js';
import { parseH2loadOutput, runH2load } from './h2load.js';
import { crdtBenchProblem } from './crdt-workload.js';
import type { BenchResult } from './workload.js';

const SMOKE_REQUESTS = 300;

describe('histogram', () => {
  test('small values are exact; large ones within 0.1 %', () => {
    for (const v of [0, 1, 2047]) assert.equal(bucketHighUs(bucketOf(v)), v);
    for (const v of [2048, 3000, 123_456, 9_999_999, 2 ** 35 + 12_345]) {
      const high = bucketHighUs(bucketOf(v));
      assert.ok(high >= v && (high - v) / v < 1 / 1024, `${v} -> ${high}`);
    }
  });

  test('percentiles of a known distribution', () => {
    const h = new Histogram();
    for (let i = 1; i <= 100_000; i++) h.record(i);
    assert.equal(h.count, 100_000);
    assert.equal(h.minUs, 1);
    assert.equal(h.maxUs, 100_000);
    for (const [p, want] of [[50, 50_000], [99, 99_000], [99.9, 99_900], [100, 100_000]] as const) {
      const got = h.percentileUs(p);
      assert.ok(Math.abs(got - want) / want < 0.002, `p${p}: ${got}`);
    }
    const other = new Histogram();
    other.record(1_000_000);
    h.add(other);
    assert.equal(h.maxUs, 1_000_000);
    assert.equal(new Histogram().percentileUs(99), 0);
  });
});

describe('gRPC frames', () => {
  test('decode as etcd PutRequest and RangeRequest', () => {
    const root = protobuf.Root.fromJSON({
      nested: {
        PutRequest: { fields: { key: { type: 'bytes', id: 1 }, value: { type: 'bytes', id: 2 } } },
        RangeRequest: { fields: { key: { type: 'bytes', id: 1 }, serializable: { type: 'bool', id: 7 } } },
      },
    });
    const put = putRequestFrame('bench/h2', Buffer.alloc(300, 'v'));
    assert.equal(put[0], 0);
    assert.equal(put.readUInt32BE(1), put.length - 5);
    const p = root.lookupType('PutRequest').decode(put.subarray(5)) as unknown as { key: Buffer; value: Buffer };
    assert.equal(Buffer.from(p.key).toString(), 'bench/h2');
    assert.equal(p.value.length, 300);
    const r = root.lookupType('RangeRequest').decode(rangeRequestFrame('k', true).subarray(5)) as unknown as { serializable: boolean };
    assert.equal(r.serializable, true);
    assert.equal(rangeRequestFrame('k', false).length, 5 + 3);
  });
});

test('h2load summary parsing', () => {
  const out = [
    'finished in 876.16ms, 2282.68 req/s, 141.03KB/s',
    'requests: 2000 total, 2000 started, 1990 done, 1980 succeeded, 10 failed, 2 errored, 0 timeout',
    'status codes: 1980 2xx, 0 3xx, 0 4xx, 0 5xx',
    'traffic: 123.56KB (126528) total, 10.12KB (10360) headers (space savings 96.27%), 56.64KB (58000) data',
  ].join('\n');
  const parsed = parseH2loadOutput(out);
  assert.ok(Math.abs(parsed.seconds - 0.87616) < 1e-9);
  assert.deepEqual({ ...parsed, seconds: 0 }, { seconds: 0, done: 1990, http2xx: 1980, failed: 12, dataBytes: 58000 });
  assert.throws(() => parseH2loadOutput('connect refused'), /did not finish/);
});

test('CRDT bench checks: dots and counter sums against the acknowledged ops', () => {
  const base = { ok: 10, failed: 0 } as BenchResult;
  assert.equal(crdtBenchProblem({ ...base, dots_added: 10, dots_expected: 10, counter_added: 10, counter_expected: 10 }), '');
  assert.match(crdtBenchProblem({ ...base, dots_added: 9, dots_expected: 10 }), /9 dots added for 10 acknowledged ops/);
  assert.match(crdtBenchProblem({ ...base, dots_added: 11, dots_expected: 10 }), /11 dots added/);
  // A failed request may have applied: more dots than acknowledged ops is then no error, fewer still is.
  assert.equal(crdtBenchProblem({ ...base, failed: 2, dots_added: 11, dots_expected: 10 }), '');
  assert.match(crdtBenchProblem({ ...base, failed: 2, dots_added: 10, dots_expected: 10, counter_added: 9, counter_expected: 10 }), /counters grew by 9/);
  assert.equal(crdtBenchProblem(base), '');
});

describe('smoke run against a 3-node cluster', { timeout: 60_000 }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startTestCluster();
  });
  after(async () => {
    await c?.cleanup();
  });

  test(`rsctl bench put: ${SMOKE_REQUESTS} requests, a JSON line that adds up`, async () => {
    const r = await rsctlProcess(['--endpoints', c.hostPorts.join(','), 'bench', 'put', '--total', String(SMOKE_REQUESTS), '--clients', '8', '--key-space', '50']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /\[=*>? *\]/, 'no progress bar when stderr is not a terminal');
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^Summary:/);
    const report = JSON.parse(lines[lines.length - 1] as string);
    assert.equal(report.bench, 'put');
    assert.equal(report.ok, SMOKE_REQUESTS);
    assert.equal(report.failed, 0);
    assert.equal(report.revision_after - report.revision_before, SMOKE_REQUESTS);
    assert.ok(report.latency_ms.p50 > 0 && report.latency_ms.p50 <= report.latency_ms.p99 && report.latency_ms.p99 <= report.latency_ms.max);
    assert.ok(report.ops_per_s > 0);
  });

  test('rsctl bench range, txn and watch-latency (in-process, -w json)', async () => {
    const ep = ['--endpoints', c.hostPorts.join(','), '-w', 'json', 'bench'];
    for (const args of [
      ['range', '--total', '200', '--clients', '8', '--key-space', '20', '--consistency', 's'],
      ['txn', '--total', '100', '--clients', '4', '--txn-ops', '2', '--key-space', '10'],
      ['watch-latency', '--total', '50', '--clients', '3', '--rate', '200'],
    ]) {
      const r = await rsctl([...ep, ...args]);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}${r.stdout}`);
      const report = JSON.parse(r.stdout.trim());
      assert.equal(report.failed, 0);
      if (args[0] === 'watch-latency') assert.equal(report.events_received, 150);
    }
  });

  test('h2load puts and ranges, counted from revisions and answer bytes', async (t) => {
    if (!haveTool('h2load', 'nghttp2-client')) return t.skip('h2load is not installed');
    const client = new Client({ endpoints: c.hostPorts });
    try {
      const leader = await client.findLeader();
      assert.ok(leader !== undefined);
      const startRev = (await client.maintenance.status({ endpoint: leader })).header.revision;
      const put = await runH2load({ target: leader, path: PUT_PATH, body: putRequestFrame('bench/h2', Buffer.alloc(16, 'x')), connections: 2, streams: 8, total: 200 });
      const afterPuts = (await client.maintenance.status({ endpoint: leader })).header.revision;
      assert.equal(put.http2xx, 200);
      assert.equal(afterPuts - startRev, 200, 'every HTTP 200 was a put applied');
      assert.equal(put.histogram.count, 200);
      const one = await runH2load({ target: leader, path: RANGE_PATH, body: rangeRequestFrame('bench/h2', false), connections: 1, streams: 1, total: 1 });
      const ranges = await runH2load({ target: leader, path: RANGE_PATH, body: rangeRequestFrame('bench/h2', true), connections: 2, streams: 8, total: 200 });
      assert.ok(one.dataBytes > 0);
      assert.equal(ranges.dataBytes, 200 * one.dataBytes, 'every range answered with the key');
      const bad = await runH2load({ target: leader, path: RANGE_PATH, body: Buffer.from([0, 0, 0, 0, 2, 0xff, 0xff]), connections: 1, streams: 1, total: 5 });
      assert.equal(bad.http2xx, 5, 'h2load counts a gRPC error as a success...');
      assert.equal(bad.dataBytes, 0, '...but it carries no answer bytes');
    } finally {
      client.close();
    }
  });
});
