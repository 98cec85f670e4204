// What a delete of a large range costs the event loop, in-process (issue 20, "no request
// stalls Raft"): `etcdctl check datascale --load=s` ends with one DeleteRange of its 10k
// keys of 1 KiB, which every member applies. Puts --keys keys of --value-bytes (applied in
// entries of --put-batch puts, as etcdctl's 50 clients arrive), then applies the delete as
// the region node does (MvccStore.applyBatch of the encoded entry) over real RocksDB in a
// temp dir, and prints per run, for the delete alone:
//  - the longest turn of the event loop in main-thread CPU (Linux schedstat, read at every
//    turn by a setImmediate spinner): what the delete holds the loop for, on a quiet
//    machine, without the time spent waiting for a core on a loaded one; and the 99th
//    percentile of the turns; the number of turns;
//  - main-thread CPU and wall time of the whole delete (wall counts waiting for a core);
//  - what V8 allocated and promoted meanwhile (node:v8 GCProfiler, as scripts/gc-preload.mjs)
//    and its GCs: promoted bytes become the next Mark-Compact's work on every member; and
//    the most ArrayBuffer memory outside the heap seen (values copied out of the engine
//    live there, invisible to the heap figures), sampled every ARRAY_BUFFER_SAMPLE_TURNS.
//
//   npx tsx scripts/bench-delete-range.ts [--keys 10000] [--value-bytes 1024] [--put-batch 50] [--runs 3] [--prev-kv]

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { GCProfiler } from 'node:v8';
import { MvccStore, encodeCommand, type ApplyItem } from '../server/mvcc/index.js';
import { RocksEngine, STATE_WRITE_BUFFER_BYTES } from '../server/storage/rocksdb-engine.js';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '10000' },
    'value-bytes': { type: 'string', default: '1024' },
    'put-batch': { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    'prev-kv': { type: 'boolean', default: false },
  },
});
const KEYS = Number(values.keys);
const VALUE_BYTES = Number(values['value-bytes']);
const PUT_BATCH = Number(values['put-batch']);
/** etcdctl check datascale's prefix. */
const PREFIX = '/etcdctl-check-datascale/';
const enc = new TextEncoder();
/** Turns between two reads of process.memoryUsage() (it costs tens of µs). */
const ARRAY_BUFFER_SAMPLE_TURNS = 32;

/** CPU time of the main thread in ms (Linux schedstat: ns on the CPU, not waiting for one). */
function mainCpuMs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

interface GcStat { gcType: string; cost: number; beforeGC: HeapAt; afterGC: HeapAt }
interface HeapAt { heapStatistics: { usedHeapSize: number }; heapSpaceStatistics: Array<{ spaceName: string; spaceUsedSize: number }> }
const oldUsed = (h: HeapAt): number => h.heapSpaceStatistics.find((s) => s.spaceName === 'old_space')?.spaceUsedSize ?? 0;

/** Bytes allocated and promoted over GC records (as scripts/trace-put-gc.ts derives them). */
function gcFigures(gc: GcStat[], usedAtEnd: number, usedAtStart: number): { allocated: number; promoted: number; counts: string } {
  let allocated = 0;
  let promoted = 0;
  let prev = usedAtStart;
  const counts = new Map<string, { n: number; ms: number }>();
  for (const g of gc) {
    allocated += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - prev);
    prev = g.afterGC.heapStatistics.usedHeapSize;
    if (g.gcType === 'Scavenge') promoted += Math.max(0, oldUsed(g.afterGC) - oldUsed(g.beforeGC));
    const c = counts.get(g.gcType) ?? { n: 0, ms: 0 };
    c.n++;
    c.ms += g.cost / 1000;
    counts.set(g.gcType, c);
  }
  allocated += Math.max(0, usedAtEnd - prev);
  return { allocated, promoted, counts: [...counts].map(([t, c]) => `${t} ${c.n}× ${c.ms.toFixed(0)} ms`).join(', ') || 'none' };
}

async function oneRun(run: number): Promise<Record<string, string | number>> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-bench-delete-'));
  const engine = await RocksEngine.open(dir, { writeBufferSize: STATE_WRITE_BUFFER_BYTES });
  const store = await MvccStore.open(engine);
  let index = 0;
  try {
    const value = new Uint8Array(VALUE_BYTES).fill(0x61 + run);
    for (let i = 0; i < KEYS; i += PUT_BATCH) {
      const items: ApplyItem[] = [];
      for (let j = i; j < Math.min(KEYS, i + PUT_BATCH); j++) {
        items.push({ index: ++index, command: encodeCommand({ type: 'put', put: { key: enc.encode(`${PREFIX}${j}`), value } }) });
      }
      await store.applyBatch(items);
    }
    const key = enc.encode(PREFIX);
    const rangeEnd = enc.encode(PREFIX.slice(0, -1) + String.fromCharCode(PREFIX.charCodeAt(PREFIX.length - 1) + 1));
    const del = encodeCommand({ type: 'deleteRange', deleteRange: { key, rangeEnd, prevKv: values['prev-kv'] } });
    // Every turn's main-thread CPU, from the spinner's reads.
    const turns: number[] = [];
    let spinning = true;
    let last = mainCpuMs();
    const abAtStart = process.memoryUsage().arrayBuffers;
    let abPeak = abAtStart;
    const spin = (): void => {
      const now = mainCpuMs();
      turns.push(now - last);
      if (turns.length % ARRAY_BUFFER_SAMPLE_TURNS === 0) abPeak = Math.max(abPeak, process.memoryUsage().arrayBuffers);
      last = mainCpuMs(); // the sampling itself is not the delete's
      if (spinning) setImmediate(spin);
    };
    const profiler = new GCProfiler();
    const usedAtStart = process.memoryUsage().heapUsed;
    profiler.start();
    const cpu0 = mainCpuMs();
    const t0 = performance.now();
    setImmediate(spin);
    const [res] = await store.applyBatch([{ index: ++index, command: del }]);
    const wallMs = performance.now() - t0;
    const cpuMs = mainCpuMs() - cpu0;
    spinning = false;
    const gc = (profiler.stop()?.statistics ?? []) as unknown as GcStat[];
    const deleted = res?.response?.type === 'deleteRange' ? res.response.deleteRange.deleted : -1;
    if (deleted !== KEYS) throw new Error(`deleted ${deleted} keys, expected ${KEYS}`);
    const g = gcFigures(gc, process.memoryUsage().heapUsed, usedAtStart);
    const sorted = [...turns].sort((a, b) => a - b);
    return {
      run, 'longest turn, CPU ms': Number((sorted[sorted.length - 1] ?? 0).toFixed(1)),
      'p99 turn, CPU ms': Number((sorted[Math.floor(sorted.length * 0.99)] ?? 0).toFixed(1)), turns: turns.length,
      'CPU ms': Math.round(cpuMs), 'wall ms': Math.round(wallMs),
      'allocated MB': Number((g.allocated / 2 ** 20).toFixed(1)), 'ArrayBuffers peak +MB': Number(((abPeak - abAtStart) / 2 ** 20).toFixed(1)), 'promoted MB': Number((g.promoted / 2 ** 20).toFixed(1)), GCs: g.counts,
    };
  } finally {
    await store.idle();
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const rows: Array<Record<string, string | number>> = [];
console.log(`delete of ${KEYS} keys of ${VALUE_BYTES} bytes${values['prev-kv'] ? ' with prev_kv' : ''}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (let r = 1; r <= Number(values.runs); r++) rows.push(await oneRun(r));
console.table(rows);
console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
