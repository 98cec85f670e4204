// etcd's JWT tokens on a 3-member cluster (--auth-token jwt,...): etcdctl authenticates
// and works against every member, the token is a JWT with etcd's claims, and after an auth
// change an old token is refused as "revision of auth store is old" while etcdctl (which
// authenticates anew on that error) carries on.

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status } from '@grpc/grpc-js';
import { after, before, describe, test } from 'node:test';
import { rawClient } from '../server/api/testing/raw-client.js';
import { etcdctl, haveTool, startTestCluster, type TestCluster } from './helpers/cluster.js';

const HAVE_ETCDCTL = haveTool('etcdctl', 'etcd-client');

/** etcdctl against one endpoint; a non-zero exit fails the test with etcdctl's stderr. */
async function ok(ep: string, ...args: string[]): Promise<string> {
  const r = await etcdctl(ep, args);
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('JWT tokens', { skip: !HAVE_ETCDCTL, timeout: 120_000 }, () => {
  let c: TestCluster;
  const dir = mkdtempSync(join(tmpdir(), 'rs-auth-jwt-'));
  before(async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'jwt.key'), pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    writeFileSync(join(dir, 'jwt.pub'), pair.publicKey.export({ format: 'pem', type: 'spki' }));
    const tokenFlag = `jwt,pub-key=${join(dir, 'jwt.pub')},priv-key=${join(dir, 'jwt.key')},sign-method=RS256,ttl=10m`;
    c = await startTestCluster({ extraArgs: ['--auth-token', tokenFlag, '--bcrypt-cost', '4'] });
  });
  after(async () => {
    await c?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('etcdctl on every member; an old token is refused and clients re-authenticate', async () => {
    const [ep1, ep2, ep3] = c.hostPorts as [string, string, string];
    await ok(ep1, 'user', 'add', 'root:rootpw');
    await ok(ep1, 'auth', 'enable');
    await ok(ep1, '--user', 'root:rootpw', 'put', 'k', 'v');
    for (const ep of [ep2, ep3]) assert.equal(await ok(ep, '--user', 'root:rootpw', 'get', 'k', '--print-value-only'), 'v\n');

    const client = rawClient(ep2);
    try {
      const { token } = await client.unary('Auth', 'Authenticate', { name: 'root', password: 'rootpw' });
      const claims = JSON.parse(Buffer.from(String(token).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
      assert.equal(claims['username'], 'root');
      const md = new Metadata();
      md.set('token', String(token));
      // Issued on n2, accepted on n3: nothing per member.
      const n3 = rawClient(ep3);
      try {
        await n3.unary('KV', 'Put', { key: Buffer.from('k'), value: Buffer.from('v2') }, md);
      } finally {
        n3.close();
      }
      await ok(ep1, '--user', 'root:rootpw', 'role', 'add', 'later');
      await assert.rejects(client.unary('KV', 'Range', { key: Buffer.from('k') }, md),
        (err: { code: number; details: string }) => err.code === status.INVALID_ARGUMENT && err.details === 'etcdserver: revision of auth store is old');
      const forged = `${String(token).split('.').slice(0, 2).join('.')}.AAAA`;
      const bad = new Metadata();
      bad.set('token', forged);
      await assert.rejects(client.unary('KV', 'Range', { key: Buffer.from('k') }, bad), /invalid auth token/);
    } finally {
      client.close();
    }
    assert.equal(await ok(ep3, '--user', 'root:rootpw', 'get', 'k', '--print-value-only'), 'v2\n');
    await ok(ep1, '--user', 'root:rootpw', 'auth', 'disable');
  });
});
