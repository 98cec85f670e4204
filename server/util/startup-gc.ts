// One full garbage collection at the end of a member's start-up, before its Raft ticks
// (issue 20: event-loop delay in a fresh cluster's first seconds of load).
//
// Start-up leaves ~40 MiB in the heap: the modules, the .proto definitions and what parsing
// them made (most of it garbage), much of it still in the young generation. Left there, the
// first scavenges under load copied and promoted it (~20 MiB), and V8, which sizes the old
// generation's first limit from what those early scavenges promote, then ran a Mark-Compact
// of it within the first few thousand puts on every member (`--trace-gc`: "GC in old space
// requested" at 25 MiB, 30-70 ms of pause plus incremental steps up to 30-77 ms, in the
// first stage of `bench:scale`). One collection here does that work while nothing waits on
// the loop, leaves only live start-up state in the old generation, and sets the next limit
// from it, so the first requests run with an empty young generation and an old generation
// with room. It costs the start-up the collection itself (startupGcMs in the
// `regionstore serving` log line; 20-80 ms of wall time at load 8-20 on this machine).
//
// Measured (`bench:scale --keys 100000 --steps ""` with --trace-gc, two pairs, load 8-21):
// before, one Mark-Compact per member in the first stage (25 MiB, "GC in old space
// requested"); after, none in the first two stages on any member, the first scavenge under
// load 63-77 ms → 2-27 ms (wall), and over the whole load fewer Mark-Compacts on every
// member (leader/followers 12/3/3 and 9/4/5 before, 6/1/1 and 6/2/2 after): the early
// scavenges no longer promote the start-up heap. RSS per member unchanged (at 100k keys
// 222-264 and 239-262 MiB before, 214-279 and 217-260 after).
//
// Node exposes no GC call without --expose-gc on its command line; the flag set at run time
// gives `gc` to contexts created afterwards, so one is made for the call and the flag is
// cleared again (nothing else sees a `gc` global).

import { performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface StartupGc {
  /** Wall time of the collection (ms). */
  ms: number;
  /** Heap used before and after (bytes). */
  usedBefore: number;
  usedAfter: number;
}

/** Runs one full, synchronous garbage collection; call it only where nothing waits on the loop. */
export function collectStartupGarbage(): StartupGc {
  const usedBefore = getHeapStatistics().used_heap_size;
  const start = performance.now();
  setFlagsFromString('--expose-gc');
  try {
    const gc = runInNewContext('gc') as () => void;
    gc();
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return { ms: performance.now() - start, usedBefore, usedAfter: getHeapStatistics().used_heap_size };
}
