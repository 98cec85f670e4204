// Whether dist/ (the output of `npm run build`, scripts/build.ts) may be run instead of the
// TypeScript sources: it is fresh when its build finished and no runtime source file has
// changed since that build started. Starting a member from dist/ skips tsx's compilation at
// start-up; starting it from stale output would test code that is not the source, so a stale
// or missing build means "run the sources through tsx".
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DIST_DIR_NAME = 'dist';
/** Written last by the build, so its presence means tsc succeeded and the .proto files are there. */
export const BUILD_INFO_FILE = 'build.json';
/** package.json's `bin`: the installed commands, relative to the package root. */
export const BIN_SCRIPTS = {
  regionstore: 'dist/server/main.js',
  rsctl: 'dist/client/rsctl/main.js',
} as const;

export interface BuildInfo {
  version: string;
  /** Date.now() when the build started: a source modified after this is not in dist/. */
  startedAtMs: number;
  finishedAtMs: number;
}

/** The folders tsconfig.build.json compiles, plus the .proto files copied from proto/. */
const SOURCE_DIRS = ['server', 'client', 'cluster', 'proto'];
const SOURCE_FILE = /\.(ts|proto)$/;

export function readBuildInfo(root: string): BuildInfo | undefined {
  try {
    return JSON.parse(readFileSync(join(root, DIST_DIR_NAME, BUILD_INFO_FILE), 'utf8')) as BuildInfo;
  } catch {
    return undefined;
  }
}

/** The first source file (relative path) modified after `sinceMs`, if any. */
function newerSource(root: string, dir: string, sinceMs: number): string | undefined {
  let names: string[];
  try {
    names = readdirSync(join(root, dir));
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const rel = join(dir, name);
    const st = statSync(join(root, rel));
    if (st.isDirectory()) {
      const found = newerSource(root, rel, sinceMs);
      if (found !== undefined) return found;
    } else if (SOURCE_FILE.test(name) && !name.endsWith('.test.ts') && st.mtimeMs > sinceMs) {
      return rel;
    }
  }
  return undefined;
}

export type Freshness = { fresh: true; info: BuildInfo } | { fresh: false; why: string };

/** Checks dist/ under `root` against the sources under `root` (a few hundred stat calls). */
export function distFreshness(root: string): Freshness {
  const info = readBuildInfo(root);
  if (info === undefined) return { fresh: false, why: `no ${DIST_DIR_NAME}/${BUILD_INFO_FILE} (run npm run build)` };
  for (const dir of SOURCE_DIRS) {
    const newer = newerSource(root, dir, info.startedAtMs);
    if (newer !== undefined) return { fresh: false, why: `${newer} changed after the last build (run npm run build)` };
  }
  return { fresh: true, info };
}
