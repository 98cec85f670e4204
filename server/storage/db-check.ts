// Checks a RocksDB directory before a member opens it (DESIGN.md §5, storage faults):
//
//  - inspectRocksDir: what is there, from the file names alone: nothing (a new database
//    may be created), a database, or the remains of one whose CURRENT or MANIFEST is gone.
//    Opening those with create_if_missing is what once threw a state database away.
//  - verifyRocksDir: every key read once, in a child process that loads the same build as
//    the member (rocksdb-binding.ts). The release build returns Corruption for bad bytes and
//    its iterators verify checksums; the package's prebuilt binary (the fallback without a
//    compiler, RocksDB 6.17 built with assertions) aborts the process on some bad bytes
//    (compression.h: CompressionTypeToString) and reads through iterators without
//    checksums. Either way a child that dies of a signal, or reports an error, keys out of
//    order or a value whose block fails its checksum (getMany verifies them) marks the
//    database damaged, and the member itself never aborts on it. Before the child, the WAL
//    files are checked record by record here (wal-check.ts): a bad record before intact
//    ones is damage whichever build would open it (the prebuilt one replays around it).

import { spawn } from 'node:child_process';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { rocksdbChildEnv } from './rocksdb-binding.js';
import { checkWalFiles, describeWalDamage, type WalCheck } from './wal-check.js';

/** A whole-database check that runs longer than this is given up (the database is used unchecked, with a warning). */
export const DB_VERIFY_TIMEOUT_MS = 10 * 60_000;
/** Keys whose values are read (with checksums) per getMany in the check. */
const VERIFY_GET_BATCH_KEYS = 1000;
/** How much of the child's stderr a report keeps. */
const VERIFY_STDERR_MAX_CHARS = 2000;
/** The exit code the check uses for "damaged" (anything else non-zero is too). */
const VERIFY_EXIT_DAMAGED = 3;

/** The files that say a directory holds (or held) a RocksDB database. */
const DB_FILE_RE = /^(?:CURRENT|IDENTITY|MANIFEST-\d+|OPTIONS-\d+|\d+\.(?:sst|log|blob))$/;
const MANIFEST_NAME_RE = /^MANIFEST-\d+$/;

export type RocksDirState =
  | { kind: 'absent' }
  | { kind: 'present' }
  | { kind: 'damaged'; file: string; reason: string };

export async function inspectRocksDir(dir: string): Promise<RocksDirState> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'damaged', file: dir, reason: `cannot list the directory: ${(err as Error).message}` };
  }
  // LOCK and LOG files alone are what a failed open leaves: no data.
  if (!names.some((n) => DB_FILE_RE.test(n))) return { kind: 'absent' };
  const currentFile = join(dir, 'CURRENT');
  if (!names.includes('CURRENT')) return { kind: 'damaged', file: currentFile, reason: 'CURRENT is missing (the database files remain)' };
  let manifest: string;
  try {
    manifest = (await readFile(currentFile, 'utf8')).trim();
  } catch (err) {
    return { kind: 'damaged', file: currentFile, reason: `cannot read CURRENT: ${(err as Error).message}` };
  }
  if (!MANIFEST_NAME_RE.test(manifest)) return { kind: 'damaged', file: currentFile, reason: `CURRENT names ${JSON.stringify(manifest.slice(0, 40))}, not a MANIFEST` };
  const manifestFile = join(dir, manifest);
  try {
    const st = await stat(manifestFile);
    if (st.size === 0) return { kind: 'damaged', file: manifestFile, reason: `${manifest} is empty` };
  } catch {
    return { kind: 'damaged', file: manifestFile, reason: `${manifest}, named by CURRENT, is missing` };
  }
  return { kind: 'present' };
}

export type VerifyResult = (
  | { ok: true; keys: number; ms: number }
  | { ok: false; reason: string; ms: number }
  | { ok: 'unchecked'; reason: string; ms: number }
) & {
  /** What the WAL check found (wal-check.ts), when it ran: its cost and any torn tail, for the log. */
  wal?: WalCheck;
};

/** The check, run by `node -e` (plain JS: no TypeScript loader needed, quick to start). */
const VERIFY_SCRIPT = `
const rocksdb = require(process.argv[1]);
const dir = process.argv[2];
const batchKeys = Number(process.argv[3]);
const fail = (what) => { process.stderr.write(String(what && what.message || what)); process.exit(${VERIFY_EXIT_DAMAGED}); };
const db = rocksdb(dir);
db.open({ createIfMissing: false, readOnly: true, infoLogLevel: 'error', maxOpenFiles: 64, cacheSize: 0 }, (err) => {
  if (err) return fail(err);
  const it = db.iterator({ keys: true, values: false, keyAsBuffer: true, valueAsBuffer: false, fillCache: false });
  let prev = null, n = 0, batch = [];
  const getBatch = (then) => {
    if (batch.length === 0) return then();
    const keys = batch; batch = [];
    db.getMany(keys, { asBuffer: true, fillCache: false }, (e, values) => {
      if (e) return fail(e);
      for (let i = 0; i < values.length; i++) if (values[i] === undefined) return fail('Corruption: key ' + keys[i].toString('hex') + ' listed but not found');
      then();
    });
  };
  const step = () => it.next((e, key) => {
    if (e) return fail(e);
    if (key === undefined) return getBatch(() => it.end(() => db.close(() => { process.stdout.write(String(n)); process.exit(0); })));
    if (prev !== null && Buffer.compare(prev, key) >= 0) return fail('Corruption: keys out of order after key ' + n);
    prev = key; n++; batch.push(key);
    if (batch.length >= batchKeys) getBatch(step); else step();
  });
  step();
});
`;

/**
 * Reads every key and value of the database in `dir` in a child process (the database
 * must not be open in this one). `ok: false` when it could not: the child's error, or the
 * signal it died of.
 */
export async function verifyRocksDir(dir: string, timeoutMs = DB_VERIFY_TIMEOUT_MS): Promise<VerifyResult> {
  const t0 = Date.now();
  // The WAL first, here: a reader that opened a damaged one might replay around the hole
  // (the prebuilt binary) or stop at it (the release build), and report nothing either way.
  let wal: WalCheck;
  try {
    wal = await checkWalFiles(dir);
  } catch (err) {
    return { ok: false, reason: `cannot read its WAL files: ${(err as Error).message}`, ms: Date.now() - t0 };
  }
  if (wal.damage !== undefined) return { ok: false, reason: describeWalDamage(wal.damage), ms: Date.now() - t0, wal };
  const read = await readWholeInChild(dir, timeoutMs);
  return { ...read, ms: Date.now() - t0, wal };
}

function readWholeInChild(dir: string, timeoutMs: number): Promise<VerifyResult> {
  const t0 = Date.now();
  const rocksdbPath = createRequire(import.meta.url).resolve('rocksdb');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', VERIFY_SCRIPT, rocksdbPath, dir, String(VERIFY_GET_BATCH_KEYS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The same native build as this process (the release one when it is built).
      env: rocksdbChildEnv(),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < VERIFY_STDERR_MAX_CHARS) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: 'unchecked', reason: `cannot run the check: ${err.message}`, ms: Date.now() - t0 });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ms = Date.now() - t0;
      const detail = lastLine(stderr);
      if (timedOut) resolve({ ok: 'unchecked', reason: `the check took longer than ${timeoutMs} ms`, ms });
      else if (signal !== null) resolve({ ok: false, reason: `reading it killed the reader with ${signal}${detail ? `: ${detail}` : ''} (bad bytes)`, ms });
      else if (code !== 0) resolve({ ok: false, reason: detail || `the check exited with ${code}`, ms });
      else resolve({ ok: true, keys: Number(stdout.trim()) || 0, ms });
    });
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? '').slice(0, VERIFY_STDERR_MAX_CHARS);
}
