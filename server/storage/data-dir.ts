// The layout of a node's data directory (DESIGN.md §5):
//
//   <dataDir>/raft/            the raft log database
//   <dataDir>/state[.<n>]/     the state database; which one is live says CURRENT_STATE
//   <dataDir>/CURRENT_STATE    "state.<n>": written to a temp file, fsynced, renamed, and
//                              the directory fsynced, so it names the old or the new
//                              state after a crash, never neither
//
// Before the first installed snapshot there is no pointer and the live state is `state/`.

import { open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../util/assert.js';
import type { Engine, EngineOpener } from './engine.js';

export const RAFT_DIR_NAME = 'raft';
export const STATE_DIR_NAME = 'state';
export const CURRENT_STATE_FILE = 'CURRENT_STATE';
/** `state` or `state.<n>`: anything else in the data dir is not ours to touch. */
const STATE_DIR_RE = /^state(?:\.(\d+))?$/;

export function raftDir(dataDir: string): string {
  return join(dataDir, RAFT_DIR_NAME);
}

/** The name (not path) of the live state directory. */
export async function currentStateDirName(dataDir: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(join(dataDir, CURRENT_STATE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return STATE_DIR_NAME;
    throw err;
  }
  const name = text.trim();
  assert(STATE_DIR_RE.test(name), () => `${CURRENT_STATE_FILE} in ${dataDir} names ${JSON.stringify(name)}, not a state dir`);
  return name;
}

/** Every state.<n> / state directory present, with its generation (0 for `state`). */
export async function listStateDirs(dataDir: string): Promise<Array<{ name: string; generation: number }>> {
  let names: string[];
  try {
    names = await readdir(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Array<{ name: string; generation: number }> = [];
  for (const name of names) {
    const m = STATE_DIR_RE.exec(name);
    if (m !== null) out.push({ name, generation: m[1] === undefined ? 0 : Number(m[1]) });
  }
  return out;
}

/** Points CURRENT_STATE at `name`, durably and atomically. */
export async function setCurrentStateDir(dataDir: string, name: string): Promise<void> {
  assert(STATE_DIR_RE.test(name), () => `not a state dir name: ${name}`);
  await writeFileDurably(dataDir, CURRENT_STATE_FILE, `${name}\n`);
}

/**
 * Replaces `<dir>/<name>` with `text` so that after a crash it holds the old or the new
 * text, never a mix or nothing: a temp file written and fsynced, renamed over the name,
 * and the directory fsynced so the rename itself survives.
 */
export async function writeFileDurably(dir: string, name: string, text: string): Promise<void> {
  const temp = join(dir, `${name}.tmp`);
  const file = await open(temp, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, join(dir, name));
  await syncDir(dir);
}

/** fsync a directory, so a rename or a new entry in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes what an interrupted install leaves: the temp pointer and every state dir but the live one. */
export async function removeStaleStateDirs(dataDir: string): Promise<string[]> {
  const live = await currentStateDirName(dataDir);
  await rm(join(dataDir, `${CURRENT_STATE_FILE}.tmp`), { force: true }); // writeFileDurably's temp name
  const removed: string[] = [];
  for (const { name } of await listStateDirs(dataDir)) {
    if (name === live) continue;
    await rm(join(dataDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Opens the live state database of `dataDir` on startup, after removing the leftovers of
 * an install that was interrupted (a half-built directory, an old one not yet removed).
 */
export async function openStateEngine(dataDir: string, openEngine: EngineOpener): Promise<Engine> {
  await removeStaleStateDirs(dataDir);
  return openEngine(join(dataDir, await currentStateDirName(dataDir)));
}
