// Micro-benchmark of RaftLogStore (issue 20: raft entries held in the JS heap): what the
// store itself costs per entry, with the engine's writes discarded (RocksDB's cost is
// the same whatever the store holds, and would hide it). Figures in CPU time
// (process.cpuUsage) and bytes, which hold on a loaded machine.
//
//   node --expose-gc --import tsx scripts/bench-raft-log.ts [--entries 15000] [--bytes 300] [--rounds 5] [--churn 200000]
//
// Held log: a log of --entries entries (the default is the most a member holds with the
//   default cadence: a snapshot every 10k applied entries, 5k kept behind it) and what it
//   adds to the JS heap and to off-heap memory, per entry. Never read, so the last
//   RECENT_ENTRIES_MAX appended Entry objects are still held (recent-entries.ts): ~25 B of
//   the figure; a member's apply reads them within a Ready or a few.
// append / entries / term: µs (ns for term) of CPU per entry: save() in Ready-sized
//   batches, entries() in apply-sized ranges (decoding, in the off-heap store), term().
// Churn: --churn entries through the store as a member's Ready loop sends them (proposal
//   objects made, saved, read back for apply, a snapshot and compaction at the default
//   cadence) with GCProfiler on: bytes that reached the old space per entry, and the
//   Mark-Compacts, in count and V8's own duration.
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { parseArgs } from 'node:util';
import { MemoryEngine } from '../server/storage/memory-engine.js';
import { RaftLogStore } from '../server/storage/raft-log-store.js';
import type { Entry } from '../server/raft/types.js';

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '15000' },
    bytes: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '5' },
    churn: { type: 'string', default: '200000' },
  },
});
const HELD = Number(args.entries);
const DATA_BYTES = Number(args.bytes);
const ROUNDS = Number(args.rounds);
const CHURN = Number(args.churn);
/** Entries per save(): about what one Ready carries at 256 puts in flight. */
const READY_ENTRIES = 64;
/** The region node's defaults (server/region/limits.ts). */
const SNAPSHOT_EVERY = 10_000;
const KEEP_AFTER_COMPACTION = 5_000;
/** JS-heap garbage per entry in the churn (an array of small integers), standing in for the gRPC call's (the leader allocates ~38 KB per put): it sets how often scavenges run. */
const GARBAGE_PER_ENTRY_BYTES = 8 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc --import tsx scripts/bench-raft-log.ts');

/** Writes are dropped: the store's own work is measured, not the database's. */
class DiscardingEngine extends MemoryEngine {
  override async write(): Promise<void> {}
}

const payload = (i: number): Uint8Array => {
  const d = new Uint8Array(DATA_BYTES);
  d[0] = i & 0xff;
  d[DATA_BYTES - 1] = (i >> 8) & 0xff;
  return d;
};
const entriesFrom = (first: number, n: number, term: number): Entry[] =>
  Array.from({ length: n }, (_, k) => ({ term, index: first + k, type: 0 as const, data: payload(first + k) }));

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const fmt = (x: number, digits = 2): string => x.toFixed(digits);
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function fill(store: RaftLogStore, n: number): Promise<void> {
  for (let i = store.lastIndex() + 1; i <= n; i += READY_ENTRIES) {
    await store.save({ entries: entriesFrom(i, Math.min(READY_ENTRIES, n + 1 - i), 1) }, false);
  }
}

async function held(): Promise<void> {
  gc!();
  const before = process.memoryUsage();
  const store = await RaftLogStore.open(new DiscardingEngine());
  await fill(store, HELD);
  gc!();
  const after = process.memoryUsage();
  console.log(`held log of ${HELD} entries of ${DATA_BYTES} data bytes: JS heap ${fmt((after.heapUsed - before.heapUsed) / HELD, 0)} B/entry, `
    + `off-heap (arrayBuffers) ${fmt((after.arrayBuffers - before.arrayBuffers) / HELD, 0)} B/entry; memoryBytes() ${store.memoryBytes()}`);
  // Kept alive until here, so the figures above count it.
  if (store.lastIndex() !== HELD) throw new Error('bad fill');
}

async function speeds(): Promise<void> {
  const appendUs: number[] = [];
  const readUs: number[] = [];
  const termNs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const store = await RaftLogStore.open(new DiscardingEngine());
    const batches = Array.from({ length: Math.ceil(HELD / READY_ENTRIES) }, (_, b) =>
      entriesFrom(1 + b * READY_ENTRIES, Math.min(READY_ENTRIES, HELD - b * READY_ENTRIES), 1));
    let t = cpuUs();
    for (const b of batches) void store.save({ entries: b }, false);
    appendUs.push((cpuUs() - t) / HELD);
    await store.flush();
    t = cpuUs();
    let n = 0;
    for (let i = 1; i <= HELD; i += READY_ENTRIES) n += store.entries(i, Math.min(i + READY_ENTRIES, HELD + 1), Infinity).length;
    readUs.push((cpuUs() - t) / n);
    const TERM_READS = 20;
    t = cpuUs();
    let sum = 0;
    for (let k = 0; k < TERM_READS; k++) for (let i = 1; i <= HELD; i++) sum += store.term(i);
    termNs.push(((cpuUs() - t) * 1000) / (HELD * TERM_READS));
    if (sum !== HELD * TERM_READS) throw new Error('bad terms');
  }
  console.log(`CPU per entry, median of ${ROUNDS}: append (save) ${fmt(med(appendUs))} µs, entries() ${fmt(med(readUs))} µs, term() ${fmt(med(termNs), 1)} ns`);
}

async function churn(): Promise<void> {
  const store = await RaftLogStore.open(new DiscardingEngine());
  let lastSnapshot = 0;
  let sink = 0;
  gc!();
  const profiler = new GCProfiler();
  profiler.start();
  const oldBefore = getHeapStatistics().used_heap_size;
  const t = cpuUs();
  for (let i = 1; i <= CHURN; i += READY_ENTRIES) {
    const batch = entriesFrom(i, READY_ENTRIES, 1);
    for (let k = 0; k < READY_ENTRIES; k++) {
      const garbage: number[] = [];
      garbage.length = GARBAGE_PER_ENTRY_BYTES / 8;
      sink += garbage.fill(k).length;
    }
    await store.save({ entries: batch }, false);
    // Applied one Ready later, as the Ready loop does (entries are applied once durable).
    const applied = i - 1;
    if (applied >= 1) for (const e of store.entries(Math.max(1, applied - READY_ENTRIES + 1), applied + 1, Infinity)) sink += e.data.length;
    if (applied - lastSnapshot >= SNAPSHOT_EVERY) {
      await store.createSnapshot(applied, { voters: [1], learners: [] }, new Uint8Array(0));
      lastSnapshot = applied;
      const to = applied - KEEP_AFTER_COMPACTION;
      if (to >= store.firstIndex()) await store.compact(to);
    }
  }
  const cpu = cpuUs() - t;
  const stats = profiler.stop();
  let oldIn = 0;
  let mc = 0;
  let mcUs = 0;
  let scavUs = 0;
  for (const g of stats.statistics) {
    const space = (s: typeof g.beforeGC, name: string): number =>
      s.heapSpaceStatistics.find((x) => x.spaceName === name)?.spaceUsedSize ?? 0;
    if (g.gcType === 'Scavenge') {
      oldIn += Math.max(0, space(g.afterGC, 'old_space') - space(g.beforeGC, 'old_space'));
      scavUs += g.cost;
    }
    if (g.gcType === 'MarkSweepCompact') {
      mc++;
      mcUs += g.cost;
    }
  }
  console.log(`churn of ${CHURN} entries (+${GARBAGE_PER_ENTRY_BYTES} B of garbage each): promoted ${fmt(oldIn / CHURN, 0)} B/entry, `
    + `scavenges ${fmt(scavUs / CHURN)} µs/entry, Mark-Compacts ${mc} (${fmt(mcUs / 1000, 1)} ms in all), `
    + `CPU ${fmt(cpu / CHURN)} µs/entry (the garbage's included); heap ${fmt((getHeapStatistics().used_heap_size - oldBefore) / 1e6, 1)} MB more at the end`);
  if (sink < 0) console.log(sink);
}

await held();
await speeds();
await churn();
