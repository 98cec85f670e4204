// PouchDB replication, the reference of bench:edge (issue 14): an express-pouchdb server
// in its own process (pouch-server.ts) and a PouchDB client database in this one, both on
// LevelDB with fsync (pouch-level.ts), replicating through a counting proxy. One event is
// one document {_id: "<device>:<seq>", device, seq, ts, type, payload}.
import { mkdirSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../../cluster/launcher.js';
import { spawnNode, stopPid, type Spawned } from '../../cluster/processes.js';
import { SeededRandom } from '../../server/util/random.js';
import { FaultProxy } from '../proxy/index.js';
import { PouchDB, syncedLeveldown, type PouchDatabase, type PouchReplication } from './pouch-level.js';
import type { BenchSystem, ReplicaPair, WireBytes } from './system.js';
import { benchEvent, type BenchEvent } from './workload.js';

const SERVER_SCRIPT = fileURLToPath(new URL('./pouch-server.ts', import.meta.url));
/** How long the server process gets to print its port. */
const SERVER_START_TIMEOUT_MS = 30_000;
/**
 * Documents per replication batch. PouchDB's default is 100; 500 (the bench's write batch)
 * makes its bulk rows faster and is what a tuned deployment would use: the reference is
 * PouchDB at its best on this workload, not at its defaults.
 */
export const POUCH_BATCH_SIZE = 500;
/** How often the server's doc count is polled while a one-shot sync settles. */
const POLL_MS = 20;
/** A live write not seen on the server within this is a failure of the run. */
const LIVE_WRITE_TIMEOUT_MS = 30_000;

const docId = (e: BenchEvent): string => `${e.device}:${e.seq}`;

function docOf(e: BenchEvent): object {
  return { _id: docId(e), device: e.device, seq: e.seq, ts: e.ts, type: e.type, payload: JSON.parse(e.payload) as unknown };
}

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(new Error(`${url}: not JSON (${String(err)}): ${body.slice(0, 200)}`));
        }
      });
    }).on('error', reject);
  });
}

/** The server database's continuous change feed, read directly (not through the proxy). */
class ChangeFeed {
  private readonly waiters = new Map<string, () => void>();
  private readonly seen = new Set<string>();
  private response: IncomingMessage | undefined;

  static async open(dbUrl: string): Promise<ChangeFeed> {
    const info = await getJson(dbUrl) as { update_seq: number | string };
    const feed = new ChangeFeed();
    await new Promise<void>((resolve, reject) => {
      get(`${dbUrl}/_changes?feed=continuous&heartbeat=5000&since=${encodeURIComponent(String(info.update_seq))}`, (res) => {
        feed.response = res;
        createInterface({ input: res }).on('line', (line) => feed.line(line));
        resolve();
      }).on('error', reject);
    });
    return feed;
  }

  private line(line: string): void {
    if (line.trim() === '') return; // heartbeat
    const change = JSON.parse(line) as { id?: string };
    if (change.id === undefined) return;
    const waiter = this.waiters.get(change.id);
    if (waiter === undefined) this.seen.add(change.id);
    else {
      this.waiters.delete(change.id);
      waiter();
    }
  }

  /** Resolves when the document shows up in the feed (at once if it already has). */
  until(id: string): Promise<void> {
    if (this.seen.delete(id)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pouchdb: ${id} not on the server after ${LIVE_WRITE_TIMEOUT_MS} ms`)), LIVE_WRITE_TIMEOUT_MS);
      this.waiters.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.response?.destroy();
  }
}

class PouchPair implements ReplicaPair {
  private constructor(
    private readonly local: PouchDatabase,
    private readonly proxy: FaultProxy,
    /** Through the proxy: what the client replicates with. */
    private readonly remoteUrl: string,
    /** Direct: what the bench checks with. */
    private readonly directUrl: string,
  ) {}

  static async create(dir: string, serverPort: number, label: string, seed: number): Promise<PouchPair> {
    const proxy = await FaultProxy.start({ random: new SeededRandom(seed), target: { host: '127.0.0.1', port: serverPort }, name: `pouchdb-${label}` });
    mkdirSync(dir, { recursive: true });
    const local = new PouchDB(join(dir, `client-${label}`), { db: syncedLeveldown });
    const db = `bench-${label}`;
    return new PouchPair(local, proxy, `http://127.0.0.1:${proxy.port}/${db}`, `http://127.0.0.1:${serverPort}/${db}`);
  }

  async writeLocal(events: readonly BenchEvent[]): Promise<void> {
    const results = await this.local.bulkDocs(events.map(docOf));
    const failed = results.find((r) => r.error !== undefined);
    if (failed !== undefined) throw new Error(`pouchdb: bulkDocs refused ${failed.id}: ${String(failed.error)}`);
  }

  async connectAndConverge(total: number): Promise<{ seconds: number; waitSeconds: number }> {
    const t0 = performance.now();
    // One-shot, both directions: what a device that comes back does.
    await this.local.sync(this.remoteUrl, { batch_size: POUCH_BATCH_SIZE });
    for (;;) {
      const info = await getJson(this.directUrl) as { doc_count: number };
      if (info.doc_count >= total) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return { seconds: (performance.now() - t0) / 1000, waitSeconds: 0 };
  }

  async disconnect(): Promise<void> {
    // A one-shot sync has ended by itself: nothing is connected. Cut any keep-alive socket.
    this.proxy.cut();
  }

  bytes(): WireBytes {
    const s = this.proxy.stats();
    return { up: s.bytesUp, down: s.bytesDown };
  }

  async live(writes: number, firstIndex: number): Promise<number[]> {
    const feed = await ChangeFeed.open(this.directUrl);
    const replication: PouchReplication = this.local.sync(this.remoteUrl, { live: true, retry: true, batch_size: POUCH_BATCH_SIZE });
    replication.on('error', () => undefined);
    const out: number[] = [];
    try {
      for (let n = 0; n < writes; n++) {
        const e = benchEvent(firstIndex + n);
        const seen = feed.until(docId(e));
        const doc = docOf(e);
        const t = performance.now();
        await this.local.put(doc);
        await seen;
        out.push(performance.now() - t);
      }
    } finally {
      replication.cancel();
      feed.close();
    }
    return out;
  }

  async close(): Promise<void> {
    await this.local.close();
    await this.proxy.close();
  }
}

export async function startPouchSystem(dir: string, log: (line: string) => void, seed: number): Promise<BenchSystem> {
  mkdirSync(dir, { recursive: true });
  const spawned: Spawned = spawnNode({
    name: 'pouchdb-server', executable: process.execPath, args: ['--import', 'tsx', SERVER_SCRIPT, '--dir', join(dir, 'server')],
    cwd: REPO_ROOT, env: process.env,
    output: { kind: 'lines', sink: (_, line, stream) => (stream === 'stdout' ? lines.push(line) : log(`pouchdb-server: ${line}`)) },
  });
  const lines: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      const line = lines.find((l) => l.startsWith('{'));
      if (line !== undefined) {
        clearInterval(poll);
        resolve((JSON.parse(line) as { port: number }).port);
      } else if (Date.now() - started > SERVER_START_TIMEOUT_MS) {
        clearInterval(poll);
        reject(new Error(`pouchdb server did not listen within ${SERVER_START_TIMEOUT_MS} ms: ${spawned.tail.join(' | ')}`));
      }
    }, POLL_MS);
    void spawned.exited.then(() => {
      clearInterval(poll);
      reject(new Error(`pouchdb server exited: ${spawned.tail.join(' | ')}`));
    });
  });
  log(`pouchdb server (express-pouchdb, LevelDB with fsync) on 127.0.0.1:${port}`);
  let pairs = 0;
  return {
    id: 'pouchdb',
    pair: (label) => PouchPair.create(join(dir, 'client'), port, label, seed + ++pairs),
    stop: async () => {
      if (spawned.child.pid !== undefined) await stopPid(spawned.child.pid, spawned.exited);
    },
  };
}
