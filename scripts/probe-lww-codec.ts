// In-process per-op cost of the parts of a client-library lww put (Crdt.Write) against a
// KV.Put, both sides of the wire (issue 13 probe): bytes on the wire, and main-thread CPU µs
// per op of the client's encode and decode (proto-loader, as client/lib does) and of the
// server's decode and answer encode (fast-codec.ts / fast-crdt-codec.ts). No cluster.
// The client rows show both Crdt.Write paths: proto-loader's (what client/lib did before
// session 10, and still does for what crdt-codec.ts leaves) and client/lib/crdt-codec.ts.
// --alloc: also the bytes each row allocates per op (V8's sampling heap profiler, garbage
// included: a figure a loaded machine does not move, unlike µs).
//
//   npx tsx scripts/probe-lww-codec.ts [--n 200000] [--alloc]
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { etcdMethods, LOADER_OPTIONS, type Method } from '../client/lib/proto.js';
import { putRequest } from '../client/lib/requests.js';
import { putResult } from '../client/lib/convert.js';
import { opToWire, writeResult, type CrdtOp } from '../client/lib/crdt-types.js';
import { decodeOpWriteResult, encodeWriteRequest } from '../client/lib/crdt-codec.js';
import { startAllocSampler } from './alloc-sampler.js';
import { decodeWriteRequest, encodeWriteResponse } from '../server/api/fast-crdt-codec.js';
import { decodePutRequest, encodePutResponse } from '../server/api/fast-codec.js';
import { writeFromWire, } from '../server/api/crdt-request.js';
import { writeToWire } from '../server/api/crdt-response.js';
import { putFromWire } from '../server/api/convert.js';
import { putToWire } from '../server/api/kv.js';
import { DEFAULT_LIMITS } from '../server/api/limits.js';

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '200000' }, alloc: { type: 'boolean', default: false } } });
/** Ops of a row's allocation pass (sampling slows it down; the figure is per op). */
const ALLOC_OPS = 20_000;
const N = Number(args.n);

const dir = fileURLToPath(new URL('../proto', import.meta.url));
const crdtDef = loadSync('regionstore/v1/crdt_service.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
const write = (crdtDef['regionstore.v1.Crdt'] as unknown as Record<string, Method>)['Write']!;
const put = etcdMethods().put;

const key = 'probe-lww/client/0';
const value = Buffer.from('xxxxx123');
const origin = 'r-8a3f1c2d9e7b6a54'; // an origin of the region's size (the leader's dots)
const now = Date.now();
const crdtAnswer = {
  namespace: 'probe-lww', revision: 123_456, vector: [{ origin, seq: 99_999 }],
  results: [{ dot: { origin, seq: 99_999 }, hlc: { wallMs: now, logical: 3 } }], memberId: 0x1f2e3d4c5b6a,
};
const putAnswer = { revision: 123_456 } as never;
const headerInfo = { clusterId: '1234567890123456', memberId: 0x1f2e3d4c5b6a, raftTerm: 7 } as never;

/** The rows timed, for the allocation pass (--alloc) after them. */
const rows: Array<[string, (i: number) => unknown]> = [];

function time(label: string, f: (i: number) => unknown): number {
  rows.push([label, f]);
  for (let i = 0; i < 20_000; i++) f(i); // warm (JIT)
  const t0 = process.cpuUsage();
  let sink = 0;
  for (let i = 0; i < N; i++) sink += f(i) === undefined ? 0 : 1;
  const d = process.cpuUsage(t0);
  const us = (d.user + d.system) / N;
  console.log(`${label.padEnd(58)} ${us.toFixed(2)} µs/op${sink < 0 ? '' : ''}`);
  return us;
}

/** Per row: the bytes it allocates per op (sampled). */
async function allocations(): Promise<void> {
  console.log('\n## allocated per op (V8 sampling heap profiler, garbage included)');
  for (const [label, f] of rows) {
    const sampler = await startAllocSampler(3);
    for (let i = 0; i < ALLOC_OPS; i++) f(i);
    console.log(`${label.padEnd(58)} ${await sampler.stop(ALLOC_OPS)}`);
  }
}

const crdtReqObj = (): object => ({ namespace: '', ops: [opToWire({ op: 'lwwPut', key, value })] });
const crdtReqBytes = write.requestSerialize(crdtReqObj());
const putReqBytes = put.requestSerialize(putRequest(key, value));
const crdtResBytes = encodeWriteResponse(writeToWire(crdtAnswer as never) as never)!;
const putResBytes = encodePutResponse(putToWire(headerInfo, putAnswer) as never)!;
console.log(`request bytes: Crdt.Write ${crdtReqBytes.length} (namespace ''), KV.Put ${putReqBytes.length}; ` +
  `response bytes: Crdt.Write ${crdtResBytes.length}, KV.Put ${putResBytes.length}`);

const lwwOps: CrdtOp[] = [{ op: 'lwwPut', key, value }];
console.log(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log('\n## client: proto-loader (client/lib before session 10) and client/lib/crdt-codec.ts');
time('Crdt.Write request: opToWire + serialize (proto-loader)', () => write.requestSerialize(crdtReqObj()));
time('Crdt.Write request: encodeWriteRequest (crdt-codec.ts)', () => encodeWriteRequest('', lwwOps));
time('KV.Put request: putRequest + serialize', () => put.requestSerialize(putRequest(key, value)));
time('Crdt.Write response: deserialize + writeResult + one()', () => {
  const r = writeResult(write.responseDeserialize(crdtResBytes));
  return { ...r, dot: r.results[0]?.dot, hlc: r.results[0]?.hlc };
});
time('Crdt.Write response: decodeOpWriteResult (crdt-codec.ts)', () => decodeOpWriteResult(crdtResBytes));
time('KV.Put response: deserialize + putResult', () => putResult(put.responseDeserialize(putResBytes)));

console.log('\n## server (fast codecs, request conversion, answer)');
time('Crdt.Write: decodeWriteRequest + writeFromWire', () => writeFromWire(decodeWriteRequest(crdtReqBytes)!, DEFAULT_LIMITS));
time('KV.Put: decodePutRequest + putFromWire', () => putFromWire(decodePutRequest(putReqBytes)));
time('Crdt.Write answer: writeToWire + encodeWriteResponse', () => encodeWriteResponse(writeToWire(crdtAnswer as never) as never));
time('KV.Put answer: putToWire + encodePutResponse', () => encodePutResponse(putToWire(headerInfo, putAnswer) as never));

if (args.alloc) await allocations();
