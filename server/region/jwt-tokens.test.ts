// etcd's JWT tokens: every sign method issues tokens that verify with the configured key,
// not with another key or method, not after exp; a verify-only member cannot issue; the
// options are read as etcd reads them.

import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { JwtTokens, loadJwtConfig, parseGoDuration } from './jwt-tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'rs-jwt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function keyFiles(kind: 'rsa' | 'ec', name: string): { priv: string; pub: string } {
  const pair = kind === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const priv = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  writeFileSync(priv, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(pub, pair.publicKey.export({ format: 'pem', type: 'spki' }));
  return { priv, pub };
}

test('RS256, PS256, ES256 and HS256 tokens verify with their key only, until they expire', () => {
  const rsa = keyFiles('rsa', 'rsa');
  const other = keyFiles('rsa', 'other');
  const ec = keyFiles('ec', 'ec');
  const secret = join(dir, 'secret');
  writeFileSync(secret, randomBytes(32));
  const now = 1_800_000_000_000;
  for (const [method, files] of [['RS256', rsa], ['PS256', rsa], ['ES256', ec], ['HS256', { priv: secret, pub: '' }]] as const) {
    const t = new JwtTokens(loadJwtConfig({ 'sign-method': method, 'priv-key': files.priv, ...(files.pub ? { 'pub-key': files.pub } : {}), ttl: '1m' }));
    const token = t.issue('alice', 7, now);
    assert.deepEqual(t.verify(token, now + 59_000), { user: 'alice', revision: 7 }, method);
    assert.equal(t.verify(token, now + 60_000), undefined, `${method}: expired`);
    assert.equal(t.verify(`${token.slice(0, -3)}abc`, now), undefined, `${method}: bad signature`);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(claims), ['exp', 'revision', 'username'], 'etcd\'s claims');
  }
  const a = new JwtTokens(loadJwtConfig({ 'sign-method': 'RS256', 'priv-key': rsa.priv }));
  const b = new JwtTokens(loadJwtConfig({ 'sign-method': 'RS256', 'priv-key': other.priv }));
  assert.equal(b.verify(a.issue('x', 1, now), now), undefined, 'another key');
  const verifyOnly = new JwtTokens(loadJwtConfig({ 'sign-method': 'RS256', 'pub-key': rsa.pub }));
  assert.deepEqual(verifyOnly.verify(a.issue('x', 1, now), now), { user: 'x', revision: 1 });
  assert.throws(() => verifyOnly.issue('x', 1, now), /verify-only/);
  const es = new JwtTokens(loadJwtConfig({ 'sign-method': 'ES256', 'priv-key': ec.priv }));
  assert.equal(es.verify(a.issue('x', 1, now), now), undefined, 'another method');
});

test('options: etcd\'s names, durations, and clear refusals', () => {
  assert.equal(parseGoDuration('5m'), 300_000);
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1500ms'), 1500);
  assert.throws(() => parseGoDuration('5 minutes'), /not a duration/);
  const rsa = keyFiles('rsa', 'opts');
  const other = keyFiles('rsa', 'opts-other');
  assert.throws(() => loadJwtConfig({ 'sign-method': 'RS999', 'priv-key': rsa.priv }), /sign-method "RS999" is not one of/);
  assert.throws(() => loadJwtConfig({ 'sign-method': 'RS256' }), /needs priv-key or pub-key/);
  assert.throws(() => loadJwtConfig({ 'sign-method': 'RS256', 'priv-key': rsa.priv, 'pub-key': other.pub }), /don't match/);
  assert.throws(() => loadJwtConfig({ 'sign-method': 'RS256', 'priv-key': join(dir, 'missing') }), /priv-key .*missing/);
  assert.deepEqual(loadJwtConfig({ 'sign-method': 'RS256', 'priv-key': rsa.priv, colour: 'red' }).unknownOptions, ['colour'], 'etcd warns');
});
