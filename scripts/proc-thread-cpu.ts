// CPU time of a process and of each of its threads, from /proc (Linux): figures that hold on a
// loaded machine, where wall-clock ones measure the load (bench-member-add, trace-put-cpu).

import { readFileSync, readdirSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's CPU times. */
const CLOCK_TICKS_PER_S = 100;

/** utime + stime in seconds, of the process (every thread) or of one thread. */
function cpuSeconds(path: string): number {
  const f = (readFileSync(path, 'utf8').split(') ')[1] ?? '').split(' ').map(Number);
  return ((f[11] ?? 0) + (f[12] ?? 0)) / CLOCK_TICKS_PER_S;
}

export interface ProcCpu {
  all: number;
  main: number;
  /** Seconds per thread group: `main`, RocksDB's named threads (`rocksdb:low0`, ...), and
   *  Node's unnamed ones by rank (`node#1`...: V8's workers first, then libuv's pool). */
  byThread: Map<string, number>;
}

function threadGroup(tid: string, pid: number, rank: number): string {
  if (tid === String(pid)) return 'main';
  const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  return comm === 'node' ? `node#${rank}` : comm;
}

/** The process's CPU so far; zeros when it is gone. */
export function procCpu(pid: number): ProcCpu {
  const byThread = new Map<string, number>();
  try {
    for (const [rank, tid] of readdirSync(`/proc/${pid}/task`).sort((a, b) => Number(a) - Number(b)).entries()) {
      try {
        const g = threadGroup(tid, pid, rank);
        byThread.set(g, (byThread.get(g) ?? 0) + cpuSeconds(`/proc/${pid}/task/${tid}/stat`));
      } catch {
        /* the thread ended */
      }
    }
    return { all: cpuSeconds(`/proc/${pid}/stat`), main: cpuSeconds(`/proc/${pid}/task/${pid}/stat`), byThread };
  } catch {
    return { all: 0, main: 0, byThread };
  }
}

/** `after - before`, per thread group too (a group absent before counts from 0). */
export function cpuDelta(after: ProcCpu, before: ProcCpu): ProcCpu {
  const byThread = new Map<string, number>();
  for (const [g, s] of after.byThread) byThread.set(g, s - (before.byThread.get(g) ?? 0));
  return { all: after.all - before.all, main: after.main - before.main, byThread };
}

/** "1.23 s (main 0.80, rocksdb:low0 0.20, ...)": the groups above 0.01 s, largest first. */
export function formatCpu(c: ProcCpu): string {
  const groups = [...c.byThread].filter(([, s]) => s >= 0.01).sort((a, b) => b[1] - a[1]);
  return `${c.all.toFixed(2)} s (${groups.map(([g, s]) => `${g} ${s.toFixed(2)}`).join(', ')})`;
}
