// How busy the machine was with OTHER work while a benchmark row ran: the CPU time of all
// processes (/proc/stat) minus that of the benchmark's own (the servers under test, this
// process and its reaped children such as h2load) and of kernel threads and interrupts
// (the fsyncs of a put row keep jbd2/kworker threads busy: that is the benchmark's work
// too), as a share of all cores. The load average cannot tell these apart; on a shared
// machine this says whether a row was measured in peace. Linux only; elsewhere nothing.

import { readFileSync, readdirSync } from 'node:fs';

interface Sample {
  /** Jiffies all cores spent busy, and in total. */
  busy: number;
  total: number;
  /** Jiffies of the benchmark's own processes, and of kernel threads. */
  own: number;
  kernel: number;
}

/** /proc/<pid>/stat flags bit of a kernel thread (PF_KTHREAD). */
const PF_KTHREAD = 0x00200000;

function readCpu(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + steal; // interrupts (irq, softirq) are left out: they serve every process alike
  return { busy, total: busy + irq + softirq + idle + iowait };
}

/** Fields after "(comm) " of /proc/<pid>/stat: state [0], flags [6], utime [11], stime [12], cutime [13], cstime [14]. */
function statFields(pid: number | string): number[] | undefined {
  try {
    return (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ').map(Number);
  } catch {
    return undefined; // gone
  }
}

/** utime + stime (+ cutime + cstime: children already reaped) of one process, 0 once it is gone. */
function processJiffies(pid: number, withChildren: boolean): number {
  const f = statFields(pid);
  if (f === undefined) return 0;
  return (f[11] ?? 0) + (f[12] ?? 0) + (withChildren ? (f[13] ?? 0) + (f[14] ?? 0) : 0);
}

/** CPU time of every kernel thread (long-lived, so two samples see the same ones). */
function kernelThreadJiffies(): number {
  let sum = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (f !== undefined && ((f[6] ?? 0) & PF_KTHREAD) !== 0) sum += (f[11] ?? 0) + (f[12] ?? 0);
  }
  return sum;
}

/** Jiffies (USER_HZ ticks) per second of /proc's CPU times. */
const USER_HZ = 100;

/**
 * CPU seconds (every thread, user + system) the processes `pids` have used so far: the cost of
 * the servers under test, which holds on a loaded machine where their rate does not.
 * Undefined where /proc is not readable.
 */
export function processesCpuSeconds(pids: readonly number[]): number | undefined {
  try {
    readFileSync('/proc/stat');
  } catch {
    return undefined;
  }
  let jiffies = 0;
  for (const pid of pids) jiffies += processJiffies(pid, false);
  return jiffies / USER_HZ;
}

export class CpuMeter {
  /** `ownPids`: the servers under test (read at every sample: restarts change them). */
  constructor(private readonly ownPids: () => number[]) {}

  private sample(): Sample | undefined {
    try {
      const cpu = readCpu();
      const own = processJiffies(process.pid, true) + this.ownPids().reduce((s, pid) => s + processJiffies(pid, false), 0);
      return { ...cpu, own, kernel: kernelThreadJiffies() };
    } catch {
      return undefined; // not Linux
    }
  }

  /** Starts a measurement; the function it returns gives other work's share of all cores (0–1), or undefined. */
  start(): () => number | undefined {
    const a = this.sample();
    return () => {
      const b = this.sample();
      if (a === undefined || b === undefined || b.total <= a.total) return undefined;
      const others = (b.busy - a.busy) - (b.own - a.own) - (b.kernel - a.kernel);
      return Math.min(1, Math.max(0, others / (b.total - a.total)));
    };
  }
}
