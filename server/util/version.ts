// The versions the commands print (`regionstore --version`, `rsctl version`): the package's
// own, read from package.json so that there is one place to bump it, and the etcd v3 API
// level that proto/etcd and the handlers follow.
import { readFileSync } from 'node:fs';

/**
 * The etcd API version regionstore speaks. Where etcd 3.4 and 3.5 differ, regionstore follows
 * 3.5 (issue 10), so this is what etcd 3.5's `etcdctl version` prints as "API version".
 */
export const ETCD_API_VERSION = '3.5';

/**
 * The etcd server version regionstore answers as (Maintenance.Status `version`, `/version`'s
 * `etcdserver`): the API level it serves, as an etcd 3.5 member would report it.
 */
export const ETCD_SERVER_VERSION = `${ETCD_API_VERSION}.0`;

const PACKAGE_NAME = 'regionstore';

let cached: string | undefined;

/**
 * package.json's version. This module is server/util/version.ts in the tree and
 * dist/server/util/version.js when built or installed, so package.json is two or three
 * folders up.
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      /* not there: try the next candidate */
    }
  }
  return (cached = 'unknown');
}
