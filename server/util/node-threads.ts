// Which of a Node process's threads is which (Linux /proc/<pid>/task), for per-thread CPU
// figures and per-thread priorities (issue 20: on 2 cores a member's event loop mostly
// waits for a core, and the threads it waits behind include its own V8 and libuv workers).
//
// Node 20 names none of its own threads: every one of them has the comm "node". They are
// told apart by start order, which Node fixes at process start (node_platform.cc, checked by
// running GC-heavy and fs-heavy work and reading each thread's CPU, and by the test):
//   1. the main thread (tid = pid), which runs the event loop;
//   2. the platform's delayed-task scheduler (a timer thread, next to no CPU);
//   3. V8's platform workers (--v8-pool-size, 4 by default): concurrent marking, parallel
//      scavenge and compaction helpers, background compilation;
//   4. the inspector's signal thread (waits for SIGUSR1, no CPU);
//   5. libuv's pool (UV_THREADPOOL_SIZE, 4 by default), started at its first use, which
//      an ES module load makes before any of our code runs: fs calls, and the RocksDB
//      binding's reads, writes and fsyncs.
// Anything started later (worker_threads, the inspector session of a profiler) is "other".
// Named threads (RocksDB's "rocksdb:low0", ...) keep their name as class.
import { readFileSync, readdirSync } from 'node:fs';
import { givenNodeFlag } from './heap-flags.js';

/** Node's V8 platform worker count when --v8-pool-size is not given (node_options.h). */
export const NODE_DEFAULT_V8_POOL_SIZE = 4;
/** libuv's pool size when UV_THREADPOOL_SIZE is not set. */
export const UV_DEFAULT_POOL_SIZE = 4;
/** The comm Linux shows for Node's unnamed threads (the executable's name). */
const UNNAMED_COMM = 'node';

export type NodeThreadClass = 'main' | 'platform-delayed' | 'v8-worker' | 'inspector-signal' | 'libuv-pool' | 'node-other';

export interface PoolSizes {
  v8: number;
  uv: number;
}

/** The pool sizes this process runs with (from its flags and environment). */
export function ownPoolSizes(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): PoolSizes {
  let v8 = NODE_DEFAULT_V8_POOL_SIZE;
  const m = /^--v8-pool-size=(\d+)$/.exec(givenNodeFlag(['--v8-pool-size='], execArgv, env['NODE_OPTIONS'] ?? '') ?? '');
  // Node takes 0 as "pick from the number of cores"; we do not guess that and keep the default.
  if (m !== null && Number(m[1]) > 0) v8 = Number(m[1]);
  const uvEnv = Number(env['UV_THREADPOOL_SIZE'] ?? '');
  return { v8, uv: Number.isInteger(uvEnv) && uvEnv > 0 ? uvEnv : UV_DEFAULT_POOL_SIZE };
}

/** The class of the `rank`-th unnamed thread after the main thread (rank 1 = the first). */
export function unnamedThreadClass(rank: number, pools: PoolSizes): NodeThreadClass {
  if (rank === 1) return 'platform-delayed';
  if (rank <= 1 + pools.v8) return 'v8-worker';
  if (rank === 2 + pools.v8) return 'inspector-signal';
  if (rank <= 2 + pools.v8 + pools.uv) return 'libuv-pool';
  return 'node-other';
}

export interface NodeThread {
  tid: number;
  comm: string;
  /** A NodeThreadClass for Node's own threads, else the thread's name. */
  cls: string;
}

/** The threads of process `pid` (default this one), in start order; [] when /proc is missing. */
export function nodeThreads(pid: number = process.pid, pools: PoolSizes = ownPoolSizes(), procDir = '/proc'): NodeThread[] {
  let names: string[];
  try {
    names = readdirSync(`${procDir}/${pid}/task`);
  } catch {
    return [];
  }
  // Thread ids grow with start order within a process (short of a pid wrap-around, which
  // the kernel's 4M pid space makes rare; a wrong class then only misplaces a figure or a nice).
  const tids = names.map(Number).filter((t) => Number.isInteger(t)).sort((a, b) => a - b);
  const out: NodeThread[] = [];
  let rank = 0;
  for (const tid of tids) {
    let comm: string;
    try {
      comm = readFileSync(`${procDir}/${pid}/task/${tid}/comm`, 'latin1').trim();
    } catch {
      continue; // exited meanwhile
    }
    if (tid === pid) out.push({ tid, comm, cls: 'main' });
    else if (comm === UNNAMED_COMM) out.push({ tid, comm, cls: unnamedThreadClass(++rank, pools) });
    else out.push({ tid, comm, cls: comm });
  }
  return out;
}
