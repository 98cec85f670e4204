// etcd's --auto-tls / --peer-auto-tls: a 3-member cluster whose client and peer ports speak
// TLS with self-signed certificates made in <data-dir>/fixtures/{client,peer} (openssl),
// peers not verified (etcd's meaning). rsctl and etcdctl reach it without verifying the
// certificate; HTTP/1.1 (curl: /health and the JSON gateway) works on the TLS port too.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../cluster/launcher.js';
import { hasOpenssl } from './helpers/certs.js';
import { startTlsCluster, type TlsCluster } from './helpers/tls-cluster.js';

const haveOpenssl = hasOpenssl();
const haveEtcdctl = spawnSync('etcdctl', ['version'], { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0;
const haveCurl = spawnSync('curl', ['--version']).status === 0;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (err, out, errText) =>
      resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), out: String(out), err: String(errText) }));
  });
}

let cluster: TlsCluster;

describe('TLS: --auto-tls and --peer-auto-tls', { skip: !haveOpenssl && 'openssl not installed: apt-get install openssl' }, () => {
  before(async () => {
    cluster = await startTlsCluster({ flags: () => ['--auto-tls', '--peer-auto-tls'] });
  });
  after(async () => {
    await cluster?.cleanup();
  });

  it('makes the certificates in the data dir and serves rsctl, etcdctl and curl over TLS', async (t) => {
    for (const m of cluster.members) {
      for (const f of ['client/cert.pem', 'client/key.pem', 'peer/cert.pem', 'peer/key.pem']) assert.ok(existsSync(join(m.dataDir, 'fixtures', f)), `${m.name}: ${f}`);
    }
    const eps = cluster.members.map((m) => m.clientUrl).join(',');
    const rsctl = [join(REPO_ROOT, 'client', 'rsctl', 'main.ts')];
    const put = await run(process.execPath, ['--import', 'tsx', ...rsctl, '--endpoints', eps, '--insecure-skip-tls-verify', 'put', 'auto/a', 'b']);
    assert.equal(put.code, 0, put.err);
    const plain = await run(process.execPath, ['--import', 'tsx', ...rsctl, '--endpoints', cluster.hostPorts.join(','), '--command-timeout', '3s', 'get', 'auto/a']);
    assert.notEqual(plain.code, 0, 'plaintext to a TLS port fails');
    if (!haveEtcdctl) t.diagnostic('etcdctl not installed: apt-get install etcd-client (its part skipped)');
    else {
      const get = await run('etcdctl', ['--endpoints', eps, '--insecure-transport=false', '--insecure-skip-tls-verify', 'get', 'auto/a', '--print-value-only'], { ETCDCTL_API: '3' });
      assert.equal(get.out.trim(), 'b', get.err);
    }
    if (!haveCurl) return t.skip('curl not installed: apt-get install curl');
    const health = await run('curl', ['-sk', '--max-time', '10', `${cluster.members[0]!.clientUrl}/health`]);
    assert.equal(health.out.trim(), '{"health":"true","reason":""}');
    const range = await run('curl', ['-sk', '--max-time', '10', `${cluster.members[1]!.clientUrl}/v3/kv/range`, '-d', JSON.stringify({ key: Buffer.from('auto/a').toString('base64') })]);
    assert.match(range.out, /"value":"Yg=="/, range.out + range.err);
  });
});
