// TLS everywhere (issue 16), against real processes and real certificates made here with
// openssl: a 3-member cluster whose client and peer ports are TLS with client-cert-auth on
// both; etcdctl with --cacert --cert --key; a client without a certificate refused; the
// client library over https://; a peer with a certificate of another CA refused while the
// cluster keeps serving; certificate reload without restart; CN-based auth.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Client } from '../client/index.js';
import { hasOpenssl, makeCa, type CertFiles, type TestCa } from './helpers/certs.js';
import { eventually } from './helpers/cluster.js';
import { startTlsCluster, type TlsCluster } from './helpers/tls-cluster.js';

const haveOpenssl = hasOpenssl();
const haveEtcdctl = spawnSync('etcdctl', ['version'], { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0;

let dir: string;
let ca: TestCa;
let evil: TestCa;
let members: CertFiles[];
let root: CertFiles;
let alice: CertFiles;
let cluster: TlsCluster;

function memberFlags(c: CertFiles, caFile: string): string[] {
  return [
    '--cert-file', c.cert, '--key-file', c.key, '--trusted-ca-file', caFile, '--client-cert-auth',
    '--peer-cert-file', c.cert, '--peer-key-file', c.key, '--peer-trusted-ca-file', caFile, '--peer-client-cert-auth',
  ];
}

function etcdctl(args: string[], who: CertFiles | undefined, endpoints = cluster.members.map((m) => m.clientUrl).join(',')): Promise<{ code: number; out: string; err: string }> {
  const tls = ['--cacert', ca.cert, ...(who === undefined ? [] : ['--cert', who.cert, '--key', who.key])];
  return new Promise((resolve) => {
    execFile('etcdctl', ['--endpoints', endpoints, '--dial-timeout', '3s', '--command-timeout', '10s', ...tls, ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 },
      (err, out, errText) => resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), out: String(out), err: String(errText) }));
  });
}

/** The CN of the certificate a TLS port presents to a new connection. */
function servedCn(hostPort: string, client: CertFiles): Promise<string> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, ca: readCa(), cert: read(client.cert), key: read(client.key), ALPNProtocols: ['h2'] }, () => {
      const cn = s.getPeerCertificate().subject.CN;
      s.destroy();
      resolve(String(Array.isArray(cn) ? cn[0] : cn));
    });
    s.on('error', reject);
  });
}

/** A counter summed over members' /metrics, lines holding `labels`. */
async function metricSum(name: string, labels: string, which = cluster.members): Promise<number> {
  let total = 0;
  for (const m of which) {
    const text = await fetch(`${m.metricsUrl}/metrics`).then((r) => r.text(), () => '');
    for (const line of text.split('\n')) if (line.startsWith(`${name}{`) && line.includes(labels)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

const read = (p: string): Buffer => readFileSync(p);
const readCa = (): Buffer => readFileSync(ca.cert);

describe('TLS: client and peer ports with client-cert-auth', { skip: !haveOpenssl && 'openssl not installed: apt-get install openssl' }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rs-tls-certs-'));
    ca = makeCa(join(dir, 'ca'), 'ca');
    evil = makeCa(join(dir, 'evil'), 'evil-ca');
    members = [1, 2, 3].map((i) => ca.issue(`t${i}`, { server: true }));
    root = ca.issue('root-client', { cn: 'root' });
    alice = ca.issue('alice-client', { cn: 'alice' });
    cluster = await startTlsCluster({ flags: (i) => memberFlags(members[i]!, ca.cert) });
  });
  after(async () => {
    await cluster?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves etcdctl with --cacert --cert --key, and refuses it without a client certificate', async (t) => {
    if (!haveEtcdctl) return t.skip('etcdctl not installed: apt-get install etcd-client');
    const put = await etcdctl(['put', 'tls/a', 'one'], root);
    assert.equal(put.code, 0, put.err);
    assert.match(put.out, /OK/);
    const get = await etcdctl(['get', 'tls/a', '--print-value-only'], root);
    assert.equal(get.out.trim(), 'one');
    const noCert = await etcdctl(['get', 'tls/a'], undefined);
    assert.notEqual(noCert.code, 0, 'a client without a certificate is refused');
    assert.doesNotMatch(noCert.out, /one/);
    const plain = await etcdctl(['get', 'tls/a'], undefined, cluster.members.map((m) => `http://${m.hostPort}`).join(','));
    assert.notEqual(plain.code, 0, 'plaintext to a TLS port is refused');
    assert.ok((await metricSum('regionstore_tls_handshake_failures_total', 'port="client"')) > 0, 'refused handshakes are counted');
  });

  it('forwards a follower\'s lease renewal to the leader over TLS', async (t) => {
    if (!haveEtcdctl) return t.skip('etcdctl not installed: apt-get install etcd-client');
    const grant = await etcdctl(['lease', 'grant', '60'], root);
    assert.equal(grant.code, 0, grant.err);
    const id = /lease ([0-9a-f]+) granted/.exec(grant.out)?.[1];
    assert.ok(id !== undefined, grant.out);
    // Each member in turn: at least two are followers, which forward to the leader's TLS client port.
    for (const m of cluster.members) {
      const ka = await etcdctl(['lease', 'keep-alive', '--once', id], root, m.clientUrl);
      assert.equal(ka.code, 0, `${m.name}: ${ka.err}`);
      assert.match(ka.out, /keepalived with TTL/);
    }
  });

  it('answers HTTP/1.1 on the TLS port with client certificates: /health and the JSON gateway (which dials its own port with the member\'s certificate)', async (t) => {
    if (spawnSync('curl', ['--version']).status !== 0) return t.skip('curl not installed: apt-get install curl');
    const curl = (args: string[], who: CertFiles | undefined): Promise<string> => new Promise((resolve) => {
      const tls = ['--cacert', ca.cert, ...(who === undefined ? [] : ['--cert', who.cert, '--key', who.key])];
      execFile('curl', ['-s', '--max-time', '10', ...tls, ...args], (_e, out) => resolve(String(out)));
    });
    const m = cluster.members[1]!;
    assert.equal((await curl([`${m.clientUrl}/health`], root)).trim(), '{"health":"true","reason":""}');
    const range = await curl([`${m.clientUrl}/v3/kv/range`, '-d', JSON.stringify({ key: Buffer.from('tls/a').toString('base64') })], root);
    assert.match(range, /"value":"b25l"/, range);
    assert.equal(await curl([`${m.clientUrl}/health`], undefined), '', 'no answer without a client certificate');
  });

  it('serves the client library over https:// with a client certificate; without one every call fails', async () => {
    const c = new Client({ endpoints: cluster.members.map((m) => m.clientUrl), tls: { caFile: ca.cert, certFile: root.cert, keyFile: root.key } });
    try {
      await c.kv.put('tls/lib', 'two');
      assert.equal((await c.kv.get('tls/lib'))?.value.toString(), 'two');
    } finally {
      c.close();
    }
    const anon = new Client({ endpoints: cluster.members.map((m) => m.clientUrl), tls: { caFile: ca.cert }, attempts: 1, timeoutMs: 3_000 });
    try {
      await assert.rejects(anon.kv.get('tls/lib'), (e: Error) => /UNAVAILABLE|DEADLINE|unavailable|deadline/i.test(`${(e as { codeName?: string }).codeName ?? ''} ${e.message}`));
    } finally {
      anon.close();
    }
  });

  it('takes a request without a token as the user its certificate names (CN), with that user\'s permissions', async (t) => {
    if (!haveEtcdctl) return t.skip('etcdctl not installed: apt-get install etcd-client');
    for (const args of [['user', 'add', 'root:rootpw'], ['user', 'add', 'alice:alicepw'], ['auth', 'enable']]) {
      const r = await etcdctl(args, root);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.err}`);
    }
    try {
      const asRoot = await etcdctl(['put', 'tls/cn', 'by-root'], root);
      assert.equal(asRoot.code, 0, `root by CN: ${asRoot.err}`);
      const asAlice = await etcdctl(['put', 'tls/cn', 'by-alice'], alice);
      assert.notEqual(asAlice.code, 0);
      assert.match(asAlice.err, /etcdserver: permission denied/);
      const readBack = await etcdctl(['get', 'tls/cn', '--print-value-only'], root);
      assert.equal(readBack.out.trim(), 'by-root', 'the refused write did not apply');
      // A token still wins over the certificate: alice's certificate with root's password works.
      const withToken = await etcdctl(['--user', 'root:rootpw', 'put', 'tls/cn', 'by-token'], alice);
      assert.equal(withToken.code, 0, withToken.err);
    } finally {
      const off = await etcdctl(['auth', 'disable'], root);
      assert.equal(off.code, 0, off.err);
    }
  });

  it('reloads a replaced certificate without a restart: new connections see it', async () => {
    const m = cluster.members[0]!;
    assert.equal(await servedCn(m.hostPort, root), 't1');
    const renewed = ca.issue('t1-renewed', { server: true, cn: 't1-renewed' });
    const t0 = Date.now();
    copyFileSync(renewed.key, members[0]!.key);
    copyFileSync(renewed.cert, members[0]!.cert);
    await eventually('t1 serves the renewed certificate', async () => ((await servedCn(m.hostPort, root)) === 't1-renewed' ? true : undefined), 20_000, 200);
    console.log(`  the renewed certificate was served ${Date.now() - t0} ms after the files were replaced`);
    assert.ok((await metricSum('regionstore_tls_reloads_total', 'result="loaded"', [m])) > 0, 'the reload is counted');
    // The peer port reloads the same files (peer-cert-file is the same pair here).
    const peerHostPort = m.peerUrl.replace(/^https:\/\//, '');
    await eventually('t1\'s peer port serves it too', async () => ((await servedCn(peerHostPort, root)) === 't1-renewed' ? true : undefined), 20_000, 200);
    const c = new Client({ endpoints: [m.clientUrl], tls: { caFile: ca.cert, certFile: root.cert, keyFile: root.key } });
    try {
      await c.kv.put('tls/after-reload', 'ok');
    } finally {
      c.close();
    }
  });

  it('refuses a peer whose certificate another CA signed; the cluster keeps serving', async () => {
    const stranger = evil.issue('stranger', { server: true, cn: 't3' });
    // A direct handshake with the peer port: refused.
    const peerHostPort = cluster.members[0]!.peerUrl.replace(/^https:\/\//, '');
    const [host, port] = [peerHostPort.slice(0, peerHostPort.lastIndexOf(':')), Number(peerHostPort.slice(peerHostPort.lastIndexOf(':') + 1))];
    const outcome = await new Promise<string>((resolve) => {
      const s = connect({ host, port, cert: read(stranger.cert), key: read(stranger.key), ca: readCa(), ALPNProtocols: ['h2'] }, () => {
        // TLS 1.3: the server's refusal of the client certificate arrives after the client's handshake ends.
        s.once('data', () => resolve('data'));
        s.once('error', (e) => resolve(`error: ${e.message}`));
        s.once('close', () => resolve('closed'));
        s.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      });
      s.on('error', (e) => resolve(`error: ${e.message}`));
    });
    assert.notEqual(outcome, 'data', 'the peer port answered a stranger');
    // t3 restarted with the stranger's certificate and the stranger's CA: it reaches no one.
    const t3 = cluster.members[2]!;
    await cluster.stop(t3);
    const good = t3.args;
    t3.args = good.map((a, i) => {
      const flag = good[i - 1];
      if (flag === '--peer-cert-file') return stranger.cert;
      if (flag === '--peer-key-file') return stranger.key;
      if (flag === '--peer-trusted-ca-file') return evil.cert;
      return a;
    });
    cluster.start(t3);
    const c = new Client({ endpoints: cluster.members.slice(0, 2).map((m) => m.clientUrl), tls: { caFile: ca.cert, certFile: root.cert, keyFile: root.key } });
    try {
      for (let i = 0; i < 5; i++) await c.kv.put(`tls/while-stranger/${i}`, String(i));
      await new Promise((r) => setTimeout(r, 3_000));
      const health = await fetch(`${t3.metricsUrl}/health`).then((r) => r.json() as Promise<{ health: string }>, () => ({ health: 'down' }));
      assert.notEqual(health.health, 'true', 't3 with a stranger\'s certificate must not join the cluster');
      const log = cluster.members[0]!.output.join('') + t3.output.join('');
      assert.doesNotMatch(log, /became leader at term \d+.*"member":"t3"/);
      // Back with its own certificate, t3 catches up.
      await cluster.stop(t3);
      t3.args = good;
      cluster.start(t3);
      await cluster.waitHealthy([t3]);
      const r = new Client({ endpoints: [t3.clientUrl], tls: { caFile: ca.cert, certFile: root.cert, keyFile: root.key } });
      try {
        await eventually('t3 holds the writes made without it', async () => ((await r.kv.get('tls/while-stranger/4', { serializable: true }))?.value.toString() === '4' ? true : undefined), 30_000, 200);
      } finally {
        r.close();
      }
    } finally {
      c.close();
    }
  });
});
