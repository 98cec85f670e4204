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
import * as esbuild from 'esbuild';
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

// proto/**/*.proto → dist/proto/**, where proto/dir.ts finds them (next to itself in
// dist/proto, or from the bundle below at dist/server/../proto).
cpSync(join(ROOT, 'proto'), join(DIST, 'proto'), {
  recursive: true,
  filter: (src) => !src.endsWith('.ts'),
});

// `regionstore` (dist/server/main.js) as one file: a member then loads one module instead of
// ~290 (their resolution, reads and compilation were ~0.4 s of the ~1.5 s of CPU a member
// spent from spawn to healthy on the 2-core machine: 1.47 → 1.10 s, session 12), which every
// start pays (npm start, restarts, each test cluster). Packages in node_modules stay imports;
// the other dist/ modules stay for rsctl and the client library. The tsc maps are chained
// into the bundle's map, so stack traces still name the TypeScript sources.
const serveEntry = join(DIST, BIN_SCRIPTS.regionstore.replace(/^dist\//, ''));
await esbuild.build({
  entryPoints: [serveEntry],
  outfile: serveEntry,
  allowOverwrite: true,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
for (const bin of Object.values(BIN_SCRIPTS)) chmodSync(join(ROOT, bin), 0o755);

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const info: BuildInfo = { version: pkg.version, startedAtMs, finishedAtMs: Date.now() };
mkdirSync(DIST, { recursive: true });
writeFileSync(join(DIST, BUILD_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
console.log(`build: dist/ ready in ${((info.finishedAtMs - startedAtMs) / 1000).toFixed(1)} s (regionstore ${pkg.version})`);
