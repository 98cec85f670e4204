// RocksDB's flush and compaction threads reniced or not (server/storage/thread-priority.ts):
// the effect on the main thread's timer lateness where they compete for one core.
//
//   taskset -c 1 npx tsx scripts/bench-background-nice.ts [--mode on|off] [--seconds 15] [--write-buffer-mib 2]
//
// One process, pinned to one core by taskset so its main thread and RocksDB's background
// threads compete for it (a member on a busy 2-core machine, where every member gets only
// its share): writes batches of 500 random 16-byte keys with 256-byte values to RocksDB in a
// temp dir (small memtables, so flushes and compactions run throughout) while a 5 ms timer
// records how late it fires. Prints the timer's lateness p50/p99/max, puts/s and the CPU per
// thread group (main, rocksdb:*, the rest). Run the modes in alternating pairs; name the load.

import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BatchOp } from '../server/storage/engine.js';
import { RocksEngine } from '../server/storage/rocksdb-engine.js';
import { lowerBackgroundThreadPriority } from '../server/storage/thread-priority.js';

/** The timer's period (ms): its lateness is the loop's delay at this resolution. */
const TICK_MS = 5;
/** Puts per write batch (about one apply batch of a loaded member). */
const BATCH_PUTS = 500;
const VALUE_BYTES = 256;

const { values: args } = parseArgs({ options: {
  mode: { type: 'string', default: 'on' }, seconds: { type: 'string', default: '15' }, 'write-buffer-mib': { type: 'string', default: '2' },
} });
const mode = args.mode;
if (mode !== 'on' && mode !== 'off') throw new Error(`--mode must be on or off, not ${mode}`);
const seconds = Number(args.seconds);
const writeBufferMiB = Number(args['write-buffer-mib']);
if (!(seconds > 0) || !(writeBufferMiB > 0)) throw new Error('--seconds and --write-buffer-mib must be positive numbers');

/** CPU ms so far per thread group of this process (schedstat, ns on a CPU). */
function cpuByGroup(): Record<string, number> {
  const r: Record<string, number> = {};
  for (const t of readdirSync('/proc/self/task')) {
    try {
      const comm = Number(t) === process.pid ? 'main' : readFileSync(`/proc/self/task/${t}/comm`, 'latin1').trim();
      const group = comm === 'main' || comm.startsWith('rocksdb:') ? comm : 'other';
      r[group] = (r[group] ?? 0) + Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'latin1').split(' ')[0]) / 1e6;
    } catch {
      // the thread exited meanwhile
    }
  }
  return r;
}

const dir = await mkdtemp(join(tmpdir(), 'rs-bench-background-nice-'));
const db = await RocksEngine.open(dir, { writeBufferSize: writeBufferMiB * 1024 * 1024 });
try {
  if (mode === 'on') console.log('reniced:', lowerBackgroundThreadPriority({ rocksdb: true, node: false }).map((t) => `${t.comm} → ${t.nice}`).join(', '));
  const late: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    late.push(now - last - TICK_MS);
    last = now;
  }, TICK_MS);
  const cpu0 = cpuByGroup();
  const end = performance.now() + seconds * 1000;
  const value = randomBytes(VALUE_BYTES);
  let puts = 0;
  while (performance.now() < end) {
    const ops: BatchOp[] = [];
    for (let i = 0; i < BATCH_PUTS; i++) ops.push({ type: 'put', key: randomBytes(16), value });
    await db.write(ops);
    puts += ops.length;
    await new Promise((r) => setImmediate(r)); // let the timer in between batches, as a member's loop does
  }
  clearInterval(timer);
  const cpu1 = cpuByGroup();
  late.sort((a, b) => a - b);
  const at = (q: number): string => (late[Math.min(late.length - 1, Math.floor(q * late.length))] ?? 0).toFixed(1);
  const cpuMs = Object.fromEntries(Object.keys(cpu1).sort().map((k) => [k, Math.round((cpu1[k] ?? 0) - (cpu0[k] ?? 0))]));
  console.log(JSON.stringify({ mode, putsPerS: Math.round(puts / seconds), lateMs: { p50: at(0.5), p99: at(0.99), max: at(1) }, cpuMs }));
} finally {
  await db.close();
  await rm(dir, { recursive: true, force: true });
}
