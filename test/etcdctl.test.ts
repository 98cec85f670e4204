// etcdctl 3.4 (Debian etcd-client) against a real 3-node regionstore cluster: the commands
// an etcd operator uses, with the answers etcd gives.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcdctl, eventually, haveTool, planJoiner, runFor, startJoiner, startTestCluster, type TestCluster } from './helpers/cluster.js';

const HAVE_ETCDCTL = haveTool('etcdctl', 'etcd-client');

describe('etcdctl against a 3-node cluster', { skip: !HAVE_ETCDCTL, timeout: 240_000 }, () => {
  let c: TestCluster;
  let ep: string;
  const ctl = (...args: string[]) => etcdctl(ep, args);
  const ok = async (...args: string[]): Promise<string> => {
    const r = await ctl(...args);
    assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    c = await startTestCluster({ timings: 'etcd' });
    ep = c.hostPorts.join(',');
  });
  after(async () => c?.cleanup());

  test('put and get: prefix, rev, limit, keys-only, count, sort', async () => {
    assert.equal((await ok('put', 'fruit/apple', 'red')).trim(), 'OK');
    await ok('put', 'fruit/banana', 'yellow');
    await ok('put', 'fruit/cherry', 'dark');
    await ok('put', 'fruit/apple', 'green');
    assert.equal(await ok('get', 'fruit/apple'), 'fruit/apple\ngreen\n');
    assert.equal(await ok('get', '--prefix', 'fruit/'), 'fruit/apple\ngreen\nfruit/banana\nyellow\nfruit/cherry\ndark\n');
    const json = JSON.parse(await ok('get', 'fruit/apple', '-w', 'json')) as { kvs: Array<{ mod_revision: number; version: number; create_revision: number }>; header: { revision: number } };
    const kv = json.kvs[0]!;
    assert.equal(kv.version, 2);
    assert.equal(kv.mod_revision, kv.create_revision + 3);
    assert.equal(await ok('get', 'fruit/apple', `--rev=${kv.create_revision}`), 'fruit/apple\nred\n');
    assert.equal(await ok('get', '--prefix', 'fruit/', '--limit=2'), 'fruit/apple\ngreen\nfruit/banana\nyellow\n');
    assert.equal(await ok('get', '--prefix', 'fruit/', '--keys-only'), 'fruit/apple\n\nfruit/banana\n\nfruit/cherry\n\n');
    // etcdctl 3.4 has no --count-only (3.5 does); count_only is covered by the etcd3 client test.
    const counted = JSON.parse(await ok('get', '--prefix', 'fruit/', '--limit=1', '-w', 'json')) as { count: number; more: boolean };
    assert.equal(counted.count, 3);
    assert.equal(counted.more, true);
    assert.equal(await ok('get', 'fruit/', '--from-key', '--limit=1', '--sort-by=VALUE', '--order=DESCEND', '--print-value-only'), 'yellow\n');
  });

  test('del with prefix and prev-kv', async () => {
    await ok('put', 'veg/a', '1');
    await ok('put', 'veg/b', '2');
    assert.equal(await ok('del', '--prefix', 'veg/', '--prev-kv'), '2\nveg/a\n1\nveg/b\n2\n');
    assert.equal(await ok('del', 'veg/a'), '0\n');
    assert.equal(await ok('get', '--prefix', 'veg/'), '');
  });

  test('txn from stdin (interactive format)', async () => {
    await ok('put', 'tx/k', 'v1');
    const input = 'value("tx/k") = "v1"\n\nput tx/k "v2"\nput tx/other "o"\n\nput tx/k "failed"\n\n';
    const r = await etcdctl(ep, ['txn'], input);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'SUCCESS\n\nOK\n\nOK\n');
    assert.equal(await ok('get', 'tx/k', '--print-value-only'), 'v2\n');
    const r2 = await etcdctl(ep, ['txn'], input);
    assert.equal(r2.stdout, 'FAILURE\n\nOK\n');
    assert.equal(await ok('get', 'tx/k', '--print-value-only'), 'failed\n');
  });

  test('watch with prefix, rev and prev-kv', async () => {
    await ok('put', 'w/a', '1');
    const start = (JSON.parse(await ok('get', 'w/a', '-w', 'json')) as { kvs: Array<{ mod_revision: number }> }).kvs[0]!.mod_revision;
    const out = await runFor('etcdctl', [`--endpoints=${ep}`, 'watch', '--prefix', 'w/', `--rev=${start}`, '--prev-kv'], 1_500, async () => {
      await ok('put', 'w/a', '2');
      await ok('del', 'w/a');
    });
    assert.equal(out.stdout, 'PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\nDELETE\nw/a\n2\nw/a\n\n');
  });

  test('lease grant, keep-alive, timetolive --keys, revoke', async () => {
    const grant = await ok('lease', 'grant', '60');
    const id = /lease ([0-9a-f]+) granted with TTL\(60s\)/.exec(grant)?.[1];
    assert.ok(id, grant);
    await ok('put', 'leased', 'x', `--lease=${id}`);
    const ka = await ok('lease', 'keep-alive', '--once', id);
    assert.match(ka, new RegExp(`lease ${id} keepalived with TTL\\(60\\)`));
    const ttl = await ok('lease', 'timetolive', id, '--keys');
    assert.match(ttl, new RegExp(`lease ${id} granted with TTL\\(60s\\), remaining\\((59|60)s\\), attached keys\\(\\[leased\\]\\)`));
    assert.match(await ok('lease', 'list'), new RegExp(id));
    assert.match(await ok('lease', 'revoke', id), new RegExp(`lease ${id} revoked`));
    assert.equal(await ok('get', 'leased'), '');
    const gone = await ctl('lease', 'timetolive', id);
    assert.match(gone.stdout + gone.stderr, /already expired|not found/);
  });

  test('a lease expires by itself and takes its keys', async () => {
    const id = /lease ([0-9a-f]+) granted/.exec(await ok('lease', 'grant', '2'))?.[1];
    assert.ok(id);
    await ok('put', 'short', 'lived', `--lease=${id}`);
    await eventually('the lease to expire', async () => ((await ok('get', 'short')) === '' ? true : undefined), 10_000, 200);
  });

  test('endpoint status and health', async () => {
    const status = JSON.parse(await ok('endpoint', 'status', '-w', 'json')) as Array<{ Status: { leader: number; header: { member_id: number }; version: string } }>;
    assert.equal(status.length, 3);
    const leaders = new Set(status.map((s) => s.Status.leader));
    assert.equal(leaders.size, 1, 'every member reports the same leader');
    assert.ok(status.some((s) => s.Status.header.member_id === [...leaders][0]));
    assert.equal(status[0]!.Status.version, '3.5.0');
    const health = await ctl('endpoint', 'health');
    assert.equal(health.code, 0, health.stderr);
    assert.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 3);
  });

  test('move-leader', async () => {
    const status = JSON.parse(await ok('endpoint', 'status', '-w', 'json')) as Array<{ Endpoint: string; Status: { leader: number; header: { member_id: number } } }>;
    const leader = status.find((s) => s.Status.header.member_id === s.Status.leader)!;
    const target = status.find((s) => s.Status.header.member_id !== s.Status.leader)!;
    const r = await etcdctl(leader.Endpoint, ['move-leader', target.Status.header.member_id.toString(16)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Leadership transferred from/);
    await eventually('the new leader', async () => {
      const s = JSON.parse(await ok('endpoint', 'status', '-w', 'json')) as Array<{ Status: { leader: number } }>;
      return s.every((x) => x.Status.leader === target.Status.header.member_id) ? true : undefined;
    });
  });

  test('compaction, then reads below it are refused', async () => {
    await ok('put', 'c/k', 'old');
    const rev = (JSON.parse(await ok('get', 'c/k', '-w', 'json')) as { header: { revision: number } }).header.revision;
    await ok('put', 'c/k', 'new');
    assert.match(await ok('compaction', String(rev + 1)), new RegExp(`compacted revision ${rev + 1}`));
    const r = await ctl('get', 'c/k', `--rev=${rev}`);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /required revision has been compacted/);
    assert.equal(await ok('get', 'c/k', '--print-value-only'), 'new\n');
  });

  test('snapshot save', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rs-snap-'));
    try {
      const file = join(dir, 'snap.db');
      const r = await etcdctl(c.hostPorts[0]!, ['snapshot', 'save', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Snapshot saved at/);
      assert.ok(statSync(file).size > 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('member list, add --learner, promote, remove', async () => {
    const list = await ok('member', 'list');
    assert.equal(list.trim().split('\n').length, 3);
    assert.match(list, /started, n1, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, false/);
    const plan = await planJoiner('n4');
    const peerUrl = plan.peerUrl;
    const clientPort = plan.clientUrl.split(':').pop()!;
    const add = await ok('member', 'add', 'n4', `--peer-urls=${peerUrl}`, '--learner');
    const id = /Member\s+([0-9a-f]+) added to cluster/.exec(add)?.[1];
    assert.ok(id, add);
    const initialCluster = /ETCD_INITIAL_CLUSTER="([^"]+)"/.exec(add)?.[1];
    assert.ok(initialCluster?.includes(`n4=${peerUrl}`), add);
    const n4 = startJoiner(c, plan, initialCluster!).process;
    try {
      await eventually('n4 to start as a learner', async () => {
        const l = await ok('member', 'list');
        return new RegExp(`${id}, started, n4, ${peerUrl}, http://127\\.0\\.0\\.1:${clientPort}, true`).test(l) ? true : undefined;
      }, 20_000, 250);
      // The learner serves serializable reads of the replicated data.
      assert.equal((await etcdctl(`127.0.0.1:${clientPort}`, ['get', 'fruit/apple', '--consistency=s', '--print-value-only'])).stdout, 'green\n');
      await eventually('the promotion', async () => {
        const r = await ctl('member', 'promote', id);
        return r.code === 0 ? r.stdout : undefined;
      }, 20_000, 250);
      assert.match(await ok('member', 'list'), new RegExp(`${id}, started, n4, ${peerUrl}, http://127\\.0\\.0\\.1:${clientPort}, false`));
      assert.match(await ok('member', 'remove', id), new RegExp(`Member\\s+${id} removed from cluster`));
      const listAfter = await ok('member', 'list');
      assert.equal(listAfter.trim().split('\n').length, 3);
      assert.equal((await ok('put', 'after-remove', 'x')).trim(), 'OK');
    } finally {
      n4.kill('SIGKILL');
    }
  });
});
