// etcd's JSON gateway (/v3/...) on the client port, tried as its users try it:
//  1. the same curl requests against a 3-member etcd (Debian's etcd-server) and a 3-member
//     regionstore cluster, answers compared line by line after normalizing only ids,
//     terms, sizes, hashes, versions, ports and a lease's remaining TTL (HTTP status and
//     every other field must be equal, revisions included);
//  2. the own test suite of a gateway client from a registry, Debian's python3-etcd3gw
//     (npm has no client of etcd's JSON gateway: etcd3 speaks gRPC, node-etcd the v2 API),
//     run against the regionstore cluster.
// Each part skips loudly when its tool is missing.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEtcd, startRegionstore, type Target } from './differential/targets.js';
import { haveTool, run } from './helpers/cluster.js';

const CURL_TIMEOUT_S = 20;
/** How long a watch stream may take to print its next line. */
const WATCH_LINE_WAIT_MS = 15_000;

const b64 = (s: string): string => Buffer.from(s).toString('base64');

interface Step {
  name: string;
  path: string;
  body?: string;
  method?: string;
}

/** The requests, in order; each runs on the first member. Lease ids are chosen (ID 4660), so they need no normalizing. */
const STEPS: Step[] = [
  { name: 'range on an empty store', path: '/v3/kv/range', body: `{"key":"${b64('foo')}"}` },
  { name: 'put', path: '/v3/kv/put', body: `{"key":"${b64('foo')}","value":"${b64('bar')}"}` },
  { name: 'put prev_kv (camelCase name)', path: '/v3/kv/put', body: `{"key":"${b64('foo')}","value":"${b64('baz')}","prevKv":true}` },
  { name: 'put foo/a', path: '/v3/kv/put', body: `{"key":"${b64('foo/a')}","value":"${b64('1')}"}` },
  { name: 'put foo/b', path: '/v3/kv/put', body: `{"key":"${b64('foo/b')}","value":"${b64('2')}"}` },
  { name: 'range with prefix', path: '/v3/kv/range', body: `{"key":"${b64('foo/')}","range_end":"${b64('foo0')}"}` },
  { name: 'range prefix, descending, limit 1', path: '/v3/kv/range', body: `{"key":"${b64('foo/')}","range_end":"${b64('foo0')}","sort_order":"DESCEND","sort_target":"KEY","limit":1}` },
  { name: 'range count_only', path: '/v3/kv/range', body: `{"key":"${b64('foo/')}","range_end":"${b64('foo0')}","count_only":true}` },
  { name: 'range keys_only at revision 3 (number as string)', path: '/v3/kv/range', body: `{"key":"${b64('foo')}","keys_only":true,"revision":"3"}` },
  { name: 'range all keys from \\0', path: '/v3/kv/range', body: `{"key":"AA==","range_end":"AA=="}` },
  { name: 'range at a future revision', path: '/v3/kv/range', body: `{"key":"${b64('foo')}","revision":"1000"}` },
  { name: 'range without a key', path: '/v3/kv/range', body: '{}' },
  {
    name: 'txn that succeeds',
    path: '/v3/kv/txn',
    body: JSON.stringify({
      compare: [{ key: b64('foo'), target: 'VALUE', result: 'EQUAL', value: b64('baz') }, { key: b64('foo'), target: 'MOD', result: 'EQUAL', mod_revision: '3' }],
      success: [{ request_put: { key: b64('t'), value: b64('yes') } }, { request_range: { key: b64('foo') } }, { request_delete_range: { key: b64('foo/a'), prev_kv: true } }],
      failure: [{ request_put: { key: b64('t'), value: b64('no') } }],
    }),
  },
  {
    name: 'txn that fails (revision guard in etcd numbering)',
    path: '/v3/kv/txn',
    body: JSON.stringify({
      compare: [{ key: b64('foo'), target: 'MOD', result: 'GREATER', mod_revision: 3 }],
      success: [{ requestPut: { key: b64('t'), value: b64('yes') } }],
      failure: [{ requestRange: { key: b64('t') } }, { request_txn: {} }],
    }),
  },
  { name: 'txn with a duplicate key', path: '/v3/kv/txn', body: JSON.stringify({ success: [{ request_put: { key: b64('d') } }, { request_put: { key: b64('d') } }] }) },
  { name: 'lease grant with a chosen ID', path: '/v3/lease/grant', body: '{"TTL":60,"ID":4660}' },
  { name: 'put with the lease', path: '/v3/kv/put', body: `{"key":"${b64('leased')}","value":"${b64('v')}","lease":"4660"}` },
  { name: 'lease timetolive with keys', path: '/v3/lease/timetolive', body: '{"ID":"4660","keys":true}' },
  { name: 'lease timetolive through the kv/lease alias', path: '/v3/kv/lease/timetolive', body: '{"ID":4660}' },
  { name: 'lease leases', path: '/v3/lease/leases', body: '{}' },
  { name: 'lease keepalive (one answer, stream ends with the body)', path: '/v3/lease/keepalive', body: '{"ID":"4660"}' },
  { name: 'lease keepalive of an unknown lease', path: '/v3/lease/keepalive', body: '{"ID":"5"}' },
  { name: 'lease revoke', path: '/v3/lease/revoke', body: '{"ID":"4660"}' },
  { name: 'range after the revoke', path: '/v3/kv/range', body: `{"key":"${b64('leased')}"}` },
  { name: 'lease revoke of an unknown lease', path: '/v3/kv/lease/revoke', body: '{"ID":"4660"}' },
  { name: 'deleterange with prefix and prev_kv', path: '/v3/kv/deleterange', body: `{"key":"${b64('foo/')}","range_end":"${b64('foo0')}","prev_kv":true}` },
  { name: 'compaction', path: '/v3/kv/compaction', body: '{"revision":"4"}' },
  { name: 'range at a compacted revision', path: '/v3/kv/range', body: `{"key":"${b64('foo')}","revision":3}` },
  { name: 'status', path: '/v3/maintenance/status', body: '{}' },
  { name: 'member list', path: '/v3/cluster/member/list', body: '{}' },
  { name: 'hash', path: '/v3/maintenance/hash', body: '{}' },
  { name: 'the 3.4 beta prefix', path: '/v3beta/kv/range', body: `{"key":"${b64('t')}"}` },
  { name: 'an unknown enum name', path: '/v3/kv/range', body: `{"key":"${b64('foo')}","sort_order":"SIDEWAYS"}` },
  { name: 'bad base64', path: '/v3/kv/range', body: '{"key":"not base64!"}' },
  { name: 'not JSON', path: '/v3/kv/range', body: 'garbage' },
  { name: 'an unknown field is ignored', path: '/v3/kv/range', body: `{"key":"${b64('t')}","no_such_field":1}` },
  { name: 'an unknown path', path: '/v3/kv/nothing', body: '{}' },
  { name: 'GET on a POST route', path: '/v3/kv/range', method: 'GET' },
];

interface Answer {
  status: string;
  body: string;
}

async function curl(hostPort: string, step: Step): Promise<Answer> {
  const args = ['-s', '--max-time', String(CURL_TIMEOUT_S), '-w', '\n%{http_code}', '-X', step.method ?? 'POST'];
  if (step.body !== undefined) args.push('-d', step.body);
  const r = await run('curl', [...args, `http://${hostPort}${step.path}`]);
  const text = r.stdout.replace(/\n$/, '');
  const cut = text.lastIndexOf('\n');
  return { status: text.slice(cut + 1), body: text.slice(0, cut) };
}

/** A watch over curl: prints `created`, then one event per put made through the gateway. */
async function watchSteps(target: Target): Promise<string[]> {
  const hp = target.hostPorts[0]!;
  const body = JSON.stringify({ create_request: { key: b64('w'), prev_kv: true } });
  const p = spawn('curl', ['-s', '-N', '--max-time', '60', '-X', 'POST', '-d', body, `http://${hp}/v3/watch`]);
  let text = '';
  const waiters: Array<() => void> = [];
  p.stdout.on('data', (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const lines = (): string[] => text.split('\n').filter((l) => l !== '');
  const waitLines = async (n: number): Promise<void> => {
    const deadline = Date.now() + WATCH_LINE_WAIT_MS;
    while (lines().length < n) {
      if (Date.now() > deadline) throw new Error(`watch on ${target.system}: waited for ${n} lines, got:\n${text}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  };
  const out: string[] = [];
  try {
    await waitLines(1);
    for (const [i, v] of ['1', '2'].entries()) {
      const put = await curl(hp, { name: 'put w', path: '/v3/kv/put', body: `{"key":"${b64('w')}","value":"${b64(v)}"}` });
      out.push(`put w=${v}: ${put.status} ${put.body}`);
      await waitLines(2 + i);
    }
    const del = await curl(hp, { name: 'delete w', path: '/v3/kv/deleterange', body: `{"key":"${b64('w')}"}` });
    out.push(`delete w: ${del.status} ${del.body}`);
    await waitLines(4);
  } finally {
    p.kill('SIGTERM');
  }
  return [...out, ...lines().map((l) => `watch line: ${l}`)];
}

/** Replaces what is chance or environment; keys sorted (JSON has no field order; etcd 3.4 and 3.5 order error bodies differently). */
function normalize(target: Target, line: string): string {
  const names = new Map<string, string>();
  for (const m of target.members) names.set(m.id, m.name);
  const ports = new Map<string, string>();
  for (const m of target.members) {
    ports.set(String(m.clientPort), `${m.name}-client`);
    ports.set(String(m.peerPort), `${m.name}-peer`);
  }
  const fixed: Record<string, string> = {
    cluster_id: '<cluster>', raft_term: '<term>', raftTerm: '<term>', raftIndex: '<index>', raftAppliedIndex: '<index>',
    dbSize: '<size>', dbSizeInUse: '<size>', hash: '<hash>',
  };
  const walk = (v: unknown, key: string, timeToLive: boolean): unknown => {
    if (Array.isArray(v)) {
      const items = v.map((x) => walk(x, key, timeToLive));
      return key === 'members' ? items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : items;
    }
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const isTtl = timeToLive || 'grantedTTL' in o;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, walk(o[k], k, isTtl)]));
    }
    if (typeof v !== 'string' && typeof v !== 'number') return v;
    if (fixed[key] !== undefined) return fixed[key];
    if (key === 'TTL' && timeToLive) return '<remaining ttl>';
    // The server's version (Status); a key's version is a number in a string.
    if (key === 'version' && String(v).includes('.')) return '<version>';
    if (key === 'member_id' || key === 'leader' || key === 'ID') return names.get(String(v)) ?? v;
    if (typeof v === 'string') return v.replace(/127\.0\.0\.1:(\d+)/g, (m, port: string) => ports.get(port) ?? m);
    return v;
  };
  const m = /^(.*?: (?:\d{3} )?)(.*)$/s.exec(line);
  if (m === null) return line;
  try {
    return m[1]! + JSON.stringify(walk(JSON.parse(m[2]!), '', false));
  } catch {
    return line;
  }
}

async function transcript(target: Target): Promise<string[]> {
  const out: string[] = [];
  for (const step of STEPS) {
    const a = await curl(target.hostPorts[0]!, step);
    out.push(`${step.name}: ${a.status} ${a.body}`);
  }
  out.push(...(await watchSteps(target)));
  return out.map((l) => normalize(target, l));
}

const haveCurl = haveTool('curl', 'curl');
const haveEtcd = haveTool('etcd', 'etcd-server');

describe('JSON gateway', { concurrency: false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rs-gateway-'));
  let rs: Target | undefined;

  before(async () => {
    if (!haveCurl) return;
    rs = await startRegionstore(dir, () => {});
  });
  after(async () => {
    await rs?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('curl answers are the same as a real etcd\'s', { timeout: 240_000 }, async (t) => {
    if (!haveCurl) return t.skip('curl is not installed: apt-get install curl');
    if (!haveEtcd) return t.skip('etcd is not installed: apt-get install etcd-server');
    const etcd = await startEtcd(dir, () => {});
    let want: string[];
    try {
      want = await transcript(etcd);
    } finally {
      await etcd.stop();
    }
    const got = await transcript(rs!);
    if (process.env.RS_TEST_VERBOSE !== undefined) console.log(got.join('\n'));
    // Every step answered, plus the watch's 2 puts, 1 delete and 4 stream lines.
    assert.equal(want.length, STEPS.length + 7, want.join('\n'));
    const diff: string[] = [];
    for (let i = 0; i < Math.max(want.length, got.length); i++) {
      if (want[i] !== got[i]) diff.push(`- etcd:        ${want[i] ?? '(none)'}`, `+ regionstore: ${got[i] ?? '(none)'}`);
    }
    assert.deepEqual(diff, [], `gateway answers differ from etcd's:\n${diff.join('\n')}`);
  });

  test('answers only regionstore gives as etcd 3.5 does (etcd 3.4 differs)', { timeout: 60_000 }, async (t) => {
    if (!haveCurl) return t.skip('curl is not installed: apt-get install curl');
    const hp = rs!.hostPorts[0]!;
    // etcd 3.5 routes /v3/auth/* (3.4 has no AuthStatus); a fresh store's auth revision is 1.
    const auth = await curl(hp, { name: 'auth', path: '/v3/auth/status', body: '{}' });
    assert.equal(auth.status, '200', auth.body);
    assert.match(auth.body, /"authRevision":"1"/);
    // etcd 3.3's prefix, which Debian's etcd3gw calls by default.
    const alpha = await curl(hp, { name: 'alpha', path: '/v3alpha/maintenance/status', body: '' });
    assert.equal(alpha.status, '200');
    assert.match(alpha.body, /"version":"3\.5\.\d+"/);
    // The snapshot stream: base64 blobs counting down to remaining_bytes 0 (left out at 0).
    const snap = await curl(hp, { name: 'snapshot', path: '/v3/maintenance/snapshot', body: '{}' });
    assert.equal(snap.status, '200');
    const chunks = snap.body.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { result: { remaining_bytes?: string; blob: string } }).result);
    assert.ok(chunks.length >= 2);
    assert.equal(chunks.at(-1)!.remaining_bytes, undefined);
    assert.equal(Buffer.from(chunks.at(-1)!.blob, 'base64').length, 32, 'the last message carries the sha256');
  });

  test('python3-etcd3gw\'s own test suite passes against the cluster', { timeout: 180_000 }, async (t) => {
    if (!haveCurl) return t.skip('curl is not installed: apt-get install curl');
    const python = '/usr/bin/python3';
    const missing = ['etcd3gw', 'oslotest'].filter((m) => !existsSync(`/usr/lib/python3/dist-packages/${m}`));
    if (!existsSync(python) || missing.length > 0) {
      console.error(`\n!!! SKIPPING: python3-etcd3gw's suite needs Debian's ${missing.map((m) => `python3-${m}`).join(' ')} (.ci/run installs them) !!!\n`);
      return t.skip(`not installed: apt-get install python3-etcd3gw python3-oslotest`);
    }
    const [host, port] = rs!.hostPorts[0]!.split(':') as [string, string];
    const runner = join(dir, 'run_etcd3gw_suite.py');
    writeFileSync(runner, ETCD3GW_RUNNER);
    const r = await run(python, [runner, host, port], undefined, 170_000);
    const summary = `${r.stdout}\n${r.stderr}`;
    assert.match(summary, /\nOK\b/, `etcd3gw suite failed:\n${summary.slice(-6000)}`);
    const ran = /Ran (\d+) tests?/.exec(summary);
    assert.ok(ran !== null && Number(ran[1]) >= 20, `expected the whole suite to run:\n${summary.slice(-3000)}`);
    assert.doesNotMatch(summary, /skipped=/, `no test may skip (the suite skips all when it finds no server):\n${summary.slice(-3000)}`);
  });
});

/**
 * Runs etcd3gw's unittest suite unchanged, pointed at our member: the suite looks for etcd
 * at 127.0.0.1:2379 (a fixed port the tests here must not take), so the runner sends the
 * HTTP requests for that address (the suite's probe and the client's) to the given one.
 */
const ETCD3GW_RUNNER = `
import sys, unittest, requests, urllib3
address = '%s:%s' % (sys.argv[1], sys.argv[2])
def moved(url):
    return url.replace('localhost:2379', address).replace('127.0.0.1:2379', address)
_probe = urllib3.PoolManager.request
urllib3.PoolManager.request = lambda self, method, url, *a, **k: _probe(self, method, moved(url), *a, **k)
_request = requests.Session.request
requests.Session.request = lambda self, method, url, *a, **k: _request(self, method, moved(url), *a, **k)
suite = unittest.defaultTestLoader.loadTestsFromNames(['etcd3gw.tests.test_etcd3gw', 'etcd3gw.tests.test_client'])
result = unittest.TextTestRunner(verbosity=2).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)
`;
