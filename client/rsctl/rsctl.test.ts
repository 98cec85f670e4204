// rsctl against a real 3-node cluster: every command, --write-out json, and the exit
// codes. Commands run in-process through runCli (the whole CLI but the process wiring);
// a few run as real processes to check what a shell sees (exit status, SIGTERM).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcdctl, haveTool, startTestCluster, type TestCluster } from '../../test/helpers/cluster.js';
import { ExitCode } from './exit.js';
import { rsctl, rsctlProcess, type RsctlResult } from './testing/run.js';

/** A port nothing listens on: connecting is refused at once. */
const DEAD_ENDPOINT = '127.0.0.1:1';

describe('rsctl against a 3-node cluster', { timeout: 60_000 }, () => {
  let c: TestCluster;
  let ep: string[];
  let tmp: string;
  const run = (args: string[], opts: Parameters<typeof rsctl>[1] = {}): Promise<RsctlResult> => rsctl(['--endpoints', ep.join(','), ...args], opts);
  const ok = async (args: string[], opts: Parameters<typeof rsctl>[1] = {}): Promise<string> => {
    const r = await run(args, opts);
    assert.equal(r.code, 0, `rsctl ${args.join(' ')} exited ${String(r.code)}: ${r.stderr}`);
    return r.stdout;
  };
  const json = async (args: string[]): Promise<any> => JSON.parse(await ok(['-w', 'json', ...args]));

  before(async () => {
    c = await startTestCluster();
    ep = c.hostPorts;
    tmp = mkdtempSync(join(tmpdir(), 'rsctl-test-'));
  });
  after(async () => {
    await c?.cleanup();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('put, get (simple, json, table, prefix, count), del', async () => {
    assert.equal(await ok(['put', 'fruit/apple', 'red']), 'OK\n');
    assert.equal(await ok(['put', 'fruit/pear'], { stdin: 'green\nish' }), 'OK\n');
    assert.equal(await ok(['put', 'fruit/apple', 'yellow', '--prev-kv']), 'OK\nfruit/apple\nred\n');
    assert.equal(await ok(['get', 'fruit/apple']), 'fruit/apple\nyellow\n');
    assert.equal(await ok(['get', 'fruit/', '--prefix', '--print-value-only']), 'yellow\ngreen\nish\n');
    assert.equal(await ok(['get', 'fruit/', '--prefix', '--count-only']), '2\n');
    assert.equal(await ok(['get', 'fruit/', '--prefix', '--keys-only', '--consistency', 's']), 'fruit/apple\n\nfruit/pear\n\n');
    assert.equal(await ok(['get', 'fruit/a', 'fruit/z', '--limit', '1', '--sort-by', 'KEY', '--order', 'DESCEND']), 'fruit/pear\ngreen\nish\n');
    const j = await json(['get', 'fruit/apple']);
    assert.equal(Buffer.from(j.kvs[0].key, 'base64').toString(), 'fruit/apple');
    assert.equal(Buffer.from(j.kvs[0].value, 'base64').toString(), 'yellow');
    assert.equal(j.kvs[0].version, 2);
    assert.equal(j.count, 1);
    assert.ok(j.header.revision >= 3 && j.header.cluster_id > 0);
    assert.match(await ok(['-w', 'table', 'get', 'fruit/apple']), /\| fruit\/apple \| yellow +\|/);
    assert.equal(await ok(['del', 'fruit/', '--prefix', '--prev-kv']), '2\nfruit/apple\nyellow\nfruit/pear\ngreen\nish\n');
    assert.equal(await ok(['get', 'fruit/apple']), '');
    assert.equal((await json(['del', 'nothing'])).deleted, undefined); // omitted when 0, as etcd's JSON
  });

  test('txn from stdin: success and failure branches, json', async () => {
    await ok(['put', 'cas', 'v1']);
    const script = 'val("cas") = "v1"\n\nput cas "v 2"\nget cas\n\nput cas lost\n\n';
    assert.equal(await ok(['txn'], { stdin: script }), 'SUCCESS\n\nOK\n\ncas\nv 2\n');
    assert.equal(await ok(['txn'], { stdin: script }), 'FAILURE\n\nOK\n');
    const r = await run(['-w', 'json', 'txn'], { stdin: 'mod("cas") > "0"\n\nget cas\n\n\n' });
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout);
    assert.equal(t.succeeded, true);
    assert.equal(Buffer.from(t.responses[0].response_range.kvs[0].value, 'base64').toString(), 'lost');
    const bad = await run(['txn'], { stdin: 'nonsense("x") = "1"\n\n\n' });
    assert.equal(bad.code, ExitCode.usage);
    assert.match(bad.stderr, /bad compare/);
  });

  test('watch prints changes in order and stops after --max-events; json batches', async () => {
    let ready!: () => void;
    const watching = new Promise<void>((resolve) => (ready = resolve));
    const w = run(['watch', 'w/', '--prefix', '--prev-kv', '--max-events', '3'], { onStderr: (t) => t.includes('watching') && ready() });
    await watching;
    await ok(['put', 'w/a', '1']);
    await ok(['put', 'w/a', '2']);
    await ok(['del', 'w/a']);
    const r = await w;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\nDELETE\nw/a\n2\nw/a\n\n');

    const rev = (await json(['put', 'w/b', 'x'])).header.revision;
    const j = await run(['-w', 'json', 'watch', 'w/b', '--rev', String(rev), '--max-events', '1']);
    assert.equal(j.code, 0, j.stderr);
    const batch = JSON.parse(j.stdout.trim());
    assert.equal(batch.events[0].type, 'PUT');
    assert.equal(batch.events[0].kv.mod_revision, rev);
  });

  test('lease grant, timetolive, keep-alive --once, list, revoke; a revoked lease is exit 1', async () => {
    const granted = await ok(['lease', 'grant', '60']);
    const m = /^lease ([0-9a-f]{16}) granted with TTL\(60s\)\n$/.exec(granted);
    assert.ok(m, granted);
    const id = m[1] as string;
    await ok(['put', 'leased', 'v', '--lease', id]);
    assert.match(await ok(['lease', 'timetolive', id, '--keys']), new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[leased\\]\\)`));
    assert.match(await ok(['lease', 'keep-alive', '--once', id]), new RegExp(`^lease ${id} keepalived with TTL\\(60\\)`));
    assert.ok((await ok(['lease', 'list'])).includes(id));
    assert.equal((await json(['lease', 'list'])).leases.length >= 1, true);
    assert.equal(await ok(['lease', 'revoke', id]), `lease ${id} revoked\n`);
    assert.equal(await ok(['get', 'leased']), '');
    assert.equal(await ok(['lease', 'timetolive', id]), `lease ${id} already expired\n`);
    const again = await run(['lease', 'revoke', id]);
    assert.equal(again.code, ExitCode.failed);
    assert.match(again.stderr, /lease not found[\s\S]*Hint: the lease expired or was revoked/);
  });

  test('member list (simple, json), add a learner and remove it', async () => {
    const lines = (await ok(['member', 'list'])).trim().split('\n');
    assert.equal(lines.length, 3);
    for (const l of lines) assert.match(l, /^[0-9a-f]+, started, n\d, http:\/\/127\.0\.0\.1:\d+, http:\/\/127\.0\.0\.1:\d+, false$/);
    const j = await json(['member', 'list']);
    assert.deepEqual(j.members.map((x: { name: string }) => x.name).sort(), ['n1', 'n2', 'n3']);
    const added = await ok(['member', 'add', 'n4', '--peer-urls', 'http://127.0.0.1:1', '--learner']);
    const id = /^Member ([0-9a-f]+) added to cluster [0-9a-f]+\n\nETCD_NAME="n4"\nETCD_INITIAL_CLUSTER=".*n4=http:\/\/127\.0\.0\.1:1.*"\n/.exec(added)?.[1];
    assert.ok(id !== undefined, added);
    assert.match(await ok(['member', 'remove', id]), /^Member [0-9a-f]+ removed from cluster/);
    const gone = await run(['member', 'remove', id]);
    assert.equal(gone.code, ExitCode.failed);
    assert.match(gone.stderr, /member list shows the member ids/);
  });

  test('endpoint status and health, compact, snapshot save', async () => {
    const status = await json(['endpoint', 'status']);
    assert.equal(status.length, 3);
    assert.equal(status.filter((s: { Status: { leader: number; header: { member_id: number } } }) => s.Status.leader === s.Status.header.member_id).length, 1);
    assert.equal((await ok(['endpoint', 'status'])).trim().split('\n').length, 3);
    assert.match(await ok(['endpoint', 'health']), /is healthy: successfully committed proposal/);
    assert.equal((await json(['endpoint', 'health', '--cluster'])).every((h: { health: boolean }) => h.health), true);

    const r1 = (await json(['put', 'hist', '1'])).header.revision;
    await ok(['put', 'hist', '2']);
    assert.equal(await ok(['get', 'hist', '--rev', String(r1), '--print-value-only']), '1\n');
    assert.equal(await ok(['compact', String(r1 + 1)]), `compacted revision ${r1 + 1}\n`);
    const old = await run(['get', 'hist', '--rev', String(r1)]);
    assert.equal(old.code, ExitCode.failed);
    assert.match(old.stderr, /compacted[\s\S]*Hint: that history is gone/);

    const file = join(tmp, 'snap.db');
    assert.equal(await ok(['snapshot', 'save', file]), `Snapshot saved at ${file}\n`);
    assert.ok(statSync(file).size > 0);
  });

  test('move-leader hands leadership to the member named', async () => {
    // The hex id of a follower, from the simple output (JSON numbers may lose digits in JS).
    const line = (await ok(['endpoint', 'status'])).split('\n').find((l) => l.includes(', false, false, '));
    const hex = line?.split(', ')[1];
    assert.ok(hex !== undefined);
    assert.match(await ok(['move-leader', hex]), new RegExp(`^Leadership transferred from [0-9a-f]+ to ${hex}\\n$`));
    const now = (await ok(['endpoint', 'status'])).split('\n').find((l) => l.includes(`, ${hex}, `));
    assert.match(now ?? '', /, true, false, /);
  });

  test('usage errors exit 2, an unreachable cluster exits 3, server errors exit 1', async () => {
    const unknown = await run(['frobnicate']);
    assert.equal(unknown.code, ExitCode.usage);
    assert.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*Hint: see rsctl --help/);
    assert.equal((await run(['get'])).code, ExitCode.usage);
    assert.equal((await run(['get', 'k', '--bogus'])).code, ExitCode.usage);
    assert.equal((await run(['-w', 'yaml', 'get', 'k'])).code, ExitCode.usage);
    assert.equal((await run(['lease', 'grant', 'ten'])).code, ExitCode.usage);
    const help = await run(['get', '--help']);
    assert.equal(help.code, ExitCode.ok);
    assert.match(help.stdout, /Usage: rsctl get <key> \[range_end\][\s\S]*--consistency[\s\S]*Exit codes/);
    for (const group of ['lease', 'member', 'endpoint', 'snapshot', 'bench']) assert.equal((await run([group, '--help'])).code, ExitCode.ok);
    const future = await run(['get', 'k', '--rev', '999999']);
    assert.equal(future.code, ExitCode.failed);
    const dead = await rsctl(['--endpoints', DEAD_ENDPOINT, '--dial-timeout', '1s', 'get', 'k']);
    assert.equal(dead.code, ExitCode.unavailable);
    assert.match(dead.stderr, /could not connect[\s\S]*Hint: check --endpoints/);
  });

  test('as a process: exit status, stdin, SIGTERM ends a watch with 0', async () => {
    const put = await rsctlProcess(['--endpoints', ep.join(','), 'put', 'proc', '--prev-kv'], { stdin: 'from stdin' });
    assert.equal(put.code, 0, put.stderr);
    assert.equal(put.stdout, 'OK\n');
    const dead = await rsctlProcess(['--endpoints', DEAD_ENDPOINT, 'get', 'proc']);
    assert.equal(dead.code, ExitCode.unavailable);
    const usage = await rsctlProcess(['put']);
    assert.equal(usage.code, ExitCode.usage);
    const watch = await rsctlProcess(['--endpoints', ep.join(','), 'watch', 'never'], { killWhen: /watching never/ });
    assert.equal(watch.code, 0, watch.stderr);
    assert.match(watch.stderr, /watching never/);
  });

  // Last: it deletes every key. etcd refuses an empty key, so "" with --prefix or --from-key
  // (every key) must go out as "\0", as etcdctl sends it (issue 20).
  test('the empty key with --prefix or --from-key is every key: get, watch, del (as etcdctl)', async () => {
    await ok(['put', 'all/a', '1']);
    await ok(['put', '\u0001low', '2']);
    const keys = (await ok(['get', '', '--prefix', '--keys-only'])).split('\n\n').filter((k) => k !== '').map((k) => k.replace(/\n$/, ''));
    assert.ok(keys.includes('all/a') && keys.includes('\u0001low'), `get "" --prefix gave ${JSON.stringify(keys)}`);
    assert.deepEqual([...keys].sort(), keys, 'in key order');
    const count = Number(await ok(['get', '', '--prefix', '--count-only']));
    assert.equal(count, keys.length);
    assert.equal(await ok(['get', '', '--from-key', '--keys-only']), await ok(['get', '', '--prefix', '--keys-only']));
    if (haveTool('etcdctl', 'etcd-client')) {
      const e = await etcdctl(ep, ['get', '', '--prefix', '--keys-only']);
      assert.equal(e.code, 0, e.stderr);
      assert.equal(await ok(['get', '', '--prefix', '--keys-only']), e.stdout, 'rsctl and etcdctl list the same keys');
    }
    // An empty key without a range is still etcd's error, not every key.
    const bare = await run(['get', '']);
    assert.equal(bare.code, ExitCode.failed);
    assert.match(bare.stderr, /key is not provided/);

    let ready!: () => void;
    const watching = new Promise<void>((resolve) => (ready = resolve));
    const w = run(['watch', '', '--prefix', '--max-events', '2'], { onStderr: (t) => t.includes('watching') && ready() });
    await watching;
    await ok(['put', 'zz/any', 'x']);
    await ok(['put', 'aa/any', 'y']);
    const watched = await w;
    assert.equal(watched.code, 0, watched.stderr);
    assert.equal(watched.stdout, 'PUT\nzz/any\nx\nPUT\naa/any\ny\n');

    assert.equal(await ok(['del', '', '--prefix']), `${count + 2}\n`);
    assert.equal(await ok(['get', '', '--from-key', '--count-only']), '0\n');
  });
});
