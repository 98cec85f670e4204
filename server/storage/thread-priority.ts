// RocksDB's background threads (flush, compaction) at a lower CPU priority than the
// member's main thread (issue 20: event-loop delay on every member, every step).
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
// The threads are found by name in /proc/self/task/<tid>/comm (RocksDB names them when its
// pools start them, at the first database open). The pools are process-wide (Env::Default),
// so both databases share them; a database reopened later (a state snapshot install) adds no
// threads, but a rescan every BACKGROUND_RESCAN_MS catches a pool that grows, at the cost of
// reading a few dozen small /proc files.
//
// Not Linux (no /proc/self/task), or a thread that exits while being reniced: nothing is
// changed and nothing fails; the member runs as before.

import { readdirSync, readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Nice value for the compaction pool: the lowest, as RocksDB's LowerThreadPoolCPUPriority(kLow). */
export const COMPACTION_THREAD_NICE = 19;
/** Nice value for the flush pool: below the main thread's 0 but not starved, since writes
 *  stall when the memtables fill before a flush ends. */
export const FLUSH_THREAD_NICE = 10;
/** Set to "off", a member leaves RocksDB's threads at its own priority. */
export const ROCKSDB_NICE_VAR = 'REGIONSTORE_ROCKSDB_NICE';
/** How often a running member looks again for RocksDB threads that started since. */
export const BACKGROUND_RESCAN_MS = 30_000;

const TASK_DIR = '/proc/self/task';

/** The nice value a thread named `comm` should run at, or undefined to leave it alone. */
export function backgroundNiceFor(comm: string): number | undefined {
  // "bottom" is the pool for bottommost-level compactions (unused at our settings): compaction work.
  if (comm.startsWith('rocksdb:low') || comm.startsWith('rocksdb:bottom')) return COMPACTION_THREAD_NICE;
  if (comm.startsWith('rocksdb:high')) return FLUSH_THREAD_NICE;
  return undefined;
}

export interface ThreadRenice {
  tid: number;
  comm: string;
  nice: number;
}

/**
 * Renices this process's RocksDB background threads whose nice value is below their
 * target; returns the threads changed (none off Linux). Never raises a thread's priority.
 */
export function lowerBackgroundThreadPriority(taskDir = TASK_DIR): ThreadRenice[] {
  let tids: string[];
  try {
    tids = readdirSync(taskDir);
  } catch {
    return []; // not Linux
  }
  const changed: ThreadRenice[] = [];
  for (const name of tids) {
    const tid = Number(name);
    if (!Number.isInteger(tid) || tid === process.pid) continue;
    try {
      const comm = readFileSync(`${taskDir}/${name}/comm`, 'latin1').trim();
      const nice = backgroundNiceFor(comm);
      if (nice === undefined || getPriority(tid) >= nice) continue;
      setPriority(tid, nice);
      changed.push({ tid, comm, nice });
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
export function keepBackgroundThreadsLow(): { first: ThreadRenice[]; stop: () => void } {
  const first = lowerBackgroundThreadPriority();
  const timer = setInterval(() => lowerBackgroundThreadPriority(), BACKGROUND_RESCAN_MS);
  timer.unref();
  return { first, stop: () => clearInterval(timer) };
}
