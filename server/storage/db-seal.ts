// A seal on a closed RocksDB directory: after a clean close, the name, size and SHA-256 of
// every database file; at the next start, if every file still matches, the directory is
// exactly what this process closed and the whole-database read of db-check.ts (a full
// scan: 20+ s at a million keys) can be skipped.
//
// Why this is safe: RocksDB files are only changed by an open database. A file that
// changed while no process had it open (bit rot, random bytes, a copy from elsewhere)
// breaks the seal, and the full read runs as before. An unclean stop leaves no seal
// (it is removed before the database opens), so a crash is always followed by the full
// read. What the seal cannot prove is that the bytes were right when written; the full
// read after the previous unclean stop, RocksDB's own block checksums on every read, and
// `--startup-verify always` cover that.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir, writeFileDurably } from './data-dir.js';

/** The seal's file name, inside the database directory (RocksDB ignores names it does not know). */
export const SEAL_FILE = 'REGIONSTORE_SEAL.json';
const SEAL_VERSION = 1;
/** The files a seal covers: everything RocksDB reads back (not LOG, LOCK or our own files). */
const SEALED_FILE_RE = /^(?:CURRENT|IDENTITY|MANIFEST-\d+|OPTIONS-\d+|\d+\.(?:sst|log|blob))$/;

interface SealedFile {
  name: string;
  size: number;
  sha256: string;
}

interface Seal {
  version: number;
  sealedAt: string;
  files: SealedFile[];
}

export type SealCheck =
  | { sealed: true; files: number; bytes: number; ms: number }
  | { sealed: false; reason: string };

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function describeFiles(dir: string): Promise<SealedFile[]> {
  const names = (await readdir(dir)).filter((n) => SEALED_FILE_RE.test(n)).sort();
  const files: SealedFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    files.push({ name, size: (await stat(path)).size, sha256: await sha256Of(path) });
  }
  return files;
}

/** Writes the seal of a database that is closed now, durably. */
export async function sealRocksDir(dir: string): Promise<void> {
  const seal: Seal = { version: SEAL_VERSION, sealedAt: new Date().toISOString(), files: await describeFiles(dir) };
  await writeFileDurably(dir, SEAL_FILE, JSON.stringify(seal));
}

/**
 * Whether `dir` is exactly as sealed. The seal is removed in any case (durably) before
 * this returns, so once the database is opened, a later start without a new clean close
 * finds none.
 */
export async function checkAndBreakSeal(dir: string): Promise<SealCheck> {
  const t0 = Date.now();
  let seal: Seal;
  try {
    seal = JSON.parse(await readFile(join(dir, SEAL_FILE), 'utf8')) as Seal;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { sealed: false, reason: code === 'ENOENT' ? 'no seal (the last stop was not clean, or the first start)' : `unreadable seal: ${(err as Error).message}` };
  }
  try {
    if (seal.version !== SEAL_VERSION || !Array.isArray(seal.files)) return { sealed: false, reason: `seal of an unknown version ${String(seal.version)}` };
    const now = await describeFiles(dir);
    const mismatch = firstMismatch(seal.files, now);
    if (mismatch !== undefined) return { sealed: false, reason: `changed since the clean stop at ${seal.sealedAt}: ${mismatch}` };
    return { sealed: true, files: now.length, bytes: now.reduce((s, f) => s + f.size, 0), ms: Date.now() - t0 };
  } finally {
    await unlink(join(dir, SEAL_FILE)).catch(() => undefined);
    await syncDir(dir).catch(() => undefined);
  }
}

/**
 * Whether `dir` held a seal, without comparing the files (a start that skips the whole read
 * still needs to know whether the last stop was clean). The seal is removed, as above.
 */
export async function breakSealUnchecked(dir: string): Promise<boolean> {
  const path = join(dir, SEAL_FILE);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await syncDir(dir).catch(() => undefined);
  return true;
}

function firstMismatch(sealed: readonly SealedFile[], now: readonly SealedFile[]): string | undefined {
  const byName = new Map(now.map((f) => [f.name, f]));
  for (const f of sealed) {
    const n = byName.get(f.name);
    if (n === undefined) return `${f.name} is gone`;
    if (n.size !== f.size) return `${f.name} is ${n.size} bytes, sealed at ${f.size}`;
    if (n.sha256 !== f.sha256) return `${f.name} has other bytes`;
    byName.delete(f.name);
  }
  const extra = [...byName.keys()];
  return extra.length > 0 ? `${extra.join(', ')} appeared` : undefined;
}
