// The order a batch's ops reach RocksDB's memtable in. A memtable is a skip list that
// remembers where its last insert went (its "splice"): an insert next to the previous one
// reuses it, an insert far away walks the list down from a high level again. An mvcc
// apply batch writes, per put, a revision record (keys in sequence), a latest row and a
// history entry (both at the user key, scattered): in put order every insert lands far
// from the one before. perf (cpu-clock) of 3-member loads of 20k→90k scattered puts with
// random values (scripts/trace-put-cpu.ts), two runs each: the memtable's own code
// (InlineSkipList::RecomputeSpliceLevels, FindGreaterOrEqual, MemTable) took 11.2–13.1 µs
// per put on every member in put order, 6.6–10.0 µs in key order; the sort costs 0.4–1.0 µs
// per put on the main thread.

import type { BatchOp } from './engine.js';

/** Bytewise order of two engine keys (engine keys are short: a plain loop beats a native call). */
function compareKeys(a: BatchOp, b: BatchOp): number {
  const x = a.key;
  const y = b.key;
  const n = x.length < y.length ? x.length : y.length;
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * Sorts `ops` in place by key. Stable (Array.prototype.sort is), so ops on the same key keep
 * their order and the batch writes exactly what it wrote before: within one atomic batch,
 * ops on different keys commute.
 */
export function sortOpsByKey(ops: BatchOp[]): void {
  ops.sort(compareKeys);
}

/**
 * Ops sorted in one synchronous run at most. The sort is n log n comparisons in JS on the
 * apply's event loop: a 30k-op batch (etcdctl check datascale's delete of 10k keys: a
 * revision record, a latest-row delete and a history entry per key) was one run of ~8-12 ms
 * of the main thread's CPU (scripts/trace-apply-stall.ts), seen in members' profiles as
 * 126-176 ms stalls in compareKeys on a loaded machine. 4096 ops sort in ~1-2 ms; an
 * ordinary apply batch is below it.
 */
export const SORT_RUN_OPS = 4096;

/**
 * Like sortOpsByKey, but a batch of more than `runOps` ops is sorted as consecutive runs of
 * `runOps`, each in key order, with a turn of the event loop between two runs (Raft's tick
 * and heartbeats run there). What is written is unchanged: an op keeps its order relative
 * to every op on the same key (within a run the sort is stable, and runs keep their order),
 * and ops on different keys commute within the one atomic batch. The memtable's gain is
 * kept within each run; at a run's edge one insert starts far from the previous one.
 */
export async function sortOpsByKeyInRuns(ops: BatchOp[], runOps = SORT_RUN_OPS): Promise<void> {
  if (ops.length <= runOps) {
    ops.sort(compareKeys);
    return;
  }
  for (let at = 0; at < ops.length; at += runOps) {
    if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const end = Math.min(ops.length, at + runOps);
    const run = ops.slice(at, end).sort(compareKeys);
    for (let i = 0; i < run.length; i++) ops[at + i] = run[i] as BatchOp;
  }
}
