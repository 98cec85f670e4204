// What a state snapshot costs each end, in one process and without the network: the
// sender's read and framing (readStateSnapshot) and the receiver's install
// (installStateSnapshot), each alone, of an mvcc store loaded with --keys keys (16-byte
// keys, 256-byte values, 100 puts per txn, like scripts/bench-member-add.ts). Prints wall
// time, main-thread busy time (event-loop utilization: what a member's Raft loop loses)
// and process CPU (RocksDB's threads included) per end, and the stream's size, for the
// whole format (1) and the one that leaves out the key index (2). Figures per run, so
// compare formats within one run on a loaded machine.
//
//   tsx scripts/bench-snapshot-stream.ts [--keys 200000] [--dir DIR] [--formats 1,2] [--random-values] [--scatter]
//                                        [--reps N]
//
// --dir DIR keeps the loaded source there and reuses it on the next run with the same --keys.
// --scatter writes keys in bench:scale's scattered order (its scaleKey), so the latest rows
// and history entries a receiver derives arrive in random key order, as in bench:scale.
// The receiver's database is opened as a member's install opens it (openStateRocksEngine).

import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { MVCC_SNAPSHOT_DERIVATION, MvccStore, encodeCommand, type Command } from '../server/mvcc/index.js';
import { openRocksEngine, openStateRocksEngine } from '../server/storage/rocksdb-engine.js';
import { scaleKey } from '../client/bench/scale-load.js';
import { installStateSnapshot, readStateSnapshot } from '../server/storage/state-snapshot.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '200000' },
    dir: { type: 'string' },
    formats: { type: 'string', default: '1,2' },
    'random-values': { type: 'boolean', default: false },
    scatter: { type: 'boolean', default: false },
    reps: { type: 'string', default: '1' },
  },
});
const KEYS = Number(args.keys);
const PUTS_PER_TXN = 100;
const VALUE_BYTES = 256;

const root = mkdtempSync(join(tmpdir(), 'rs-bench-snapstream-'));
const sourceDir = args.dir ?? join(root, 'source');
const fresh = !existsSync(sourceDir);
const engine = await openRocksEngine(sourceDir);
const store = await MvccStore.open(engine);
if (fresh) {
  const t0 = performance.now();
  const constant = Buffer.alloc(VALUE_BYTES, 'v');
  let index = store.appliedIndex;
  for (let start = 0; start < KEYS; start += PUTS_PER_TXN) {
    const success = [];
    for (let i = start; i < Math.min(KEYS, start + PUTS_PER_TXN); i++) {
      const value = args['random-values'] ? randomBytes(VALUE_BYTES) : constant;
      const key = args.scatter ? scaleKey(i) : Buffer.from(`key-${String(i).padStart(12, '0')}`);
      success.push({ type: 'put' as const, put: { key, value } });
    }
    const cmd: Command = { type: 'txn', txn: { compare: [], success, failure: [] } };
    await store.apply(++index, encodeCommand(cmd));
  }
  await store.idle();
  console.error(`loaded ${KEYS} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
await store.idle();

interface Cost { wallS: number; busyS: number; cpuS: number; threads: Map<string, number> }

/** CPU seconds per thread name of this process (Linux /proc; empty elsewhere): the main
 *  thread ("node"), libuv's pool ("libuv-worker"), RocksDB's flush and compaction threads. */
function threadCpu(): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(f[11]) + Number(f[12]); // utime + stime
      const key = t === String(process.pid) ? 'main' : name;
      out.set(key, (out.get(key) ?? 0) + ticks / CLOCK_TICKS);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}
const CLOCK_TICKS = 100;

async function measure(fn: () => Promise<void>): Promise<Cost> {
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const th0 = threadCpu();
  const t0 = performance.now();
  await fn();
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const threads = new Map<string, number>();
  for (const [k, v] of threadCpu()) if (v - (th0.get(k) ?? 0) >= 0.01) threads.set(k, v - (th0.get(k) ?? 0));
  return { wallS: (performance.now() - t0) / 1000, busyS: elu.active / 1000, cpuS: (cpu.user + cpu.system) / 1e6, threads };
}

const fmt = (c: Cost): string => `wall ${c.wallS.toFixed(2)} s, main thread ${c.busyS.toFixed(2)} s, cpu ${c.cpuS.toFixed(2)} s ` +
  `(${[...c.threads].map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')})`;

for (const format of args.formats.split(',').map(Number)) {
  const derivation = format === 2 ? MVCC_SNAPSHOT_DERIVATION : undefined;
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const send = await measure(async () => {
    for await (const c of readStateSnapshot(engine, derivation)) {
      chunks.push(c);
      bytes += c.length;
    }
  });
  console.log(`format ${format}: ${(bytes / 2 ** 20).toFixed(1)} MiB; send: ${fmt(send)}`);
  for (let rep = 0; rep < Number(args.reps); rep++) {
    const dataDir = join(root, `install-${format}`);
    let installed: Awaited<ReturnType<typeof installStateSnapshot>> | undefined;
    const install = await measure(async () => {
      installed = await installStateSnapshot(dataDir, chunks, openStateRocksEngine, derivation === undefined ? {} : { derivation });
    });
    await installed?.close();
    rmSync(dataDir, { recursive: true, force: true });
    console.log(`  install: ${fmt(install)}; load ${loadavg()[0]?.toFixed(1)}`);
  }
}

await store.idle();
await engine.close();
rmSync(root, { recursive: true, force: true });
