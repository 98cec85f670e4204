// Micro-benchmark: the server CPU one unary gRPC call costs in grpc-js, against a bare
// node:http2 responder that frames the same answer by hand. Both echo fixed bytes (no
// protobuf); h2load (Debian nghttp2-client) drives them, 4 connections × 64 streams, twice
// each, alternating. Says how much serving KV over node:http2 could save per request.
//
//   npx tsx scripts/bench-grpc-overhead.ts [--calls 100000]

import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { grpcFrame } from '../client/bench/grpc-frames.js';
import { runH2load } from '../client/bench/h2load.js';

const PATH = '/bench.Echo/Echo';
const REQUEST_BYTES = 300;
const ANSWER_BYTES = 40;
const { values } = parseArgs({ options: { calls: { type: 'string', default: '100000' } } });
const calls = Number(values.calls);

const answer = Buffer.alloc(ANSWER_BYTES, 1);
type Started = { port: number; stop: () => void };

const same = (b: Buffer): Buffer => b;

async function startGrpcJs(): Promise<Started> {
  const server = new grpc.Server();
  const definition: grpc.ServiceDefinition = {
    Echo: { path: PATH, requestStream: false, responseStream: false, requestSerialize: same, requestDeserialize: same, responseSerialize: same, responseDeserialize: same },
  };
  server.addService(definition, { Echo: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, answer) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { port, stop: () => server.forceShutdown() };
}

async function startBareHttp2(): Promise<Started> {
  const server = http2.createServer();
  const framed = grpcFrame(answer);
  server.on('stream', (stream) => {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(framed);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, stop: () => server.close() };
}

const body = grpcFrame(Buffer.alloc(REQUEST_BYTES, 2));
for (const [name, start] of [['grpc-js', startGrpcJs], ['node:http2', startBareHttp2], ['grpc-js', startGrpcJs], ['node:http2', startBareHttp2]] as const) {
  const server = await start();
  const cpuBefore = process.cpuUsage();
  // Stopped when h2load exits: reading its per-request log afterwards is not server work.
  let cpu = { user: 0, system: 0 };
  const r = await runH2load({
    target: `127.0.0.1:${server.port}`, path: PATH, body, connections: 4, streams: 64, total: calls,
    onExit: () => (cpu = process.cpuUsage(cpuBefore)),
  });
  const perCall = (cpu.user + cpu.system) / r.done;
  console.log(`${name.padEnd(10)} ${(r.done / r.seconds).toFixed(0).padStart(6)} calls/s, server CPU ${perCall.toFixed(1)} µs per call (${r.http2xx} answered, ${r.failed} failed)`);
  server.stop();
}
process.exit(0);
