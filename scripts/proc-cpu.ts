// CPU time of a process and of its main thread from Linux /proc, for the trace scripts'
// per-member figures: unlike wall-clock time they hold on a loaded machine. Process CPU
// counts every thread (RocksDB's flush/compaction threads and libuv's pool running the
// binding's reads, writes and fsyncs); the main thread's is what limits a member's rate.

import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS_PER_S = 100;

export interface ProcCpu {
  /** utime + stime of every thread, ms (10 ms resolution). */
  allMs: number;
  /** The main thread's run time, ms (schedstat: ns resolution). */
  mainMs: number;
}

/** undefined where /proc is missing (not Linux) or the process is gone. */
export function procCpu(pid: number): ProcCpu | undefined {
  try {
    const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ').map(Number);
    const allMs = (((f[11] ?? 0) + (f[12] ?? 0)) / CLOCK_TICKS_PER_S) * 1000;
    const mainMs = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    return { allMs, mainMs };
  } catch {
    return undefined;
  }
}

/** `after` − `before` in µs per `n` units ('?' when either is unknown). */
export function cpuPer(before: ProcCpu | undefined, after: ProcCpu | undefined, n: number): { all: string; main: string } {
  if (before === undefined || after === undefined) return { all: '?', main: '?' };
  return { all: (((after.allMs - before.allMs) * 1000) / n).toFixed(1), main: (((after.mainMs - before.mainMs) * 1000) / n).toFixed(1) };
}
