// The environment that makes cluster members write CPU profiles (and, with RS_STALL_MIN_MS,
// their stall log) through scripts/profile-preload.mjs into a directory: one place for the
// trace and probe scripts that take a `--prof DIR` flag.

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../cluster/launcher.js';

/** `base` plus the profile preload and RS_PROF_DIR for `profDir` (created); `base` itself when profDir is undefined. */
export function profiledEnv(profDir: string | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (profDir === undefined) return { ...base };
  const dir = resolve(profDir);
  mkdirSync(dir, { recursive: true });
  return {
    ...base,
    RS_PROF_DIR: dir,
    NODE_OPTIONS: `${base['NODE_OPTIONS'] ?? ''} --import ${join(REPO_ROOT, 'scripts', 'profile-preload.mjs')}`.trim(),
  };
}
