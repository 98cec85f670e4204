// What one get of an existing key costs in a store loaded by bench-mvcc-scale (issue 20:
// linearizable gets at 1M keys), in CPU per get of the process and of its thread groups
// (/proc: figures that hold on a loaded machine), by read path:
//   range       MvccStore.range of one key at the current revision (what a Range serves)
//   engine-scan an iterator bounded to the key's latest row (the reader's seek before
//               session 9: RocksDB seeks every memtable, level-0 file and level)
//   engine-get  a point Get of the same row (bloom filters, one data block)
// Keys are bench-mvcc-scale's (--scatter order), chosen at random from the --keys loaded,
// with --in-flight gets outstanding, as bench:scale's reads. The store must not be written
// meanwhile. Load one first, keeping its dir:
//   node --import tsx scripts/bench-mvcc-scale.ts --stages 1000000 --scatter --random-values --dir D
//   node --import tsx scripts/bench-mvcc-get.ts --dir D --keys 1000000 [--gets 50000] [--paths range,engine-get] [--seed N]
// REGIONSTORE_ROCKSDB_TUNING overrides the state tuning as for a member (rocksdb-tuning.ts).

import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { latestKey } from '../server/mvcc/kv-layout.js';
import { MvccStore } from '../server/mvcc/store.js';
import { RocksEngine, STATE_WRITE_BUFFER_BYTES } from '../server/storage/rocksdb-engine.js';
import { STATE_ROCKSDB_TUNING } from '../server/storage/rocksdb-tuning.js';
import { cpuDelta, procCpu } from './proc-thread-cpu.js';

const KEY_BYTES = 16;
/** bench-mvcc-scale's scattered order (its key()): i -> i * M mod 2^32 is a bijection. */
const SCATTER = 0x9e3779b1;
const PATHS = ['range', 'engine-scan', 'engine-get'] as const;
type Path = (typeof PATHS)[number];

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    keys: { type: 'string', default: '1000000' },
    gets: { type: 'string', default: '50000' },
    'in-flight': { type: 'string', default: '256' },
    paths: { type: 'string', default: PATHS.join(',') },
    seed: { type: 'string' },
    'rocksdb-stats': { type: 'boolean', default: false },
  },
});
if (values.dir === undefined) throw new Error('--dir: a store loaded by bench-mvcc-scale --scatter (see the top of this file)');
const keys = Number(values.keys);
const gets = Number(values.gets);
const inFlight = Number(values['in-flight']);
const paths = values.paths.split(',') as Path[];
for (const p of paths) if (!PATHS.includes(p)) throw new Error(`--paths: ${p} is not one of ${PATHS.join(', ')}`);
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
console.error(`bench-mvcc-get: seed ${seed} (replay with --seed ${seed}), load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);

/** mulberry32: small, seedable. */
function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
const key = (i: number): Uint8Array => Buffer.from(`k${(Math.imul(i, SCATTER) >>> 0).toString().padStart(KEY_BYTES - 1, '0')}`);

const engine = await RocksEngine.open(values.dir, {
  ...STATE_ROCKSDB_TUNING, create: false, writeBufferSize: STATE_WRITE_BUFFER_BYTES, scope: 'state', ...(values['rocksdb-stats'] ? { rsStatistics: 1 } : {}),
});
const store = await MvccStore.open(engine);

async function one(path: Path, k: Uint8Array): Promise<boolean> {
  if (path === 'range') return (await store.range({ key: k })).kvs.length === 1;
  if (path === 'engine-get') return (await engine.get(latestKey(k))) !== undefined;
  let found = false;
  for await (const chunk of engine.scan({ gte: latestKey(k), lte: latestKey(k), limit: 1 })) if (chunk.length > 0) found = true;
  return found;
}

for (const path of paths) {
  // The same keys for every path (same seed); the page cache is warm after the first.
  const next = rng(seed);
  let missing = 0;
  let started = 0;
  const statsBefore = engine.statistics();
  const cpu0 = procCpu(process.pid);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (started < gets) {
      started++;
      if (!(await one(path, key(Math.floor(next() * keys))))) missing++;
    }
  }));
  const ms = performance.now() - t0;
  const cpu = cpuDelta(procCpu(process.pid), cpu0);
  const us = (s: number): number => Math.round((s / gets) * 1e7) / 10;
  const groups: Record<string, number> = {};
  for (const [g, s] of cpu.byThread) if (s > 0) groups[g] = us(s);
  const stats = engine.statistics();
  const tickers = Object.fromEntries(Object.entries(stats)
    .map(([k, v]) => [k.replace(/^rocksdb\./, ''), Math.round(((v - (statsBefore[k] ?? 0)) / gets) * 100) / 100] as const)
    .filter(([, v]) => v !== 0));
  console.log(JSON.stringify({
    path, gets, missing, getsPerSec: Math.round(gets / (ms / 1000)), cpuUsPerGet: us(cpu.all), mainUsPerGet: us(cpu.main),
    threadsUsPerGet: groups, load1: Math.round(loadavg()[0]! * 10) / 10, ...(Object.keys(tickers).length > 0 ? { tickersPerGet: tickers } : {}),
  }));
}
await store.idle();
await engine.close();
