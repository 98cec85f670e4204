// Micro-benchmark: what a durable write costs on this machine's disk. A RocksDB write of
// one small batch with sync, the same without sync, and a raw 300-byte append followed by
// fdatasync: whether a raft log of our own (append + fdatasync) would beat RocksDB here.
// Also what the RocksDB binding costs the main thread per operation in large batches.
//
//   npx tsx scripts/bench-sync-write.ts [--writes 2000] [--dir /path/on/the/data/disk]

import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openRocksEngine } from '../server/storage/index.js';

const VALUE_BYTES = 300;
const { values } = parseArgs({ options: { writes: { type: 'string', default: '2000' }, dir: { type: 'string', default: tmpdir() } } });
const writes = Number(values.writes);
const dir = mkdtempSync(join(values.dir, 'rs-sync-bench-'));

function percentiles(ms: number[]): string {
  ms.sort((a, b) => a - b);
  const at = (p: number): string => ms[Math.min(ms.length - 1, Math.floor(ms.length * p))]!.toFixed(3);
  return `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`;
}

const key = (i: number): Uint8Array => new TextEncoder().encode(`k${i}`);

async function timed(n: number, op: (i: number) => Promise<unknown>): Promise<string> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op(i);
    ms.push(performance.now() - t0);
  }
  return percentiles(ms);
}

try {
  const value = new Uint8Array(VALUE_BYTES);
  const engine = await openRocksEngine(join(dir, 'rocksdb'));
  console.log(`rocksdb write, sync:    ${await timed(writes, (i) => engine.write([{ type: 'put', key: key(i), value }], { sync: true }))}`);
  console.log(`rocksdb write, no sync: ${await timed(writes, (i) => engine.write([{ type: 'put', key: key(i), value }]))}`);
  const OPS_PER_BATCH = 100;
  let mainThreadMs = 0;
  for (let b = 0; b < writes / 10; b++) {
    const ops = Array.from({ length: OPS_PER_BATCH }, (_, i) => ({ type: 'put' as const, key: key(writes + b * OPS_PER_BATCH + i), value }));
    const t0 = performance.now();
    const done = engine.write(ops);
    mainThreadMs += performance.now() - t0;
    await done;
  }
  const perOpUs = (mainThreadMs * 1000) / ((writes / 10) * OPS_PER_BATCH);
  console.log(`rocksdb batch of ${OPS_PER_BATCH}, no sync: ${perOpUs.toFixed(2)} µs per operation on the main thread`);
  await engine.close();
  const file = await open(join(dir, 'append.log'), 'a');
  console.log(`append + fdatasync:     ${await timed(writes, async () => {
    await file.write(value);
    await file.datasync();
  })}`);
  await file.close();
  console.log(`(${writes} writes of ${VALUE_BYTES} bytes each, in ${dir})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
