// The long tasks of a V8 .cpuprofile: runs of consecutive samples in which the main thread
// was not idle (what holds the event loop, so the delay monitorEventLoopDelay reports), at
// least --min ms long, longest first, each with when it happened (wall clock, from the
// proc-<pid>.epoch file scripts/profile-preload.mjs writes beside the profile), how many
// samples it has (few samples over a long run: the process was off the CPU, not busy), the
// share spent in the garbage collector, and its top functions by self and inclusive time.
//
//   npx tsx scripts/long-tasks.ts DIR/proc-123.cpuprofile [more files] [--min 20] [--top 12] [--frames 6] [--stalls [--by-cpu]]
//
// A run without idle may be many short tasks back to back (setImmediate never lets the
// loop idle), so it can be longer than any delay a timer saw. --stalls instead reads
// proc-<pid>.stalls.json (written by the preload with RS_STALL_MIN_MS set: every time its
// own timer fired late) and summarizes the samples inside each stall: what held the loop,
// with the main thread's CPU time in it where the preload recorded it (the rest of the stall
// it waited for a core); --by-cpu lists the stalls with the most CPU first (on a loaded
// machine the longest ones are mostly waits).

import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number }

/** The frame of a thread waiting for events. `(program)` (native work outside JS: libuv
 *  callbacks, a binding's completion) holds the loop too, so it counts as busy. */
const IDLE = new Set(['(idle)']);

export interface LongTask {
  startMs: number;
  ms: number;
  samples: number;
  gcMs: number;
  /** The main thread's CPU time inside it (ms), when known (stalls the preload recorded with schedstat). */
  cpuMs?: number;
  /** The main thread's time runnable but waiting for a core inside it (ms), when known (schedstat's
   *  second field; stall logs of builds before session 13 lack it). */
  waitMs?: number;
  self: Array<[string, number]>;
  inclusive: Array<[string, number]>;
}

function frameName(f: CallFrame): string {
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules\/)/, '$1').replace(/^.*?\/(dist\/)?(server|client|proto|cluster)\//, '$2/');
  return `${f.functionName || '(anonymous)'}${file === '' ? '' : ` ${file}:${f.lineNumber + 1}`}`;
}

/** The samples `ids` ([node id, µs]) of one task or stall, by function. */
function summarize(byId: Map<number, ProfileNode>, parent: Map<number, number>, startMs: number, ms: number, ids: Array<[number, number]>, top: number): LongTask {
  const self = new Map<string, number>();
  const selfN = new Map<string, number>();
  const incl = new Map<string, number>();
  let gc = 0;
  for (const [id, us] of ids) {
    const f = (byId.get(id) as ProfileNode).callFrame;
    if (f.functionName === '(garbage collector)') gc += us;
    const name = frameName(f);
    self.set(name, (self.get(name) ?? 0) + us);
    selfN.set(name, (selfN.get(name) ?? 0) + 1);
    const seen = new Set<string>();
    for (let at = parent.get(id); at !== undefined; at = parent.get(at)) {
      const pf = (byId.get(at) as ProfileNode).callFrame;
      if (pf.functionName === '(root)' || pf.url === '' || pf.url.startsWith('node:')) continue;
      const key = frameName(pf);
      if (!seen.has(key)) incl.set(key, (incl.get(key) ?? 0) + us);
      seen.add(key);
    }
  }
  const rank = (m: Map<string, number>): Array<[string, number]> => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, v / 1000]);
  // Self time with its sample count: a long time over few samples is a thread off the CPU.
  const selfRanked = rank(self).map(([k, v]): [string, number] => [`${k} (${selfN.get(k) ?? 0})`, v]);
  return { startMs, ms, samples: ids.length, gcMs: gc / 1000, self: selfRanked, inclusive: rank(incl) };
}

function tree(p: CpuProfile): { byId: Map<number, ProfileNode>; parent: Map<number, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return { byId, parent };
}

/** What the profile sampled inside each stall ([start, ms, cpuMs?, waitMs?] in monotonic ms), longest first. */
export function stallTasks(p: CpuProfile, stalls: Array<[number, number, number?, number?]>, top: number): LongTask[] {
  const { byId, parent } = tree(p);
  const times: number[] = [];
  let t = p.startTime;
  for (const d of p.timeDeltas) times.push((t += d) / 1000);
  return stalls.map(([start, ms, cpuMs, waitMs]) => {
    const ids: Array<[number, number]> = [];
    for (let i = 0; i < times.length; i++) {
      const at = times[i] as number;
      if (at < start || at > start + ms) continue;
      const id = p.samples[i] as number;
      if ((byId.get(id) as ProfileNode).callFrame.functionName !== '(idle)') ids.push([id, p.timeDeltas[i] ?? 0]);
    }
    const task = summarize(byId, parent, start, ms, ids, top);
    return {
      ...task,
      ...(cpuMs === undefined || cpuMs < 0 ? {} : { cpuMs }),
      ...(waitMs === undefined || waitMs < 0 ? {} : { waitMs }),
    };
  }).sort((a, b) => b.ms - a.ms);
}

/** Every run of non-idle samples of at least `minMs`, longest first. */
export function longTasks(p: CpuProfile, minMs: number, top: number): LongTask[] {
  const { byId, parent } = tree(p);
  const out: LongTask[] = [];
  let t = p.startTime;
  let run: { start: number; end: number; ids: Array<[number, number]> } | undefined;
  const close = (): void => {
    if (run === undefined) return;
    const ms = (run.end - run.start) / 1000;
    if (ms >= minMs) out.push(summarize(byId, parent, run.start / 1000, ms, run.ids, top));
    run = undefined;
  };
  for (let i = 0; i < p.samples.length; i++) {
    const delta = p.timeDeltas[i] ?? 0;
    const id = p.samples[i] as number;
    const f = (byId.get(id) as ProfileNode).callFrame;
    // A sample covers the time since the previous one: it belongs to the run it ends.
    const prev = t;
    t += delta;
    if (IDLE.has(f.functionName)) {
      close();
      continue;
    }
    if (run === undefined) run = { start: prev, end: t, ids: [] };
    run.end = t;
    run.ids.push([id, delta]);
  }
  close();
  return out.sort((a, b) => b.ms - a.ms);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      min: { type: 'string', default: '20' }, top: { type: 'string', default: '12' }, frames: { type: 'string', default: '6' },
      stalls: { type: 'boolean', default: false }, 'by-cpu': { type: 'boolean', default: false },
    },
  });
  if (positionals.length === 0) {
    console.error('usage: npx tsx scripts/long-tasks.ts <file.cpuprofile>... [--min 20] [--top 12] [--frames 6] [--stalls [--by-cpu]]');
    process.exit(2);
  }
  for (const file of positionals) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const epochFile = file.replace(/\.cpuprofile$/, '.epoch');
    const epoch = existsSync(epochFile) ? Number(readFileSync(epochFile, 'utf8')) : undefined;
    const stallFile = file.replace(/\.cpuprofile$/, '.stalls.json');
    const tasks = values.stalls
      ? stallTasks(p, (JSON.parse(readFileSync(stallFile, 'utf8')) as Array<[number, number, number?, number?]>).filter(([, ms]) => ms >= Number(values.min)), Number(values.frames))
      : longTasks(p, Number(values.min), Number(values.frames));
    if (values['by-cpu']) tasks.sort((a, b) => (b.cpuMs ?? 0) - (a.cpuMs ?? 0));
    console.log(`\n== ${file}: ${tasks.length} ${values.stalls ? 'stalls' : 'runs without idle'} of >= ${values.min} ms`);
    for (const lt of tasks.slice(0, Number(values.top))) {
      const when = epoch === undefined ? `+${((lt.startMs - p.startTime / 1000) / 1000).toFixed(1)} s` : new Date(epoch + lt.startMs).toISOString().slice(11, 23);
      const cpu = (lt.cpuMs === undefined ? '' : `, ${lt.cpuMs.toFixed(1)} ms on the CPU`) +
        (lt.waitMs === undefined ? '' : `, ${lt.waitMs.toFixed(1)} ms waiting for one`);
      console.log(`${when}  ${lt.ms.toFixed(0)} ms${cpu}, ${lt.samples} busy samples, GC ${lt.gcMs.toFixed(0)} ms`);
      console.log(`   self ms (samples): ${lt.self.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(' | ')}`);
      console.log(`   in:   ${lt.inclusive.map(([k, v]) => `${k} ${v.toFixed(0)}`).join(' | ')}`);
    }
  }
}
