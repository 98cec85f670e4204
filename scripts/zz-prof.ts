import { RANGE_PATH, rangeRequestFrame } from '../client/bench/grpc-frames.js';
import { runH2load } from '../client/bench/h2load.js';
import { startTestApi } from '../server/api/testing/start.js';
const fastPath = process.argv[2] === 'fast';
const api = await startTestApi({ fastPath });
const body = rangeRequestFrame('bench-key-000001', true);
for (let i = 0; i < 2; i++) {
  const c0 = process.cpuUsage();
  let cpu = { user: 0, system: 0 };
  const r = await runH2load({ target: `127.0.0.1:${api.server.port}`, path: RANGE_PATH, body, connections: 4, streams: 64, total: 40000, onExit: () => (cpu = process.cpuUsage(c0)) });
  console.log(fastPath, ((cpu.user + cpu.system) / r.done).toFixed(1), 'us/call', r.done, api.server.fastPathStats);
}
await api.close();
process.exit(0);
