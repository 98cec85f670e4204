// Real X.509 certificates for TLS tests, made with the openssl command in a temp dir: a CA,
// certificates it signs (server ones with 127.0.0.1 / ::1 / localhost SANs, client ones
// with a CN and optional URI SANs). Keys are ECDSA P-256, quick to make.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

export interface TestCa extends CertFiles {
  dir: string;
  /** Signs a certificate: `serverAuth` adds the loopback SANs; both EKUs are set (etcd's advice for member certs). */
  issue(name: string, opts?: { cn?: string; server?: boolean; uris?: string[] }): CertFiles;
}

/** True when the openssl command runs. */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A new CA in `dir`/`name`-ca.pem; `issue` makes certificates it signs. */
export function makeCa(dir: string, name = 'ca'): TestCa {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}-key.pem`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', `/CN=regionstore test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let serial = 1;
  return {
    dir, cert, key,
    issue(certName, opts = {}) {
      const out = { cert: join(dir, `${certName}.pem`), key: join(dir, `${certName}-key.pem`) };
      const csr = join(dir, `${certName}.csr`);
      const ext = join(dir, `${certName}.ext`);
      const sans = [...(opts.server === true ? ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'] : []), ...(opts.uris ?? []).map((u) => `URI:${u}`)];
      writeFileSync(ext, [
        'basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth,clientAuth',
        ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
      ].join('\n') + '\n');
      openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', out.key, '-out', csr,
        '-subj', `/CN=${opts.cn ?? certName}`]);
      openssl(['x509', '-req', '-in', csr, '-CA', cert, '-CAkey', key, '-set_serial', String(serial++), '-days', '2', '-out', out.cert, '-extfile', ext]);
      return out;
    },
  };
}
