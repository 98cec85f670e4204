// RocksDB's background threads (flush, compaction), and V8's platform workers, at a lower
// CPU priority than the member's main thread
// (issue 20: event-loop delay on every member, every step).
//
// On a machine with fewer cores than busy threads, a late timer on the main thread (the one
// that runs Raft's ticks and heartbeats) is mostly time spent waiting for a core; the
// threads it waits behind include RocksDB's flush ("rocksdb:high<N>") and compaction
// ("rocksdb:low<N>") threads of every member on the machine. Their work is not urgent by the
// millisecond: a flush only has to finish before the memtables fill, a compaction before
// level 0 reaches the slowdown trigger. RocksDB's own Env::LowerThreadPoolCPUPriority does
// this from C++ (nice 19 for the pool); the binding does not expose it and the release
// build is not changed here, so a member renices the threads itself: Linux's setpriority is
// per thread, and node's os.setPriority takes a thread id (uv_os_setpriority). Raising a
// thread's nice value needs no privilege.
//
// V8's workers (concurrent marking, parallel scavenge helpers, background compilation) are
// reniced less deeply than compaction, since a parallel scavenge joins its helpers. What a
// nice value buys on Linux's EEVDF scheduler is the order in which runnable threads of one
// process get a core: a woken thread's virtual deadline is its slice divided by its weight,
// so a woken helper at nice 10 no longer takes the core from the main thread that woke it
// (each member runs in its own autogroup, so the values weigh only against the member's own
// threads). Measured in `etcdctl check datascale` on a 4-member cluster with
// scripts/probe-datascale.ts (session 11, a loaded machine): the main thread's wait for a
// core per second of its CPU was lower than with the workers at nice 0 in 10 of 12
// same-round pairs. libuv's pool stays at the main thread's priority: it runs a put's log
// write and fsync, and lowering it too (nice 5) bought nothing more there (the same wait per
// CPU second summed over 12 members: 41.6 against 41.7).
// Node names none of its threads; they are told apart by start order (util/node-threads.ts).
//
// The threads are found in /proc/self/task (RocksDB names its threads when its pools start
// them, at the first database open; Node's exist before our code runs). The pools are
// process-wide (Env::Default), so both databases share them; a database reopened later (a
// state snapshot install) adds no threads, but a rescan every BACKGROUND_RESCAN_MS catches a
// pool that grows, at the cost of reading a few dozen small /proc files.
//
// Not Linux (no /proc/self/task), or a thread that exits while being reniced: nothing is
// changed and nothing fails; the member runs as before.

import { getPriority, setPriority } from 'node:os';
import { nodeThreads, ownPoolSizes, type NodeThread } from '../util/node-threads.js';

/** Nice value for the compaction pool: the lowest, as RocksDB's LowerThreadPoolCPUPriority(kLow). */
export const COMPACTION_THREAD_NICE = 19;
/** Nice value for the flush pool: below the main thread's 0 but not starved, since writes
 *  stall when the memtables fill before a flush ends. */
export const FLUSH_THREAD_NICE = 10;
/** Nice value for V8's platform workers (GC helpers, background compilation): the main
 *  thread joins a parallel scavenge's helpers, so they are not starved either. */
export const V8_WORKER_NICE = 10;
/** Set to "off", a member leaves RocksDB's threads at its own priority. */
export const ROCKSDB_NICE_VAR = 'REGIONSTORE_ROCKSDB_NICE';
/** Set to "off", a member leaves V8's workers at its own priority. */
export const NODE_NICE_VAR = 'REGIONSTORE_NODE_NICE';
/** How often a running member looks again for RocksDB threads that started since. */
export const BACKGROUND_RESCAN_MS = 30_000;

/** Which thread groups a member lowers. */
export interface ReniceGroups {
  rocksdb: boolean;
  node: boolean;
}

/** The groups to lower given the environment's switches (both by default). */
export function reniceGroupsFromEnv(env: NodeJS.ProcessEnv = process.env): ReniceGroups {
  return { rocksdb: env[ROCKSDB_NICE_VAR] !== 'off', node: env[NODE_NICE_VAR] !== 'off' };
}

/** The nice value a RocksDB thread named `comm` should run at, or undefined to leave it alone. */
export function backgroundNiceFor(comm: string): number | undefined {
  // "bottom" is the pool for bottommost-level compactions (unused at our settings): compaction work.
  if (comm.startsWith('rocksdb:low') || comm.startsWith('rocksdb:bottom')) return COMPACTION_THREAD_NICE;
  if (comm.startsWith('rocksdb:high')) return FLUSH_THREAD_NICE;
  return undefined;
}

/** The nice value for one of this process's threads, or undefined to leave it alone (the main thread, libuv's pool, idle helpers, unknown threads). */
export function threadNiceFor(th: Pick<NodeThread, 'cls' | 'comm'>, groups: ReniceGroups): number | undefined {
  if (groups.node && th.cls === 'v8-worker') return V8_WORKER_NICE;
  return groups.rocksdb ? backgroundNiceFor(th.comm) : undefined;
}

export interface ThreadRenice {
  tid: number;
  /** The thread's name, or its class for Node's unnamed threads ("v8-worker", "libuv-pool"). */
  comm: string;
  nice: number;
}

/**
 * Renices this process's background threads of `groups` whose nice value is below their
 * target; returns the threads changed (none off Linux). Never raises a thread's priority.
 */
export function lowerBackgroundThreadPriority(groups: ReniceGroups = { rocksdb: true, node: true }, procDir = '/proc'): ThreadRenice[] {
  const changed: ThreadRenice[] = [];
  for (const th of nodeThreads(process.pid, ownPoolSizes(), procDir)) {
    if (th.tid === process.pid) continue;
    const nice = threadNiceFor(th, groups);
    try {
      if (nice === undefined || getPriority(th.tid) >= nice) continue;
      setPriority(th.tid, nice);
      changed.push({ tid: th.tid, comm: th.cls, nice });
    } catch {
      // the thread exited meanwhile, or the system refused: leave it as it is
    }
  }
  return changed;
}

/**
 * Lowers the background threads' priority now and every BACKGROUND_RESCAN_MS; the timer
 * does not keep the process alive. Returns what the first pass changed and a stop function.
 */
export function keepBackgroundThreadsLow(groups: ReniceGroups): { first: ThreadRenice[]; stop: () => void } {
  const first = lowerBackgroundThreadPriority(groups);
  const timer = setInterval(() => lowerBackgroundThreadPriority(groups), BACKGROUND_RESCAN_MS);
  timer.unref();
  return { first, stop: () => clearInterval(timer) };
}
