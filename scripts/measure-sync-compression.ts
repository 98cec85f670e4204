// Measures the DELTA page codecs of node:zlib on the workload (10k small events, and
// 10k lww writes) so server/transport/sync-codecs.ts prefers the one that wins: bytes per event
// on the wire (the goal is ≤ 60 B/event bulk, ≤ 80 on resume) and CPU per page, for full
// 64 KiB catch-up pages and for one-record live pages. Seeded; one run prints a table.
//   tsx scripts/measure-sync-compression.ts [--events N] [--seed S]

import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { HybridClock, VersionVector, createReplica, eventAppend, lwwPut, utf8, type CrdtKind, type CrdtReplica } from '../server/crdt/index.js';
import { encodeDeltaPage } from '../proto/crdt-codec.js';
import { SeededRandom } from '../server/util/random.js';
import { SYNC_PAGE_BUDGET_BYTES_DEFAULT } from '../server/sync/limits.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const N = arg('events', 10_000);
const SEED = arg('seed', 1);
const T0 = 1_765_000_000_000;

function workload(kind: CrdtKind): CrdtReplica {
  const rng = new SeededRandom(SEED);
  const r = createReplica(kind, 'edge:gw-0042:1', new HybridClock('edge:gw-0042:1'));
  let now = T0;
  for (let i = 0; i < N; i++) {
    now += rng.int(0, 40);
    if (kind === 'events') {
      const payload = utf8(JSON.stringify({ t: 20 + rng.int(0, 100) / 10, door: rng.chance(0.1) }));
      eventAppend(r, { deviceId: `sensor-${rng.int(0, 8)}`, deviceSeq: i + 1, ts: now - rng.int(0, 50), type: rng.chance(0.8) ? 'temp' : 'door', payload }, now);
    } else {
      lwwPut(r, utf8(`devices/gw-0042/sensor-${rng.int(0, 2000)}`), utf8(String(rng.int(0, 100000))), now);
    }
  }
  return r;
}

type Codec = { name: string; compress: (b: Uint8Array) => Promise<Uint8Array> };
const brotli = promisify(zlib.brotliCompress);
const deflate = promisify(zlib.deflateRaw);
const zdeflate = promisify(zlib.deflate);
const codecs: Codec[] = [
  { name: 'identity', compress: (b) => Promise.resolve(b) },
  ...[1, 6, 9].map((level) => ({ name: `deflate-${level}`, compress: (b: Uint8Array) => deflate(b, { level }) })),
  ...[6].map((level) => ({ name: `zlib-${level}`, compress: (b: Uint8Array) => zdeflate(b, { level }) })),
  ...[1, 4, 5, 6, 9, 11].map((q) => ({
    name: `br-${q}`,
    compress: (b: Uint8Array) => brotli(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
  })),
];

async function measure(kind: CrdtKind): Promise<void> {
  const r = workload(kind);
  const pages = r.extract(new VersionVector(), SYNC_PAGE_BUDGET_BYTES_DEFAULT).map((p) => encodeDeltaPage(kind, p));
  const records = r.liveRecords();
  // Live pushes: one record per page (the last 1000 records).
  const live = records.slice(-1000).map((rec) => encodeDeltaPage(kind, { ranges: [{ origin: rec.origin, from: rec.seq, to: rec.seq }], records: [rec] }));
  const payload = records.reduce((n, x) => n + (x.kind === 'events' ? x.payload.length : x.kind === 'lww' ? x.key.length + (x.value?.length ?? 0) : 0), 0);
  console.log(`\n${kind}: ${records.length} records, ${pages.length} pages of ≤ ${SYNC_PAGE_BUDGET_BYTES_DEFAULT} B, payload ${(payload / records.length).toFixed(1)} B/record (seed ${SEED})`);
  console.log('codec        bulk B/rec  bulk ms/page  live B/rec  live µs/page');
  for (const c of codecs) {
    // One warm-up pass (first calls pay for zlib's setup and the JIT), then the measured one.
    for (const p of [...pages.slice(0, 2), ...live.slice(0, 50)]) await c.compress(p);
    let bulk = 0;
    let t = performance.now();
    for (const p of pages) bulk += (await c.compress(p)).length;
    const bulkMs = (performance.now() - t) / pages.length;
    let liveBytes = 0;
    t = performance.now();
    for (const p of live) liveBytes += (await c.compress(p)).length;
    const liveUs = ((performance.now() - t) * 1000) / live.length;
    console.log(`${c.name.padEnd(12)} ${(bulk / records.length).toFixed(2).padStart(10)}  ${bulkMs.toFixed(2).padStart(12)}  ${(liveBytes / live.length).toFixed(1).padStart(10)}  ${liveUs.toFixed(0).padStart(12)}`);
  }
}

await measure('events');
await measure('lww');
