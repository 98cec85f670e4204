// A power-cut emulation for a RocksDB directory, test-only (issue 15's fsync tooth), in the
// style of RocksDB's FaultInjectionTestFS ("drop unsynced data"), without root devices or VMs.
//
// A kill -9 loses nothing RocksDB handed to the kernel: a WAL write without sync is in the
// page cache and the next open replays it. A power cut loses what was never fsynced. Here:
//
//  - record: right after a write with sync:true resolved (RocksDB fsynced every WAL it still
//    had open, the older ones included), the process appends the name and size of every WAL
//    file (`<n>.log`) in the directory to DURABLE_POINTS_FILE in that directory. What lies
//    below those sizes is on the disk.
//  - cut (after a kill -9, the database closed): every WAL file is truncated to the largest
//    size ever recorded for it; a WAL never recorded was created after the last durable
//    point (a memtable switch) and is emptied. Nothing else is touched: SST files, MANIFEST,
//    CURRENT and OPTIONS are fsynced by RocksDB before it uses them, and a WAL that RocksDB
//    deleted after a flush is in an SST it synced first.
//
// The state left is always one a real power cut could leave: the instant just after the
// last recorded sync, with whatever flushes RocksDB had finished by then (a flush syncs the
// WALs it closes, so one that finished kept their data in an SST; one that did not finish
// left an SST the MANIFEST does not name). It may drop a little more than a real cut at the
// worst instant (a closed WAL a flush synced but had not yet replaced is cut back to the
// last recorded size): the cut is strict, never lenient, except for one window: an unsynced
// write that reached the WAL between a synced write's fsync and the recording stat is kept.
// Writers that serialize their writes (the edge's group commit) leave no such window.
//
// RocksDB 6.17's default recovery (kPointInTimeRecovery) reads a WAL that ends at a record
// boundary, or inside its last record (a torn tail), as a clean end of the log.

import { appendFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { readFile, readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';

/** The side file, inside the RocksDB directory (RocksDB ignores names it does not know, and
 *  the file moves with the directory: a copy, a restore, a database moved aside). */
export const DURABLE_POINTS_FILE = 'REGIONSTORE_UNSAFE_DURABLE_POINTS.jsonl';
/** RocksDB's WAL files: a file number and `.log`. */
const WAL_FILE_RE = /^\d+\.log$/;
/**
 * The side file is started again from its newest point past this size (a long run records a
 * point per fsync). The newest point alone is enough: WAL sizes only grow, and a WAL missing
 * from it was deleted by RocksDB before it, so no later cut can meet that file.
 */
export const DURABLE_POINTS_FILE_BYTES_MAX = 1024 * 1024;

/** Each directory's side file size as this process knows it (read once, then counted). */
const appended = new Map<string, number>();

function sizeOrZero(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** One line of the side file. */
interface DurablePointLine {
  /** Why it was recorded: 'open' or 'sync'. */
  why: string;
  /** WAL file name → its size in bytes then. */
  wals: Record<string, number>;
}

function walSizesNow(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync(dir)) {
    if (!WAL_FILE_RE.test(name)) continue;
    try {
      out[name] = statSync(join(dir, name)).size;
    } catch {
      // Deleted between the listing and the stat (a flush's purge): nothing to keep of it.
    }
  }
  return out;
}

/**
 * Appends the current WAL sizes of the database in `dir` as durable. Synchronous on
 * purpose: it runs between the synced write's completion and the caller's next step (the
 * answer to a client), so no later write of this process slips in between.
 */
export function recordDurablePoint(dir: string, why: 'open' | 'sync', fileBytesMax = DURABLE_POINTS_FILE_BYTES_MAX): void {
  const text = `${JSON.stringify({ why, wals: walSizesNow(dir) } satisfies DurablePointLine)}\n`;
  const file = join(dir, DURABLE_POINTS_FILE);
  const size = (appended.get(dir) ?? sizeOrZero(file)) + text.length;
  if (size <= fileBytesMax) {
    appendFileSync(file, text);
    appended.set(dir, size);
    return;
  }
  // A rename replaces the file whole: a kill meanwhile leaves the old one or the new one.
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
  appended.set(dir, text.length);
}

/** Per WAL file name, the largest size recorded durable, and how many points were read. */
export async function readDurablePoints(dir: string): Promise<{ points: number; durable: Map<string, number> }> {
  let text: string;
  try {
    text = await readFile(join(dir, DURABLE_POINTS_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new Error(`${dir} has no ${DURABLE_POINTS_FILE}: the process that wrote this database did not record durable points (start the edge with --unsafe-record-durable-points true and REGIONSTORE_UNSAFE=1)`, { cause: err });
  }
  const durable = new Map<string, number>();
  let points = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: DurablePointLine;
    try {
      line = JSON.parse(raw) as DurablePointLine;
    } catch {
      continue; // a line cut short by the kill: the point it was recording never happened
    }
    points++;
    for (const [name, size] of Object.entries(line.wals)) durable.set(name, Math.max(durable.get(name) ?? 0, size));
  }
  return { points, durable };
}

/** What a power cut did to one WAL file. */
export interface WalCut {
  name: string;
  /** Its size before the cut. */
  size: number;
  /** Its size after: the last durable size recorded for it, 0 when never recorded. */
  kept: number;
  recorded: boolean;
}

export interface PowerCutResult {
  wals: WalCut[];
  /** Bytes dropped over every WAL. */
  droppedBytes: number;
  /** Durable points the side file held. */
  points: number;
}

/**
 * The power cut on a closed database in `dir` (the process killed first): every WAL file
 * truncated to its last durable size, a WAL never recorded emptied. Throws when no durable
 * point was ever recorded there (the cut would otherwise be a guess).
 */
export async function dropUnsyncedWal(dir: string): Promise<PowerCutResult> {
  const { points, durable } = await readDurablePoints(dir);
  const wals: WalCut[] = [];
  let droppedBytes = 0;
  for (const name of (await readdir(dir)).filter((n) => WAL_FILE_RE.test(n)).sort()) {
    const file = join(dir, name);
    const size = (await stat(file)).size;
    const recorded = durable.has(name);
    // A file is never grown: a recorded size above the current one cannot happen for an
    // append-only WAL, and keeping the current size is the only sane reading of it.
    const kept = Math.min(size, durable.get(name) ?? 0);
    if (kept < size) await truncate(file, kept);
    droppedBytes += size - kept;
    wals.push({ name, size, kept, recorded });
  }
  return { wals, droppedBytes, points };
}

/** One line for a history or a log: `000012.log 40213→35120 B, 000014.log 812→0 B (never synced)`. */
export function describePowerCut(r: PowerCutResult): string {
  const files = r.wals.map((w) => `${w.name} ${w.size}→${w.kept} B${w.recorded ? '' : ' (never synced)'}`).join(', ');
  return `${r.droppedBytes} unsynced WAL bytes dropped (${files || 'no WAL file'}; ${r.points} durable points)`;
}
