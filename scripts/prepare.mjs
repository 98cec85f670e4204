// npm's `prepare` hook: builds dist/ (scripts/build.ts) after `npm install` in a clone, and
// before `npm pack`. Plain JavaScript, because it must be able to say what is missing when
// the build tools are not installed: `npm install -g .` on a fresh clone links the folder and
// runs this hook without installing the folder's dependencies first. Without the tools but
// with a finished dist/ (npm ci --omit=dev over a copied build), it keeps that dist/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
if (!existsSync(tsx) || !existsSync(tsc)) {
  // A production install (npm ci --omit=dev) over a dist/ built elsewhere, e.g. copied from
  // a build stage: nothing to build with, and nothing missing.
  if (existsSync(join(root, 'dist', 'build.json'))) {
    console.error('regionstore: build tools not installed; using the dist/ that is there');
    process.exit(0);
  }
  console.error(
    `regionstore: cannot build dist/: the build tools (tsx, typescript) are not installed in ${root}.\n` +
      'Run `npm install` in that folder first (it installs them and builds), then `npm install -g .` again.',
  );
  process.exit(1);
}
const r = spawnSync(tsx, [join(root, 'scripts', 'build.ts')], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
