// `npm run client-suites:install` (.ci/run runs it): installs other etcd clients' own test
// suites that test/*-suite.test.ts run against a regionstore cluster, each from its pinned
// lock file under test/client-suites/<name>/, and makes the fixtures a suite expects but
// its package does not ship.
//
// etcd3 (npm): 0.2.13 is the last release whose tarball ships its compiled test suite
// (lib/test). Two things are supplied here, nothing in the suite is edited:
//  - its `grpc` dependency (the native gRPC binding, which has no build for Node 20 and
//    downloads binaries from outside the registry at install) is replaced, through npm's
//    `overrides`, by @grpc/grpc-js, the same API in JavaScript that etcd3 1.x moved to;
//  - lib/test/util.js reads a CA and an etcd0.localhost certificate and key from
//    lib/test/certs/ (its repository generates them; the tarball leaves them out): made
//    here with openssl, valid for 127.0.0.1 and localhost. The suite connects over TLS, so
//    the test puts a TLS front (test/helpers/tls-front.ts) with these before the members.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ETCD3_SUITE } from '../test/helpers/client-suites.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Days the generated test certificates are valid: long enough never to expire under CI. */
const CERT_DAYS = 3650;

/** Runs a command; its output is shown only when it fails (openssl is chatty). */
function must(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) {
    console.error(`${r.stdout ?? ''}${r.stderr ?? ''}client-suites: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.error?.message})`);
    process.exit(1);
  }
}

function installEtcd3(): void {
  const dir = join(ROOT, ETCD3_SUITE.dir);
  console.log(`client-suites: etcd3 ${ETCD3_SUITE.version} test suite into ${ETCD3_SUITE.dir}/node_modules`);
  must('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts'], dir);

  const certs = join(ROOT, ETCD3_SUITE.certsDir);
  const files = ETCD3_SUITE.certFiles;
  if (existsSync(join(certs, files.ca)) && existsSync(join(certs, files.cert)) && existsSync(join(certs, files.key))) return;
  if (spawnSync('openssl', ['version']).status !== 0) {
    console.error('client-suites: openssl is not installed (Debian package openssl): cannot make the etcd3 suite\'s certificates');
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), 'rs-suite-certs-'));
  try {
    must('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', String(CERT_DAYS), '-subj', '/CN=regionstore test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout', 'ca.key', '-out', 'ca.crt'], work);
    must('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=etcd0.localhost', '-keyout', 'server.key', '-out', 'server.csr'], work);
    writeFileSync(join(work, 'server.ext'), [
      'subjectAltName=DNS:etcd0.localhost,DNS:localhost,IP:127.0.0.1,IP:::1',
      'basicConstraints=CA:FALSE',
      'keyUsage=digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
    ].join('\n'));
    must('openssl', ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', String(CERT_DAYS),
      '-extfile', 'server.ext', '-out', 'server.crt'], work);
    for (const f of [files.ca, files.cert, files.key]) mkdirSync(join(certs, f, '..'), { recursive: true });
    must('cp', [join(work, 'ca.crt'), join(certs, files.ca)], work);
    must('cp', [join(work, 'server.crt'), join(certs, files.cert)], work);
    must('cp', [join(work, 'server.key'), join(certs, files.key)], work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

installEtcd3();
console.log('client-suites: installed');
