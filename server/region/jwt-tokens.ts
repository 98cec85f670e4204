// etcd's JWT token provider (--auth-token jwt,pub-key=...,priv-key=...,sign-method=...,ttl=...):
// a signed token carrying the user name and the auth revision it was issued at, valid on
// every member that has the key, until `exp`. etcd's claims and checks: {"exp","revision",
// "username"}; a token whose revision is behind the store's is refused as "revision of auth
// store is old" (the permission check does that), so clients authenticate again after any
// auth change. Methods: RS/PS/ES/HS 256/384/512, keys in PEM files (HS: the file's bytes).

import { parseGoDurationMs } from '../util/go-duration.js';
import { createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify, constants, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AuthInfo } from '../auth/index.js';

/** etcd's default JWT lifetime (auth.DefaultTTL). */
export const JWT_TTL_MS_DEFAULT = 5 * 60_000;

const METHODS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'] as const;
type Method = (typeof METHODS)[number];
const KNOWN_OPTIONS = new Set(['sign-method', 'pub-key', 'priv-key', 'ttl']);

export class JwtOptionsError extends Error {
  override name = 'JwtOptionsError';
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/** A JWT ttl option (a Go duration, as etcd reads it). */
export function parseGoDuration(text: string): number {
  const ms = parseGoDurationMs(text);
  if (ms === undefined || text === '') throw new JwtOptionsError(`ttl ${JSON.stringify(text)} is not a duration like 5m or 300s`);
  return ms;
}

export interface JwtConfig {
  method: Method;
  /** Absent: verify-only (this member cannot issue tokens). */
  privateKey?: KeyObject | Buffer;
  verifyKey: KeyObject | Buffer;
  ttlMs: number;
  /** Options etcd does not know: etcd warns and goes on, so the caller logs these. */
  unknownOptions: string[];
}

/** Reads etcd's --auth-token options (everything after "jwt,"), loading the key files. */
export function loadJwtConfig(options: Record<string, string>): JwtConfig {
  const unknownOptions = Object.keys(options).filter((k) => !KNOWN_OPTIONS.has(k));
  const method = options['sign-method'] as Method;
  if (!METHODS.includes(method)) throw new JwtOptionsError(`sign-method ${JSON.stringify(options['sign-method'] ?? '')} is not one of ${METHODS.join(', ')}`);
  const ttlMs = options['ttl'] === undefined ? JWT_TTL_MS_DEFAULT : parseGoDuration(options['ttl']);
  const read = (opt: string): Buffer | undefined => {
    const file = options[opt];
    if (file === undefined || file === '') return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new JwtOptionsError(`${opt} ${file}: ${(err as Error).message}`);
    }
  };
  const priv = read('priv-key');
  const pub = read('pub-key');
  if (method.startsWith('HS')) {
    if (priv === undefined) throw new JwtOptionsError('HS sign methods need priv-key (the shared secret file)');
    return { method, privateKey: priv, verifyKey: priv, ttlMs, unknownOptions };
  }
  if (priv === undefined && pub === undefined) throw new JwtOptionsError(`${method} needs priv-key or pub-key`);
  const privateKey = priv === undefined ? undefined : createPrivateKey(priv);
  const verifyKey = pub === undefined ? createPublicKey(privateKey!) : createPublicKey(pub);
  if (privateKey !== undefined && pub !== undefined) {
    const derived = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    if (!derived.equals(verifyKey.export({ format: 'der', type: 'spki' }))) throw new JwtOptionsError("public and private keys don't match");
  }
  return privateKey === undefined ? { method, verifyKey, ttlMs, unknownOptions } : { method, privateKey, verifyKey, ttlMs, unknownOptions };
}

function hashOf(method: Method): string {
  return `sha${method.slice(2)}`;
}

function signOptions(method: Method, key: KeyObject) {
  if (method.startsWith('PS')) return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
  if (method.startsWith('ES')) return { key, dsaEncoding: 'ieee-p1363' as const };
  return key;
}

export class JwtTokens {
  constructor(readonly config: JwtConfig) {}

  /** A token for `user` at auth `revision`; throws when this member only verifies. */
  issue(user: string, revision: number, nowMs: number): string {
    const c = this.config;
    if (c.privateKey === undefined) throw new JwtOptionsError('auth: token signing attempted with verify-only key');
    // Go marshals the header struct in field order and the claims map in key order.
    const head = b64url(JSON.stringify({ alg: c.method, typ: 'JWT' }));
    const body = b64url(JSON.stringify({ exp: Math.floor((nowMs + c.ttlMs) / 1000), revision, username: user }));
    const input = `${head}.${body}`;
    const sig = c.method.startsWith('HS')
      ? createHmac(hashOf(c.method), c.privateKey as Buffer).update(input).digest()
      : sign(hashOf(c.method), Buffer.from(input), signOptions(c.method, c.privateKey as KeyObject));
    return `${input}.${b64url(sig)}`;
  }

  /** The user and revision of a valid, unexpired token of this method and key; else undefined. */
  verify(token: string, nowMs: number): AuthInfo | undefined {
    const c = this.config;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [head, body, sig] = parts as [string, string, string];
    let header: { alg?: unknown };
    let claims: { username?: unknown; revision?: unknown; exp?: unknown };
    try {
      header = JSON.parse(Buffer.from(head, 'base64url').toString()) as typeof header;
      claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as typeof claims;
    } catch {
      return undefined;
    }
    if (header.alg !== c.method) return undefined;
    const input = Buffer.from(`${head}.${body}`);
    const signature = Buffer.from(sig, 'base64url');
    let ok: boolean;
    if (c.method.startsWith('HS')) {
      const want = createHmac(hashOf(c.method), c.verifyKey as Buffer).update(input).digest();
      ok = want.length === signature.length && timingSafeEqual(want, signature);
    } else {
      ok = verify(hashOf(c.method), input, signOptions(c.method, c.verifyKey as KeyObject), signature);
    }
    if (!ok) return undefined;
    if (typeof claims.exp === 'number' && nowMs >= claims.exp * 1000) return undefined;
    if (typeof claims.username !== 'string' || typeof claims.revision !== 'number') return undefined;
    return { user: claims.username, revision: claims.revision };
  }
}
