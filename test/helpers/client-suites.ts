// Where other etcd clients' own test suites are installed (scripts/install-client-suites.ts)
// and what each needs, for test/*-suite.test.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** etcd3@0.2.13 from npm: its compiled mocha suite in lib/test (see the install script). */
export const ETCD3_SUITE = {
  version: '0.2.13',
  dir: 'test/client-suites/etcd3',
  /** The suite: its own files, run as its package.json's `test:unit` (mocha) would. */
  testDir: 'test/client-suites/etcd3/node_modules/etcd3/lib/test',
  mocha: 'test/client-suites/etcd3/node_modules/mocha/bin/mocha',
  certsDir: 'test/client-suites/etcd3/node_modules/etcd3/lib/test/certs',
  /** The paths lib/test/util.js reads, under certsDir. */
  certFiles: { ca: 'certs/ca.crt', cert: 'certs/etcd0.localhost.crt', key: 'private/etcd0.localhost.key' },
} as const;

export const INSTALL_HINT = 'run `npm run client-suites:install` (.ci/run does; needs the npm registry and openssl)';

/** Why the etcd3 suite cannot run from `root`, or undefined when it is installed. */
export function etcd3SuiteMissing(root: string): string | undefined {
  const need = [ETCD3_SUITE.testDir, ETCD3_SUITE.mocha, ...Object.values(ETCD3_SUITE.certFiles).map((f) => `${ETCD3_SUITE.certsDir}/${f}`)];
  const absent = need.find((p) => !existsSync(join(root, p)));
  return absent === undefined ? undefined : `${absent} is missing: ${INSTALL_HINT}`;
}
