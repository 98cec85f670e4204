// Which of a member's two databases a storage error came from (issue 19): the `db` label of
// regionstore_storage_corruptions_total and the log line of a corruption found while the
// member runs. Both databases fail the same way (RocksDB's "Corruption: ..."), and the
// Ready loop writes the raft log and applies to the state at once, so the error alone does
// not say which it was. Two sources, in order:
//  - the file RocksDB names: a bad block's message ends with its path ("... in
//    <data-dir>/raft/000012.sst offset ..."), which is exact;
//  - else the place it was awaited: the Ready loop marks the raft log's writes and the
//    state's apply (fromDb) before they meet in one catch.

import { join, sep } from 'node:path';
import { RAFT_DIR_NAME, STATE_DIR_NAME } from '../storage/index.js';

export type StorageDb = 'raft' | 'state';

/** Where a mark is kept on the error object (a symbol: never serialised, never clashes). */
const DB_MARK = Symbol('regionstore.storageDb');

type Marked = Error & { [DB_MARK]?: StorageDb };

/** Marks `err` as coming from `db`, unless a call nearer to the engine marked it first. */
export function markDb(err: unknown, db: StorageDb): void {
  if (err instanceof Error && (err as Marked)[DB_MARK] === undefined) {
    Object.defineProperty(err, DB_MARK, { value: db, enumerable: false });
  }
}

/** `p`, whose failure is marked as coming from `db`. */
export function fromDb<T>(p: Promise<T>, db: StorageDb): Promise<T> {
  return p.catch((err: unknown) => {
    markDb(err, db);
    throw err;
  });
}

/**
 * The database `err` came from, for a member whose data directory is `dataDir`: the one
 * whose files its message names, else its mark, else `fallback` (the caller's best
 * knowledge: a read of the local state is the state's).
 */
export function storageDbOf(err: unknown, dataDir: string, fallback: StorageDb): StorageDb {
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes(join(dataDir, RAFT_DIR_NAME) + sep)) return 'raft';
  // `state/` or `state.<n>/` (data-dir.ts): the live state's name changes with installs.
  if (message.includes(join(dataDir, STATE_DIR_NAME))) return 'state';
  return (err instanceof Error ? (err as Marked)[DB_MARK] : undefined) ?? fallback;
}
