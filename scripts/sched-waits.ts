// Whom a thread waited behind: from a `perf record -k mono -a -e sched:sched_switch -e
// sched:sched_wakeup` trace (as text from `perf script -F tid,cpu,time,event,trace`), every
// time a watched thread (a member's main thread) was runnable but not running — woken and
// not yet on a CPU, or preempted — and, for the waits of at least `minWaitMs`, which threads
// ran on the CPUs meanwhile (summed over the CPUs, so a wait of 10 ms on 2 cores is 20 ms
// of others' running). Used by scripts/probe-datascale.ts --perf (issue 20: on 2 cores a
// member's late timer is mostly a wait for a core; this says behind which threads).

export interface WaitReport {
  /** Per watched label: waits ≥ minWaitMs, their summed ms, the longest, and every wait's sum. */
  waits: Map<string, { long: number; longMs: number; maxMs: number; allMs: number; all: number }>;
  /** During the watched threads' long waits: ms each runner label was on a CPU (summed over waits and CPUs). */
  behind: Map<string, number>;
  /** Ms each label ran on any CPU inside [fromS, toS]. */
  ran: Map<string, number>;
}

interface Segment {
  tid: number;
  start: number;
  end: number;
}

const SWITCH = /prev_pid=(\d+) .*prev_state=(\S+) ==> .*next_pid=(\d+)/;
const WAKEUP = /pid=(\d+) /;
const LINE = /^\s*(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)$/;

/**
 * `text`: perf script output; `label(tid)`: the thread's label (e.g. "n2 v8-worker",
 * "etcdctl", "other"); `watched`: tids of the threads whose waits are measured, by label;
 * only events inside [fromS, toS] (perf's monotonic seconds) count.
 */
export function analyzeWaits(text: string, label: (tid: number) => string, watched: Map<number, string>, minWaitMs: number, fromS: number, toS: number): WaitReport {
  const segments: Segment[] = [];
  const running = new Map<number, { tid: number; since: number }>(); // by cpu
  const waitingSince = new Map<number, number>(); // watched tid -> runnable since
  const waitSpans: Array<{ tid: number; start: number; end: number }> = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const cpu = Number(m[2]);
    const t = Number(m[3]);
    if (t < fromS || t > toS) continue;
    const ev = m[4];
    const rest = m[5] ?? '';
    if (ev === 'sched_switch') {
      const s = SWITCH.exec(rest);
      if (s === null) continue;
      const prev = Number(s[1]);
      const next = Number(s[3]);
      const cur = running.get(cpu);
      if (cur !== undefined && cur.tid === prev) segments.push({ tid: prev, start: cur.since, end: t });
      running.set(cpu, { tid: next, since: t });
      // Preempted (still runnable, state R or R+): from now it waits for a core.
      if (watched.has(prev) && s[2]?.startsWith('R') === true) waitingSince.set(prev, t);
      const since = waitingSince.get(next);
      if (since !== undefined) {
        waitSpans.push({ tid: next, start: since, end: t });
        waitingSince.delete(next);
      }
    } else if (ev === 'sched_wakeup' || ev === 'sched_wakeup_new') {
      const w = WAKEUP.exec(rest);
      const tid = Number(w?.[1]);
      if (watched.has(tid) && !waitingSince.has(tid)) waitingSince.set(tid, t);
    }
  }
  const waits: WaitReport['waits'] = new Map();
  const behind = new Map<string, number>();
  const ran = new Map<string, number>();
  for (const s of segments) ran.set(label(s.tid), (ran.get(label(s.tid)) ?? 0) + (s.end - s.start) * 1000);
  segments.sort((a, b) => a.start - b.start);
  for (const w of waitSpans) {
    const name = watched.get(w.tid) ?? String(w.tid);
    const ms = (w.end - w.start) * 1000;
    const agg = waits.get(name) ?? { long: 0, longMs: 0, maxMs: 0, allMs: 0, all: 0 };
    agg.all++;
    agg.allMs += ms;
    agg.maxMs = Math.max(agg.maxMs, ms);
    if (ms >= minWaitMs) {
      agg.long++;
      agg.longMs += ms;
      for (const s of segments) {
        if (s.start >= w.end) break;
        const overlap = Math.min(s.end, w.end) - Math.max(s.start, w.start);
        if (overlap > 0) behind.set(label(s.tid), (behind.get(label(s.tid)) ?? 0) + overlap * 1000);
      }
    }
    waits.set(name, agg);
  }
  return { waits, behind, ran };
}
