// In-process scale benchmark of the mvcc store over real RocksDB: loads N keys in batches
// shaped like the region node's applies, and per stage prints the put rate of the stage's
// last 10 %, the JS heap after a GC, the count of all keys, a range of 1000 keys and HashKV,
// plus the longest event-loop delay seen while each of those ran. Reopens at the end
// (restart time). Run with --expose-gc so heap figures are after a full GC:
//   node --expose-gc --import tsx scripts/bench-mvcc-scale.ts --stages 10000,200000
// Add --cpu-prof (node flag) to profile a run. --scatter --random-values write keys and values
// as bench:scale does (scattered order, incompressible); --write-buffer-mb sets the memtable.
// Each stage's row has the CPU per put of every thread over the stage (stageUsPerPut:<thread>):
// main, node#2-5 (V8's platform workers: GC helpers), node#7-10 (libuv's pool: the binding's
// reads and writes), rocksdb:low0 (compaction), rocksdb:high0 (flush). The store opens with
// the state database's tuning (STATE_ROCKSDB_TUNING); REGIONSTORE_ROCKSDB_TUNING overrides it
// (server/storage/rocksdb-tuning.ts). --rocksdb-stats opens it with RocksDB's statistics and
// adds, per stage, the tickers per 1000 puts (rdb:<ticker>: block cache hits and misses,
// bloom filter useful, memtable hits, bytes compacted, stall micros) and the level-0 files.
// Every row also has RocksDB's own compaction and flush bytes per put over the stage
// (compactReadB, compactWriteB, flushB: from the `rocksdb.stats` property, any build).

import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { encodeCommand } from '../server/mvcc/command-codec.js';
import { MvccStore } from '../server/mvcc/store.js';
import { RocksEngine, STATE_WRITE_BUFFER_BYTES } from '../server/storage/rocksdb-engine.js';
import { STATE_ROCKSDB_TUNING } from '../server/storage/rocksdb-tuning.js';

/** Puts per applied batch: about what the region node applies per Ready under load. */
const BATCH_PUTS = 256;
const KEY_BYTES = 16;
const VALUE_BYTES = 256;

const { values } = parseArgs({
  options: {
    stages: { type: 'string', default: '10000,100000,200000' },
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
    /** RocksDB's own LOG at info level in the data dir (flushes, compactions, stalls); keep it with --dir. */
    'rocksdb-log': { type: 'boolean', default: false },
    /** Keys written in bench:scale's scattered order (its scaleKey) instead of sorted. */
    scatter: { type: 'boolean', default: false },
    /** Incompressible values (fresh pseudo-random bytes per put), as bench:scale --random-values. */
    'random-values': { type: 'boolean', default: false },
    /** The store's memtable size in MiB (else a member's state database's: STATE_WRITE_BUFFER_BYTES). */
    'write-buffer-mb': { type: 'string' },
    /** RocksDB's statistics on (release build only): tickers per 1000 puts in each stage's row. */
    'rocksdb-stats': { type: 'boolean', default: false },
  },
});
const stages = (values.stages as string).split(',').map(Number);

/** Golden-ratio multiplier of bench:scale's scaleKey: i -> i * M mod 2^32 is a bijection. */
const SCATTER = 0x9e3779b1;

function key(i: number): Uint8Array {
  const n = values.scatter === true ? Math.imul(i, SCATTER) >>> 0 : i;
  return Buffer.from(`k${n.toString().padStart(KEY_BYTES - 1, '0')}`);
}

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** Runs fn while sampling the event loop; returns its time and the loop's max delay. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; loopMaxMs: number; result: T }> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  // The monitor's first sample needs one timer turn before the work starts.
  await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const result = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  // CPU time of the whole process (RocksDB's threads too): on a shared machine it says
  // more than the wall time.
  return { ms, cpuMs: (c.user + c.system) / 1000, loopMaxMs: h.max / 1e6, result };
}

const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'bench-mvcc-scale-')));
const engineOptions = {
  ...STATE_ROCKSDB_TUNING,
  // REGIONSTORE_ROCKSDB_TUNING's `state.` overrides apply, as to a member's state database.
  scope: 'state' as const,
  ...(values['rocksdb-stats'] === true ? { rsStatistics: 1 } : {}),
  ...(values['rocksdb-log'] === true ? { infoLogLevel: 'info' as const } : {}),
  writeBufferSize: values['write-buffer-mb'] !== undefined ? Number(values['write-buffer-mb']) * 2 ** 20 : STATE_WRITE_BUFFER_BYTES,
};
let engine = await RocksEngine.open(dir, engineOptions);
let store = await MvccStore.open(engine);
const constantValue = Buffer.alloc(VALUE_BYTES, 'v');
const randomValue = (): Buffer => {
  const b = Buffer.allocUnsafe(VALUE_BYTES);
  for (let i = 0; i < VALUE_BYTES; i += 4) b.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
  return b;
};
const nextValue = values['random-values'] === true ? randomValue : () => constantValue;
let index = 0;
let loaded = 0;
const rows: Array<Record<string, number | string>> = [];

let threadsBefore: Record<string, number> = threadCpu();
let statsBefore: Record<string, number> = engine.statistics();
let ioBefore = compactionIo();
for (const target of stages) {
  const loaded0 = loaded;
  const tail = target - Math.floor((target - loaded) / 10);
  let tailStart = 0;
  let tailCpu = process.cpuUsage();
  while (loaded < target) {
    if (loaded >= tail && tailStart === 0) {
      tailStart = performance.now();
      tailCpu = process.cpuUsage();
    }
    const n = Math.min(BATCH_PUTS, target - loaded);
    const items = [];
    for (let i = 0; i < n; i++) {
      items.push({ index: ++index, command: encodeCommand({ type: 'put', put: { key: key(loaded + i), value: nextValue() } }) });
    }
    await store.applyBatch(items);
    loaded += n;
  }
  const tailPuts = target - tail;
  const threads = threadCpu();
  const stageThreads = Object.fromEntries(Object.entries(threads).map(([k, v]) => [k, Math.round(((v - (threadsBefore[k] ?? 0)) / (target - loaded0)) * 1e7) / 10]));
  threadsBefore = threads;
  const putsPerSec = tailPuts / ((performance.now() - tailStart) / 1000);
  const tailCpuUsed = process.cpuUsage(tailCpu);
  const cpuUsPerPut = (tailCpuUsed.user + tailCpuUsed.system) / tailPuts;
  const heap = heapMiB();
  const count = await timed(() => store.range({ key: Uint8Array.of(0), rangeEnd: Uint8Array.of(0), countOnly: true }));
  const prefixCount = await timed(() => store.range({ key: Buffer.from('k'), rangeEnd: Buffer.from('l'), countOnly: true }));
  const range = await timed(() => store.range({ key: key(0), rangeEnd: Uint8Array.of(0), limit: 1000 }));
  const hash = await timed(() => store.hashKV(0));
  const stats = engine.statistics();
  const statsPerKPut = Object.fromEntries(Object.entries(stats)
    .map(([k, v]) => [`rdb:${k.replace(/^rocksdb\./, '')}`, Math.round(((v - (statsBefore[k] ?? 0)) / (target - loaded0)) * 1000)] as const)
    .filter(([, v]) => v !== 0));
  statsBefore = stats;
  const io = compactionIo();
  const ioPerPut = (k: keyof typeof io): number => Math.round((io[k] - ioBefore[k]) / (target - loaded0));
  const ioRow = { compactReadB: ioPerPut('compactRead'), compactWriteB: ioPerPut('compactWrite'), flushB: ioPerPut('flush') };
  ioBefore = io;
  const row = {
    keys: target, l0Files: Number(engine.property('rocksdb.num-files-at-level0') ?? -1),
    levels: [1, 2, 3, 4].map((l) => engine.property(`rocksdb.num-files-at-level${l}`)).join('/'), putsPerSec: Math.round(putsPerSec), cpuUsPerPut: Math.round(cpuUsPerPut),
    ...Object.fromEntries(Object.entries(stageThreads).map(([k, v]) => [`stageUsPerPut:${k}`, v])), ...ioRow, heapMiB: Math.round(heap),
    rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    countMs: Math.round(count.ms), countLoopMaxMs: Math.round(count.loopMaxMs), counted: count.result.count,
    prefixCountMs: Math.round(prefixCount.ms), prefixCountCpuMs: Math.round(prefixCount.cpuMs),
    prefixCountLoopMaxMs: Math.round(prefixCount.loopMaxMs), prefixCounted: prefixCount.result.count,
    range1000Ms: Math.round(range.ms), range1000CpuMs: Math.round(range.cpuMs),
    hashKVMs: Math.round(hash.ms), hashKVCpuMs: Math.round(hash.cpuMs), hashLoopMaxMs: Math.round(hash.loopMaxMs),
    ...statsPerKPut,
  };
  rows.push(row);
  console.log(JSON.stringify(row));
}

/** Bytes compacted (read, written) and flushed so far, from `rocksdb.stats`' cumulative lines
 *  ("Cumulative compaction: 1.23 GB write, ..., 1.10 GB read, ..." and "Flush(GB): cumulative
 *  0.123"): 10 MB and 1 MB resolution, enough over a stage of 100k+ puts. */
function compactionIo(): { compactRead: number; compactWrite: number; flush: number } {
  const text = engine.property('rocksdb.stats') ?? '';
  const c = /Cumulative compaction: ([\d.]+) GB write, [\d.]+ MB\/s write, ([\d.]+) GB read/.exec(text);
  const f = /Flush\(GB\): cumulative ([\d.]+)/.exec(text);
  // The cumulative write counts level 0's flushes too (RocksDB books them as level 0's writes).
  const flush = Number(f?.[1] ?? 0) * 2 ** 30;
  return { compactWrite: Number(c?.[1] ?? 0) * 2 ** 30 - flush, compactRead: Number(c?.[2] ?? 0) * 2 ** 30, flush };
}

/** CPU seconds per thread (Linux): the main thread, then the others by name, and node's
 *  unnamed ones (V8's platform workers first, then libuv's pool running the binding's
 *  reads and writes, then RocksDB's flush and compaction threads) by their rank in thread
 *  id order, so a put's cost splits into JS, GC helpers, binding and LSM upkeep. */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    const tids = readdirSync('/proc/self/task').sort((a, b) => Number(a) - Number(b));
    for (const [rank, tid] of tids.entries()) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const name = tid === String(process.pid) ? 'main' : comm === 'node' ? `node#${rank}` : comm;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
      out[name] = (out[name] ?? 0) + ticks / 100;
    }
  } catch {
    // not Linux: no per-thread figures
  }
  return out;
}
console.log(JSON.stringify({ threadCpuSeconds: Object.fromEntries(Object.entries(threadCpu()).map(([k, v]) => [k, Math.round(v * 10) / 10])) }));

await store.idle();
await engine.close();
const reopen = await timed(async () => {
  engine = await RocksEngine.open(dir, engineOptions);
  store = await MvccStore.open(engine);
});
console.log(JSON.stringify({ reopenMs: Math.round(reopen.ms), reopenLoopMaxMs: Math.round(reopen.loopMaxMs), heapAfterReopenMiB: Math.round(heapMiB()) }));
await engine.close();
if (values.dir === undefined) await rm(dir, { recursive: true, force: true });
