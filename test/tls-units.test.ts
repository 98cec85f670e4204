// TLS pieces without a cluster: the serve and edge flags (etcd's names, https:// URLs, the
// refusals), --cipher-suites, auto-TLS certificates, the listener's cipher policy and
// client-cert-auth, and the device an edge certificate names.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { parseEdgeFlags } from '../server/config/edge-flags.js';
import { parseServeFlags } from '../server/config/serve-flags.js';
import { certificateRefusal, devicesNamedBy } from '../server/region/edge-host/identity.js';
import { ensureSelfSignedCert } from '../server/util/auto-tls.js';
import { parseCipherSuites } from '../server/util/cipher-suites.js';
import { createTlsListener, type TlsListener } from '../server/util/tls-server.js';
import { hasOpenssl, makeCa, type CertFiles, type TestCa } from './helpers/certs.js';

const haveOpenssl = hasOpenssl();

function errorsOf(argv: string[]): string {
  const r = parseServeFlags(argv);
  assert.equal(r.kind, 'error', JSON.stringify(r));
  return (r as { errors: string[] }).errors.join('\n');
}

const PEERS = ['--initial-cluster', 'a=https://127.0.0.1:2380', '--listen-peer-urls', 'https://127.0.0.1:2380', '--name', 'a'];

describe('TLS flags of regionstore serve', () => {
  it('reads etcd\'s flags; a bool flag alone means true', () => {
    const r = parseServeFlags([
      '--listen-client-urls', 'https://127.0.0.1:2379', '--cert-file', 'c.pem', '--key-file', 'k.pem', '--trusted-ca-file', 'ca.pem',
      '--client-cert-auth', ...PEERS, '--peer-auto-tls', '--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
    ]);
    assert.equal(r.kind, 'config', JSON.stringify(r));
    const c = (r as unknown as { config: { tls: Record<string, unknown>; listenClientUrls: Array<{ scheme: string }> } }).config;
    assert.equal(c.listenClientUrls[0]!.scheme, 'https');
    assert.deepEqual(c.tls['client'], { clientCertAuth: true, autoTls: false, certFile: 'c.pem', keyFile: 'k.pem', trustedCaFile: 'ca.pem' });
    assert.deepEqual(c.tls['peer'], { clientCertAuth: false, autoTls: true });
    assert.match(String(c.tls['ciphers']), /ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384$/);
  });

  it('reads ETCD_* variables as etcd does', () => {
    const r = parseServeFlags(['--listen-client-urls', 'https://127.0.0.1:2379'], { ETCD_AUTO_TLS: 'true' });
    assert.equal(r.kind, 'config', JSON.stringify(r));
  });

  it('refuses https:// without a certificate, a mix of schemes, client-cert-auth without a CA, and half a pair', () => {
    assert.match(errorsOf(['--listen-client-urls', 'https://127.0.0.1:2379']), /use https:\/\/ but no certificate is given/);
    assert.match(errorsOf(['--listen-client-urls', 'https://127.0.0.1:2379,http://127.0.0.1:3379', '--auto-tls']), /mixes http:\/\/ and https:\/\//);
    assert.match(errorsOf(['--listen-client-urls', 'https://127.0.0.1:2379', '--cert-file', 'c', '--key-file', 'k', '--client-cert-auth']),
      /--client-cert-auth: needs --trusted-ca-file/);
    assert.match(errorsOf(['--listen-client-urls', 'https://127.0.0.1:2379', '--cert-file', 'c']), /--cert-file: needs --key-file/);
    assert.match(errorsOf(['--name', 'a', '--listen-peer-urls', 'https://127.0.0.1:2380', '--peer-auto-tls', '--initial-cluster', 'a=https://127.0.0.1:2380,b=http://127.0.0.1:3380']),
      /every member's peer port is TLS or none is/);
    assert.match(errorsOf(['--listen-client-urls', 'https://127.0.0.1:2379', '--auto-tls', '--advertise-client-urls', 'http://127.0.0.1:2379']),
      /--advertise-client-urls: must use the listen client URLs' scheme/);
  });

  it('warns when TLS files are given for an http:// port', () => {
    const r = parseServeFlags(['--cert-file', 'c', '--key-file', 'k']);
    assert.equal(r.kind, 'config');
    assert.match((r as { warnings: string[] }).warnings.join('\n'), /client TLS flags are given but the client URLs are http:\/\//);
  });

  it('refuses an unknown cipher suite by name, listing the known ones', () => {
    const e = errorsOf(['--cipher-suites', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_NOPE']);
    assert.match(e, /--cipher-suites: unknown cipher suite TLS_NOPE; known \(Go's names, as etcd takes them\): TLS_RSA_WITH_RC4_128_SHA,/);
    assert.match(errorsOf(['--cipher-suites', 'TLS_RSA_WITH_RC4_128_SHA']), /--cipher-suites: TLS_RSA_WITH_RC4_128_SHA is not available in this Node's OpenSSL/);
    const ok = parseCipherSuites('TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305');
    assert.ok(ok.ok && ok.ciphers.startsWith('TLS_AES_128_GCM_SHA256:') && ok.ciphers.endsWith('ECDHE-RSA-CHACHA20-POLY1305'));
  });
});

describe('TLS flags of regionstore edge', () => {
  it('dials the region over TLS with https:// or a CA, and needs a certificate for an https:// port', () => {
    const r = parseEdgeFlags(['--name', 'd1', '--region', 'https://127.0.0.1:2379', '--cert-file', 'c', '--key-file', 'k'], {});
    assert.equal(r.kind, 'config', JSON.stringify(r));
    const c = (r as { config: { region: string[]; tls: unknown } }).config;
    assert.deepEqual(c.region, ['127.0.0.1:2379']);
    assert.deepEqual(c.tls, { region: true, certFile: 'c', keyFile: 'k' });
    const bad = parseEdgeFlags(['--name', 'd1', '--region', '127.0.0.1:2379', '--listen-client-urls', 'https://127.0.0.1:1', '--key-file', 'k'], {});
    assert.equal(bad.kind, 'error');
    assert.match((bad as { errors: string[] }).errors.join('\n'), /--cert-file and --key-file go together/);
  });
});

describe('edge identity from a certificate', () => {
  it('names a device by CN edge:<device>, a bare CN, or a URI SAN', () => {
    assert.deepEqual(devicesNamedBy({ commonName: 'edge:truck-17', uris: [] }), ['truck-17']);
    assert.deepEqual(devicesNamedBy({ commonName: 'pump', uris: ['urn:regionstore:edge:pump-2', 'spiffe://x'] }), ['pump', 'pump-2']);
    assert.equal(certificateRefusal(undefined, 'anything'), undefined, 'no certificate (no TLS): nothing to hold the HELLO to');
    assert.equal(certificateRefusal({ commonName: 'edge:a', uris: [] }, 'a'), undefined);
    assert.match(certificateRefusal({ commonName: 'edge:a', uris: [] }, 'b') ?? '', /claims device "b" but the client certificate \(CN "edge:a"\) names "a"/);
  });
});

describe('the TLS listener', { skip: !haveOpenssl && 'openssl not installed: apt-get install openssl' }, () => {
  let dir: string;
  let ca: TestCa;
  let server: CertFiles;
  let client: CertFiles;
  const listeners: TlsListener[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rs-tls-units-'));
    ca = makeCa(join(dir, 'ca'));
    server = ca.issue('server', { server: true });
    client = ca.issue('client', { cn: 'alice' });
  });
  after(async () => {
    for (const l of listeners) {
      l.stopWatching();
      await new Promise((r) => l.server.close(r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function listen(l: TlsListener): Promise<number> {
    listeners.push(l);
    await new Promise<void>((r) => l.server.listen(0, '127.0.0.1', r));
    return (l.server.address() as { port: number }).port;
  }

  function hello(port: number, opts: { ciphers?: string; cert?: CertFiles; maxVersion?: 'TLSv1.2' }): Promise<string> {
    return new Promise((resolve) => {
      const s = connect({
        host: '127.0.0.1', port, ca: readFileSync(ca.cert), ALPNProtocols: ['h2'], ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
        ...(opts.ciphers ? { ciphers: opts.ciphers } : {}), ...(opts.cert ? { cert: readFileSync(opts.cert.cert), key: readFileSync(opts.cert.key) } : {}),
      });
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString());
      });
      s.once('error', (e) => resolve(`error: ${e.message}`));
      s.once('close', () => resolve('closed'));
    });
  }

  it('keeps the cipher policy of --cipher-suites for TLS 1.2', async () => {
    const parsed = parseCipherSuites('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    assert.ok(parsed.ok);
    const l = createTlsListener({ certFile: server.cert, keyFile: server.key, clientCertAuth: false, ciphers: parsed.ciphers }, ['h2'], (s) => s.end('hi'));
    const port = await listen(l);
    assert.equal(await hello(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }), 'hi');
    assert.match(await hello(port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }), /error|closed/);
  });

  it('with client-cert-auth refuses a client without a certificate and names one with', async () => {
    const seen: string[] = [];
    const l = createTlsListener({ certFile: server.cert, keyFile: server.key, trustedCaFile: ca.cert, clientCertAuth: true }, ['h2'], (s) => {
      seen.push(l.identities.of(`${s.remoteAddress}:${s.remotePort}`)?.commonName ?? '?');
      s.end('hi');
    });
    const port = await listen(l);
    assert.match(await hello(port, {}), /error|closed/);
    assert.equal(await hello(port, { cert: client }), 'hi');
    assert.deepEqual(seen, ['alice']);
  });

  it('auto-TLS makes a self-signed certificate once and reuses it', async () => {
    const fixtures = join(dir, 'data', 'fixtures', 'client');
    const a = await ensureSelfSignedCert(fixtures, ['127.0.0.1']);
    const first = readFileSync(a.certFile);
    const b = await ensureSelfSignedCert(fixtures, ['127.0.0.1']);
    assert.deepEqual(readFileSync(b.certFile), first, 'a restart keeps the certificate');
    const l = createTlsListener({ ...a, clientCertAuth: false }, ['h2'], (s) => s.end('hi'));
    const port = await listen(l);
    const answer = await new Promise<string>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
      s.once('data', (d) => resolve(d.toString()));
      s.once('error', (e) => resolve(`error: ${e.message}`));
    });
    assert.equal(answer, 'hi');
  });
});
