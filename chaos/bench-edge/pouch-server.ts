// The PouchDB server of bench:edge, in its own process (as the region is): express-pouchdb
// on an OS-chosen port of 127.0.0.1, its databases on LevelDB with fsync (pouch-level.ts)
// under --dir. Prints one line `{"port":N}` on stdout once it listens; stops on SIGTERM.
//
//   node --import tsx chaos/bench-edge/pouch-server.ts --dir DIR
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { AddressInfo, Server } from 'node:net';
import { PouchDB, syncedLeveldown } from './pouch-level.js';

const require = createRequire(import.meta.url);
type ExpressPouchDB = (pouch: unknown, opts: object) => { listen(port: number, host: string, cb: () => void): Server };
const expressPouchDB = require('express-pouchdb') as ExpressPouchDB;

const dirFlag = process.argv.indexOf('--dir');
const dir = dirFlag < 0 ? undefined : process.argv[dirFlag + 1];
if (dir === undefined) {
  console.error('usage: pouch-server.ts --dir DIR');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });
// minimumForPouchDB: only what replication needs (no Fauxton, no config file on disk).
const app = expressPouchDB(PouchDB.defaults({ prefix: `${dir}/`, db: syncedLeveldown }), {
  mode: 'minimumForPouchDB', inMemoryConfig: true, logPath: join(dir, 'express-pouchdb.log'),
});
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
