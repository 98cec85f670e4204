// Issue 19's engine comparison, in one run on one machine: the RocksDB bindings behind the
// Engine interface (rocksdb-release / rocksdb-prebuilt = the default package, RocksDB 6.17,
// as our release build or its prebuilt binary; @nxtedition/rocksdb = RocksDB 9.7;
// rocksdb-native = Holepunch's librocksdb), each through
//  - damage: 4 KiB of random bytes in the middle of its largest SST, and a lost MANIFEST
//    (CURRENT and MANIFEST-* deleted); the damaged database is opened (never created) and
//    read whole (iterate, then getMany of every key) in a child process, so an abort is
//    seen as a signal, not the end of this run;
//  - put: single-key unsynced writes, and batches of 100; sync-write: single-key synced
//    writes (what a raft Ready costs), as scripts/bench-sync-write.ts measures.
// A binding that is not installed is reported as such (they are optional dependencies).
//
//   npx tsx scripts/engine-compare.ts [--keys 20000] [--writes 2000] [--syncs 300] [--seed 1]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import type { Engine } from '../server/storage/engine.js';
import { SeededRandom } from '../server/util/random.js';

// Each binding is loaded alone, in a process of its own: two RocksDB builds in one process
// share C++ symbols, and the second one loaded crashes (seen: munmap_chunk, SIGSEGV).
// The `rocksdb` package twice: its release build (scripts/build-rocksdb.mjs; what members
// run when it is built) and its prebuilt binary (assertions on), chosen per process by
// REGIONSTORE_ROCKSDB_BINDING (server/storage/rocksdb-binding.ts).
const openRocks = async (dir: string, create: boolean): Promise<Engine> => (await import('../server/storage/rocksdb-engine.js')).RocksEngine.open(dir, { create });
const ENGINES: Record<string, { pkg: string; env?: Record<string, string>; open: (dir: string, create: boolean) => Promise<Engine> }> = {
  'rocksdb-release': { pkg: 'rocksdb', env: { REGIONSTORE_ROCKSDB_BINDING: 'release' }, open: openRocks },
  'rocksdb-prebuilt': { pkg: 'rocksdb', env: { REGIONSTORE_ROCKSDB_BINDING: 'prebuilt' }, open: openRocks },
  '@nxtedition/rocksdb': {
    pkg: '@nxtedition/rocksdb',
    open: async (dir, create) => (await import('../server/storage/nxtedition-rocksdb-engine.js')).NxtRocksEngine.open(dir, { create }),
  },
  'rocksdb-native': {
    pkg: 'rocksdb-native',
    open: async (dir, create) => (await import('../server/storage/rocksdb-native-engine.js')).NativeRocksEngine.open(dir, { create }),
  },
};

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function errorText(err: unknown): string {
  const e = err as Error & { cause?: Error };
  return `${e.message}${e.cause ? ` (${e.cause.message})` : ''}`.slice(0, 200);
}
/** Bytes of garbage written into the SST, as in issue 19's finding 3. */
const GARBAGE_BYTES = 4096;
const VALUE_BYTES = 100;
const BATCH_KEYS = 100;
const PUT_VALUE_BYTES = 300;
const CHILD_TIMEOUT_MS = 300_000;

const key = (i: number): Uint8Array => new TextEncoder().encode(`key${String(i).padStart(8, '0')}`);
const valueOf = (i: number): Uint8Array => new TextEncoder().encode(`v${i}`.padEnd(VALUE_BYTES, '.'));

/** Child: open the damaged database (never create) and read it whole; prints one JSON line. */
async function child(name: string, dir: string, keys: number): Promise<void> {
  const out: Record<string, unknown> = {};
  let engine: Engine;
  try {
    engine = await ENGINES[name]!.open(dir, false);
  } catch (err) {
    console.log(JSON.stringify({ open: `error: ${errorText(err)}` }));
    return;
  }
  out['open'] = 'ok';
  try {
    let n = 0;
    let wrong = 0;
    for await (const [k, v] of engine.iterate()) {
      const i = Number(new TextDecoder().decode(k).slice(3));
      if (Buffer.compare(Buffer.from(v), Buffer.from(valueOf(i))) !== 0) wrong++;
      n++;
    }
    out['iterate'] = `read ${n} of ${keys} pairs, ${wrong} wrong values, no error`;
  } catch (err) {
    out['iterate'] = `error: ${errorText(err)}`;
  }
  try {
    const ks = Array.from({ length: keys }, (_, i) => key(i));
    let missing = 0;
    let wrong = 0;
    for (let i = 0; i < ks.length; i += 1000) {
      const vs = await engine.getMany(ks.slice(i, i + 1000));
      vs.forEach((v, j) => {
        if (v === undefined) missing++;
        else if (Buffer.compare(Buffer.from(v), Buffer.from(valueOf(i + j))) !== 0) wrong++;
      });
    }
    out['getMany'] = `${keys - missing - wrong} of ${keys} right, ${missing} missing, ${wrong} wrong, no error`;
  } catch (err) {
    out['getMany'] = `error: ${errorText(err)}`;
  }
  await engine.close().catch(() => undefined);
  console.log(JSON.stringify(out));
}

async function fill(name: string, dir: string, keys: number): Promise<void> {
  const e = await ENGINES[name]!.open(dir, true);
  for (let i = 0; i < keys; i += 1000) {
    const ops = [];
    for (let j = i; j < Math.min(keys, i + 1000); j++) ops.push({ type: 'put' as const, key: key(j), value: valueOf(j) });
    await e.write(ops);
  }
  await e.close();
  // Opening again replays the WAL into an L0 SST (RocksDB flushes on recovery).
  await (await ENGINES[name]!.open(dir, false)).close();
}

function runChild(name: string, dir: string, keys: number): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, '--dir', dir, '--keys', String(keys)], { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
  if (r.signal !== null) return `killed by ${r.signal}: ${r.stderr.trim().split('\n').slice(-1)[0]?.slice(0, 200) ?? ''}`;
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (process.env['ENGINE_COMPARE_DEBUG'] === '1') console.error(r.stderr);
  return line || `exit ${r.status}: ${r.stderr.trim().split('\n').filter((l) => /Error|Corruption|at /.test(l)).slice(0, 3).join(' | ').slice(0, 300)}`;
}

function files(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** The data files: RocksDB replaces its log and MANIFEST on every open, SSTs hold the data. */
function sstFiles(dir: string): string[] {
  return files(dir).filter((f) => f.endsWith('.sst'));
}

async function damageCases(name: string, root: string, keys: number, rng: SeededRandom): Promise<void> {
  const a = join(root, `${name.replace(/\W/g, '_')}-sst`);
  await fill(name, a, keys);
  const sst = files(a).filter((f) => f.endsWith('.sst')).map((f) => join(a, f)).sort((x, y) => statSync(y).size - statSync(x).size)[0];
  if (sst === undefined) {
    console.log(`  sst-bytes: no SST was written (${files(a).join(' ')})`);
  } else {
    const bytes = readFileSync(sst);
    const at = Math.floor(bytes.length / 2);
    const garbage = Buffer.from(Array.from({ length: GARBAGE_BYTES }, () => rng.int(0, 256)));
    garbage.copy(bytes, at);
    writeFileSync(sst, bytes);
    const before = sstFiles(a);
    console.log(`  sst-bytes (${GARBAGE_BYTES} B at ${at} of ${bytes.length} in ${sst.split('/').pop()}): ${runChild(name, a, keys)}; SSTs deleted: ${before.filter((f) => !sstFiles(a).includes(f)).join(' ') || 'none'}`);
  }
  const b = join(root, `${name.replace(/\W/g, '_')}-manifest`);
  await fill(name, b, keys);
  for (const f of files(b)) if (f === 'CURRENT' || f.startsWith('MANIFEST-')) unlinkSync(join(b, f));
  const before = sstFiles(b);
  console.log(`  lost-manifest: ${runChild(name, b, keys)}; SSTs deleted: ${before.filter((f) => !sstFiles(b).includes(f)).join(' ') || 'none'}`);
}

function percentiles(ms: number[]): string {
  ms.sort((x, y) => x - y);
  const at = (p: number): string => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))]!.toFixed(3);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`;
}

async function bench(name: string, root: string, writes: number, syncs: number): Promise<void> {
  const e = await ENGINES[name]!.open(join(root, `${name.replace(/\W/g, '_')}-bench`), true);
  const value = new Uint8Array(PUT_VALUE_BYTES).fill(0x61);
  const ms: number[] = [];
  let t0 = performance.now();
  for (let i = 0; i < writes; i++) {
    const t = performance.now();
    await e.write([{ type: 'put', key: key(i), value }]);
    ms.push(performance.now() - t);
  }
  const putRate = Math.round(writes / ((performance.now() - t0) / 1000));
  console.log(`  put (1 key, no sync): ${putRate}/s, ${percentiles(ms)}`);
  t0 = performance.now();
  for (let i = 0; i < writes; i++) {
    const ops = [];
    for (let j = 0; j < BATCH_KEYS; j++) ops.push({ type: 'put' as const, key: key(writes + i * BATCH_KEYS + j), value });
    await e.write(ops);
  }
  console.log(`  put (batches of ${BATCH_KEYS}, no sync): ${Math.round((writes * BATCH_KEYS) / ((performance.now() - t0) / 1000))} keys/s`);
  const sms: number[] = [];
  for (let i = 0; i < syncs; i++) {
    const t = performance.now();
    await e.write([{ type: 'put', key: key(i), value }], { sync: true });
    sms.push(performance.now() - t);
  }
  console.log(`  sync-write (1 key): ${percentiles(sms)}`);
  t0 = performance.now();
  let n = 0;
  for await (const chunk of e.scan()) n += chunk.length;
  console.log(`  scan: ${n} pairs in ${(performance.now() - t0).toFixed(0)} ms`);
  await e.close();
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' }, dir: { type: 'string' },
    keys: { type: 'string', default: '20000' }, writes: { type: 'string', default: '2000' },
    syncs: { type: 'string', default: '300' }, seed: { type: 'string', default: '1' },
    engines: { type: 'string', default: Object.keys(ENGINES).join(',') }, engine: { type: 'string' },
  },
});
if (values.child !== undefined) {
  await child(values.child, values.dir!, Number(values.keys));
} else if (values.engine !== undefined) {
  // One binding's section, in its own process (see ENGINES).
  const root = mkdtempSync(join(tmpdir(), 'rs-engine-compare-'));
  try {
    await damageCases(values.engine, root, Number(values.keys), new SeededRandom(Number(values.seed)));
    await bench(values.engine, root, Number(values.writes), Number(values.syncs));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
} else {
  const seed = Number(values.seed);
  console.log(`# engine comparison: ${values.keys} keys for the damage cases, ${values.writes} puts, ${values.syncs} synced writes (seed ${seed}; replay: npx tsx scripts/engine-compare.ts --seed ${seed})`);
  for (const name of values.engines.split(',')) {
    const engine = ENGINES[name];
    if (engine === undefined) throw new Error(`--engines: unknown ${name} (${Object.keys(ENGINES).join(', ')})`);
    console.log(name);
    if (!installed(engine.pkg)) {
      console.log(`  not installed (npm install --no-save ${engine.pkg})`);
      continue;
    }
    const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--engine', name];
    for (const k of ['keys', 'writes', 'syncs', 'seed'] as const) args.push(`--${k}`, values[k]);
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, env: { ...process.env, ...engine.env } });
    if (r.status !== 0) console.log(`  the run ended with ${r.signal ?? `exit ${r.status}`}: ${r.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300)}`);
  }
}
