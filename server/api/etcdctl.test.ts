// etcdctl 3.4 against the API server over the in-process MvccStore backend: catches
// wire incompatibilities before the region node exists. Skips (loudly) without etcdctl.

import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestApi, type TestApi } from './testing/start.js';

const HAVE_ETCDCTL = spawnSync('etcdctl', ['version'], { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0;
if (!HAVE_ETCDCTL) {
  console.error('\n*** SKIP server/api/etcdctl.test.ts: etcdctl is not installed (Debian package etcd-client) ***\n');
}

let api: TestApi;
let dir: string;

before(async () => {
  if (!HAVE_ETCDCTL) return;
  api = await startTestApi();
  dir = await mkdtemp(join(tmpdir(), 'rs-etcdctl-'));
});
after(async () => {
  if (!HAVE_ETCDCTL) return;
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

function ctl(args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'etcdctl',
      [`--endpoints=${api.endpoint}`, '--command-timeout=5s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 },
      (error, out, err) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), out, err }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function ok(args: string[], input?: string): Promise<string> {
  const r = await ctl(args, input);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} failed: ${r.err}`);
  return r.out;
}

const opts = { skip: HAVE_ETCDCTL ? false : 'etcdctl not installed' };

test('put / get with prefix, rev, limit, keys-only; del with prefix and prev-kv', opts, async () => {
  assert.equal(await ok(['put', 'p/a', '1']), 'OK\n');
  await ok(['put', 'p/b', '2']);
  await ok(['put', 'p/a', '3']);
  assert.equal(await ok(['get', 'p/', '--prefix']), 'p/a\n3\np/b\n2\n');
  assert.equal(await ok(['get', 'p/a', '--rev=1']), 'p/a\n1\n');
  assert.equal(await ok(['get', 'p/', '--prefix', '--limit=1']), 'p/a\n3\n');
  assert.equal(await ok(['get', 'p/', '--prefix', '--keys-only']), 'p/a\n\np/b\n\n');
  const json = JSON.parse(await ok(['get', 'p/a', '-w', 'json']));
  assert.equal(json.kvs[0].version, 2);
  assert.equal(await ok(['del', 'p/', '--prefix', '--prev-kv']), '2\np/a\n3\np/b\n2\n');
  const empty = await ctl(['put', '', 'x']);
  assert.notEqual(empty.code, 0);
  assert.match(empty.err, /etcdserver: key is not provided/);
});

test('txn from stdin', opts, async () => {
  await ok(['put', 't/k', 'v1']);
  const out = await ok(['txn'], 'value("t/k") = "v1"\n\nput t/k v2\nget t/k\n\nput t/k nope\n\n');
  assert.match(out, /^SUCCESS\n\nOK\n\nt\/k\nv2\n$/);
});

test('watch with prefix, rev and prev-kv', opts, async () => {
  const rev = JSON.parse(await ok(['put', 'w/a', 'one', '-w', 'json'])).header.revision as number;
  await ok(['put', 'w/b', 'two']);
  await ok(['put', 'w/a', 'three']);
  const child = spawn('etcdctl', [`--endpoints=${api.endpoint}`, 'watch', 'w/', '--prefix', `--rev=${rev}`, '--prev-kv'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!out.includes('three') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  child.kill();
  assert.equal(out, 'PUT\nw/a\none\nPUT\nw/b\ntwo\nPUT\nw/a\none\nw/a\nthree\n');
});

test('lease grant / keep-alive / timetolive --keys / revoke', opts, async () => {
  const granted = await ok(['lease', 'grant', '60']);
  const id = /lease ([0-9a-f]+) granted with TTL\(60s\)/.exec(granted)?.[1];
  assert.ok(id !== undefined, granted);
  await ok(['put', 'l/k', 'v', `--lease=${id}`]);
  assert.match(await ok(['lease', 'keep-alive', '--once', id]), new RegExp(`lease ${id} keepalived with TTL\\(60\\)`));
  assert.match(await ok(['lease', 'timetolive', id, '--keys']), /granted with TTL\(60s\), remaining\(\d+s\), attached keys\(\[l\/k\]\)/);
  assert.match(await ok(['lease', 'list']), new RegExp(id));
  assert.match(await ok(['lease', 'revoke', id]), /revoked/);
  assert.match(await ok(['lease', 'timetolive', id]), /already expired/);
  assert.equal(await ok(['get', 'l/k']), '');
  const again = await ctl(['lease', 'revoke', id]);
  assert.match(again.err, /etcdserver: requested lease not found/);
});

test('member list / add --learner / promote / remove; endpoint status, health; move-leader', opts, async () => {
  assert.match(await ok(['member', 'list']), /started, test, http:\/\/127\.0\.0\.1:2380/);
  const added = await ok(['member', 'add', 'n2', '--learner', '--peer-urls=http://127.0.0.1:23900']);
  const id = /Member\s+([0-9a-f]+) added/.exec(added)?.[1];
  assert.ok(id !== undefined, added);
  assert.match(await ok(['member', 'list']), new RegExp(`${id}, unstarted, , http://127.0.0.1:23900, , true`));
  assert.match(await ok(['member', 'promote', id]), /promoted/);
  assert.match(await ok(['member', 'remove', id]), /removed/);
  const status = JSON.parse(await ok(['endpoint', 'status', '-w', 'json']))[0].Status;
  assert.equal(status.version, '3.4.0');
  assert.equal(status.leader, status.header.member_id);
  const health = await ctl(['endpoint', 'health']); // etcdctl 3.4 prints it on stderr
  assert.match(health.out + health.err, /is healthy: successfully committed proposal/);
  assert.match(await ok(['move-leader', Number(status.header.member_id).toString(16)]), /Leadership transferred/);
  assert.ok(JSON.parse(await ok(['endpoint', 'hashkv', '-w', 'json']))[0].HashKV.hash > 0);
});

test('compaction and snapshot save', opts, async () => {
  const rev = JSON.parse(await ok(['put', 'c/k', 'v', '-w', 'json'])).header.revision as number;
  assert.match(await ok(['compaction', String(rev - 1)]), new RegExp(`compacted revision ${rev - 1}`));
  const old = await ctl(['get', 'c/k', `--rev=${rev - 2}`]);
  assert.match(old.err, /etcdserver: mvcc: required revision has been compacted/);
  const file = join(dir, 'snap.db');
  assert.match(await ok(['snapshot', 'save', file]), /Snapshot saved at/);
  assert.equal((await stat(file)).size % 512, 32);
});
