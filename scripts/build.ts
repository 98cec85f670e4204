// `npm run build` (also run by `prepare`, so `npm install` on a fresh clone builds): compiles
// the runtime code to dist/ with tsc (tsconfig.build.json), copies the .proto files that code
// loads at run time next to it (tsc copies only TypeScript), marks the two commands
// executable, and writes dist/build.json. The local cluster launcher reads build.json to
// decide whether dist/ is fresh (no source newer than the build) and can run members from it
// (cluster/dist-build.ts).
//
// Usage: tsx scripts/build.ts
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN_SCRIPTS, BUILD_INFO_FILE, DIST_DIR_NAME, type BuildInfo } from '../cluster/dist-build.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, DIST_DIR_NAME);

// Taken before tsc reads anything: a source saved during the build counts as newer than it.
const startedAtMs = Date.now();
// A clean dist/: output of a deleted or renamed source must not linger and be run.
rmSync(DIST, { recursive: true, force: true });

const tsc = spawnSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
if (tsc.status !== 0) {
  // No build.json: the launcher keeps running members from the sources.
  console.error(`build: tsc failed (exit ${tsc.status ?? tsc.signal}); dist/ is incomplete and will not be used`);
  process.exit(1);
}

// proto/**/*.proto → dist/proto/**: server/api, client/lib, server/transport and
// server/region find them at ../../proto from their own folder, in the tree and in dist/.
cpSync(join(ROOT, 'proto'), join(DIST, 'proto'), {
  recursive: true,
  filter: (src) => !src.endsWith('.ts'),
});
for (const bin of Object.values(BIN_SCRIPTS)) chmodSync(join(ROOT, bin), 0o755);

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const info: BuildInfo = { version: pkg.version, startedAtMs, finishedAtMs: Date.now() };
mkdirSync(DIST, { recursive: true });
writeFileSync(join(DIST, BUILD_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
console.log(`build: dist/ ready in ${((info.finishedAtMs - startedAtMs) / 1000).toFixed(1)} s (regionstore ${pkg.version})`);
