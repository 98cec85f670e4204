// etcd's --auto-tls / --peer-auto-tls: a self-signed certificate generated into the data
// dir (<data-dir>/fixtures/client or fixtures/peer, as etcd) on first start and reused after.
// node:crypto makes keys but not X.509 certificates, so the `openssl` command makes it
// (present wherever Node's own TLS is; no npm dependency needed). As etcd's, the
// certificate is ECDSA P-256, valid a year, with the listen hosts as SANs; its holders
// skip verification of each other (etcd's auto-TLS is encryption without authentication).

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** etcd's selfCert validity: one year. */
export const AUTO_TLS_VALID_DAYS = 365;
/** openssl is given this long to make a key and certificate. */
const OPENSSL_TIMEOUT_MS = 30_000;

const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function sanOf(host: string): string {
  return IPV4_RE.test(host) || host.includes(':') ? `IP:${host}` : `DNS:${host}`;
}

/** Makes (or reuses) `dir`/cert.pem and key.pem naming `hosts`; returns their paths. */
export async function ensureSelfSignedCert(dir: string, hosts: string[]): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const sans = [...new Set(['127.0.0.1', 'localhost', ...hosts.filter((h) => h !== '' && h !== '0.0.0.0' && h !== '::')])].map(sanOf);
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', String(AUTO_TLS_VALID_DAYS),
      '-subj', '/O=regionstore auto-tls', '-addext', `subjectAltName=${sans.join(',')}`,
      '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    ], { timeout: OPENSSL_TIMEOUT_MS });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('auto-TLS needs the openssl command (apt-get install openssl), or give --cert-file and --key-file', { cause: err });
    throw new Error(`auto-TLS: openssl could not make a certificate in ${dir}: ${e.stderr ?? e.message}`, { cause: err });
  }
  return { certFile, keyFile };
}
