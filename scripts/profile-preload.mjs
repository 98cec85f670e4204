// Preloaded into a spawned member or edge (NODE_OPTIONS=--import this file, which node allows
// where it refuses --cpu-prof): profiles the process from start to exit and writes
// $RS_PROF_DIR/proc-<pid>.cpuprofile (scripts/trace-edge-live.ts --prof DIR sets both), and
// proc-<pid>.epoch: the wall clock (ms since 1970) minus the monotonic clock the profile's
// timestamps use (ms), so scripts/long-tasks.ts can print when each stall happened.
// With RS_STALL_MIN_MS=N it also watches its own event loop with a STALL_TICK_MS timer and
// writes proc-<pid>.stalls.json: [start, ms, cpuMs, waitMs] (monotonic ms) of every time the
// timer fired N ms or more late, i.e. the loop was held that long, how much of that the main
// thread spent on a CPU and how much runnable but waiting for one (Linux schedstat's first two
// fields; -1 where schedstat is missing); the rest of the stall it was blocked (a syscall, a
// lock, or idle in epoll with the timer not yet due); long-tasks.ts
// --stalls attributes each to the profile's samples inside it. RS_PROF_OFF=1 keeps the
// stall watch and leaves the profiler off (its 0.5 ms sampling costs CPU of its own).
import { Session } from 'node:inspector';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';

const dir = process.env.RS_PROF_DIR ?? '.';
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
writeFileSync(`${dir}/proc-${process.pid}.epoch`, String(Date.now() - monoMs()));
const profiling = process.env.RS_PROF_OFF !== '1';
const s = new Session();
if (profiling) {
  s.connect();
  s.post('Profiler.enable');
  s.post('Profiler.setSamplingInterval', { interval: 500 });
  s.post('Profiler.start');
}

/** One decimal of a millisecond figure. */
const tenth = (x) => Math.round(x * 10) / 10;

/** How often the stall watch fires: its resolution. */
const STALL_TICK_MS = 5;
const stallMinMs = Number(process.env.RS_STALL_MIN_MS ?? 0);
const stalls = [];
if (stallMinMs > 0) {
  // The main thread's CPU time (ms) from its schedstat, read with one pread (a few µs).
  let fd = -1;
  try {
    fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  } catch {
    // not Linux: stalls without their CPU figure
  }
  const buf = Buffer.alloc(128);
  // [ms on a CPU, ms runnable waiting for one] so far.
  const sched = () => {
    if (fd < 0) return [-1, -1];
    const f = buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0)).split(' ');
    return [Number(f[0]) / 1e6, Number(f[1]) / 1e6];
  };
  let last = monoMs();
  let lastSched = sched();
  setInterval(() => {
    const now = monoMs();
    const cur = sched();
    const late = now - last - STALL_TICK_MS;
    if (late >= stallMinMs) stalls.push([last + STALL_TICK_MS, tenth(late), fd < 0 ? -1 : tenth(cur[0] - lastSched[0]), fd < 0 ? -1 : tenth(cur[1] - lastSched[1])]);
    last = now;
    lastSched = cur;
  }, STALL_TICK_MS).unref();
  process.on('exit', () => fd >= 0 && closeSync(fd));
}

process.on('exit', () => {
  if (stallMinMs > 0) writeFileSync(`${dir}/proc-${process.pid}.stalls.json`, JSON.stringify(stalls));
  if (profiling) {
    s.post('Profiler.stop', (err, r) => {
      if (!err) writeFileSync(`${dir}/proc-${process.pid}.cpuprofile`, JSON.stringify(r.profile));
    });
  }
});
