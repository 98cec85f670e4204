// The longest hold of the event loop while one big command is applied, in-process (no
// cluster, no gRPC): an MvccStore on RocksDB in a temp dir is loaded with --keys keys of
// --value-bytes (default: what `etcdctl check datascale --load=s` writes, 10k keys of 1 KiB),
// then each round applies a DeleteRange of all of them (that check's clean-up; it held
// every member's loop in bench:scale) and puts them back. A 1 ms timer records how late it
// ran: the longest lateness is the longest synchronous step (plus any wait for a core: on a
// loaded machine, the smallest of the rounds' figures says most; the load average is
// printed), and the most CPU the main thread used between two firings (Linux schedstat: the
// longest turn's own work, whatever the load). Also the apply's wall time and the process's
// CPU time (RocksDB's threads too).
//
// --install: instead, a state of --keys keys (bench:scale's: 16-byte keys in scattered order,
// 256-byte values; e.g. --keys 200000 --value-bytes 256) is streamed as a member sends it
// (readStateSnapshot with the mvcc derivation) and installed into a fresh directory each
// round, as a joining member installs it (installStateSnapshot): the joiner's loop.
// --install-only: the stream is read into memory first and only the install is watched
// (the sender's reads and framing, which a joiner does not do, left out of its turns).
//
//   npx tsx scripts/trace-apply-stall.ts [--keys 10000] [--value-bytes 1024] [--rounds 5] [--install]

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MVCC_SNAPSHOT_DERIVATION } from '../server/mvcc/snapshot-derivation.js';
import { MvccStore } from '../server/mvcc/store.js';
import type { Command } from '../server/mvcc/types.js';
import { RocksEngine } from '../server/storage/rocksdb-engine.js';
import { installStateSnapshot, readStateSnapshot } from '../server/storage/state-snapshot.js';

/** Puts per applied batch while loading (about a Ready's worth under load). */
const LOAD_BATCH_PUTS = 256;
/** How often the stall watch's timer fires: its resolution. */
const WATCH_MS = 1;
/** The key prefix etcdctl check datascale writes under. */
const PREFIX = '/etcdctl-check-datascale/';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '10000' },
    'value-bytes': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '5' },
    install: { type: 'boolean', default: false },
    'install-only': { type: 'boolean', default: false },
  },
});
const keys = Number(values.keys);
const valueBytes = Number(values['value-bytes']);
const rounds = Number(values.rounds);
if (values['install-only'] === true) values.install = true;

/** The main thread's time on a CPU so far (ms), from Linux's schedstat; 0 elsewhere. */
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return 0;
  }
}

/**
 * Runs `fn` under a WATCH_MS timer: the longest lateness seen (ms), and the most CPU the
 * main thread used between two firings (ms): the longest turn's own work, which a wait
 * for a core on a loaded machine does not inflate.
 */
async function watched(fn: () => Promise<unknown>): Promise<{ longestMs: number; longestCpuMs: number; ms: number; cpuMs: number; mainCpuMs: number; turnsCpuMs: number[] }> {
  let last = performance.now();
  let lastCpu = mainThreadCpuMs();
  let longest = 0;
  let longestCpu = 0;
  // The main thread's CPU between every two firings: its distribution says how many turns
  // are long, which a p99 of the loop's delay counts, where the maximum is one turn.
  let turnsCpuMs: number[] = [];
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = mainThreadCpuMs();
    longest = Math.max(longest, now - last - WATCH_MS);
    longestCpu = Math.max(longestCpu, cpu - lastCpu);
    turnsCpuMs.push(cpu - lastCpu);
    last = now;
    lastCpu = cpu;
  }, WATCH_MS);
  await new Promise((r) => setTimeout(r, 5 * WATCH_MS));
  longest = 0;
  longestCpu = 0;
  turnsCpuMs = [];
  const c0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const mainCpuMs = mainThreadCpuMs() - main0;
  await new Promise((r) => setTimeout(r, 5 * WATCH_MS));
  clearInterval(timer);
  return { longestMs: longest, longestCpuMs: longestCpu, ms, cpuMs: (c.user + c.system) / 1000, mainCpuMs, turnsCpuMs };
}

/** Turns of at least 5 and 10 ms of main-thread CPU, and the 99th percentile of a turn's CPU. */
function turnsSummary(turns: number[]): string {
  const sorted = [...turns].sort((a, b) => a - b);
  const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  return `${turns.length} timer turns, ${turns.filter((t) => t >= 5).length} with >= 5 ms of CPU, ${turns.filter((t) => t >= 10).length} >= 10 ms, p99 ${p99.toFixed(1)} ms`;
}

/** Min, median and max of per-round figures. */
function summary(v: number[]): string {
  const sorted = [...v].sort((a, b) => a - b);
  return `min ${sorted[0]!.toFixed(1)} ms, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms`;
}

const dir = await mkdtemp(join(tmpdir(), 'trace-apply-stall-'));
const engine = await RocksEngine.open(dir);
const store = await MvccStore.open(engine);
const value = new Uint8Array(valueBytes).fill(0x61);
/** Golden-ratio multiplier (bench:scale's scaleKey): scattered order for --install. */
const SCATTER = 0x9e3779b1;
const key = (i: number): Uint8Array => (values.install === true
  ? Buffer.from(`k${(Math.imul(i, SCATTER) >>> 0).toString().padStart(15, '0')}`)
  : Buffer.from(`${PREFIX}${i.toString().padStart(8, '0')}`));
let index = 0;
async function load(): Promise<void> {
  for (let i = 0; i < keys; i += LOAD_BATCH_PUTS) {
    const items = [];
    for (let j = i; j < Math.min(keys, i + LOAD_BATCH_PUTS); j++) items.push({ index: ++index, command: { type: 'put', put: { key: key(j), value } } as Command });
    await store.applyBatch(items);
  }
}
try {
  console.log(`${keys} keys of ${valueBytes} bytes, ${rounds} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const longest: number[] = [];
  const longestCpu: number[] = [];
  if (values.install === true) await load();
  for (let r = 0; r < (values.install === true ? rounds : 0); r++) {
    const into = join(dir, `joiner-${r}`);
    let stream: AsyncIterable<Uint8Array> | Uint8Array[] = readStateSnapshot(engine, MVCC_SNAPSHOT_DERIVATION);
    if (values['install-only'] === true) {
      const chunks: Uint8Array[] = [];
      for await (const c of stream) chunks.push(c);
      stream = chunks;
    }
    const source = stream;
    const w = await watched(async () => {
      const installed = await installStateSnapshot(into, source, (d) => RocksEngine.open(d), { derivation: MVCC_SNAPSHOT_DERIVATION });
      await installed.close();
    });
    await rm(into, { recursive: true, force: true });
    longest.push(w.longestMs);
    longestCpu.push(w.longestCpuMs);
    console.log(`round ${r + 1}: state of ${keys} keys streamed and installed in ${w.ms.toFixed(1)} ms (process CPU ${w.cpuMs.toFixed(1)} ms, main thread ${w.mainCpuMs.toFixed(1)} ms); longest loop hold ${w.longestMs.toFixed(1)} ms, most main-thread CPU between two firings ${w.longestCpuMs.toFixed(1)} ms; ${turnsSummary(w.turnsCpuMs)}`);
  }
  for (let r = 0; r < (values.install === true ? 0 : rounds); r++) {
    await load();
    const prefix = Buffer.from(PREFIX);
    const end = Buffer.from(prefix);
    end[end.length - 1]! += 1;
    const w = await watched(() => store.apply(++index, { type: 'deleteRange', deleteRange: { key: prefix, rangeEnd: end } }));
    longest.push(w.longestMs);
    longestCpu.push(w.longestCpuMs);
    console.log(`round ${r + 1}: delete of ${keys} keys applied in ${w.ms.toFixed(1)} ms (process CPU ${w.cpuMs.toFixed(1)} ms); longest loop hold ${w.longestMs.toFixed(1)} ms, most main-thread CPU between two firings ${w.longestCpuMs.toFixed(1)} ms`);
  }
  console.log(`longest loop hold per round: ${summary(longest)}; the main thread's CPU between two firings at most: ${summary(longestCpu)}; ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
}
