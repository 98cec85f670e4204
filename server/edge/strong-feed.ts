// The read-only copy of strong namespaces on an edge (DESIGN §6): the region's etcd Watch
// from the last applied region revision, each response's changes applied to the local mvcc
// store with that revision (one external command: data and revision in one write). When the
// history is gone (`compacted`), or on the first connect, a consistent Range at one revision
// replaces the copy (puts of what is there, deletes of what is no longer), then Watch goes
// on from that revision.
//
// Staleness: a progress request goes out every FEED_PROGRESS_MS; the region answers it once
// the watcher has sent everything up to its current revision. When an answer comes back and
// everything before it is applied, the copy was current at the time the request was sent:
// staleness = now − that send time. Cut off, no answer comes and it grows.

import type { ClientDuplexStream } from '@grpc/grpc-js';
import { Level } from '../namespace/index.js';
import type { Logger } from '../util/logger.js';
import { kvFromWire, type RegionClient, type WireWatchResponse } from './region-client.js';
import { encodeFeed, type EdgeStore, type FeedChange } from './store.js';

/** How often the feed asks the region for a progress answer (the staleness resolution). */
export const FEED_PROGRESS_MS = 250;
/** Keys per page of the consistent Range that rebuilds the copy. */
export const FEED_RANGE_PAGE_KEYS = 1000;
/** Changes per external command when applying a rebuild. */
export const FEED_APPLY_CHUNK = 1000;

const ALL = Uint8Array.of(0);

function keyHex(k: Uint8Array): string {
  return Buffer.from(k).toString('hex');
}

export class StrongFeed {
  private caughtUpAtMs: number | undefined;
  private current: ClientDuplexStream<unknown, WireWatchResponse> | undefined;
  /** Rebuilds after `compacted` (tests and status). */
  resyncs = 0;

  constructor(
    private readonly store: EdgeStore,
    private readonly held: ReadonlySet<string> | undefined,
    private readonly logger: Logger,
    private readonly monotonicMs: () => number,
  ) {}

  /** Is `key` in a strong namespace this edge holds? */
  private holds(key: Uint8Array): boolean {
    const d = this.store.registry.route(key);
    return d.level === Level.Strong && (this.held === undefined || this.held.has(d.name));
  }

  /** Any strong namespace held at all (else the feed has nothing to do). */
  holdsAny(): boolean {
    return this.store.registry.list().some((d) => d.level === Level.Strong && (this.held === undefined || this.held.has(d.name)));
  }

  stalenessMs(): number {
    return this.caughtUpAtMs === undefined ? Number.POSITIVE_INFINITY : Math.max(0, this.monotonicMs() - this.caughtUpAtMs);
  }

  /** Ends the running watch (the link went down or the edge stops). */
  stop(): void {
    this.current?.cancel();
    this.current = undefined;
  }

  /** Follows the region through `client` until the stream fails (rejects) or stop(). */
  async run(client: RegionClient): Promise<void> {
    for (;;) {
      if (this.store.feedRevision === 0) await this.rebuild(client);
      const outcome = await this.watch(client);
      if (outcome === 'stopped') return;
      // compacted: rebuild from a Range, then watch again
      this.resyncs++;
      await this.rebuild(client);
    }
  }

  private watch(client: RegionClient): Promise<'compacted' | 'stopped'> {
    const stream = client.watch();
    this.current = stream;
    const sent: number[] = [];
    let chain: Promise<void> = Promise.resolve();
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, outcome: 'compacted' | 'stopped' = 'stopped'): void => {
        if (done) return;
        done = true;
        clearInterval(ticker);
        stream.removeAllListeners('data');
        stream.on('error', () => undefined);
        stream.cancel();
        if (this.current === stream) this.current = undefined;
        if (err !== undefined) reject(err);
        else resolve(outcome);
      };
      const ticker = setInterval(() => {
        sent.push(this.monotonicMs());
        stream.write({ progressRequest: {} });
      }, FEED_PROGRESS_MS);
      stream.on('data', (r: WireWatchResponse) => {
        chain = chain.then(async () => {
          if (done) return;
          if (r.compactRevision > 0) return finish(undefined, 'compacted');
          if (r.canceled) return finish(new Error(`the region canceled the strong feed's watch: ${r.cancelReason || 'no reason given'}`));
          if (r.created) return;
          if (r.events.length > 0) {
            const changes: FeedChange[] = [];
            let rev = this.store.feedRevision;
            for (const e of r.events) {
              if (e.kv === undefined) continue;
              rev = Math.max(rev, e.kv.modRevision);
              if (!this.holds(e.kv.key)) continue;
              changes.push(e.type === 1 ? { type: 'delete', key: new Uint8Array(e.kv.key) } : { type: 'put', key: new Uint8Array(e.kv.key), value: new Uint8Array(e.kv.value) });
            }
            if (rev > this.store.feedRevision) await this.store.external(encodeFeed(rev, changes));
            return;
          }
          // A progress answer: everything up to it is applied (the chain is in order).
          const at = sent.shift();
          if (at !== undefined) this.caughtUpAtMs = at;
        }).catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
      });
      stream.on('error', (e: Error) => finish(e));
      stream.on('end', () => finish(new Error('the region ended the strong feed\'s watch')));
      stream.write({ createRequest: { key: ALL, rangeEnd: ALL, startRevision: this.store.feedRevision + 1 } });
    });
  }

  /**
   * Replaces the copy with a consistent Range of the region at one revision, streamed: page by
   * page of the region's keys, the puts of the page and the deletes of the local keys in the
   * same key window that the page no longer has (both are in key order, so each window is one
   * local range read), applied in commands of FEED_APPLY_CHUNK changes. Memory is one page and
   * one chunk, whatever the copy's size. Only the last command carries the new revision: a
   * crash midway leaves the old revision, and the next connect rebuilds again.
   */
  private async rebuild(client: RegionClient): Promise<void> {
    const started = this.monotonicMs();
    const before = this.store.feedRevision;
    let revision = 0;
    let key: Uint8Array = ALL;
    let puts = 0;
    let deletes = 0;
    let pending: FeedChange[] = [];
    /** Applies whole chunks with the old revision; `final`: the rest (maybe nothing) with the new one. */
    const flush = async (final: boolean): Promise<void> => {
      // A final flush keeps up to a chunk for the command with the new revision.
      const keep = final ? 1 : 0;
      while (pending.length >= FEED_APPLY_CHUNK + keep) {
        await this.store.external(encodeFeed(before, pending.slice(0, FEED_APPLY_CHUNK)));
        pending = pending.slice(FEED_APPLY_CHUNK);
      }
      if (final) await this.store.external(encodeFeed(revision, pending));
    };
    for (;;) {
      const page = await client.range(key, ALL, revision, FEED_RANGE_PAGE_KEYS);
      if (revision === 0) revision = page.header.revision;
      const more = page.more && page.kvs.length > 0;
      // The window this page covers: [key, its last key + \0), or to the end on the last page.
      const hi: Uint8Array = more ? Buffer.concat([page.kvs[page.kvs.length - 1]!.key, Buffer.of(0)]) : ALL;
      const present = new Set<string>();
      for (const w of page.kvs) {
        const kv = kvFromWire(w);
        if (!this.holds(kv.key)) continue;
        present.add(keyHex(kv.key));
        pending.push({ type: 'put', key: kv.key, value: kv.value });
        puts++;
      }
      for (let lo: Uint8Array = key; ;) {
        const local = await this.store.mvcc.range({ key: lo, rangeEnd: hi, keysOnly: true, limit: FEED_RANGE_PAGE_KEYS });
        for (const kv of local.kvs) {
          if (!this.holds(kv.key) || present.has(keyHex(kv.key))) continue;
          pending.push({ type: 'delete', key: kv.key });
          deletes++;
        }
        if (!local.more || local.kvs.length === 0) break;
        lo = Buffer.concat([local.kvs[local.kvs.length - 1]!.key, Buffer.of(0)]);
        await flush(false);
      }
      if (!more) break;
      await flush(false);
      key = hi;
    }
    await flush(true);
    this.caughtUpAtMs = started;
    this.logger.info('strong namespaces copied from the region', { revision, keys: puts, deleted: deletes });
  }
}
