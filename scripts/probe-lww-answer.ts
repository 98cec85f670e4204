// In-process cost of a region member answering a Crdt.Write once its entry applied (issue 13,
// session 10): from the apply's answer bytes to the CrdtWriteResponse bytes, the way session 9
// did it (decodeAnswer, an answer object with store.vector() built per call, outcome objects,
// writeToWire's object, encodeWriteResponse) against the way it is now (the vector memoized per
// written batch, encodeWriteAnswer straight from the bytes), and a KV.Put's answer for scale.
// Per op: main-thread CPU µs, and with --alloc the bytes allocated (garbage included, sampled).
// No cluster.
//
//   npx tsx scripts/probe-lww-answer.ts [--n 300000] [--origins 1] [--answers-per-batch 20] [--alloc]
//
// --origins: entries in the namespace's vector (1 in a region without edges; one more per edge
// origin). --answers-per-batch: Writes answered from one written batch (the vector changes
// between batches; bench:compare's 256 in flight give ~20 ops per log sync).
import { parseArgs } from 'node:util';
import { ALLOC_TOP_DEFAULT, startAllocSampler } from './alloc-sampler.js';
import { encodeWriteAnswer, encodeWriteResponse } from '../server/api/fast-crdt-codec.js';
import { writeObject } from '../server/api/crdt-response.js';
import { encodePutResponse } from '../server/api/fast-codec.js';
import { putToWire } from '../server/api/kv.js';
import { decodeAnswer, encodeAnswer } from '../server/eventual/entry.js';
import { wireHlc } from '../server/eventual/reads.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '300000' },
    origins: { type: 'string', default: '1' },
    'answers-per-batch': { type: 'string', default: '20' },
    alloc: { type: 'boolean', default: false },
  },
});
const N = Number(args.n);
const ORIGINS = Number(args.origins);
const PER_BATCH = Number(args['answers-per-batch']);
const WARM_OPS = 30_000;

const origin = 'region:8a3f1c2d9e7b6a54';
const T0 = 1_765_000_000_000;
/** The namespace's record vector (what the store keeps: a Map origin -> seq). */
const record = new Map<string, number>();
for (let i = 1; i < ORIGINS; i++) record.set(`edge:device-${String(i).padStart(4, '0')}:1`, 1000 + i);
record.set(origin, 1);
const answers = Array.from({ length: 64 }, (_, i) => encodeAnswer({
  kind: 'write', namespace: 'bench-lww', results: [{ dot: { origin, seq: 100_000 + i }, hlc: { wall: T0 + i, logical: i % 3 } }],
}));
const headerInfo = { clusterId: '1234567890123456', memberId: 0x1f2e3d4c5b6a, raftTerm: 7 } as never;

/** Session 9's store.vector(): the record's Map spread, sorted and mapped on every call. */
function vectorPerCall(): Array<{ origin: string; seq: number }> {
  return [...record.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([o, seq]) => ({ origin: o, seq }));
}

/** Now: the same array until the record changes (once per written batch). */
let memo: ReadonlyArray<Readonly<{ origin: string; seq: number }>> | undefined;
function vectorMemo(i: number): ReadonlyArray<Readonly<{ origin: string; seq: number }>> {
  if (i % PER_BATCH === 0 || memo === undefined) {
    record.set(origin, i + 1); // a new batch advanced the region's origin
    memo = Object.freeze(vectorPerCall().map((d) => Object.freeze(d)));
  }
  return memo;
}

const rows: Record<string, (i: number) => unknown> = {
  // RegionCrdt.write's done + crdt.ts's writeToWire + the serializer, as in session 9.
  'session 9: decode + objects + encodeWriteResponse': (i) => {
    if (i % PER_BATCH === 0) record.set(origin, i + 1);
    const body = answers[i & 63]!;
    const a = decodeAnswer(body) as Extract<ReturnType<typeof decodeAnswer>, { kind: 'write' }>;
    // RegionCrdt.answer()'s object, spread into the result as session 9 did.
    const base = { namespace: 'bench-lww', revision: 123_456 + i, vector: vectorPerCall(), memberId: 0x1f2e3d4c5b6a };
    const r = {
      ...base,
      results: a.results.map((o) => ({
        ...(o.dot ? { dot: o.dot } : {}), ...(o.hlc ? { hlc: wireHlc(o.hlc) } : {}),
        ...(o.eventSeq !== undefined ? { eventSeq: o.eventSeq } : {}), ...(o.duplicate ? { duplicate: true } : {}),
      })),
    };
    return encodeWriteResponse(writeObject(r) as never);
  },
  'now: memoized vector + encodeWriteAnswer': (i) => encodeWriteAnswer({
    namespace: 'bench-lww', revision: 123_456 + i, vector: vectorMemo(i), answer: answers[i & 63]!, memberId: 0x1f2e3d4c5b6a,
  }),
  'KV.Put answer: putToWire + encodePutResponse': (i) => encodePutResponse(putToWire(headerInfo, { revision: 123_456 + i } as never) as never),
};

function mainCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

console.log(`vector of ${ORIGINS} origin(s), ${PER_BATCH} answers per written batch, ${N} ops per row`);
for (const [label, f] of Object.entries(rows)) {
  for (let i = 0; i < WARM_OPS; i++) f(i);
  const sampler = args.alloc ? await startAllocSampler(ALLOC_TOP_DEFAULT) : undefined;
  const t0 = mainCpuUs();
  let bytes = 0;
  for (let i = 0; i < N; i++) bytes += (f(i) as Buffer).length;
  const us = (mainCpuUs() - t0) / N;
  console.log(`${label.padEnd(52)} ${us.toFixed(2)} µs/op  ${Math.round(bytes / N)} B answer`);
  if (sampler !== undefined) console.log(`  ${await sampler.stop(N)}`);
}
