// Micro-benchmark: what a LOCAL write costs on an edge, in-process (no gRPC, no region): the
// bench:edge workload's offline phase (events of DEVICES devices, each with its own seq,
// EVENTS_PER_WRITE per write) through EdgeCrdt.write → the edge store's group commit →
// MvccStore.applyBatch with sync (fsync), over real RocksDB in a temp dir, as a
// `regionstore edge` process runs it. Writes are sent one at a time (as bench:edge does), so
// each is one synced batch. Per event: the main thread's CPU (the figure to compare on a
// loaded machine), the event loop's busy time, process CPU (RocksDB's threads included),
// wall time, and the engine traffic (keys read and read calls, ops and bytes written).
// `--lww` writes lww puts instead (--keys keys, one op per write, --concurrency writes in
// flight: the edge's own live write path). After the events: the extraction of all of them
// for a peer that holds none (the upload's read side), timed the same way.
//
//   npx tsx scripts/bench-edge-write.ts [--events 20000] [--warmup 5000]
//   npx tsx scripts/bench-edge-write.ts --lww [--ops 5000] [--keys 1000] [--concurrency 16]
//   node --cpu-prof --import tsx scripts/bench-edge-write.ts   (a profile)

import { countEngineIo } from './engine-io.js';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { benchEvent, EVENTS_PER_WRITE } from '../chaos/bench-edge/workload.js';
import { EdgeCrdt } from '../server/edge/crdt.js';
import { EdgeStore, encodeRegistry } from '../server/edge/store.js';
import type { EvOp } from '../server/eventual/entry.js';
import { openExtraction } from '../server/eventual/extract.js';
import { SYNC_PAGE_BUDGET_BYTES_DEFAULT } from '../server/sync/limits.js';
import { completeDefinition } from '../server/namespace/index.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '5000' },
    lww: { type: 'boolean', default: false },
    ops: { type: 'string', default: '5000' },
    keys: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
  },
});
const enc = new TextEncoder();
const VALUE_BYTES = 256;

/** CPU time of the main thread in ms (Linux schedstat; undefined elsewhere). */
function mainThreadCpuMs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'rs-edge-write-bench-'));
  try {
    const store = await EdgeStore.open(dir, 'edge:bench:1');
    const engine = store.engine;
    const io = countEngineIo(engine);
    const ns = values.lww ? 'cfg' : 'ev';
    await store.external(encodeRegistry([completeDefinition(values.lww
      ? { name: ns, prefix: `${ns}/`, level: 'eventual', crdtType: 'lww' }
      : { name: ns, prefix: `${ns}/`, level: 'eventual', crdtType: 'events' })]));
    const crdt = new EdgeCrdt(store, { name: 'bench', memberId: 1, held: undefined, now: () => Date.now() });

    let unit: string;
    let timed: number;
    let phase: (from: number, to: number) => Promise<void>;
    let warm: number;
    if (!values.lww) {
      unit = 'event';
      warm = Number(values.warmup);
      timed = Number(values.events);
      phase = async (from, to) => {
        for (let start = from; start < to; start += EVENTS_PER_WRITE) {
          const ops: EvOp[] = [];
          for (let i = start; i < Math.min(to, start + EVENTS_PER_WRITE); i++) {
            const e = benchEvent(i);
            ops.push({ type: 'eventAppend', device: e.device, seq: e.seq, eventType: e.type, schemaVersion: 0, payload: enc.encode(e.payload), tsMs: e.ts });
          }
          await crdt.write({ namespace: ns, ops }, undefined);
        }
      };
    } else {
      unit = 'op';
      timed = Number(values.ops);
      warm = timed;
      const keys = Number(values.keys);
      const conc = Number(values.concurrency);
      const value = new Uint8Array(VALUE_BYTES).fill(0x61);
      phase = async (from, to) => {
        let next = from;
        await Promise.all(Array.from({ length: conc }, async () => {
          while (next < to) {
            const i = next++;
            await crdt.write({ namespace: ns, ops: [{ type: 'lwwPut', key: enc.encode(`${ns}/key-${(i * 7919) % keys}`), value }] }, undefined);
          }
        }));
      };
    }
    await phase(0, warm); // the JIT, the caches, a populated keyspace
    Object.assign(io, { gets: 0, calls: 0, ops: 0, bytes: 0 });
    const batches0 = store.commits.batches;
    const main0 = mainThreadCpuMs();
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await phase(warm, warm + timed);
    const wallMs = performance.now() - t0;
    const elu = performance.eventLoopUtilization(elu0);
    const cpu = process.cpuUsage(cpu0);
    const main1 = mainThreadCpuMs();
    const us = (ms: number): string => ((ms * 1000) / timed).toFixed(1).padStart(6);
    console.log(
      `${timed} ${unit}s after ${warm} warm-up (${store.commits.batches - batches0} synced batches): main thread cpu ${main0 === undefined || main1 === undefined ? 'n/a' : us(main1 - main0)} µs/${unit}, ` +
      `event loop busy ${us(elu.active)} µs/${unit}, process cpu ${us((cpu.user + cpu.system) / 1000)} µs/${unit}, wall ${us(wallMs)} µs/${unit} ` +
      `(${Math.round(timed / (wallMs / 1000))} ${unit}s/s; ${((wallMs / 1000) * (100_000 / timed)).toFixed(1)} s per 100k); per ${unit} ${(io.gets / timed).toFixed(2)} engine reads in ${(io.calls / timed).toFixed(3)} calls, ` +
      `${(io.ops / timed).toFixed(2)} engine writes of ${Math.round(io.bytes / timed)} bytes`,
    );
    if (!values.lww) {
      // The upload's first half: extracting every event for a peer that holds none (what the
      // edge's sync session does after reconnecting), pages of the session's budget.
      Object.assign(io, { gets: 0, calls: 0, ops: 0, bytes: 0 });
      const total = warm + timed;
      const x0 = mainThreadCpuMs();
      const xt0 = performance.now();
      const view = openExtraction(engine, ns, new Map(store.eventual.vector(ns).map((e) => [e.origin, e.seq] as const)), new Map(), SYNC_PAGE_BUDGET_BYTES_DEFAULT);
      let records = 0;
      let pages = 0;
      for await (const page of view.pages()) {
        records += page.records.length;
        pages++;
      }
      const xWall = performance.now() - xt0;
      const x1 = mainThreadCpuMs();
      const per = (ms: number): string => ((ms * 1000) / total).toFixed(1);
      console.log(
        `extract ${records}/${total} events in ${pages} pages: main thread cpu ${x0 === undefined || x1 === undefined ? 'n/a' : per(x1 - x0)} µs/event, wall ${per(xWall)} µs/event; ` +
        `per event ${(io.gets / total).toFixed(2)} engine reads in ${(io.calls / total).toFixed(3)} calls`,
      );
    }
    await store.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
