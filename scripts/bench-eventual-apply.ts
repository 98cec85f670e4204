// Micro-benchmark: what the APPLY of one write costs in-process (no Raft, no gRPC), a strong
// etcd put against an lww put through the eventual store (issue 13: "an lww write through
// Raft should cost no more than a strong put"). Both go through MvccStore.applyBatch as the
// region node calls it (encoded entries, batches of --batch entries, one engine write each),
// over real RocksDB in a temp dir. Per row, per op: the main thread's CPU (what limits a
// member's write rate; the figure to compare on a loaded machine), the event loop's busy time
// (counts time waiting for a core too) and process CPU (RocksDB's threads included). Keys are drawn from --keys keys, so most writes overwrite a live key.
//
//   npx tsx scripts/bench-eventual-apply.ts [--ops 20000] [--batch 1,64] [--keys 10000] [--rows put,lww,page]
//   (page: an edge's upload, pages of 1000 bench:edge events, one page per batch; per op is per event)
//   node --cpu-prof --import tsx scripts/bench-eventual-apply.ts --rows lww   (a profile)
//   --alloc: also what the timed part allocates per op, garbage included (scripts/alloc-sampler.ts;
//   the sampling costs time: the CPU figures of such a run are not comparable); --alloc-top N: list N functions

import { countEngineIo } from './engine-io.js';
import { ALLOC_TOP_DEFAULT, startAllocSampler, type AllocSampler } from './alloc-sampler.js';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { encodeBody } from '../server/eventual/entry.js';
import { EventualStore } from '../server/eventual/store.js';
import { benchEvent } from '../chaos/bench-edge/workload.js';
import type { CrdtRecord } from '../server/crdt/index.js';
import { MvccStore, encodeCommand, type ApplyItem } from '../server/mvcc/index.js';
import { NamespaceRegistry, completeDefinition } from '../server/namespace/index.js';
import { RocksEngine } from '../server/storage/rocksdb-engine.js';
import { SeededRandom } from '../server/util/random.js';

const VALUE_BYTES = 256;
const T0 = 1_765_000_000_000;

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '1,64' },
    keys: { type: 'string', default: '10000' },
    rows: { type: 'string', default: 'put,lww' },
    seed: { type: 'string', default: '1' },
    alloc: { type: 'boolean', default: false },
    'alloc-top': { type: 'string', default: String(ALLOC_TOP_DEFAULT) },
  },
});
const OPS = Number(values.ops);
const KEYS = Number(values.keys);
const enc = new TextEncoder();

type Row = 'put' | 'lww' | 'page';
/** The `page` row: an edge upload (bench:edge's events, PAGE_EVENTS per page entry); per op is per event. */
const PAGE_EVENTS = 1000;
const EDGE_ORIGIN = 'edge:bench:1';

/** CPU time of the main thread in ms (Linux schedstat, ns; undefined elsewhere): unlike the
 *  event loop's busy time it does not count time the thread waited for a core, and unlike
 *  process CPU it leaves out RocksDB's own threads. */
function mainThreadCpuMs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/** Page entry p of the `page` row: events [p * PAGE_EVENTS, (p + 1) * PAGE_EVENTS) of the edge. */
function pageEntry(p: number): Uint8Array {
  const records: CrdtRecord[] = [];
  for (let i = p * PAGE_EVENTS; i < (p + 1) * PAGE_EVENTS; i++) {
    const e = benchEvent(i);
    records.push({
      kind: 'events', origin: EDGE_ORIGIN, seq: i + 1, hlc: { wall: T0 + i, logical: 0 },
      deviceId: e.device, deviceSeq: e.seq, ts: e.ts, type: e.type, schemaVersion: 0, payload: enc.encode(e.payload),
    });
  }
  const body = encodeBody({ kind: 'page', namespace: 'evp', physicalMs: T0 + (p + 1) * PAGE_EVENTS, ranges: [{ origin: EDGE_ORIGIN, from: p * PAGE_EVENTS + 1, to: (p + 1) * PAGE_EVENTS }], records });
  return encodeCommand({ type: 'external', external: { body } });
}

function entry(row: Row, i: number, key: Uint8Array, value: Uint8Array): Uint8Array {
  if (row === 'put') return encodeCommand({ type: 'put', put: { key, value } });
  if (row === 'page') return pageEntry(i);
  return encodeCommand({ type: 'external', external: { body: encodeBody({ kind: 'write', namespace: 'ev', physicalMs: T0 + i, ops: [{ type: 'lwwPut', key, value }] }) } });
}

async function run(row: Row, batch: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-ev-apply-bench-'));
  const engine = await RocksEngine.open(dir);
  // Engine traffic of the timed part: keys read (get and getMany) and read calls, written ops and bytes.
  const io = countEngineIo(engine);
  try {
    const mvcc = await MvccStore.open(engine);
    const registry = NamespaceRegistry.of([
      completeDefinition({ name: 'ev', prefix: 'ev/', level: 'eventual', crdtType: 'lww' }),
      completeDefinition({ name: 'evp', prefix: 'evp/', level: 'eventual', crdtType: 'events' }),
    ]);
    mvcc.setExternalApplier(await EventualStore.open(engine, { localOrigin: 'region:bench', registry: () => registry }));
    const rng = new SeededRandom(Number(values.seed));
    const prefix = row === 'put' ? 'plain/' : 'ev/';
    const value = new Uint8Array(VALUE_BYTES).fill(0x61);
    // Entries are encoded before the clock starts: encoding is the proposer's work.
    // The page row: each entry is PAGE_EVENTS ops (events), applied one entry per batch.
    const perEntry = row === 'page' ? PAGE_EVENTS : 1;
    const entries = Array.from({ length: Math.ceil((2 * OPS) / perEntry) }, (_, i) => entry(row, i, enc.encode(`${prefix}key-${rng.int(0, KEYS)}`), value));
    const half = entries.length / 2;
    let index = 0;
    const applyAll = async (from: number, to: number, n: number): Promise<void> => {
      for (let i = from; i < to; i += n) {
        const items: ApplyItem[] = [];
        for (let j = i; j < Math.min(to, i + n); j++) items.push({ index: ++index, command: entries[j]! });
        await mvcc.applyBatch(items);
      }
    };
    const step = row === 'page' ? 1 : batch;
    await applyAll(0, half, step); // warm-up: the JIT, the caches, a populated keyspace
    Object.assign(io, { gets: 0, calls: 0, ops: 0, bytes: 0 });
    const sampler: AllocSampler | undefined = values.alloc ? await startAllocSampler(Number(values['alloc-top'])) : undefined;
    const main0 = mainThreadCpuMs();
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await applyAll(half, 2 * half, step);
    const wallMs = performance.now() - t0;
    const alloc = await sampler?.stop(OPS);
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    const main1 = mainThreadCpuMs();
    const us = (ms: number): string => ((ms * 1000) / OPS).toFixed(1).padStart(6);
    console.log(
      `${row.padEnd(4)} batch ${String(batch).padStart(3)}: main thread cpu ${main0 === undefined || main1 === undefined ? '   n/a' : us(main1 - main0)} µs/op, ` +
      `event loop busy ${us(elu.active)} µs/op, process cpu ${us((cpu.user + cpu.system) / 1000)} µs/op, ` +
      `wall ${us(wallMs)} µs/op (${Math.round(OPS / (wallMs / 1000))} ops/s); per op ${(io.gets / OPS).toFixed(2)} engine reads in ${(io.calls / OPS).toFixed(2)} calls, ` +
      `${(io.ops / OPS).toFixed(2)} engine writes of ${Math.round(io.bytes / OPS)} bytes`,
    );
    if (alloc !== undefined) console.log(`     ${alloc}`);
    await mvcc.idle();
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}

console.log(`${OPS} ops per row after as many warm-up ops, ${KEYS} keys, ${VALUE_BYTES}-byte values`);
for (const batch of values.batch.split(',').map(Number)) {
  for (const row of values.rows.split(',') as Row[]) await run(row, batch);
}
