// npm's `postinstall` hook (and by hand: `node scripts/build-rocksdb.mjs`): compiles the
// installed `rocksdb` package's own sources (binding.cc + RocksDB 6.17 in deps/) once as a
// release build, into a cache outside the clone and outside node_modules, where
// server/storage/rocksdb-binding.ts finds it. Why (issue 19): the package's prebuilt binary
// is compiled without NDEBUG, so an assert() in RocksDB aborts the process on some bad
// bytes (compression.h:603, data_block_hash_index.cc:80) where a release build returns a
// Corruption status; and binding.cc reads iterators with verify_checksums = false, so a
// damaged block can come back as data. This build defines NDEBUG, compiles with -O2 as
// RocksDB's release builds do, and turns the iterators' checksums on (one line of
// binding.cc, patched in the copy that is compiled). Session 9 (issue 20): the rs* open
// options of server/storage/rocksdb-tuning.ts, getMany as one MultiGet, and crc32c with
// SSE4.2/PCLMULQDQ chosen at run time (TUNE_FUNCTION, GETMANY_*, CRC32C_PATCHES below).
//
// Plain JavaScript, no dependencies: it runs from `npm ci --omit=dev` (the container image)
// and from a global install, where tsx is absent. It never fails the install: without a
// compiler, or when the build fails, it says so loudly and the member runs on the prebuilt
// binary (and says so at every start). The build compiles 244 RocksDB files: about an
// hour of wall time on the shared 2-core build machine at a load of 30 (session 7), once
// per rocksdb version, platform, Node ABI and build id; npm shows no output meanwhile.
//
//   node scripts/build-rocksdb.mjs [--print-dir] [--strict] [--patched-sources <dir>]
//   REGIONSTORE_ROCKSDB_CACHE=<dir>   where builds are cached (default ~/.cache/regionstore/rocksdb)
//   REGIONSTORE_ROCKSDB_BINDING=prebuilt   skip the build (the prebuilt binary is used)
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Must equal ROCKSDB_RELEASE_BUILD_ID in server/storage/rocksdb-binding.ts (a test checks). */
const BUILD_ID = 'ndebug-o2-itercrc1-paranoid1-getmanysnap1-tune1-crcsse1';
/** Appended after node-gyp's own flags (its -O3 included): the last -O wins. */
const RELEASE_FLAGS = '-DNDEBUG -O2';
/**
 * Compiled into binding.cc ahead of db_open: sets what server/storage/rocksdb-tuning.ts
 * asks for (issue 20: bloom bits and format, a memtable bloom for the read-ahead's misses,
 * index/filter caching, compaction jobs and level-0 triggers, and RocksDB's statistics,
 * readable as getProperty('rocksdb.options-statistics')). Each option absent or not a number
 * keeps the binding's own value (the table options are rebuilt from the same block cache
 * size, block size and restart interval the binding read).
 */
const TUNE_FUNCTION = `/* regionstore: tuning from open options rs* (scripts/build-rocksdb.mjs) */
static bool RsUint (napi_env env, napi_value obj, const char* key, uint32_t* out) {
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return false;
  napi_value v;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return false;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_boolean) { bool b = false; napi_get_value_bool(env, v, &b); *out = b ? 1 : 0; return true; }
  if (t != napi_number) return false;
  return napi_get_value_uint32(env, v, out) == napi_ok;
}
static void RegionstoreTune (napi_env env, napi_value o, leveldb::Options& opt,
                             uint32_t cacheSize, uint32_t blockSize, uint32_t blockRestartInterval) {
  uint32_t v = 0;
  rocksdb::BlockBasedTableOptions t;
  if (cacheSize) t.block_cache = rocksdb::NewLRUCache(cacheSize); else t.no_block_cache = true;
  t.block_size = blockSize;
  t.block_restart_interval = blockRestartInterval;
  uint32_t bloomBits = 10;
  RsUint(env, o, "rsBloomBitsPerKey", &bloomBits);
  if (bloomBits > 0) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(bloomBits));
  if (RsUint(env, o, "rsFormatVersion", &v)) t.format_version = v;
  if (RsUint(env, o, "rsCacheIndexAndFilterBlocks", &v)) t.cache_index_and_filter_blocks = v != 0;
  if (RsUint(env, o, "rsPinL0FilterAndIndexBlocks", &v)) t.pin_l0_filter_and_index_blocks_in_cache = v != 0;
  if (RsUint(env, o, "rsDataBlockHashIndex", &v) && v != 0) t.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  if (RsUint(env, o, "rsMemtableBloomPermille", &v) && v > 0) {
    opt.memtable_prefix_bloom_size_ratio = v / 1000.0;
    opt.memtable_whole_key_filtering = true;
  }
  if (RsUint(env, o, "rsMaxBackgroundJobs", &v) && v > 0) opt.max_background_jobs = (int)v;
  if (RsUint(env, o, "rsMaxSubcompactions", &v) && v > 0) opt.max_subcompactions = v;
  if (RsUint(env, o, "rsLevel0CompactionTrigger", &v) && v > 0) opt.level0_file_num_compaction_trigger = (int)v;
  if (RsUint(env, o, "rsLevel0SlowdownTrigger", &v) && v > 0) opt.level0_slowdown_writes_trigger = (int)v;
  if (RsUint(env, o, "rsLevel0StopTrigger", &v) && v > 0) opt.level0_stop_writes_trigger = (int)v;
  if (RsUint(env, o, "rsMaxBytesForLevelBaseMiB", &v) && v > 0) opt.max_bytes_for_level_base = (uint64_t)v << 20;
  if (RsUint(env, o, "rsTargetFileSizeBaseMiB", &v) && v > 0) opt.target_file_size_base = (uint64_t)v << 20;
  if (RsUint(env, o, "rsDynamicLevelBytes", &v)) opt.level_compaction_dynamic_level_bytes = v != 0;
  if (RsUint(env, o, "rsMaxWriteBufferNumber", &v) && v > 1) opt.max_write_buffer_number = (int)v;
  if (RsUint(env, o, "rsPipelinedWrite", &v)) opt.enable_pipelined_write = v != 0;
  if (RsUint(env, o, "rsUncompressedLevels", &v) && v > 0) {
    opt.compression_per_level.assign(opt.num_levels, opt.compression);
    for (uint32_t i = 0; i < v && i < (uint32_t)opt.num_levels; i++) opt.compression_per_level[i] = rocksdb::kNoCompression;
  }
  if (RsUint(env, o, "rsStatistics", &v) && v != 0) {
    opt.statistics = rocksdb::CreateDBStatistics();
    opt.statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  }
}`;
/** binding.cc's getMany loop (GetManyWorker::DoExecute after the snapshot patch). */
const GETMANY_LOOP = `    for (const std::string& key: *keys_) {
      std::string* value = new std::string();
      leveldb::Status status = database_->Get(options_, key, *value);

      if (status.ok()) {
        cache_.push_back(value);
      } else if (status.IsNotFound()) {
        delete value;
        cache_.push_back(NULL);
      } else {
        delete value;
        for (const std::string* value: cache_) {
          if (value != NULL) delete value;
        }
        SetStatus(status);
        break;
      }
    }
`;
/** The same answers (a copy of each value found, NULL for a key not found, the first error
 *  ends it) from one MultiGet under the same snapshot. */
const GETMANY_MULTIGET = `    /* regionstore: one batched MultiGet in place of a Get per key */
    const size_t count = keys_->size();
    std::vector<rocksdb::Slice> slices;
    slices.reserve(count);
    for (const std::string& key: *keys_) slices.emplace_back(key);
    std::vector<rocksdb::PinnableSlice> values(count);
    std::vector<rocksdb::Status> statuses(count);
    database_->db_->MultiGet(options_, database_->db_->DefaultColumnFamily(), count,
                             slices.data(), values.data(), statuses.data(), false);
    for (size_t i = 0; i < count; i++) {
      if (statuses[i].ok()) {
        cache_.push_back(new std::string(values[i].data(), values[i].size()));
      } else if (statuses[i].IsNotFound()) {
        cache_.push_back(NULL);
      } else {
        for (const std::string* value: cache_) {
          if (value != NULL) delete value;
        }
        cache_.clear();
        SetStatus(statuses[i]);
        break;
      }
    }
`;
/**
 * util/crc32c.cc: the SSE4.2 (and PCLMULQDQ three-way) crc32c compiled in, chosen at run
 * time by RocksDB's own cpuid check (isSSE42/isPCLMULQDQ in Choose_Extend). RocksDB's
 * PORTABLE builds do the same; the package's gyp file compiles the file without
 * -msse4.2, so HAVE_SSE42 was undefined and every block and WAL record checksum ran the
 * table-driven loop (0.8-1.1 us per put per member, session 8). Only the functions that
 * use the instructions are compiled for them (a target attribute and a pragma region),
 * not the whole file or library: on an x86-64 CPU without SSE4.2 the check picks the
 * table-driven loop, which stays plain x86-64 code, so the build still runs there.
 * Other architectures: the defines are not set, nothing changes.
 */
const CRC32C_FILE = join('deps', 'rocksdb', 'rocksdb', 'util', 'crc32c.cc');
const CRC32C_PATCHES = [
  ['#include "util/crc32c.h"\n#include <stdint.h>\n#ifdef HAVE_SSE42\n', '#if defined(__x86_64__) && defined(__GNUC__) && !defined(HAVE_SSE42) /* regionstore: fast crc32c chosen at run time */\n#define HAVE_SSE42 1\n#define HAVE_PCLMUL 1\n#define REGIONSTORE_CRC_TARGET 1\n#endif\n#include "util/crc32c.h"\n#include <stdint.h>\n#ifdef HAVE_SSE42\n'],
  ['static inline void Fast_CRC32(uint64_t* l, uint8_t const **p) {', '#ifdef REGIONSTORE_CRC_TARGET\n__attribute__((target("sse4.2")))\n#endif\nstatic inline void Fast_CRC32(uint64_t* l, uint8_t const **p) {'],
  ['#if defined HAVE_SSE42 && defined HAVE_PCLMUL\n\n#define CRCtriplet', '#if defined HAVE_SSE42 && defined HAVE_PCLMUL\n#ifdef REGIONSTORE_CRC_TARGET\n#pragma GCC push_options\n#pragma GCC target("sse4.2,pclmul")\n#endif\n\n#define CRCtriplet'],
  ['#endif //HAVE_SSE42 && HAVE_PCLMUL', '#ifdef REGIONSTORE_CRC_TARGET\n#pragma GCC pop_options\n#endif\n#endif //HAVE_SSE42 && HAVE_PCLMUL'],
];

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
  // getMany: one batched MultiGet (RocksDB sorts each group of keys and probes memtables,
  // filters and blocks for the group together) in place of one Get per key.
  [GETMANY_LOOP, GETMANY_MULTIGET],
  // RocksDB options the package's open() does not take, read from open options named rs*
  // (server/storage/rocksdb-tuning.ts); the prebuilt binary ignores them, so the same open
  // call works on both builds. A missing or non-number option keeps the binding's setting.
  ['NAPI_METHOD(db_open) {', `${TUNE_FUNCTION}\nNAPI_METHOD(db_open) {`],
  ['                                      infoLogLevel, readOnly);\n  worker->Queue(env);', '                                      infoLogLevel, readOnly);\n  RegionstoreTune(env, options, worker->options_, cacheSize, blockSize, blockRestartInterval); /* regionstore */\n  worker->Queue(env);'],
];
/** Every file patched, relative to the package's folder. */
const PATCHED_FILES = [['binding.cc', PATCHES], [CRC32C_FILE, CRC32C_PATCHES]];
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
const patchedOut = process.argv.indexOf('--patched-sources');
if (patchedOut !== -1) {
  // For review and a quick compile check of the patches alone (g++ -fsyntax-only) before
  // a build of the whole library: writes the patched files into the folder given.
  const out = process.argv[patchedOut + 1];
  if (out === undefined) fallBack('--patched-sources needs a folder');
  for (const [file, patches] of PATCHED_FILES) {
    mkdirSync(dirname(join(out, file)), { recursive: true });
    writeFileSync(join(out, file), patchedText(pkgDir, file, patches));
  }
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
  for (const [file, patches] of PATCHED_FILES) writeFileSync(join(src, file), patchedText(src, file, patches));

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
  writeFileSync(join(staged, 'BUILD.json'), `${JSON.stringify({ rocksdb: version, buildId: BUILD_ID, flags: RELEASE_FLAGS, patches: [...PATCHES, ...CRC32C_PATCHES].map(([, to]) => to), node: process.version, seconds, builtAt: new Date().toISOString() }, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staged, dir);
  say(`built in ${seconds} s: ${dir}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** `file` of the package copy in `from` with `patches` applied; falls back when one does not apply exactly once. */
function patchedText(from, file, patches) {
  let patched = readFileSync(join(from, file), 'utf8');
  for (const [line, replacement] of patches) {
    if (patched.split(line).length !== 2) fallBack(`${file} of rocksdb ${version} does not have the line "${line.split('\n')[0]}" exactly once: the patch does not apply (a new rocksdb version needs a look at it)`);
    // A function, so a `$` in the replacement is never a replacement pattern.
    patched = patched.replace(line, () => replacement);
  }
  return patched;
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
