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
