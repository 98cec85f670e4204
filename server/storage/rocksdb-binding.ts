// Which native build of the `rocksdb` package this process loads (issue 19, "no aborts").
//
// The package's prebuilt binary (prebuilds/linux-x64/*.node, RocksDB 6.17) is compiled
// without NDEBUG: an assert() in RocksDB fires on some bad bytes (compression.h:603
// CompressionTypeToString, data_block_hash_index.cc:80) and aborts the whole process where
// a release build returns a Corruption status. Its iterators also read with
// verify_checksums = false (binding.cc), so a damaged block can be handed out as data.
// scripts/build-rocksdb.mjs (npm's postinstall) compiles the package's own sources once as
// a release build with the checksum patch, into a cache outside the clone (and outside
// node_modules, which npm owns): ROCKSDB_RELEASE_CACHE_DIR/<package version, platform,
// arch, node ABI, build id>/build/Release/leveldown.node. This module finds it and points
// node-gyp-build there (its ROCKSDB_PREBUILD variable) before the package is loaded; the
// variable is inherited by child processes (db-check.ts's reader), so they load the same.
// Since session 9 the release build also reads the rs* open options (rocksdb-tuning.ts),
// answers getMany with one MultiGet, and computes crc32c with SSE4.2 when the CPU has it.
//
// REGIONSTORE_ROCKSDB_BINDING: auto (default: the release build if it is there, else the
// prebuilt one, said loudly at start), release (refuse to run without it), prebuilt (the
// package's own binary: for comparisons). The two must never both load in one process:
// they share C++ symbols and the second one crashes.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Names what the release build is compiled with: a new id means a new cache entry (the
 * old one is left alone). scripts/build-rocksdb.mjs has the same constant; a test checks
 * both name the same directory.
 */
export const ROCKSDB_RELEASE_BUILD_ID = 'ndebug-o2-itercrc1-paranoid1-getmanysnap1-tune1-crcsse1';
/** The variable node-gyp-build reads (package name in capitals + _PREBUILD): a directory whose build/Release it loads first. */
const NODE_GYP_BUILD_DIR_VAR = 'ROCKSDB_PREBUILD';
/** Overrides where release builds are cached (default ~/.cache/regionstore/rocksdb, or under $XDG_CACHE_HOME). */
export const ROCKSDB_CACHE_DIR_VAR = 'REGIONSTORE_ROCKSDB_CACHE';
export const ROCKSDB_BINDING_VAR = 'REGIONSTORE_ROCKSDB_BINDING';
const BINDING_FILE = join('build', 'Release', 'leveldown.node');

export type RocksdbBinding =
  | { kind: 'release'; dir: string }
  | { kind: 'prebuilt'; reason: string };

const require = createRequire(import.meta.url);

/** The installed `rocksdb` package's folder. */
export function rocksdbPackageDir(): string {
  return dirname(require.resolve('rocksdb/package.json'));
}

/** Where the release build for this package version, platform and Node ABI lives (whether or not it is there). */
export function rocksdbReleaseDir(env: NodeJS.ProcessEnv = process.env): string {
  const version = (JSON.parse(readFileSync(join(rocksdbPackageDir(), 'package.json'), 'utf8')) as { version: string }).version;
  const root = env[ROCKSDB_CACHE_DIR_VAR] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'regionstore', 'rocksdb');
  return join(root, `${version}-${process.platform}-${process.arch}-abi${process.versions.modules}-${ROCKSDB_RELEASE_BUILD_ID}`);
}

/** Decides which build to load, from the environment and what is on disk. Loads nothing. */
export function chooseRocksdbBinding(env: NodeJS.ProcessEnv = process.env): RocksdbBinding {
  const wanted = env[ROCKSDB_BINDING_VAR] ?? 'auto';
  if (wanted !== 'auto' && wanted !== 'release' && wanted !== 'prebuilt') {
    throw new Error(`${ROCKSDB_BINDING_VAR}=${wanted}: expected auto, release or prebuilt`);
  }
  if (wanted === 'prebuilt') return { kind: 'prebuilt', reason: `${ROCKSDB_BINDING_VAR}=prebuilt` };
  const dir = rocksdbReleaseDir(env);
  if (existsSync(join(dir, BINDING_FILE))) return { kind: 'release', dir };
  const reason = `no release build at ${dir} (build it with: node scripts/build-rocksdb.mjs)`;
  if (wanted === 'release') throw new Error(`${ROCKSDB_BINDING_VAR}=release: ${reason}`);
  return { kind: 'prebuilt', reason };
}

let chosen: RocksdbBinding | undefined;

/**
 * Chooses the build once per process and sets node-gyp-build's variable to match, before
 * the package is required. Every require of 'rocksdb' goes through here (rocksdb-engine.ts).
 */
export function selectRocksdbBinding(): RocksdbBinding {
  if (chosen !== undefined) return chosen;
  chosen = chooseRocksdbBinding();
  if (chosen.kind === 'release') process.env[NODE_GYP_BUILD_DIR_VAR] = chosen.dir;
  else delete process.env[NODE_GYP_BUILD_DIR_VAR];
  return chosen;
}

/** One line for the start-up log: which build, and what the prebuilt one risks. */
export function describeRocksdbBinding(b: RocksdbBinding): string {
  return b.kind === 'release'
    ? `rocksdb: release build (NDEBUG, iterators verify checksums) from ${b.dir}`
    : `rocksdb: the package's prebuilt binary, assertions on: a corrupt block can abort the process (SIGABRT) and iterators do not verify checksums; ${b.reason}`;
}

/** The environment a child process that loads rocksdb should get, so it loads the same build. */
export function rocksdbChildEnv(): NodeJS.ProcessEnv {
  const b = selectRocksdbBinding();
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (b.kind === 'release') env[NODE_GYP_BUILD_DIR_VAR] = b.dir;
  else delete env[NODE_GYP_BUILD_DIR_VAR];
  return env;
}
