// Preloaded into a spawned member or edge (NODE_OPTIONS=--import this file, which node allows
// where it refuses --cpu-prof): profiles the process from start to exit and writes
// $RS_PROF_DIR/proc-<pid>.cpuprofile (scripts/trace-edge-live.ts --prof DIR sets both), and
// proc-<pid>.epoch: the wall clock (ms since 1970) minus the monotonic clock the profile's
// timestamps use (ms), so scripts/long-tasks.ts can print when each stall happened.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
writeFileSync(`${process.env.RS_PROF_DIR}/proc-${process.pid}.epoch`, String(Date.now() - Number(process.hrtime.bigint()) / 1e6));
const s = new Session();
s.connect();
s.post('Profiler.enable');
s.post('Profiler.setSamplingInterval', { interval: 500 });
s.post('Profiler.start');
process.on('exit', () => {
  s.post('Profiler.stop', (err, r) => {
    if (!err) writeFileSync(`${process.env.RS_PROF_DIR}/proc-${process.pid}.cpuprofile`, JSON.stringify(r.profile));
  });
});
