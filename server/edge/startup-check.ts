// What an edge checks in its data directory before it opens anything (DESIGN §5 and §6,
// issue 19 on edges), the same checks a region member runs (server/region/startup-check.ts):
//  - the marker (edge.json) must be this device's, in a format we know (marker.ts);
//  - the local database (`state/`) must look whole from its files (CURRENT, the MANIFEST it
//    names) and read whole, every key and value, in a child process (server/storage's
//    db-check.ts: the `rocksdb` binding aborts on some bad bytes, so this process never reads
//    them itself).
// A damaged database is never served and never repaired in place: it is moved aside (kept,
// named in the log and in `rsctl edge status`) and the edge takes a new incarnation before it
// creates a new database, so no (replica, seq) is ever reused; the next session downloads
// everything from the region, its old incarnation's writes included as a foreign origin.
// Local writes the region had not received are in the database moved aside: an edge cannot
// tell which they were from a database it cannot read, so they may be lost, and it says so.
// A database is created only in a new directory or in place of one moved aside.
// A start not preceded by a clean stop (no seal: kill -9, a power cut, a failed write) takes
// a new incarnation too, durably before the database opens: the edge uploads its own writes
// while their fsync runs (server/edge/replica.ts), so the region may hold, or still have in
// its Raft log, writes this directory lost; their dots must never be used again.

import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectRocksDir, verifyRocksDir } from '../storage/db-check.js';
import { breakSealUnchecked, checkAndBreakSeal } from '../storage/db-seal.js';
import type { Logger } from '../util/logger.js';
import { bumpIncarnation, loadOrCreateMarker, replicaId, type EdgeMarker } from './marker.js';

export const EDGE_STATE_DIR = 'state';

/** Why the local database was replaced (the `reason` label of regionstore_storage_*_total). */
export type EdgeDamage = 'missing' | 'unreadable' | 'corrupt';

export interface EdgeStartupCheck {
  marker: EdgeMarker;
  /** A new data dir (a new incarnation, nothing held). */
  fresh: boolean;
  /** The database may be created (none there, or the damaged one moved aside). */
  createDb: boolean;
  /** The incarnation was taken by this start (a new dir, a damaged database, an unclean stop). */
  newIncarnation: boolean;
  /** The incarnation taken because the last stop was not clean (for the log), if so. */
  uncleanStop?: { before: string; after: string; why: string };
  /** What was found and done, for the log, the status and the metrics; absent when clean. */
  damage?: { reason: EdgeDamage; detail: string; movedTo: string; before: string; after: string; note: string };
}

export interface EdgeStartupOptions {
  dataDir: string;
  deviceId: string;
  nowMs: number;
  logger: Logger;
  /** Reads the database whole in a child process before use (db-check.ts). Default true. */
  verify?: boolean;
}

export async function checkEdgeDataDir(o: EdgeStartupOptions): Promise<EdgeStartupCheck> {
  const { marker, fresh } = await loadOrCreateMarker(o.dataDir, o.deviceId, o.nowMs);
  const dir = join(o.dataDir, EDGE_STATE_DIR);
  const found = await inspectRocksDir(dir);
  if (fresh) {
    // loadOrCreateMarker made sure the directory held nothing else.
    return { marker, fresh, createDb: true, newIncarnation: true };
  }
  let reason: EdgeDamage | undefined;
  let detail = '';
  if (found.kind === 'absent') {
    reason = 'missing';
    detail = `${dir} holds no database (the marker says this directory held one)`;
  } else if (found.kind === 'damaged') {
    reason = 'unreadable';
    detail = `${found.file}: ${found.reason}`;
  }
  let cleanStop = false;
  let notClean = '';
  if (reason === undefined && o.verify === false) {
    cleanStop = await breakSealUnchecked(dir);
    notClean = 'no seal (the last stop was not clean)';
  } else if (reason === undefined) {
    const seal = await checkAndBreakSeal(dir);
    cleanStop = seal.sealed;
    if (seal.sealed) o.logger.info('edge database unchanged since its clean stop: full read skipped', { dir, files: seal.files, bytes: seal.bytes, ms: seal.ms });
    else {
      notClean = seal.reason;
      o.logger.info('reading the edge database whole before use', { dir, why: seal.reason });
      const v = await verifyRocksDir(dir);
      if (v.ok === false) {
        reason = 'corrupt';
        detail = `${dir}: ${v.reason}`;
      } else if (v.ok === 'unchecked') o.logger.warn('edge database not verified at start', { dir, reason: v.reason });
      else o.logger.debug('edge database verified', { dir, ms: v.ms, keys: v.keys });
    }
  }
  if (reason === undefined && cleanStop) return { marker, fresh, createDb: false, newIncarnation: false };
  if (reason === undefined) {
    // Durably before the database opens, so no write of this process uses the old origin.
    const next = await bumpIncarnation(o.dataDir, marker, o.nowMs);
    const uncleanStop = { before: replicaId(marker.deviceId, marker.incarnation), after: replicaId(next.deviceId, next.incarnation), why: notClean };
    o.logger.warn('the last stop was not clean: took a new incarnation (writes uploaded before their fsync are never re-used)', uncleanStop);
    return { marker: next, fresh, createDb: false, newIncarnation: true, uncleanStop };
  }
  const movedTo = reason === 'missing' ? '' : await moveAside(o.dataDir, EDGE_STATE_DIR);
  // Durably before a new database exists: its writes start again at seq 1, under a new origin.
  const next = await bumpIncarnation(o.dataDir, marker, o.nowMs);
  const before = replicaId(marker.deviceId, marker.incarnation);
  const after = replicaId(next.deviceId, next.incarnation);
  const note = `the local database was ${reason === 'missing' ? 'missing' : `damaged (${reason}) and moved aside to ${movedTo}`}; ` +
    `took a new incarnation (${before} -> ${after}) and downloads everything from the region; ` +
    `local writes the region had not received before the damage may be lost (${detail})`;
  o.logger.error('edge database damaged: not served; moved aside (kept), new incarnation, downloading from the region', {
    reason, detail, movedTo: movedTo || null, before, after, lostUnsent: 'local writes not yet sent to the region, if any, may be lost',
  });
  return { marker: next, fresh: false, createDb: true, newIncarnation: true, damage: { reason, detail, movedTo, before, after, note } };
}

/** Renames `<dataDir>/<name>` to `<name>.damaged-<time>` (kept for the operator). */
async function moveAside(dataDir: string, name: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const target = join(dataDir, `${name}.damaged-${stamp}`);
  await rename(join(dataDir, name), target);
  const d = await open(dataDir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return target;
}
