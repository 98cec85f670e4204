// Round trips against a real 3-node cluster: KV, txn, leases, compaction, watch,
// cluster and maintenance calls, typed errors, and that close() lets the process exit.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../test/helpers/cluster.js';
import {
  Client, cmp, CompactedError, TxnBuilder, FutureRevisionError, InvalidArgumentError, LeaseNotFoundError, op, text, type WatchBatch,
} from './index.js';

/** A child process that closed its client must be gone within this time. */
const EXIT_AFTER_CLOSE_MS_MAX = 5_000;

describe('client round trips against a 3-node cluster', { timeout: 60_000 }, () => {
  let c: TestCluster;
  let client: Client;

  before(async () => {
    c = await startTestCluster();
    client = new Client({ endpoints: c.endpoints });
  });
  after(async () => {
    client?.close();
    await c?.cleanup();
  });

  test('put, get, prefix, limit, sort, count, keys-only, read at a revision, delete', async () => {
    const first = await client.put('fruit/apple', 'red');
    await client.put('fruit/banana', 'yellow');
    await client.put('fruit/cherry', Buffer.from('dark'));
    const again = await client.put('fruit/apple', 'green', { prevKv: true });
    assert.equal(again.prevKv?.value.toString(), 'red');
    assert.equal(again.revision, first.revision + 3);
    assert.equal(await client.getString('fruit/apple'), 'green');
    assert.equal(await client.get('fruit/none'), undefined);
    const apple = await client.get('fruit/apple');
    assert.deepEqual([apple?.version, apple?.createRevision, apple?.modRevision, apple?.lease], [2, first.revision, again.revision, '0']);
    assert.equal(await client.getString('fruit/apple', { revision: first.revision }), 'red');

    const all = await client.getPrefix('fruit/');
    assert.deepEqual(all.kvs.map((kv) => text(kv.key)), ['fruit/apple', 'fruit/banana', 'fruit/cherry']);
    const limited = await client.getPrefix('fruit/', { limit: 2, sort: { target: 'value', order: 'descend' } });
    assert.deepEqual(limited.kvs.map((kv) => text(kv.value)), ['yellow', 'green']);
    assert.equal(limited.more, true);
    assert.equal(limited.count, 3);
    assert.equal(await client.kv.count('fruit/', { prefix: true }), 3);
    const keys = await client.getPrefix('fruit/', { keysOnly: true, serializable: true });
    assert.deepEqual(keys.kvs.map((kv) => kv.value.length), [0, 0, 0]);

    const del = await client.delete('fruit/', { prefix: true, prevKv: true });
    assert.equal(del.deleted, 3);
    assert.deepEqual(del.prevKvs.map((kv) => text(kv.key)), ['fruit/apple', 'fruit/banana', 'fruit/cherry']);
    assert.equal((await client.delete('fruit/apple')).deleted, 0);
  });

  test('txn: compare-and-swap, both branches, nested, all compare targets', async () => {
    const put = await client.put('cas', 'v1');
    const win = await client.txn().when(cmp.modRevision('cas', '=', put.revision)).success(op.put('cas', 'v2'), op.get('cas')).failure(op.get('cas')).commit();
    assert.equal(win.succeeded, true);
    const got = win.responses[1];
    assert.ok(got?.type === 'range');
    assert.equal(text(got.kvs[0]!.value), 'v2');
    const lose = await client.txn().when(cmp.modRevision('cas', '=', put.revision)).success(op.put('cas', 'v3')).failure(op.get('cas')).commit();
    assert.equal(lose.succeeded, false);
    assert.ok(lose.responses[0]?.type === 'range');

    const create = await client.txn().when(cmp.absent('fresh')).success(op.put('fresh', '1')).commit();
    assert.equal(create.succeeded, true);
    assert.equal((await client.txn().when(cmp.absent('fresh')).success(op.put('fresh', '2')).commit()).succeeded, false);

    const kv = await client.get('cas');
    const all = await client.txn().when(
      cmp.value('cas', '=', 'v2'),
      cmp.version('cas', '>', 1),
      cmp.createRevision('cas', '=', kv!.createRevision),
      cmp.modRevision('cas', '<', kv!.modRevision + 1),
      cmp.lease('cas', '=', 0),
      cmp.value('cas', '!=', 'v1'),
    ).success(op.delete('cas', { prevKv: true })).commit();
    assert.equal(all.succeeded, true);
    assert.ok(all.responses[0]?.type === 'delete' && all.responses[0].deleted === 1);

    const inner = new TxnBuilder().when(cmp.absent('n1')).success(op.put('n1', 'x'));
    const nested = await client.txn().success(op.txn(inner), op.get('n1')).commit();
    const first = nested.responses[0];
    assert.ok(first?.type === 'txn' && first.succeeded);
    assert.ok(nested.responses[1]?.type === 'range' && text(nested.responses[1].kvs[0]!.value) === 'x');
    await assert.rejects(inner.commit(), /nested/);
  });

  test('leases: grant, attach, time-to-live with keys, list, keep-alive once, revoke', async () => {
    const g = await client.leases.grant(30);
    assert.equal(g.ttl, 30);
    await client.put('leased', 'v', { lease: g.id });
    assert.equal((await client.get('leased'))?.lease, g.id);
    const ttl = await client.leases.timeToLive(g.id, { keys: true });
    assert.equal(ttl.grantedTtl, 30);
    assert.ok(ttl.ttl > 0 && ttl.ttl <= 30);
    assert.deepEqual(ttl.keys.map(text), ['leased']);
    assert.ok((await client.leases.list()).includes(g.id));
    assert.ok((await client.leases.keepAliveOnce(g.id)).ttl > 0);
    await client.leases.revoke(g.id);
    assert.equal(await client.get('leased'), undefined);
    assert.equal((await client.leases.timeToLive(g.id)).ttl, -1);
    await assert.rejects(client.leases.revoke(g.id), LeaseNotFoundError);
    await assert.rejects(client.leases.keepAliveOnce(g.id), LeaseNotFoundError);
  });

  test('watch: prefix, prevKv, deletes, a progress request, a filter', async () => {
    const w = client.watch('w/', { prefix: true, prevKv: true });
    const puts = client.watch('w/', { prefix: true, filters: ['noDelete'] });
    await Promise.all([w.ready(), puts.ready()]);
    await client.put('w/a', '1');
    await client.put('w/a', '2');
    await client.delete('w/a');
    const seen: string[] = [];
    for await (const b of w) {
      if (b.type === 'events') for (const e of b.events) seen.push(`${e.type} ${text(e.kv.key)} ${text(e.kv.value)} prev=${e.prevKv === undefined ? '-' : text(e.prevKv.value)}`);
      if (seen.length === 3) w.requestProgress();
      if (b.type === 'progress') break;
    }
    assert.deepEqual(seen, ['put w/a 1 prev=-', 'put w/a 2 prev=1', 'delete w/a  prev=2']);
    const onlyPuts: string[] = [];
    for await (const e of puts.events()) {
      onlyPuts.push(`${e.type} ${text(e.kv.value)}`);
      if (onlyPuts.length === 2) break;
    }
    assert.deepEqual(onlyPuts, ['put 1', 'put 2']);
  });

  test('compaction: reads and watches below it fail with CompactedError; future revisions too', async () => {
    const a = await client.put('old', '1');
    await client.put('old', '2');
    await client.kv.compact(a.revision + 1);
    await assert.rejects(client.get('old', { revision: a.revision }), (e: unknown) => e instanceof CompactedError && !e.maybeApplied);
    await assert.rejects(client.get('old', { revision: a.revision + 1000 }), FutureRevisionError);
    const w = client.watch('old', { startRevision: a.revision });
    await assert.rejects(async () => {
      for await (const b of w) void (b satisfies WatchBatch);
    }, CompactedError);
  });

  test('bad input gets a typed error that says nothing was applied', async () => {
    const err = await client.put('', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof InvalidArgumentError, String(err));
    assert.equal(err.maybeApplied, false);
    assert.match(err.details, /key is not provided/);
  });

  test('cluster and maintenance: members, status of each, hashKV, snapshot, alarms, defragment, move-leader', async () => {
    const members = await client.cluster.list();
    assert.equal(members.members.length, 3);
    const statuses = await client.maintenance.statusAll();
    assert.equal(statuses.length, 3);
    const leaders = new Set<string>();
    for (const s of statuses) {
      assert.ok('status' in s, `status of ${s.endpoint}`);
      leaders.add(s.status.leader);
    }
    assert.equal(leaders.size, 1, 'every member names the same leader');
    const leaderEp = await client.findLeader();
    const leaderStatus = statuses.find((s) => 'status' in s && s.status.isLeader);
    assert.equal(leaderStatus?.endpoint, leaderEp);

    const rev = (await client.put('hash/me', 'x')).revision;
    const hashes = await Promise.all(client.endpoints.map(async (endpoint) => {
      // Every member applies rev eventually; hash exactly there.
      for (;;) {
        const s = await client.maintenance.status({ endpoint });
        if (s.header.revision >= rev) return (await client.maintenance.hashKV(rev, { endpoint })).hash;
        await new Promise((r) => setTimeout(r, 50));
      }
    }));
    assert.equal(new Set(hashes).size, 1, `hashKV at ${rev} differs between members: ${hashes.join(' ')}`);

    const dir = mkdtempSync(join(tmpdir(), 'rs-client-snap-'));
    try {
      const bytes = await client.maintenance.snapshotToFile(join(dir, 'snap.db'));
      assert.ok(bytes > 0);
      assert.equal(statSync(join(dir, 'snap.db')).size, bytes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(await client.maintenance.alarm('get'), []);
    await client.maintenance.defragment({ endpoint: client.endpoints[0]! });

    const follower = statuses.find((s) => 'status' in s && !s.status.isLeader);
    assert.ok(follower !== undefined && 'status' in follower);
    await client.maintenance.moveLeader(follower.status.memberId);
    assert.equal(await client.findLeader(), follower.endpoint);
    await client.put('after/move', 'ok');
  });

  test('the README example (client/example.ts) runs', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'example.ts'), c.endpoints], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hello\nswapped: true\nput jobs/1 build\n');
  });

  test('close() lets the process exit', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'testing', 'exit-check.ts'), c.endpoints], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closedAt = new Promise<number>((resolve) => child.stdout.on('data', () => out.includes('closed') && resolve(Date.now())));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `exit-check did not exit by itself (output: ${out})`);
    assert.ok(Date.now() - (await closedAt) < EXIT_AFTER_CLOSE_MS_MAX);
  });
});
