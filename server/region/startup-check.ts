// What a region member checks in its data directory before it opens anything (DESIGN.md
// §5, storage faults). Start-up never deletes, rewrites or "repairs" in place a file it
// could not read:
//  - the marker must name this member of this cluster in a format we know;
//  - raft/ (votes, acknowledged entries: not derived from anything) must open and read
//    cleanly, or the member is refused with the file and the recovery command named;
//  - state/ is derived data: missing, unreadable or corrupt, it is moved aside (kept, named
//    in the log) and the member rebuilds it (region-node.ts, state-repair.ts).
// A database is created only where there is none: raft/ in a new directory, state/ in a
// new directory or in place of one moved aside.

import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CURRENT_STATE_FILE, STATE_DIR_NAME, currentStateDirName, listStateDirs, raftDir, syncDir,
} from '../storage/data-dir.js';
import { inspectRocksDir, verifyRocksDir, type VerifyResult } from '../storage/db-check.js';
import { checkAndBreakSeal } from '../storage/db-seal.js';
import { checkMarker, readMarker, writeMarker, type DataDirMarker } from '../storage/marker.js';
import type { Logger } from '../util/logger.js';

/** Why the state must be rebuilt (the `reason` label of the storage metrics). */
export type StateDamage = 'missing' | 'unreadable' | 'corrupt' | 'behind-log' | 'incomplete-install';

/** What the operator runs to bring back a member whose raft/ cannot be used. */
export function reseedCommand(dataDir: string): string {
  return `with this member stopped, run \`regionstore member reseed --data-dir ${dataDir} --endpoints <client URLs of the other members>\`, ` +
    'then start it again: it keeps the damaged files aside and catches up from the leader';
}

/** The member must not start on this data directory: what is wrong and what to do. */
export class DataDirRefusedError extends Error {
  override readonly name = 'DataDirRefusedError';
  constructor(readonly file: string, readonly reason: string, readonly recovery: string) {
    super(`refusing to start: ${file}: ${reason}. Nothing was changed. To recover: ${recovery}`);
  }
}

export interface StartupCheck {
  /** raft/ holds no database yet: it may be created. */
  raftIsNew: boolean;
  /** The live state directory's name (data-dir.ts) and whether it may be created. */
  stateDirName: string;
  stateIsNew: boolean;
  /** The state was found damaged and moved aside: rebuild it. */
  stateDamage?: { reason: StateDamage; detail: string; movedTo?: string };
  /** The marker was written now (a new directory or one older than the marker). */
  markerWritten: boolean;
}

export interface StartupCheckOptions {
  dataDir: string;
  clusterId: number;
  memberId: number;
  logger: Logger;
  /**
   * When each database is read whole in a child process before use (db-check.ts):
   * 'auto' (default) unless it is byte for byte what a clean stop sealed (db-seal.ts);
   * 'always'; or 'never' (tests of other things). Any seal is broken before the open.
   */
  verify?: StartupVerify;
}

export type StartupVerify = 'auto' | 'always' | 'never';

/** Runs the checks above; throws DataDirRefusedError when the member must not start. */
export async function checkDataDir(o: StartupCheckOptions): Promise<StartupCheck> {
  await mkdir(o.dataDir, { recursive: true });
  let marker: DataDirMarker | undefined;
  try {
    marker = await readMarker(o.dataDir);
    if (marker !== undefined) checkMarker(o.dataDir, marker, o);
  } catch (err) {
    throw new DataDirRefusedError(o.dataDir, (err as Error).message, 'point --data-dir at this member\'s own directory');
  }
  const verify = o.verify ?? 'auto';

  // raft/: refused, never moved or re-created, when it cannot be used.
  const rdir = raftDir(o.dataDir);
  const raft = await inspectRocksDir(rdir);
  let raftIsNew = false;
  if (raft.kind === 'damaged') throw new DataDirRefusedError(raft.file, raft.reason, reseedCommand(o.dataDir));
  if (raft.kind === 'absent') {
    if (marker !== undefined) {
      throw new DataDirRefusedError(rdir, 'the raft log database is gone from a directory that held one (the marker says so)',
        reseedCommand(o.dataDir));
    }
    raftIsNew = true;
  } else {
    const v = await verifyUnlessSealed(rdir, verify, o.logger);
    if (v.ok === false) throw new DataDirRefusedError(rdir, `cannot be read: ${v.reason}`, reseedCommand(o.dataDir));
    logUnchecked(o.logger, rdir, v);
  }

  // state/: derived data. A damaged one is moved aside and rebuilt.
  let stateDirName: string;
  let stateDamage: StartupCheck['stateDamage'];
  try {
    stateDirName = await currentStateDirName(o.dataDir);
  } catch (err) {
    // The pointer itself is damaged: keep it and every state dir for the operator, and
    // start again from `state`.
    const moved = [await moveAside(o.dataDir, CURRENT_STATE_FILE)];
    for (const { name } of await listStateDirs(o.dataDir)) moved.push(await moveAside(o.dataDir, name));
    stateDirName = STATE_DIR_NAME;
    stateDamage = { reason: 'unreadable', detail: `${CURRENT_STATE_FILE}: ${(err as Error).message}`, movedTo: moved.join(', ') };
  }
  if (stateDamage === undefined) stateDamage = await lostStatePointer(o.dataDir, stateDirName);
  const sdir = join(o.dataDir, stateDirName);
  let stateIsNew = false;
  if (stateDamage === undefined) {
    const state = await inspectRocksDir(sdir);
    if (state.kind === 'absent') {
      stateIsNew = true;
      if (!raftIsNew) stateDamage = { reason: 'missing', detail: `${sdir} holds no database` };
    } else if (state.kind === 'damaged') {
      stateDamage = { reason: 'unreadable', detail: `${state.file}: ${state.reason}` };
    } else {
      const v = await verifyUnlessSealed(sdir, verify, o.logger);
      if (v.ok === false) stateDamage = { reason: 'corrupt', detail: `${sdir}: ${v.reason}` };
      else logUnchecked(o.logger, sdir, v);
    }
    if (stateDamage !== undefined && stateDamage.reason !== 'missing') {
      stateDamage.movedTo = await moveAside(o.dataDir, stateDirName);
      stateIsNew = true;
    }
  } else {
    stateIsNew = true;
  }
  if (stateDamage !== undefined) {
    o.logger.warn('state database damaged: moved aside (kept), rebuilding it from the leader; serving nothing until then', {
      reason: stateDamage.reason, detail: stateDamage.detail, movedTo: stateDamage.movedTo ?? null,
    });
  }

  let markerWritten = false;
  if (marker === undefined) {
    await writeMarker(o.dataDir, o);
    markerWritten = true;
  }
  return { raftIsNew, stateDirName, stateIsNew, ...(stateDamage !== undefined ? { stateDamage } : {}), markerWritten };
}

/**
 * CURRENT_STATE gone while `state/` is gone too and `state.<n>/` remain: the pointer was lost
 * after an install (an install removes the old `state/`; one interrupted before its pointer
 * leaves `state/` in place). Which of them is live cannot be told, and opening the state
 * would remove them as an install's leftovers (data-dir.ts): every one is moved aside
 * (kept) and the state rebuilt. Undefined when the pointer is there or nothing is amiss.
 */
async function lostStatePointer(dataDir: string, live: string): Promise<StartupCheck['stateDamage']> {
  if (live !== STATE_DIR_NAME || existsSync(join(dataDir, CURRENT_STATE_FILE)) || existsSync(join(dataDir, STATE_DIR_NAME))) return undefined;
  const orphans = (await listStateDirs(dataDir)).filter((d) => d.generation > 0);
  if (orphans.length === 0) return undefined;
  const moved: string[] = [];
  for (const { name } of orphans) moved.push(await moveAside(dataDir, name));
  return {
    reason: 'unreadable',
    detail: `${CURRENT_STATE_FILE} is missing and ${orphans.map((d) => d.name).join(', ')} remain (which one is live cannot be told)`,
    movedTo: moved.join(', '),
  };
}

/** The full read of db-check.ts, skipped in 'auto' mode for a directory still as sealed at a clean stop. */
async function verifyUnlessSealed(dir: string, mode: StartupVerify, logger: Logger): Promise<VerifyResult> {
  const seal = await checkAndBreakSeal(dir);
  if (mode === 'never') return { ok: 'unchecked', reason: 'start-up verification is off', ms: 0 };
  if (mode === 'auto' && seal.sealed) {
    logger.info('database unchanged since its clean stop: full read skipped', { dir, files: seal.files, bytes: seal.bytes, ms: seal.ms });
    return { ok: true, keys: 0, ms: seal.ms };
  }
  if (!seal.sealed) logger.info('reading the database whole before use', { dir, why: seal.reason });
  return verifyRocksDir(dir);
}

function logUnchecked(logger: Logger, dir: string, v: VerifyResult): void {
  if (v.ok === 'unchecked') logger.warn('database not verified at start', { dir, reason: v.reason });
  else logger.debug('database verified', { dir, ms: v.ms, keys: v.ok === true ? v.keys : 0 });
}

/** Renames `<dataDir>/<name>` to `<name>.damaged-<time>` (a name data-dir.ts never removes). */
async function moveAside(dataDir: string, name: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const target = `${name}.damaged-${stamp}`;
  try {
    await rename(join(dataDir, name), join(dataDir, target));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
  await syncDir(dataDir);
  return join(dataDir, target);
}
