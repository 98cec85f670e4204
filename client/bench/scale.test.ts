// bench:scale's pure parts: the hand-written protobuf reader, key and stage arithmetic,
// and the report (ratios, goals met/unmet, Markdown). The benchmark itself is too long
// for `npm test`; run it with `npm run bench:scale -- --keys 20000`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDatascale } from './scale-datascale.js';
import { hashKVFrame, prefixEnd, rangeCount, rangeFrame, varintField } from './scale-frames.js';
import { KEY_BYTES, KEY_PREFIX, partRates, scaleKey, valueSource } from './scale-load.js';
import { parseExposition } from './scale-probes.js';
import {
  FULL_RESTART_STEP, evaluateGoals, formatCount, ratio, renderScaleReport, type ScaleReport, type StageResult, type SystemResult,
} from './scale-report.js';
import { stageBounds } from './scale-steps.js';

const MIB = 1024 * 1024;

function stage(from: number, to: number, lastRate: number, rssMiB: number[]): StageResult {
  return {
    from, to, seconds: (to - from) / lastRate, ok: to - from, failed: 0, errors: {},
    partRates: [...Array.from({ length: 9 }, () => lastRate * 2), lastRate],
    members: rssMiB.map((m, i) => ({ name: `m${i}`, rssBytes: m * MIB, diskBytes: 10e6 })),
  };
}

function system(name: 'etcd' | 'regionstore', rates: [number, number, number], rssMiB: number, t: number, loop?: { p99S: number; maxS: number }): SystemResult {
  return {
    name,
    idle: [{ name: 'm0', rssBytes: 20 * MIB, diskBytes: 1e6 }],
    stages: [stage(0, 10_000, rates[0], [rssMiB / 4]), stage(10_000, 100_000, rates[1], [rssMiB / 2]), stage(100_000, 1_000_000, rates[2], [rssMiB - 10, rssMiB])],
    getsPerS: 6000,
    timings: { range10k: t, count: t, hashKV: t, followerRestart: t, fullRestart: t, memberAdd: t },
    steps: [
      { step: 'load 0→10000', leaderChanges: 0, eventLoop: loop === undefined ? [] : [{ member: 'n1', ...loop }], othersCpu: 0.02 },
      { step: FULL_RESTART_STEP, leaderChanges: null, eventLoop: [], othersCpu: undefined },
    ],
    problems: [],
  };
}

describe('bench:scale', () => {
  it('reads varint fields past length-delimited ones (a RangeResponse with kvs before its count)', () => {
    // header {1: bytes}, kvs {2: bytes of 300}, count {4: 1000000}
    const kv = Buffer.alloc(300, 1);
    const msg = Buffer.concat([
      Buffer.from([0x0a, 2, 0x08, 5]), Buffer.from([0x12, 0xac, 0x02]), kv, Buffer.from([0x20, 0xc0, 0x84, 0x3d]),
    ]);
    assert.equal(rangeCount(msg), 1_000_000);
    assert.equal(varintField(msg, 9), 0, 'an absent field reads as 0');
    assert.throws(() => varintField(Buffer.from([0x20, 0x80]), 4), /truncated/);
  });

  it('builds frames with the gRPC prefix and etcd\'s field numbers', () => {
    const f = rangeFrame({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), countOnly: true });
    assert.deepEqual([...f], [0, 0, 0, 0, 8, 0x0a, 1, 0, 0x12, 1, 0, 0x48, 1]);
    assert.deepEqual([...hashKVFrame()], [0, 0, 0, 0, 0]);
    assert.deepEqual(prefixEnd(Buffer.from('ab')), Buffer.from('ac'));
    assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from('b'));
  });

  it('names unique 16-byte keys in scattered order, and seeded random values', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const k = scaleKey(i);
      assert.equal(k.length, KEY_BYTES);
      assert.ok(k.toString().startsWith(KEY_PREFIX));
      keys.add(k.toString());
    }
    assert.equal(keys.size, 10_000);
    assert.ok(scaleKey(1).toString() > scaleKey(2).toString() || scaleKey(2).toString() > scaleKey(3).toString(), 'not in sorted order');
    const a = valueSource(true, 7);
    const b = valueSource(true, 7);
    assert.deepEqual(a(), b(), 'same seed, same values');
    assert.notDeepEqual(a(), b().fill(0));
    assert.equal(valueSource(false, 7)().length, 256);
  });

  it('derives stages (1 %, 10 %, 100 %) and the rate of each tenth', () => {
    assert.deepEqual(stageBounds(1_000_000), [10_000, 100_000, 1_000_000]);
    assert.deepEqual(stageBounds(20_000), [200, 2_000, 20_000]);
    assert.deepEqual(stageBounds(50), [5, 50]);
    const rates = partRates({ from: 0, to: 100, partEndS: [1, 2, 3, 4, 5, 6, 7, 8, 9, 11] });
    assert.equal(rates.length, 10);
    assert.equal(rates[0], 10);
    assert.equal(rates[9], 5);
  });

  it('parses a Prometheus exposition, labels included', () => {
    const m = parseExposition('# HELP x y\nregionstore_event_loop_delay_seconds{quantile="0.99"} 0.012\netcd_server_leader_changes_seen_total 1\n');
    assert.equal(m.get('regionstore_event_loop_delay_seconds{quantile="0.99"}'), 0.012);
    assert.equal(m.get('etcd_server_leader_changes_seen_total'), 1);
  });

  it('renders ratios and marks each goal met, unmet or not measured', () => {
    assert.equal(formatCount(1_000_000), '1M');
    assert.equal(formatCount(10_000), '10k');
    assert.equal(ratio(812, 7352), '0.11');
    assert.equal(ratio(1, undefined), '-');
    const report: ScaleReport = {
      started: '2026-01-01T00:00:00.000Z', settings: 'test', keys: 1_000_000, seed: 1,
      systems: {
        etcd: system('etcd', [10_000, 9_000, 7_000], 600, 1),
        // Keeps 95 % of its rate and beats etcd's; half the memory; 1.5× etcd's times: count/HashKV/add met, restarts unmet.
        regionstore: system('regionstore', [8_000, 7_900, 7_600], 300, 1.5, { p99S: 0.004, maxS: 0.35 }),
      },
    };
    const goals = new Map(evaluateGoals(report).map((g) => [g.id, g.status]));
    assert.equal(goals.get('putRateKept'), 'met');
    assert.equal(goals.get('putRateVsEtcd'), 'met');
    assert.equal(goals.get('hashKV'), 'met');
    assert.equal(goals.get('followerRestart'), 'unmet');
    assert.equal(goals.get('datascale'), 'not measured');
    const withDs: ScaleReport = { ...report, systems: {
      etcd: { ...(report.systems.etcd as SystemResult), datascale: parseDatascale('Start ...\nPASS: Approximate system memory used : 56.34 MB.\n', 0) },
      regionstore: { ...(report.systems.regionstore as SystemResult), datascale: parseDatascale('FAIL: Could not read process_resident_memory_bytes\n', 2) },
    } };
    assert.equal(withDs.systems.etcd?.datascale?.memoryMB, 56.34);
    const ds = evaluateGoals(withDs).find((g) => g.id === 'datascale');
    assert.equal(ds?.status, 'unmet');
    assert.match(ds?.measured ?? '', /FAIL: Could not read/);
    assert.match(renderScaleReport(withDs), /\| `etcdctl check datascale --load=s` on the leader \(memory it reports\) \| PASS, 56\.34 MB \| FAIL \| - \|/);
    assert.equal(goals.get('rss'), 'met');
    assert.equal(goals.get('fullRestart'), 'unmet');
    assert.equal(goals.get('count'), 'met');
    assert.equal(goals.get('leaderChanges'), 'met', 'the full restart step is not counted');
    assert.equal(goals.get('eventLoopP99'), 'met');
    assert.equal(goals.get('eventLoopMax'), 'unmet');
    const md = renderScaleReport(report);
    assert.match(md, /\| puts\/s, last 10 % of 100k→1M \| 7,000 \| 7,600 \| 1\.09 \|/);
    assert.match(md, /\| puts\/s by tenth of 100k→1M \| (14,000, ){9}7,000 \| (15,200, ){9}7,600 \| - \|/);
    assert.match(md, /\| RSS per member at 1M keys \(MiB\) \| 590–600 \| 290–300 \| 0\.50 \|/);
    assert.match(md, /\| full restart to serving ≤ etcd's time \| 1\.50 s vs 1\.00 s \| \*\*unmet\*\* \|/);
    assert.match(md, /\| event-loop delay, worst member and step: p99 \/ max \(ms\) \| n\/a \(Go\) \| 4\.0 \/ 350 \| - \|/);
    assert.match(md, /\| full restart \| n\/a \| n\/a \| - \| -, - \|/);
    assert.match(md, /\| load 0→10000 \| 0 \| 0 \| n1 4\.0\/350 \| 2 %, 2 % \|/);
    const missing = evaluateGoals({ ...report, systems: { etcd: report.systems.etcd as SystemResult } });
    assert.ok(missing.every((g) => g.status === 'not measured'), 'a system that did not run leaves its goals unmeasured');
  });
});
