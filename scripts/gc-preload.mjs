// Preloaded into a spawned member (NODE_OPTIONS=--import this file; node refuses --trace-gc
// there) by scripts/trace-put-gc.ts: SIGUSR2 opens a measurement window, the next SIGUSR2
// closes it and writes $RS_GC_DIR/gc-<pid>.json: every GC in the window with its kind, its
// own duration (V8's figure, not wall time around it, so it holds up on a loaded machine) and
// the heap before and after it, from which the script derives bytes allocated and promoted.
// With RS_GC_HEAP_SAMPLE=1 the window also runs V8's sampling heap profiler, including
// objects that the young and old generation collectors freed (so it shows where all bytes
// are allocated, not only the survivors): $RS_GC_DIR/heap-<pid>.heapprofile. With
// RS_GC_HEAP_SAMPLE=live it keeps only samples not yet collected when the window closes:
// what survived the scavenges (live data, and promoted garbage a Mark-Compact has yet to free).
// With RS_GC_HEAP_SAMPLE=promoted it drops only what a scavenge freed and keeps what a
// Mark-Compact freed: what reached the old generation over the window (promoted or
// pretenured, garbage there or not), plus the young objects alive at its end, a small part
// over a long window. That is the burden of the Mark-Compacts, by allocation site.
import { GCProfiler, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';

const dir = process.env.RS_GC_DIR ?? '.';
// --trace-gc (refused in NODE_OPTIONS) takes effect when set at run time: one line per GC on
// stdout, with the reason V8 started it (allocation failure, external memory pressure, ...).
if (process.env.RS_GC_TRACE === '1') setFlagsFromString('--trace-gc');
// --trace-incremental-marking: why V8 started each incremental marking (the Mark-Compact
// that finishes it names only how it was finalized).
if (process.env.RS_GC_TRACE === '1') setFlagsFromString('--trace-incremental-marking');
// RS_GC_V8_FLAGS: more V8 flags for an experiment (e.g. --trace-pretenuring), space-separated.
for (const f of (process.env.RS_GC_V8_FLAGS ?? '').split(/\s+/)) if (f !== '') setFlagsFromString(f);
/** Bytes between heap samples: V8's default (512 KiB) gives too few samples per put run. */
const SAMPLING_INTERVAL_BYTES = 32 * 1024;
let profiler;
let session;
let startedAt = 0;

process.on('SIGUSR2', () => {
  if (profiler === undefined) {
    startedAt = Date.now();
    profiler = new GCProfiler();
    profiler.start();
    const mode = process.env.RS_GC_HEAP_SAMPLE;
    if (mode === '1' || mode === 'live' || mode === 'promoted') {
      const freed = mode === '1';
      session = new Session();
      session.connect();
      session.post('HeapProfiler.startSampling', {
        samplingInterval: SAMPLING_INTERVAL_BYTES, includeObjectsCollectedByMajorGC: freed || mode === 'promoted', includeObjectsCollectedByMinorGC: freed,
      });
    }
    return;
  }
  const gc = profiler.stop().statistics.map(slim);
  profiler = undefined;
  const out = { windowMs: Date.now() - startedAt, usedAtEnd: getHeapStatistics().used_heap_size, gc };
  writeFileSync(`${dir}/gc-${process.pid}.json`, JSON.stringify(out));
  // 'promoted': the young objects not yet scavenged at the window's end (up to a semi-space
  // of the latest allocations, most of them garbage) would count as survivors; one scavenge
  // after the GC record is taken frees them first.
  if (process.env.RS_GC_HEAP_SAMPLE === 'promoted') scavengeNow();
  if (session !== undefined) {
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (err === null) writeFileSync(`${dir}/heap-${process.pid}.heapprofile`, JSON.stringify(r.profile));
      session.disconnect();
      session = undefined;
      writeFileSync(`${dir}/done-${process.pid}`, '');
    });
  } else {
    writeFileSync(`${dir}/done-${process.pid}`, '');
  }
});

/** One GC as the script needs it: kind, V8's own duration (µs), heap used and old space used. */
function slim(r) {
  return {
    type: r.gcType, costUs: r.cost,
    usedBefore: r.beforeGC.heapStatistics.usedHeapSize, usedAfter: r.afterGC.heapStatistics.usedHeapSize,
    oldBefore: old(r.beforeGC), oldAfter: old(r.afterGC),
  };
}

function old(h) {
  return h.heapSpaceStatistics.find((s) => s.spaceName === 'old_space')?.spaceUsedSize ?? 0;
}

/** One synchronous scavenge (the flag is set for the one context that makes the call). */
function scavengeNow() {
  setFlagsFromString('--expose-gc');
  try {
    runInNewContext('gc')({ type: 'minor', execution: 'sync' });
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
