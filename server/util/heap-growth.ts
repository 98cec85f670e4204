// How far V8 lets the old generation grow past what a Mark-Compact left alive before the
// next one (issue 20: event-loop delay in `etcdctl check datascale`, every member).
//
// A member's live heap is small (~21 MiB after a 200k-key load: the data lives in RocksDB),
// and V8 sets the next old-generation limit from it with a growing factor it picks from its
// GC and allocation speeds, here ~1.7-1.8 (limits of 36-40 MiB). A burst of larger values
// (check datascale: 50 clients putting 10k values of 1 KiB, then deleting them) promotes
// proposals, entries and responses faster than they die, so the old generation reached that
// limit every 0.5-2 s: `--trace-gc` over one `bench:scale --keys 200000 --steps datascale`
// (load 14) showed 10, 10 and 24 Mark-Compacts per member in the step (38-50 → 21-23 MiB,
// 0.5-1.1 s of pauses per member, wall time on a loaded machine). With the factor at 3
// (`--heap-growing-percent=200`), 1 per member (62 → 47, 49 → 45, 50 → 45 MiB), and 4-6
// over the whole run instead of 18-46; RSS per member at 200k keys 266-295 MiB (232-325
// across the runs before it).
//
// The fixed factor replaces V8's dynamic one (1.1 to 4, from GC speed against allocation
// speed): on a quiet machine V8 may pick more than 3 for a small heap, but on a busy one
// its GC looks slow and it picks less, which is when a member can least afford the
// Mark-Compacts.
//
// V8 reads this flag each time it recomputes the limit, so setting it from the running
// program works (unlike the semi-space size, heap-flags.ts). A value given by the operator
// (node's command line or NODE_OPTIONS) is kept.

import { setFlagsFromString } from 'node:v8';
import { givenNodeFlag } from './heap-flags.js';

/** Old-generation growing factor 1 + this/100 after each Mark-Compact (V8's default picks 1.1-4 itself). */
export const HEAP_GROWING_PERCENT = 200;
const FLAG = '--heap-growing-percent';

/** The flag this process was started with, if any (its command line or NODE_OPTIONS). */
export function givenHeapGrowingFlag(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string | undefined {
  return givenNodeFlag([FLAG, '--heap_growing_percent'], execArgv, nodeOptions);
}

/** Sets the growing factor unless the operator chose one; returns the flag in effect. */
export function applyHeapGrowth(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string {
  const given = givenHeapGrowingFlag(execArgv, nodeOptions);
  if (given !== undefined) return given;
  const flag = `${FLAG}=${HEAP_GROWING_PERCENT}`;
  setFlagsFromString(flag);
  return flag;
}
