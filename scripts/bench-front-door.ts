// Micro-benchmark: what the client port's front door (server/api/front-door.ts) costs a
// gRPC call. The same grpc-js echo server, reached (a) on a port grpc-js binds itself and
// (b) through the front door; and (c) through the front door with an :authority that has
// a scheme (etcdctl 3.4's http:// endpoints), which takes the rewriting path for the whole
// connection. h2load drives each, 4 connections × 64 streams, rows alternating; the figure
// is the server process's CPU per call, less sensitive to a busy machine than calls/s.
//
//   npx tsx scripts/bench-front-door.ts [--calls 100000] [--rounds 2]

import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { grpcFrame } from '../client/bench/grpc-frames.js';
import { startFrontDoor } from '../server/api/front-door.js';

const PATH = '/bench.Echo/Echo';
const REQUEST_BYTES = 300;
const ANSWER_BYTES = 40;
const CONNECTIONS = 4;
const STREAMS = 64;
const { values } = parseArgs({ options: { calls: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '2' } } });
const calls = Number(values.calls);
const rounds = Number(values.rounds);

const answer = Buffer.alloc(ANSWER_BYTES, 1);
const same = (b: Buffer): Buffer => b;

function echoServer(): grpc.Server {
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  const definition: grpc.ServiceDefinition = {
    Echo: { path: PATH, requestStream: false, responseStream: false, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same },
  };
  server.addService(definition, { Echo: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, answer) });
  return server;
}

type Started = { port: number; stop: () => Promise<void> };

async function bound(): Promise<Started> {
  const server = echoServer();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, stop: async () => server.forceShutdown() };
}

async function frontDoor(): Promise<Started> {
  const server = echoServer();
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const door = await startFrontDoor({ host: '127.0.0.1', port: 0 }, { http2: (c) => injector.injectConnection(c), http1: createServer() });
  return { port: door.port, stop: async () => { server.forceShutdown(); await door.close(); } };
}

/** Runs h2load; resolves with the calls answered with 200 and the seconds it reports. */
function h2load(port: number, authority: string | undefined, bodyFile: string): Promise<{ ok: number; seconds: number; out: string }> {
  const args = ['-n', String(calls), '-c', String(CONNECTIONS), '-m', String(STREAMS), '-d', bodyFile,
    '-H', 'content-type: application/grpc', '-H', 'te: trailers', ...(authority ? ['-H', `:authority: ${authority}`] : []),
    `http://127.0.0.1:${port}${PATH}`];
  return new Promise((resolve, reject) => {
    const p = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', () => {
      const ok = Number(/status codes: (\d+) 2xx/.exec(out)?.[1] ?? 0);
      // "finished in 1.03s" or, under a second, "finished in 987.52ms".
      const m = /finished in ([\d.]+)(m?s)/.exec(out);
      const seconds = m ? Number(m[1]) / (m[2] === 'ms' ? 1000 : 1) : NaN;
      resolve({ ok, seconds, out });
    });
  });
}

const { mkdtempSync, writeFileSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const bodyFile = join(mkdtempSync(join(tmpdir(), 'rs-fd-bench-')), 'body.bin');
writeFileSync(bodyFile, grpcFrame(Buffer.alloc(REQUEST_BYTES, 2)));

const rows: Array<[string, () => Promise<Started>, boolean]> = [
  ['grpc-js bindAsync', bound, false],
  ['front door', frontDoor, false],
  ['front door, http:// :authority (rewritten)', frontDoor, true],
];
for (let round = 0; round < rounds; round++) {
  for (const [name, start, scheme] of rows) {
    const s = await start();
    const cpuBefore = process.cpuUsage();
    const r = await h2load(s.port, scheme ? `http://127.0.0.1:${s.port}` : undefined, bodyFile);
    const cpu = process.cpuUsage(cpuBefore);
    await s.stop();
    if (r.ok !== calls) {
      console.error(`${name}: ${r.ok} of ${calls} calls answered\n${r.out}`);
      process.exit(1);
    }
    const perCall = (cpu.user + cpu.system) / r.ok;
    console.log(`${name.padEnd(44)} ${(r.ok / r.seconds).toFixed(0).padStart(6)} calls/s, server CPU ${perCall.toFixed(1)} µs per call`);
  }
}
process.exit(0);
