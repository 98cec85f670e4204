// Micro-benchmark: what building an edge's live push costs in-process (issue 14's live row),
// the page of the one write the peer lacks: from memory (server/edge/replica.ts livePage) and
// from the engine (server/eventual/extract.ts, as before it), over real RocksDB in a temp dir.
// Per push: wall time (p50/p99; each engine read is a thread-pool round trip, so it counts the
// wait for a core on a loaded machine too) and engine calls.
//
//   npx tsx scripts/bench-live-push.ts [--writes 2000] [--kind lww|counter|events]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { VersionVector, type CrdtKind } from '../server/crdt/index.js';
import { EdgeReplica } from '../server/edge/replica.js';
import { EdgeStore, encodeRegistry, eventualCommand } from '../server/edge/store.js';
import { encodeBody, type EvOp } from '../server/eventual/entry.js';
import { openExtraction } from '../server/eventual/extract.js';
import { completeDefinition } from '../server/namespace/index.js';

const { values } = parseArgs({ options: { writes: { type: 'string', default: '2000' }, kind: { type: 'string', default: 'lww' } } });
const WRITES = Number(values.writes);
const KIND = values.kind as CrdtKind;
const BUDGET = 64 * 1024;
const b = (s: string): Uint8Array => new TextEncoder().encode(s);

function op(i: number): EvOp {
  const key = b(`${KIND}/k${i % 1000}`);
  if (KIND === 'counter') return { type: 'counterAdd', key, delta: 1 };
  if (KIND === 'events') return { type: 'eventAppend', device: 'd', seq: 0, eventType: 't', schemaVersion: 0, payload: new Uint8Array(100), tsMs: 0 };
  return { type: 'lwwPut', key, value: new Uint8Array(100) };
}

function pct(xs: number[], p: number): string {
  const s = [...xs].sort((a, c) => a - c);
  return (s[Math.min(s.length - 1, Math.floor(s.length * p))]! * 1000).toFixed(1);
}

const dir = await mkdtemp(join(tmpdir(), 'rs-live-push-'));
const store = await EdgeStore.open(dir, 'edge:bench:1');
try {
  await store.external(encodeRegistry([completeDefinition({ name: KIND, prefix: `${KIND}/`, level: 'eventual', crdtType: KIND })]));
  const replica = new EdgeReplica(store, 'bench', 1, undefined);
  // Counts the engine's read calls (scan chunks and getMany) made while a push is built.
  let calls = 0;
  const engine = store.engine;
  const getMany = engine.getMany.bind(engine);
  const scan = engine.scan.bind(engine);
  engine.getMany = (keys) => (calls++, getMany(keys));
  engine.scan = (o) => (calls++, scan(o));
  const memory: number[] = [];
  const fromEngine: number[] = [];
  let memoryCalls = 0;
  let engineCalls = 0;
  for (let i = 0; i < WRITES; i++) {
    const before = VersionVector.from(store.eventual.vector(KIND).map((e) => [e.origin, e.seq] as const));
    await store.external(eventualCommand(encodeBody({ kind: 'write', namespace: KIND, physicalMs: Date.now(), ops: [op(i)] })));
    calls = 0;
    let t = performance.now();
    for await (const p of replica.extract(KIND, before, BUDGET)) if (p.page.records.length !== 1) throw new Error('expected one record');
    memory.push(performance.now() - t);
    memoryCalls += calls;
    calls = 0;
    t = performance.now();
    const vector = new Map(store.eventual.vector(KIND).map((e) => [e.origin, e.seq] as const));
    for await (const p of openExtraction(store.engine, KIND, vector, new Map(before.entries()), BUDGET).pages()) if (p.records.length !== 1) throw new Error('expected one record');
    fromEngine.push(performance.now() - t);
    engineCalls += calls;
  }
  console.log(`${KIND}, ${WRITES} pushes of one write (${JSON.stringify(replica.pushes)})`);
  console.log(`from memory: p50 ${pct(memory, 0.5)} µs, p99 ${pct(memory, 0.99)} µs, ${(memoryCalls / WRITES).toFixed(2)} engine calls per push`);
  console.log(`from engine: p50 ${pct(fromEngine, 0.5)} µs, p99 ${pct(fromEngine, 0.99)} µs, ${(engineCalls / WRITES).toFixed(2)} engine calls per push`);
} finally {
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
