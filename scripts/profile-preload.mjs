// Preloaded into a spawned member or edge (NODE_OPTIONS=--import this file, which node allows
// where it refuses --cpu-prof): profiles the process from start to exit and writes
// $RS_PROF_DIR/proc-<pid>.cpuprofile (scripts/trace-edge-live.ts --prof DIR sets both).
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
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
