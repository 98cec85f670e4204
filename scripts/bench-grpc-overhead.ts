// Micro-benchmark: the server CPU one unary gRPC call costs in grpc-js, against a bare
// node:http2 responder that frames the same answer by hand. Both echo fixed bytes (no
// protobuf); h2load (Debian nghttp2-client) drives them, 4 connections × 64 streams, twice
// each, alternating. Says how much serving KV over node:http2 could save per request.
// Then the real KV.Put handler (server/api over the in-process MvccTestBackend, the same
// instrument and gate wrappers) with the unary fast path (server/api/fast-unary.ts) on and
// off, alternating: what the fast path saves of the same work.
//
//   npx tsx scripts/bench-grpc-overhead.ts [--calls 100000] [--rows echo,put,range]

import * as grpc from '@grpc/grpc-js';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { PUT_PATH, RANGE_PATH, grpcFrame, putRequestFrame, rangeRequestFrame } from '../client/bench/grpc-frames.js';
import { runH2load } from '../client/bench/h2load.js';
import { startTestApi } from '../server/api/testing/start.js';

const PATH = '/bench.Echo/Echo';
const REQUEST_BYTES = 300;
const ANSWER_BYTES = 40;
const { values } = parseArgs({ options: { calls: { type: 'string', default: '100000' }, rows: { type: 'string', default: 'echo,put,range' } } });
const calls = Number(values.calls);
const rows = new Set(values.rows.split(','));
/** The put rows' value size: bench:compare's put-256. */
const PUT_VALUE_BYTES = 256;

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

/** The real API server over an in-process store (no Raft): KV.Put's handler, fast path on or off. */
async function startApi(fastPath: boolean): Promise<Started> {
  const api = await startTestApi({ fastPath });
  return { port: api.server.port, stop: () => void api.close() };
}

async function measure(name: string, start: () => Promise<Started>, path: string, body: Buffer): Promise<void> {
  const server = await start();
  const cpuBefore = process.cpuUsage();
  const heapBefore = process.memoryUsage().heapUsed;
  // Stopped when h2load exits: reading its per-request log afterwards is not server work.
  let cpu = { user: 0, system: 0 };
  const r = await runH2load({
    target: `127.0.0.1:${server.port}`, path, body, connections: 4, streams: 64, total: calls,
    onExit: () => (cpu = process.cpuUsage(cpuBefore)),
  });
  const perCall = (cpu.user + cpu.system) / r.done;
  console.log(`${name.padEnd(18)} ${(r.done / r.seconds).toFixed(0).padStart(6)} calls/s, server CPU ${perCall.toFixed(1)} µs per call (${r.http2xx} answered, ${r.failed} failed; heap ${((process.memoryUsage().heapUsed - heapBefore) / 2 ** 20).toFixed(0)} MiB more)`);
  server.stop();
}

const body = grpcFrame(Buffer.alloc(REQUEST_BYTES, 2));
if (rows.has('echo')) {
  for (const [name, start] of [['grpc-js', startGrpcJs], ['node:http2', startBareHttp2], ['grpc-js', startGrpcJs], ['node:http2', startBareHttp2]] as const) {
    await measure(name, start, PATH, body);
  }
}
if (rows.has('put')) {
  // One key per stream slot would be closer to a load; one key keeps the store's size fixed.
  const put = putRequestFrame('bench-key-000001', Buffer.alloc(PUT_VALUE_BYTES, 3));
  for (const fastPath of [false, true, false, true]) {
    await measure(`put ${fastPath ? 'fast path' : 'grpc-js'}`, () => startApi(fastPath), PUT_PATH, put);
  }
}
if (rows.has('range')) {
  // A serializable get of a missing key: little store work, so mostly the gRPC stack's cost.
  const range = rangeRequestFrame('bench-key-000001', true);
  for (const fastPath of [false, true, false, true]) {
    await measure(`range ${fastPath ? 'fast path' : 'grpc-js'}`, () => startApi(fastPath), RANGE_PATH, range);
  }
}
process.exit(0);
