// Preloaded into a spawned member or edge (NODE_OPTIONS=--import this file, which node allows
// where it refuses --cpu-prof): profiles the process from start to exit and writes
// $RS_PROF_DIR/proc-<pid>.cpuprofile (scripts/trace-edge-live.ts --prof DIR sets both), and
// proc-<pid>.epoch: the wall clock (ms since 1970) minus the monotonic clock the profile's
// timestamps use (ms), so scripts/long-tasks.ts can print when each stall happened.
// With RS_STALL_MIN_MS=N it also watches its own event loop with a STALL_TICK_MS timer and
// writes proc-<pid>.stalls.json: [start, ms] (monotonic ms) of every time the timer fired N
// ms or more late, i.e. the loop was held that long; long-tasks.ts --stalls attributes each
// to the profile's samples inside it.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const dir = process.env.RS_PROF_DIR ?? '.';
const monoMs = () => Number(process.hrtime.bigint()) / 1e6;
writeFileSync(`${dir}/proc-${process.pid}.epoch`, String(Date.now() - monoMs()));
const s = new Session();
s.connect();
s.post('Profiler.enable');
s.post('Profiler.setSamplingInterval', { interval: 500 });
s.post('Profiler.start');

/** How often the stall watch fires: its resolution. */
const STALL_TICK_MS = 5;
const stallMinMs = Number(process.env.RS_STALL_MIN_MS ?? 0);
const stalls = [];
if (stallMinMs > 0) {
  let last = monoMs();
  setInterval(() => {
    const now = monoMs();
    const late = now - last - STALL_TICK_MS;
    if (late >= stallMinMs) stalls.push([last + STALL_TICK_MS, Math.round(late * 10) / 10]);
    last = now;
  }, STALL_TICK_MS).unref();
}

process.on('exit', () => {
  if (stallMinMs > 0) writeFileSync(`${dir}/proc-${process.pid}.stalls.json`, JSON.stringify(stalls));
  s.post('Profiler.stop', (err, r) => {
    if (!err) writeFileSync(`${dir}/proc-${process.pid}.cpuprofile`, JSON.stringify(r.profile));
  });
});
