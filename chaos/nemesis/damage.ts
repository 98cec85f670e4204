// The storage nemesis's hands: damage to a stopped member's data dir (DamageKind). The
// layout is the server's (server/storage/data-dir.ts: the live state directory is named by
// CURRENT_STATE, else `state`); chaos may not import the server's storage, so the two
// names are repeated here.

import { randomBytes } from 'node:crypto';
import { open, readFile, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { DamageKind } from './schedule.js';

const CURRENT_STATE_FILE = 'CURRENT_STATE';
const STATE_DIR_NAME = 'state';
const RAFT_DIR_NAME = 'raft';
/** Random bytes written into the middle of each file of the state database. */
export const DAMAGE_BYTES = 4096;

async function liveStateDir(dataDir: string): Promise<string> {
  try {
    return join(dataDir, (await readFile(join(dataDir, CURRENT_STATE_FILE), 'utf8')).trim());
  } catch {
    return join(dataDir, STATE_DIR_NAME);
  }
}

async function scribble(file: string): Promise<void> {
  const size = (await stat(file)).size;
  const n = Math.min(DAMAGE_BYTES, size);
  const h = await open(file, 'r+');
  try {
    await h.write(randomBytes(n), 0, n, Math.max(0, Math.floor(size / 2) - Math.floor(n / 2)));
  } finally {
    await h.close();
  }
}

/** Damages the member's data dir in `dataDir`; returns what it did. */
export async function damageDataDir(dataDir: string, kind: DamageKind): Promise<string> {
  const dir = kind.startsWith('raft-') ? join(dataDir, RAFT_DIR_NAME) : await liveStateDir(dataDir);
  const names = await readdir(dir).catch(() => [] as string[]);
  switch (kind) {
    case 'raft-current':
    case 'state-current': {
      const gone = names.filter((n) => n === 'CURRENT' || n.startsWith('MANIFEST-'));
      for (const n of gone) await unlink(join(dir, n));
      return `deleted ${gone.join(', ') || 'nothing'} of ${dir}`;
    }
    case 'state-lost':
      await rm(dir, { recursive: true, force: true });
      return `removed ${dir}`;
    case 'raft-bytes':
    case 'state-bytes': {
      const ssts = names.filter((n) => n.endsWith('.sst'));
      const files = ssts.length > 0 ? ssts : names.filter((n) => n.endsWith('.log'));
      for (const n of files) await scribble(join(dir, n));
      return `${DAMAGE_BYTES} random bytes in ${files.join(', ') || 'no file'} of ${dir}`;
    }
    case 'raft-wal':
    case 'state-wal': {
      // The middle of a WAL: with intact records after it the start-up check finds damage
      // (the state rebuilt, raft/ refused); in its last write it is a torn tail (the prefix
      // opens, and a raft log short of what it acknowledged is caught up).
      const wals: string[] = [];
      for (const n of names.filter((x) => x.endsWith('.log'))) if ((await stat(join(dir, n))).size > 0) wals.push(n);
      for (const n of wals) await scribble(join(dir, n));
      return `${DAMAGE_BYTES} random bytes in the WAL ${wals.join(', ') || '(none with records)'} of ${dir}`;
    }
  }
}
