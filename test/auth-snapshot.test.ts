// etcd's auth state travels in etcd-format snapshots both ways (issue 16): users, roles and
// the enabled flag of a regionstore cluster restore into a real etcd, whose Go bcrypt
// verifies the hashes regionstore wrote; and an etcd snapshot with users etcd added
// restores into 3 regionstore members, where etcd's hashes verify.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { startCluster, type LocalCluster } from '../cluster/launcher.js';
import { pickFreePorts } from '../cluster/ports.js';
import { newPlan, nodeUrls, serveArgs, writeClusterFile } from '../cluster/plan.js';
import { etcdctl, eventually, haveTool, run, startTestCluster, type TestCluster } from './helpers/cluster.js';

const REPO_ROOT = new URL('..', import.meta.url).pathname;
const HAVE_ETCD = haveTool('etcdctl', 'etcd-client') && haveTool('etcd', 'etcd-server');

async function ok(ep: string, ...args: string[]): Promise<string> {
  const r = await etcdctl(ep, args);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')} on ${ep}: ${r.stderr}`);
  return r.stdout;
}

describe('auth state in etcd-format snapshots, both ways', { skip: !HAVE_ETCD, timeout: 240_000 }, () => {
  let c: TestCluster | undefined;
  let etcd: ChildProcess | undefined;
  let restored: LocalCluster | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'rs-auth-snap-'));
  after(async () => {
    etcd?.kill('SIGKILL');
    await restored?.stop().catch(() => undefined);
    await c?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('regionstore -> etcd -> regionstore keeps users, roles, hashes and the enabled flag', async () => {
    c = await startTestCluster({ timings: 'etcd', extraArgs: ['--bcrypt-cost', '4'] });
    const ep = c.hostPorts[0]!;
    await ok(ep, 'user', 'add', 'root:rootpw');
    await ok(ep, 'user', 'add', 'alice:alicepw');
    await ok(ep, 'role', 'add', 'reader');
    await ok(ep, 'role', 'grant-permission', 'reader', 'read', '--prefix', 'app/');
    await ok(ep, 'user', 'grant-role', 'alice', 'reader');
    await ok(ep, 'auth', 'enable');
    await ok(ep, '--user', 'root:rootpw', 'put', 'app/k', 'v');
    const fromRs = join(dir, 'from-regionstore.db');
    await ok(ep, '--user', 'root:rootpw', 'snapshot', 'save', fromRs);

    // Into a real etcd: regionstore's bcrypt hashes verify in Go's bcrypt.
    const [peer, client] = await pickFreePorts(2);
    const data = join(dir, 'etcd');
    const restore = await run('etcdctl', ['snapshot', 'restore', fromRs, '--data-dir', data, '--name', 'r1',
      '--initial-cluster', `r1=http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`]);
    assert.equal(restore.code, 0, restore.stderr);
    etcd = spawn('etcd', ['--name', 'r1', '--data-dir', data,
      '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `r1=http://127.0.0.1:${peer}`], { stdio: 'ignore' });
    const etcdEp = `127.0.0.1:${client}`;
    await eventually('the restored etcd', async () => ((await etcdctl(etcdEp, ['--user', 'root:rootpw', 'endpoint', 'health'])).code === 0 ? true : undefined), 30_000);
    assert.equal(await ok(etcdEp, '--user', 'alice:alicepw', 'get', 'app/k', '--print-value-only'), 'v\n');
    assert.match((await etcdctl(etcdEp, ['--user', 'alice:alicepw', 'put', 'app/k', 'x'])).stderr, /etcdserver: permission denied/);
    assert.match((await etcdctl(etcdEp, ['get', 'app/k'])).stderr, /etcdserver: user name is empty/, 'auth is still enabled');

    // etcd adds a user (hashed by Go's bcrypt), and its snapshot comes back into regionstore.
    await ok(etcdEp, '--user', 'root:rootpw', 'user', 'add', 'bob:bobpw');
    await ok(etcdEp, '--user', 'root:rootpw', 'user', 'grant-role', 'bob', 'reader');
    const fromEtcd = join(dir, 'from-etcd.db');
    await ok(etcdEp, '--user', 'root:rootpw', 'snapshot', 'save', fromEtcd);
    const base = join(dir, 'rs-restored');
    const plan = await newPlan(3);
    plan.token = 'restored-auth';
    writeClusterFile(base, plan);
    for (const node of plan.nodes) {
      const a = serveArgs(plan, node, base);
      const flag = (name: string): string => a[a.indexOf(name) + 1]!;
      const r = await run(process.execPath, [
        '--import', 'tsx', join(REPO_ROOT, 'server', 'main.ts'), 'snapshot', 'restore', fromEtcd,
        '--data-dir', nodeUrls(plan, node, base).dataDir, '--name', node.name,
        '--initial-cluster', flag('--initial-cluster'), '--initial-cluster-token', plan.token,
        '--initial-advertise-peer-urls', flag('--initial-advertise-peer-urls'),
      ], undefined, 60_000);
      assert.equal(r.code, 0, `restore ${node.name}: ${r.stderr}`);
      assert.match(r.stdout, /3 users, 2 roles, auth enabled/);
    }
    restored = await startCluster({ dataDir: base, nodes: 3, ready: 'healthy', readyTimeoutMs: 30_000, onLine: () => {} });
    for (const n of restored.nodes) {
      const one = n.clientUrl.replace(/^https?:\/\//, '');
      assert.equal(await ok(one, '--user', 'bob:bobpw', 'get', 'app/k', '--print-value-only'), 'v\n', `etcd's hash verifies on ${n.name}`);
      assert.equal(await ok(one, '--user', 'alice:alicepw', 'get', 'app/k', '--print-value-only'), 'v\n');
      assert.match((await etcdctl(one, ['--user', 'bob:bobpw', 'put', 'app/k', 'x'])).stderr, /etcdserver: permission denied/);
    }
    assert.equal(await ok(restored.nodes[0]!.clientUrl.replace(/^https?:\/\//, ''), '--user', 'root:rootpw', 'user', 'list'), 'alice\nbob\nroot\n');
  });
});
