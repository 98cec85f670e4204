// PouchDB on LevelDB with fsync, for bench:edge: the issue compares edge sync against
// PouchDB replication with both sides durable, and leveldown writes without fsync unless a
// write asks for `sync: true` (PouchDB never does). This wraps leveldown so every put,
// delete and batch of PouchDB's LevelDB adapter is synced, as regionstore's writes are.
//
// pouchdb-node and express-pouchdb ship no types; the few calls the bench makes are typed
// here. leveldown is loaded through pouchdb-node's own resolution, so it is the copy
// PouchDB uses (it is not a dependency of this project).
/* eslint-disable no-underscore-dangle -- abstract-leveldown's extension points are its _put/_del/_batch/_write methods */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Callback = (err?: Error | null) => void;
interface LevelOptions { sync?: boolean }
interface LevelDown {
  _put(key: unknown, value: unknown, options: LevelOptions, cb: Callback): void;
  _del(key: unknown, options: LevelOptions, cb: Callback): void;
  _batch(ops: unknown[], options: LevelOptions, cb: Callback): void;
  _chainedBatch(): { _write(options: LevelOptions, cb: Callback): void };
}
type LevelDownFactory = ((location: string) => LevelDown) & { destroy(location: string, cb: Callback): void };

export interface PouchChange { id: string; seq: number | string }
export interface PouchReplication extends Promise<unknown> {
  cancel(): void;
  on(event: 'error' | 'paused' | 'active' | 'change' | 'complete', fn: (x: unknown) => void): PouchReplication;
}
export interface PouchDatabase {
  bulkDocs(docs: object[]): Promise<Array<{ ok?: boolean; error?: string; id: string }>>;
  put(doc: object): Promise<{ ok: boolean; id: string; rev: string }>;
  info(): Promise<{ doc_count: number; update_seq: number | string }>;
  sync(remote: string, opts?: { live?: boolean; retry?: boolean; batch_size?: number; batches_limit?: number }): PouchReplication;
  close(): Promise<void>;
}
export interface PouchConstructor {
  new (name: string, opts?: { db?: LevelDownFactory }): PouchDatabase;
  defaults(opts: { prefix?: string; db?: LevelDownFactory }): PouchConstructor;
}

export const PouchDB = require('pouchdb-node') as PouchConstructor;
const leveldown = createRequire(require.resolve('pouchdb-node'))('leveldown') as LevelDownFactory;

const synced = <O extends LevelOptions>(o: O): O => ({ ...o, sync: true });

/** leveldown with every write synced (PouchDB keys its stores by this function's name). */
export const syncedLeveldown: LevelDownFactory = Object.assign(function syncedLeveldown(location: string): LevelDown {
  const db = leveldown(location);
  const put = db._put.bind(db);
  const del = db._del.bind(db);
  const batch = db._batch.bind(db);
  const chained = db._chainedBatch.bind(db);
  db._put = (k, v, o, cb) => put(k, v, synced(o), cb);
  db._del = (k, o, cb) => del(k, synced(o), cb);
  db._batch = (ops, o, cb) => batch(ops, synced(o), cb);
  db._chainedBatch = () => {
    const b = chained();
    const write = b._write.bind(b);
    b._write = (o, cb) => write(synced(o), cb);
    return b;
  };
  return db;
}, { destroy: (location: string, cb: Callback) => leveldown.destroy(location, cb) });
