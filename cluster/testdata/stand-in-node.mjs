// A stand-in for `regionstore serve` in launcher tests: takes the same flags, listens on
// the client port, serves /health and /status.json on --metrics-addr, records each start
// in its data dir and exits on SIGTERM (unless STANDIN_IGNORE_TERM is set, to test the
// SIGKILL escalation).
import { appendFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createTcp } from 'node:net';
import { join } from 'node:path';

const flags = {};
for (let i = 2; i < process.argv.length; i += 2) flags[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const name = flags.name;
const client = new URL(flags['listen-client-urls']);
const [metricsHost, metricsPort] = flags['metrics-addr'].split(':');
appendFileSync(join(flags['data-dir'], 'starts.log'), `${process.pid} ${flags['initial-cluster']}\n`);

const tcp = createTcp((s) => s.end()).listen(Number(client.port), client.hostname);
const http = createHttp((req, res) => {
  res.setHeader('content-type', 'application/json');
  if (req.url?.split('?')[0] === '/health') res.end(JSON.stringify({ health: 'true', reason: '' }));
  else res.end(JSON.stringify({ name, isLeader: name === 'n1', hasLeader: true, term: 2 }));
}).listen(Number(metricsPort), metricsHost);

console.log(`started ${name}`);
console.error(`stderr line from ${name}`);
process.on('SIGTERM', () => {
  if (process.env.STANDIN_IGNORE_TERM) {
    console.log('ignoring SIGTERM');
    return;
  }
  console.log(`stopping ${name}`);
  tcp.close();
  http.close();
  process.exit(0);
});
