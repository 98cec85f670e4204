// Bad bytes against each native build of the `rocksdb` package (issue 19, "no aborts"):
// a real database of N keys (half flushed into an SST, half still in the WAL), then per
// trial random bytes at a random offset of one SST or WAL file, and a child process that
// opens the copy (never creating) and reads everything: an iterator over every pair
// (values checked) and getMany of every key. The same damage is tried on every build, each
// in its own child (two builds in one process crash), and each trial ends as
//   abort      the reader died of a signal (an assert() in a build without NDEBUG)
//   error      RocksDB said so (Corruption, ...) and the process lived
//   wrong      no error, but a value read was not the one written (bad bytes served as data)
//   prefix     no error, the keys written last missing (a WAL cut at the damage: point-in-time recovery)
//   hole       no error, keys missing under keys written after them (a damaged WAL record
//              skipped and the later ones replayed: paranoid checks off)
//   unaffected everything read back right (the bytes hit padding, an index no read used, ...)
// and, apart, the trials where the iterator handed out wrong pairs with no error (a build
// whose iterators skip checksums; getMany verifies them and may still catch the block).
// For WAL damage, each trial also says what regionstore's start-up WAL check
// (server/storage/wal-check.ts, run before any build opens the database) finds: damage (the
// database is refused or rebuilt), a torn tail (opened: a prefix), or nothing; a hole that
// check lets through would be served. Seeded; prints the seed, and --trial replays one trial.
//
//   npx tsx scripts/fuzz-rocksdb-damage.ts [--seed S] [--trials 40] [--keys 4000] [--kinds sst,wal]
//       [--builds prebuilt,release,<dir with build/Release>] [--trial I] [--verbose]

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROCKSDB_OPEN_OPTIONS } from '../server/storage/rocksdb-engine.js';
import { chooseRocksdbBinding, ROCKSDB_BINDING_VAR, rocksdbPackageDir } from '../server/storage/rocksdb-binding.js';
import { checkWalFiles } from '../server/storage/wal-check.js';
import { SeededRandom } from '../server/util/random.js';

/** A child that takes longer than this is counted as a hang (a loaded 2-core machine is slow to start node). */
const CHILD_TIMEOUT_MS = 120_000;
/** Garbage lengths tried: a bit flip's worth, a few words, half a block, a whole 4 KiB block. */
const GARBAGE_LENGTHS = [1, 8, 512, 4096] as const;
/** Examples of each outcome printed per kind and build. */
const EXAMPLES_MAX = 3;

/**
 * The child, plain JS for a quick start. Values are derived from the key index: even keys a
 * compressible pattern, odd keys pseudo-random bytes, so blocks are both Snappy-compressed
 * and stored raw.
 */
const CHILD = `
const [mode, pkgDir, dir, keysArg, optionsJson] = process.argv.slice(1);
const keys = Number(keysArg);
const options = JSON.parse(optionsJson);
const rocksdb = require(pkgDir);
const bindingPath = require(require.resolve('node-gyp-build', { paths: [pkgDir] })).path(pkgDir);
const key = (i) => Buffer.from('key' + String(i).padStart(8, '0'));
const value = (i) => {
  if (i % 2 === 0) return Buffer.from(('v' + i).padEnd(200, '.'));
  const b = Buffer.alloc(200); let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < b.length; j++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; b[j] = x >>> 24; }
  return b;
};
const msg = (e) => String(e && e.message || e).slice(0, 160);
const cb = (f) => new Promise((res, rej) => f((e, v) => e ? rej(e) : res(v)));
async function fill() {
  const db = rocksdb(dir);
  const write = async (from, to) => {
    await cb((c) => db.open({ ...options, createIfMissing: true }, c));
    for (let i = from; i < to; i += 500) {
      const ops = [];
      for (let j = i; j < Math.min(to, i + 500); j++) ops.push({ type: 'put', key: key(j), value: value(j) });
      await cb((c) => db.batch(ops, {}, c));
    }
    await cb((c) => db.close(c));
  };
  // First half: written, then flushed into an SST by the next open (recovery flushes the WAL).
  await write(0, keys / 2);
  // Second half: left in the WAL (a close does not flush a memtable that has a WAL).
  await write(keys / 2, keys);
}
async function read() {
  const out = { binding: bindingPath };
  const db = rocksdb(dir);
  try { await cb((c) => db.open({ ...options, createIfMissing: false }, c)); }
  catch (e) { out.open = 'error: ' + msg(e); return out; }
  out.open = 'ok';
  const it = db.iterator({ keyAsBuffer: true, valueAsBuffer: true, fillCache: false });
  const seen = { n: 0, wrong: 0, unordered: 0 };
  let prev = null;
  try {
    for (;;) {
      const [k, v] = await new Promise((res, rej) => it.next((e, k, v) => e ? rej(e) : res([k, v])));
      if (k === undefined) break;
      if (prev !== null && Buffer.compare(prev, k) >= 0) seen.unordered++;
      prev = k; seen.n++;
      const i = Number(k.toString().slice(3));
      if (!(i >= 0 && i < keys) || !value(i).equals(v)) seen.wrong++;
    }
  } catch (e) { seen.error = msg(e); }
  await cb((c) => it.end(c)).catch(() => {});
  out.iterate = seen;
  // Keys are written in index order: a missing key below a present one is a hole.
  const got = { missing: 0, wrong: 0, hole: false };
  let firstMissing = Infinity;
  try {
    for (let i = 0; i < keys; i += 1000) {
      const ks = []; for (let j = i; j < Math.min(keys, i + 1000); j++) ks.push(key(j));
      const vs = await cb((c) => db.getMany(ks, { asBuffer: true, fillCache: false }, c));
      vs.forEach((v, j) => {
        if (v === undefined) { got.missing++; firstMissing = Math.min(firstMissing, i + j); }
        else { if (i + j > firstMissing) got.hole = true; if (!value(i + j).equals(v)) got.wrong++; }
      });
    }
  } catch (e) { got.error = msg(e); }
  out.getMany = got;
  await cb((c) => db.close(c)).catch(() => {});
  return out;
}
(mode === 'fill' ? fill() : read()).then((o) => { if (o) process.stdout.write(JSON.stringify(o) + '\\n'); }, (e) => { process.stderr.write(msg(e)); process.exit(2); });
`;

type Outcome = 'abort' | 'crash' | 'hang' | 'error' | 'wrong' | 'hole' | 'prefix' | 'unaffected';
const OUTCOMES: Outcome[] = ['abort', 'crash', 'hang', 'error', 'wrong', 'hole', 'prefix', 'unaffected'];
interface ReadReport {
  binding: string;
  open: string;
  iterate?: { n: number; wrong: number; unordered: number; error?: string };
  getMany?: { missing: number; wrong: number; hole: boolean; error?: string };
}

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string' },
    trials: { type: 'string', default: '40' },
    keys: { type: 'string', default: '4000' },
    kinds: { type: 'string', default: 'sst,wal' },
    builds: { type: 'string', default: 'prebuilt,release' },
    trial: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const seed = args.seed !== undefined ? Number(args.seed) : Date.now() % 1_000_000;
const keys = Number(args.keys);
const builds = args.builds.split(',');
const kinds = args.kinds.split(',') as Array<'sst' | 'wal'>;
const pkgDir = rocksdbPackageDir();
const optionsJson = JSON.stringify(ROCKSDB_OPEN_OPTIONS);

/**
 * The environment that makes a child load `build`: prebuilt or release, chosen as the
 * engine chooses (rocksdb-binding.ts), or a directory holding build/Release/leveldown.node
 * (another build to compare, e.g. one without the checksum patch). node-gyp-build reads
 * ROCKSDB_PREBUILD.
 */
function buildEnv(build: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['ROCKSDB_PREBUILD'];
  if (build === 'prebuilt' || build === 'release') {
    const chosen = chooseRocksdbBinding({ ...process.env, [ROCKSDB_BINDING_VAR]: build });
    if (chosen.kind === 'release') env['ROCKSDB_PREBUILD'] = chosen.dir;
  } else {
    env['ROCKSDB_PREBUILD'] = build;
  }
  return env;
}

function runChild(mode: 'fill' | 'read', build: string, dir: string): { outcome: Outcome; detail: string; report?: ReadReport } {
  const r = spawnSync(process.execPath, ['-e', CHILD, mode, pkgDir, dir, String(keys), optionsJson], {
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    env: buildEnv(build),
    killSignal: 'SIGKILL',
  });
  const lastErr = r.stderr.trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0]?.slice(0, 200) ?? '';
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { outcome: 'hang', detail: `no answer in ${CHILD_TIMEOUT_MS} ms` };
  if (r.signal !== null) return { outcome: 'abort', detail: `${r.signal}: ${lastErr}` };
  if (r.status !== 0) return { outcome: 'crash', detail: `exit ${r.status}: ${lastErr}` };
  if (mode === 'fill') return { outcome: 'unaffected', detail: '' };
  const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as ReadReport;
  return { ...classify(report), report };
}

function classify(r: ReadReport): { outcome: Outcome; detail: string } {
  if (r.open !== 'ok') return { outcome: 'error', detail: `open: ${r.open}` };
  const it = r.iterate!;
  const gm = r.getMany!;
  const errors = [it.error && `iterate: ${it.error}`, gm.error && `getMany: ${gm.error}`].filter(Boolean);
  const served = `iterate ${it.n}/${keys} pairs, ${it.wrong} wrong, ${it.unordered} out of order; getMany ${gm.wrong} wrong, ${gm.missing} missing`;
  if (errors.length > 0) return { outcome: 'error', detail: `${errors.join('; ')} (${served})` };
  if (it.wrong > 0 || gm.wrong > 0 || it.unordered > 0) return { outcome: 'wrong', detail: served };
  if (it.n < keys || gm.missing > 0) return { outcome: gm.hole ? 'hole' : 'prefix', detail: served };
  return { outcome: 'unaffected', detail: served };
}

/** The damage of one trial, from the seed and the trial number alone. */
function damage(pristine: string, kind: 'sst' | 'wal', trial: number): { file: string; at: number; bytes: Buffer } {
  const rng = new SeededRandom((seed * 1_000_003 + trial * 7919 + (kind === 'wal' ? 1 : 0)) >>> 0);
  const suffix = kind === 'sst' ? '.sst' : '.log';
  const files = readdirSync(pristine).filter((f) => f.endsWith(suffix)).sort();
  if (files.length === 0) throw new Error(`no ${suffix} file in the pristine database (${readdirSync(pristine).join(' ')})`);
  const file = rng.pick(files);
  const size = statSync(join(pristine, file)).size;
  const length = Math.min(size, rng.pick(GARBAGE_LENGTHS));
  const at = rng.int(0, size - length + 1);
  return { file, at, bytes: Buffer.from(Array.from({ length }, () => rng.int(0, 256))) };
}

const root = mkdtempSync(join(tmpdir(), 'rs-fuzz-rocksdb-'));
try {
  const pristine = join(root, 'pristine');
  const fill = runChild('fill', builds[0]!, pristine);
  if (fill.outcome !== 'unaffected') throw new Error(`could not fill the database: ${fill.detail}`);
  const trials = args.trial !== undefined ? [Number(args.trial)] : Array.from({ length: Number(args.trials) }, (_, i) => i);
  console.log(`# rocksdb damage fuzz: seed ${seed} (replay: npx tsx scripts/fuzz-rocksdb-damage.ts --seed ${seed} --keys ${keys} [--trial I]), ${keys} keys, ${trials.length} trials per kind, builds ${builds.join(', ')}`);
  console.log(`# pristine: ${readdirSync(pristine).filter((f) => /\.(sst|log)$/.test(f)).map((f) => `${f} ${statSync(join(pristine, f)).size} B`).join(', ')}`);
  // The control: an undamaged copy reads back whole with every build.
  for (const build of builds) {
    const copy = join(root, `control-${build.replace(/\W+/g, '_')}`);
    cpSync(pristine, copy, { recursive: true });
    const r = runChild('read', build, copy);
    rmSync(copy, { recursive: true, force: true });
    if (r.outcome !== 'unaffected') throw new Error(`the undamaged copy does not read back whole with ${build}: ${r.outcome} ${r.detail}`);
  }
  for (const kind of kinds) {
    const counts = new Map<string, Map<Outcome, number>>(builds.map((b) => [b, new Map()]));
    const examples = new Map<string, string[]>();
    const iteratorServedWrong = new Map<string, number>();
    /** What the start-up WAL check says of each damaged copy, and the holes it let through, by build. */
    const walCheck = new Map<string, number>();
    const holesPassed = new Map<string, number>();
    for (const trial of trials) {
      const d = damage(pristine, kind, trial);
      let walVerdict = '';
      for (const build of builds) {
        const copy = join(root, `t-${kind}-${trial}-${build.replace(/\W+/g, "_")}`);
        cpSync(pristine, copy, { recursive: true });
        const path = join(copy, d.file);
        const bytes = readFileSync(path);
        d.bytes.copy(bytes, d.at);
        writeFileSync(path, bytes);
        if (kind === 'wal' && walVerdict === '') {
          const w = await checkWalFiles(copy);
          walVerdict = w.damage !== undefined ? 'damage' : w.tornTail !== undefined ? 'torn tail' : 'nothing';
          walCheck.set(walVerdict, (walCheck.get(walVerdict) ?? 0) + 1);
        }
        const r = runChild('read', build, copy);
        if (r.outcome === 'hole' && walVerdict !== 'damage') holesPassed.set(build, (holesPassed.get(build) ?? 0) + 1);
        rmSync(copy, { recursive: true, force: true });
        const c = counts.get(build)!;
        c.set(r.outcome, (c.get(r.outcome) ?? 0) + 1);
        // Wrong pairs the iterator handed out before any error (getMany may have caught the block later).
        if ((r.report?.iterate?.wrong ?? 0) > 0 || (r.report?.iterate?.unordered ?? 0) > 0) iteratorServedWrong.set(build, (iteratorServedWrong.get(build) ?? 0) + 1);
        const line = `trial ${trial}: ${d.bytes.length} B at ${d.at} of ${d.file}: ${r.detail}${walVerdict ? `; WAL check: ${walVerdict}` : ''}`;
        if (args.verbose) console.log(`  ${kind} ${build} ${r.outcome} ${line}${r.report ? ` [${r.report.binding}]` : ''}`);
        const ex = examples.get(`${build} ${r.outcome}`) ?? [];
        if (ex.length < EXAMPLES_MAX) ex.push(line);
        examples.set(`${build} ${r.outcome}`, ex);
      }
    }
    console.log(`${kind} (${trials.length} trials):`);
    for (const [build, c] of counts) {
      console.log(`  ${build.padEnd(9)} ${OUTCOMES.map((o) => `${o} ${c.get(o) ?? 0}`).join(', ')}; the iterator served wrong pairs without an error in ${iteratorServedWrong.get(build) ?? 0}` +
        (kind === 'wal' ? `; holes the start-up WAL check let through: ${holesPassed.get(build) ?? 0}` : ''));
    }
    if (kind === 'wal') console.log(`  start-up WAL check: ${[...walCheck].map(([v, n]) => `${v} ${n}`).join(', ')}`);
    for (const [k, ex] of [...examples].sort()) {
      if (k.endsWith('unaffected')) continue;
      for (const e of ex) console.log(`    ${k}: ${e}`);
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
