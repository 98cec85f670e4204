// The arithmetic of bench:compare's --repeat (median, medianOf) and the lww/put lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WORKLOADS, lwwVsPut, median, medianOf, type Measurement, type Row } from './compare.js';

function m(opsPerS: number, cpu: number | undefined, problem = ''): Measurement {
  return { opsPerS, p50Ms: 1, p99Ms: 2, ok: 10, sent: 10, seconds: 1, load: 1, othersCpu: 0, problem, ...(cpu === undefined ? {} : { serverCpuUsPerOp: cpu }) };
}

test('compare: median of odd and even counts', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('compare: medianOf takes each figure\'s median, sums counts, names the run of a problem', () => {
  const r = medianOf([m(100, 30), m(300, 10, 'leader changed'), m(200, 20)]);
  assert.equal(r.opsPerS, 200);
  assert.equal(r.serverCpuUsPerOp, 20);
  assert.equal(r.ok, 30);
  assert.equal(r.problem, 'run 2: leader changed');
  assert.equal(medianOf([m(5, undefined)]).serverCpuUsPerOp, undefined);
});

function w(id: string): Row['workload'] {
  return WORKLOADS.find((x) => x.id === id)!;
}

function row(id: string, ops: number, cpu: number): Row {
  return { workload: w(id), driver: 'h2load', results: { etcd: m(1, 1), regionstore: m(ops, cpu) }, runs: { etcd: [m(1, 1)], regionstore: [m(ops, cpu)] } };
}

test('compare: lwwVsPut pairs the eventual row with the strong put row of its driver and in-flight count', () => {
  const text = lwwVsPut([row('put-256', 1000, 100), row('lww-256', 1100, 90)]);
  assert.match(text, /256 in flight via h2load: ops\/s 1100 vs 1000 \(1\.10\), members' CPU 90 vs 100 µs\/op \(0\.90\)/);
});

function withSync(ops: number, cpu: number, perSync: number | undefined): Measurement {
  return { ...m(ops, cpu), ...(perSync === undefined ? {} : { opsPerLogSync: perSync }) };
}

test('compare: the leader\'s ops per log sync, median over runs and beside the lww/put CPU', () => {
  assert.equal(medianOf([withSync(1, 1, 20), withSync(1, 1, 10), withSync(1, 1, 30)]).opsPerLogSync, 20);
  assert.equal(medianOf([withSync(1, 1, undefined), withSync(1, 1, undefined)]).opsPerLogSync, undefined);
  const r = (id: string, ops: number, cpu: number, perSync: number): Row => ({
    workload: w(id), driver: 'client', results: { etcd: m(1, 1), regionstore: withSync(ops, cpu, perSync) }, runs: { etcd: [m(1, 1)], regionstore: [withSync(ops, cpu, perSync)] },
  });
  const text = lwwVsPut([r('put-256', 1000, 100, 21.5), r('lww-256', 900, 120, 16.25)]);
  assert.match(text, /members' CPU 120 vs 100 µs\/op \(1\.20\), leader's ops per log sync 16\.3 vs 21\.5/);
});
