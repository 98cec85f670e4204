// How busy the machine was with OTHER work while a benchmark row ran: the CPU time of all
// processes (/proc/stat) minus that of the benchmark's own (the servers under test, this
// process and its reaped children such as h2load), as a share of all cores. The load
// average cannot tell the two apart; on a shared machine this says whether a row was
// measured in peace. Linux only; elsewhere it reports nothing.

import { readFileSync } from 'node:fs';

interface Sample {
  /** Jiffies all cores spent busy, and in total. */
  busy: number;
  total: number;
  /** Jiffies of the benchmark's own processes. */
  own: number;
}

function readCpu(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** utime + stime (+ cutime + cstime: children already reaped) of one process, 0 once it is gone. */
function processJiffies(pid: number, withChildren: boolean): number {
  try {
    const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ').map(Number);
    // Fields after "(comm) ": state is [0], utime [11], stime [12], cutime [13], cstime [14].
    return (f[11] ?? 0) + (f[12] ?? 0) + (withChildren ? (f[13] ?? 0) + (f[14] ?? 0) : 0);
  } catch {
    return 0;
  }
}

export class CpuMeter {
  /** `ownPids`: the servers under test (read at every sample: restarts change them). */
  constructor(private readonly ownPids: () => number[]) {}

  private sample(): Sample | undefined {
    try {
      const cpu = readCpu();
      const own = processJiffies(process.pid, true) + this.ownPids().reduce((s, pid) => s + processJiffies(pid, false), 0);
      return { ...cpu, own };
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
      const others = (b.busy - a.busy) - (b.own - a.own);
      return Math.min(1, Math.max(0, others / (b.total - a.total)));
    };
  }
}
