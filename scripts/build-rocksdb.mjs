// npm's `postinstall` hook (and by hand: `node scripts/build-rocksdb.mjs`): compiles the
// installed `rocksdb` package's own sources (binding.cc + RocksDB 6.17 in deps/) once as a
// release build, into a cache outside the clone and outside node_modules, where
// server/storage/rocksdb-binding.ts finds it. Why (issue 19): the package's prebuilt binary
// is compiled without NDEBUG, so an assert() in RocksDB aborts the process on some bad
// bytes (compression.h:603, data_block_hash_index.cc:80) where a release build returns a
// Corruption status; and binding.cc reads iterators with verify_checksums = false, so a
// damaged block can come back as data. This build defines NDEBUG, compiles with -O2 as
// RocksDB's release builds do, and turns the iterators' checksums on (one line of
// binding.cc, patched in the copy that is compiled).
//
// Plain JavaScript, no dependencies: it runs from `npm ci --omit=dev` (the container image)
// and from a global install, where tsx is absent. It never fails the install: without a
// compiler, or when the build fails, it says so loudly and the member runs on the prebuilt
// binary (and says so at every start). The build compiles 244 RocksDB files: about an
// hour of wall time on the shared 2-core build machine at a load of 30 (session 7), once
// per rocksdb version, platform, Node ABI and build id; npm shows no output meanwhile.
//
//   node scripts/build-rocksdb.mjs [--print-dir] [--strict]
//   REGIONSTORE_ROCKSDB_CACHE=<dir>   where builds are cached (default ~/.cache/regionstore/rocksdb)
//   REGIONSTORE_ROCKSDB_BINDING=prebuilt   skip the build (the prebuilt binary is used)
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Must equal ROCKSDB_RELEASE_BUILD_ID in server/storage/rocksdb-binding.ts (a test checks). */
const BUILD_ID = 'ndebug-o2-itercrc1-paranoid1-getmanysnap1';
/** Appended after node-gyp's own flags (its -O3 included): the last -O wins. */
const RELEASE_FLAGS = '-DNDEBUG -O2';
/**
 * The lines of binding.cc changed, and what they become: iterators verify block checksums;
 * and paranoid checks, without which RocksDB drops a corrupt WAL record silently and replays
 * the records after it (a batch missing under later ones: a state with a hole under its
 * applied index). With them, point-in-time recovery stops at the damage: what opens is a
 * prefix, which the raft log (or the region, on an edge) completes. And getMany takes its
 * snapshot on the worker thread, not the main one: GetSnapshot locks the database mutex that
 * every write, flush and compaction takes, and profiles of a 200k-key load caught the main
 * thread waiting on it for up to 83 ms inside one getMany call (issue 20's event-loop goal).
 * The snapshot still covers every key of one call; only its moment moves from the call to
 * the start of its execution (every caller reads before its own write, or tolerates a later
 * state: the apply's prefetch, the compactor, edge extraction).
 */
const PATCHES = [
  ['options_->verify_checksums = false;', 'options_->verify_checksums = true; /* regionstore: iterators verify block checksums */'],
  ['options_.paranoid_checks = false;', 'options_.paranoid_checks = true; /* regionstore: a corrupt WAL record ends the replay, never skipped */'],
  ['      options_.snapshot = database->NewSnapshot();', '      options_.snapshot = NULL; /* regionstore: taken in DoExecute, off the main thread */'],
  ['    cache_.reserve(keys_->size());', '    options_.snapshot = database_->NewSnapshot(); /* regionstore: GetSnapshot locks the DB mutex: on the worker */\n    cache_.reserve(keys_->size());'],
];
/** Lines of the compiler's output shown when the build fails (the whole log is kept in a file). */
const LOG_TAIL_LINES = 25;

const root = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const strict = args.has('--strict');
/** The scratch folder of a build in progress (removed on every way out). */
let work;
const say = (line) => console.error(`regionstore: rocksdb release build: ${line}`);
/** Gives up without failing the install (unless --strict): the prebuilt binary is used. */
const fallBack = (why) => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  say(`${why}\nregionstore: FALLING BACK to the prebuilt rocksdb binary: assertions on, a corrupt block can abort the process (SIGABRT), iterators do not verify checksums.`);
  process.exit(strict ? 1 : 0);
};

let pkgDir;
try {
  pkgDir = dirname(createRequire(join(root, 'package.json')).resolve('rocksdb/package.json'));
} catch {
  // `npm install -g .` links the folder before its dependencies exist: nothing to build yet.
  say('the rocksdb package is not installed here; nothing to build');
  process.exit(0);
}
const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
const cacheRoot = process.env.REGIONSTORE_ROCKSDB_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'regionstore', 'rocksdb');
const dir = join(cacheRoot, `${version}-${process.platform}-${process.arch}-abi${process.versions.modules}-${BUILD_ID}`);
const bindingFile = join(dir, 'build', 'Release', 'leveldown.node');
if (args.has('--print-dir')) {
  console.log(dir);
  process.exit(0);
}
if (process.env.REGIONSTORE_ROCKSDB_BINDING === 'prebuilt') {
  say('skipped (REGIONSTORE_ROCKSDB_BINDING=prebuilt)');
  process.exit(0);
}
if (existsSync(bindingFile) && loads(dir).ok) {
  say(`already built: ${dir}`);
  process.exit(0);
}

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
const missing = ['python3', 'make'].filter((t) => !has(t));
if (!has('c++') && !has('g++')) missing.push('g++');
if (missing.length > 0) fallBack(`cannot compile: ${missing.join(', ')} not installed (Debian: apt-get install python3 make g++)`);

const nodeGyp = findNodeGyp();
if (nodeGyp === undefined) fallBack('node-gyp not found (it comes with npm; set npm_config_node_gyp to its bin/node-gyp.js)');

mkdirSync(cacheRoot, { recursive: true });
work = mkdtempSync(join(cacheRoot, `.build-${version}-`));
const src = join(work, 'rocksdb');
const log = `${dir}.build.log`;
try {
  // The package's sources only; prebuilds/ and any earlier build/ stay out.
  cpSync(pkgDir, src, { recursive: true, filter: (p) => !p.startsWith(join(pkgDir, 'prebuilds')) && !p.startsWith(join(pkgDir, 'build')) });
  const bindingCc = join(src, 'binding.cc');
  const cc = readFileSync(bindingCc, 'utf8');
  let patched = cc;
  for (const [line, replacement] of PATCHES) {
    if (patched.split(line).length !== 2) fallBack(`binding.cc of rocksdb ${version} does not have the line "${line}" exactly once: the patch does not apply (a new rocksdb version needs a look at it)`);
    patched = patched.replace(line, replacement);
  }
  writeFileSync(bindingCc, patched);

  const gypArgs = [nodeGyp, 'rebuild', `-j`, String(availableParallelism())];
  const nodedir = findNodeHeaders();
  if (nodedir !== undefined) gypArgs.push(`--nodedir=${nodedir}`);
  mkdirSync(dirname(log), { recursive: true });
  say(`compiling rocksdb ${version} with ${RELEASE_FLAGS} (${availableParallelism()} jobs; once per rocksdb version and Node ABI; on 2 cores this takes 15-60 minutes — REGIONSTORE_ROCKSDB_BINDING=prebuilt skips it, npm run build:rocksdb builds later; log: ${log})`);
  const t0 = Date.now();
  const env = {
    ...process.env,
    CFLAGS: `${process.env.CFLAGS ?? ''} ${RELEASE_FLAGS}`.trim(),
    CXXFLAGS: `${process.env.CXXFLAGS ?? ''} ${RELEASE_FLAGS}`.trim(),
    // binding.gyp runs `node -e "require('napi-macros')"` from the copy: point it at the install's.
    NODE_PATH: [nodeModulesOf(pkgDir, 'napi-macros'), process.env.NODE_PATH].filter(Boolean).join(':'),
  };
  // The compiler's output goes to the log as it comes (the log named above can be watched
  // during the build), not into memory to be written at the end.
  const logFd = openSync(log, 'w');
  let r;
  try {
    r = spawnSync(process.execPath, gypArgs, { cwd: src, env, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const seconds = Math.round((Date.now() - t0) / 1000);
  if (r.status !== 0) {
    const tail = readFileSync(log, 'utf8').trim().split('\n').slice(-LOG_TAIL_LINES).join('\n');
    fallBack(`node-gyp failed after ${seconds} s (exit ${r.status ?? r.signal}${r.error ? `: ${r.error.message}` : ''}):\n${tail}`);
  }
  const check = loads(src);
  if (!check.ok) fallBack(`the build does not load or does not work: ${check.detail}`);
  // Only the binary is kept (the objects are ~200 MB); put in place with one rename.
  const staged = join(work, 'out');
  mkdirSync(join(staged, 'build', 'Release'), { recursive: true });
  cpSync(join(src, 'build', 'Release', 'leveldown.node'), join(staged, 'build', 'Release', 'leveldown.node'));
  writeFileSync(join(staged, 'BUILD.json'), `${JSON.stringify({ rocksdb: version, buildId: BUILD_ID, flags: RELEASE_FLAGS, patches: PATCHES.map(([, to]) => to), node: process.version, seconds, builtAt: new Date().toISOString() }, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staged, dir);
  say(`built in ${seconds} s: ${dir}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** Loads the build in `buildDir` in a child (as the engine would) and writes and reads one key. */
function loads(buildDir) {
  const script = `
    const path = require(require.resolve('node-gyp-build', { paths: [process.argv[1]] })).path(process.argv[1]);
    if (!path.startsWith(process.argv[2])) throw new Error('loaded ' + path + ', not the release build');
    const db = require(process.argv[1])(process.argv[3]);
    db.open({ createIfMissing: true }, (e) => {
      if (e) throw e;
      db.put(Buffer.from('k'), Buffer.from('v'), (e) => {
        if (e) throw e;
        db.get(Buffer.from('k'), (e, v) => { if (e || String(v) !== 'v') throw e || new Error('read back ' + v); db.close(() => {}); });
      });
    });`;
  const tmp = mkdtempSync(join(tmpdir(), 'rs-rocksdb-check-'));
  try {
    const r = spawnSync(process.execPath, ['-e', script, pkgDir, buildDir + sep, join(tmp, 'db')], { env: { ...process.env, ROCKSDB_PREBUILD: buildDir }, encoding: 'utf8' });
    return { ok: r.status === 0, detail: `${r.signal ?? `exit ${r.status}`}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** npm's own node-gyp: npm names it while running a lifecycle script; else next to this node's npm. */
function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(process.execPath), '..', 'share', 'nodejs', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' });
  if (npmRoot.status === 0) candidates.push(join(npmRoot.stdout.trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => c !== undefined && existsSync(c));
}

/** This node's headers when installed beside it (/usr/include/node, /usr/local/include/node): no download. */
function findNodeHeaders() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = join(dirname(process.execPath), '..');
  const header = join(prefix, 'include', 'node', 'node_version.h');
  if (!existsSync(header)) return undefined;
  const h = readFileSync(header, 'utf8');
  const [major, minor] = ['MAJOR', 'MINOR'].map((p) => h.match(new RegExp(`#define NODE_${p}_VERSION (\\d+)`))?.[1]);
  return `v${major}.${minor}` === process.version.split('.').slice(0, 2).join('.') ? prefix : undefined;
}

/** The node_modules folder from which `pkg` resolves for the package in `from`. */
function nodeModulesOf(from, pkg) {
  try {
    const p = createRequire(join(from, 'package.json')).resolve(`${pkg}/package.json`);
    return p.slice(0, p.lastIndexOf(`${sep}node_modules${sep}`) + `${sep}node_modules`.length);
  } catch {
    return undefined;
  }
}
