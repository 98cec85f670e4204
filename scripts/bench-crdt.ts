// npm run bench:crdt — the CRDT core against Yjs on its closest equivalents (issue 12).
// Per type, BENCH_OPS operations: local apply rate, delta bytes per operation on the wire
// (crdt.proto pages), heap bytes of state per live key, and the time to extract the delta
// for a peer that lacks 10 % of the records. Yjs: Y.Map for lww, a Y.Array of events.
// Run with --expose-gc for the heap figures (the npm script does). A benchmark, not a test.
import * as Y from 'yjs';
import {
  HybridClock, VersionVector, causalStability, counterAdd, createReplica, eventAppend, lwwPut, mvPut, setAdd, setRemove, utf8,
  type CrdtKind, type CrdtReplica, type MvStore,
} from '../server/crdt/index.js';
import { encodeDeltaPage } from '../proto/crdt-codec.js';
import { SeededRandom } from '../server/util/random.js';

let BENCH_OPS = Number(process.env.BENCH_OPS ?? 100_000);
const KEYS = 10_000;
const ORIGINS = 10;
const DEVICES = 100;
const T0 = 1_765_000_000_000;
const PAGE_BYTES = 64 * 1024;

interface Row {
  what: string;
  opsPerSec: number;
  bytesPerOp: number;
  bytesPerRecordSent: number;
  stateBytesPerKey: number;
  /** After a GC with every replica acknowledging (lww: superseded records dropped). */
  stateBytesPerKeyGc?: number;
  extractMs: number;
  liveKeys: number;
}

/** Runs of a timed extract; the fastest counts (the machine is shared: GC and neighbours). */
const EXTRACT_RUNS = 3;

function fastest(f: () => void): number {
  let best = Infinity;
  for (let i = 0; i < EXTRACT_RUNS; i++) {
    const t = performance.now();
    f();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

// Values and payloads are bytes on both sides (Yjs stores a Uint8Array as binary content).
const smallEvent = (i: number): { deviceId: string; deviceSeq: number; type: string; payload: Uint8Array } => ({
  deviceId: `sensor-${i % DEVICES}`, deviceSeq: Math.floor(i / DEVICES) + 1, type: 'temp', payload: utf8(`{"c":${(i % 400) / 10}}`),
});

/** One op of `kind` by replica r (op number i). */
function op(kind: CrdtKind, r: CrdtReplica, i: number, rng: SeededRandom): void {
  const now = T0 + Math.floor(i / 10);
  const key = utf8(`key-${rng.int(0, KEYS)}`);
  switch (kind) {
    case 'lww':
      lwwPut(r, key, utf8(`value-${i}`), now);
      break;
    case 'mv':
      mvPut(r, key, utf8(`value-${i}`), (r.store as MvStore).read(key).token, now);
      break;
    case 'counter':
      counterAdd(r, key, 1, now);
      break;
    case 'set':
      if (rng.chance(0.2)) setRemove(r, key, utf8(`m${rng.int(0, 4)}`), now);
      else setAdd(r, key, utf8(`m${rng.int(0, 4)}`), now);
      break;
    case 'events':
      eventAppend(r, { ...smallEvent(i), ts: now }, now);
      break;
  }
}

function liveKeys(kind: CrdtKind, r: CrdtReplica): number {
  // A map renders as [key, value] pairs (server/crdt/bytes.ts renderMap).
  if (kind !== 'events') return (r.store.render() as unknown[]).length;
  return r.liveRecords().length;
}

function benchOurs(kind: CrdtKind): Row {
  const rng = new SeededRandom(1);
  const h0 = heap();
  const r = createReplica(kind, 'edge-0001', new HybridClock('edge-0001'));
  const t0 = performance.now();
  for (let i = 0; i < BENCH_OPS; i++) op(kind, r, i, rng);
  const applyMs = performance.now() - t0;
  const stateBytes = heap() - h0;
  // Wire size: every live record, in pages, as crdt.proto encodes them.
  let wire = 0;
  let sent = 0;
  for (const p of r.extract(new VersionVector(), PAGE_BYTES)) {
    wire += encodeDeltaPage(kind, p).length;
    sent += p.records.length;
  }
  // A replica holding ORIGINS origins' writes; a peer lacking the last 10 % of each.
  const region = createReplica(kind, 'region', new HybridClock('region'));
  const writers = Array.from({ length: ORIGINS }, (_, o) => createReplica(kind, `edge-${o}`, new HybridClock(`edge-${o}`)));
  for (let i = 0; i < BENCH_OPS; i++) op(kind, writers[i % ORIGINS]!, i, rng);
  for (const w of writers) for (const p of w.extract(region.vector, PAGE_BYTES)) region.applyPage(p, T0 + BENCH_OPS);
  const peer = new VersionVector();
  for (const [o, s] of region.vector.entries()) peer.advance(o, Math.floor(s * 0.9));
  const extractMs = fastest(() => {
    for (const p of region.extract(peer, PAGE_BYTES)) encodeDeltaPage(kind, p);
  });
  const keys = liveKeys(kind, r);
  // The same replica after a GC in which every replica (only this one) acknowledged it all.
  const hb = heap();
  r.gc(causalStability([r.vector]));
  const stateBytesGc = stateBytes - (hb - heap());
  return {
    stateBytesPerKeyGc: stateBytesGc / Math.max(keys, 1),
    what: `regionstore ${kind}`, opsPerSec: BENCH_OPS / (applyMs / 1000), bytesPerOp: wire / BENCH_OPS,
    bytesPerRecordSent: wire / Math.max(sent, 1), stateBytesPerKey: stateBytes / Math.max(keys, 1), extractMs, liveKeys: keys,
  };
}

/** Yjs with YJS_BATCH operations per transaction (how a Yjs app would bulk-append). */
const YJS_BATCH = 100;

function benchYjs(kind: 'lww' | 'events', batched = false): Row {
  const rng = new SeededRandom(1);
  const h0 = heap();
  const doc = new Y.Doc();
  const map = doc.getMap<Uint8Array>('m');
  const arr = doc.getArray<object>('events');
  const t0 = performance.now();
  const one = (i: number): void => {
    if (kind === 'lww') map.set(`key-${rng.int(0, KEYS)}`, utf8(`value-${i}`));
    else arr.push([{ ...smallEvent(i), ts: T0 + Math.floor(i / 10) }]);
  };
  if (batched) {
    for (let i = 0; i < BENCH_OPS; i += YJS_BATCH) doc.transact(() => { for (let j = i; j < Math.min(i + YJS_BATCH, BENCH_OPS); j++) one(j); });
  } else for (let i = 0; i < BENCH_OPS; i++) one(i);
  const applyMs = performance.now() - t0;
  const stateBytes = heap() - h0;
  const wire = Y.encodeStateAsUpdate(doc).length;
  // ORIGINS writers merged into one doc; a peer that has 90 % of each writer's updates.
  const region = new Y.Doc();
  const peer = new Y.Doc();
  const writers = Array.from({ length: ORIGINS }, () => new Y.Doc());
  const cut = Math.floor(BENCH_OPS * 0.9);
  for (let i = 0; i < BENCH_OPS; i++) {
    const w = writers[i % ORIGINS]!;
    if (kind === 'lww') w.getMap<Uint8Array>('m').set(`key-${rng.int(0, KEYS)}`, utf8(`value-${i}`));
    else w.getArray<object>('events').push([{ ...smallEvent(i), ts: T0 }]);
    if (i === cut - 1) for (const x of writers) Y.applyUpdate(peer, Y.encodeStateAsUpdate(x));
  }
  for (const w of writers) Y.applyUpdate(region, Y.encodeStateAsUpdate(w));
  const extractMs = fastest(() => Y.encodeStateAsUpdate(region, Y.encodeStateVector(peer)));
  const keys = kind === 'lww' ? map.size : arr.length;
  return {
    what: `yjs ${kind === 'lww' ? 'Y.Map' : 'Y.Array events'}${batched ? ` (${YJS_BATCH}/txn)` : ''}`, opsPerSec: BENCH_OPS / (applyMs / 1000), bytesPerOp: wire / BENCH_OPS,
    bytesPerRecordSent: wire / Math.max(keys, 1), stateBytesPerKey: stateBytes / Math.max(keys, 1), extractMs, liveKeys: keys,
  };
}

/** Heap deltas are noisy on a shared machine; a negative one says so rather than a number. */
function perKey(bytes: number): string {
  return bytes > 0 ? Math.round(bytes).toString() : 'n/a (GC noise)';
}

function main(): void {
  if ((globalThis as { gc?: unknown }).gc === undefined) console.log('(run with node --expose-gc for steady heap figures)');
  console.log(`bench:crdt — ${BENCH_OPS} operations per type, ${KEYS} keys, ${ORIGINS} origins for the extract, ${DEVICES} devices`);
  // Warm-up (JIT) on a tenth of the work, discarded.
  const full = BENCH_OPS;
  BENCH_OPS = Math.max(1, Math.floor(full / 10));
  for (const kind of ['lww', 'mv', 'counter', 'set', 'events'] as const) benchOurs(kind);
  benchYjs('lww');
  benchYjs('events', true);
  BENCH_OPS = full;
  const rows: Row[] = [];
  for (const kind of ['lww', 'mv', 'counter', 'set', 'events'] as const) rows.push(benchOurs(kind));
  rows.push(benchYjs('lww'));
  rows.push(benchYjs('events'));
  rows.push(benchYjs('events', true));
  const head = ['', 'ops/s (local apply)', 'wire B/op', 'wire B/record sent', 'state B/live key', 'after GC', 'extract 10% (ms)', 'live keys'];
  const table = rows.map((r) => [
    r.what, Math.round(r.opsPerSec).toLocaleString('en-US'), r.bytesPerOp.toFixed(1), r.bytesPerRecordSent.toFixed(1),
    perKey(r.stateBytesPerKey), r.stateBytesPerKeyGc === undefined ? '—' : perKey(r.stateBytesPerKeyGc),
    r.extractMs.toFixed(1), r.liveKeys.toString(),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const row of table) console.log(line(row));
  console.log('wire B/op: every live record encoded as crdt.proto pages (Yjs: encodeStateAsUpdate), divided by the operations;');
  console.log('B/record sent: the same bytes divided by the records (Yjs: by live keys / array items) actually on the wire.');
  console.log('state B/live key: heap growth over live keys (events: per event); after GC: once every replica acknowledged everything.');
}

main();
