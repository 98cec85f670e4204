// `etcdctl check perf --load=s` against a real 3-node regionstore cluster. It fails on a
// single request slower than 0.5 s, so it measures the machine as much as the store: the
// test runner gives `*.solo.test.ts` files the machine to themselves, after every other
// file has finished (scripts/run-tests.ts).

import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { etcdctl, haveTool, startTestCluster, type TestCluster } from './helpers/cluster.js';

const HAVE_ETCDCTL = haveTool('etcdctl', 'etcd-client');
const CHECK_PERF_TIMEOUT_MS = 120_000;

/** Leader changes every member has seen so far (its regionstore_raft_leader_changes_total). */
async function leaderChangesOf(c: TestCluster): Promise<number> {
  let sum = 0;
  for (const n of c.nodes) {
    const text = await (await fetch(`${n.metricsUrl}/metrics`)).text();
    sum += Number(/^regionstore_raft_leader_changes_total (\S+)/m.exec(text)?.[1] ?? 0);
  }
  return sum;
}

describe('etcdctl check perf against a 3-node cluster', { skip: !HAVE_ETCDCTL, timeout: 240_000 }, () => {
  let c: TestCluster;

  before(async () => {
    // etcd's timings, so that an election caused by a loaded machine is not what it measures.
    c = await startTestCluster({ timings: 'etcd' });
  });
  after(async () => c?.cleanup());

  test('check perf --load=s passes', async () => {
    const changesBefore = await leaderChangesOf(c);
    const r = await etcdctl(c.hostPorts.join(','), ['check', 'perf', '--load=s'], undefined, CHECK_PERF_TIMEOUT_MS);
    const summary = (r.stdout + r.stderr).split('\n').filter((l) => /^(PASS|FAIL)|took|too high/.test(l));
    const changes = (await leaderChangesOf(c)) - changesBefore;
    console.log(`check perf: ${summary.join(' | ')}; leader changes seen by the members during it: ${changes}; load ${loadavg()[0]?.toFixed(2)}`);
    assert.equal(r.code, 0, `${summary.join('\n')}\nleader changes during the run: ${changes}`);
    assert.ok(summary.includes('PASS'), summary.join('\n'));
  });
});
