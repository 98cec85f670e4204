// The watch hub: watchers over a key or range, fed live events after each applied batch
// and, when they start in the past or fall behind, from history in the engine (etcd's
// synced / unsynced watcher groups). Consumers pull (`next()` or for-await), so a slow
// consumer never makes the hub buffer without bound: past WATCH_BUFFER_EVENTS_MAX queued
// events a watcher stops taking live events and later catches up from history.

import { assert } from '../util/assert.js';
import { HISTORY_CHUNK_RECORDS_MAX, prevKvOf, readHistory } from './history.js';
import { keyString } from './kv-layout.js';
import type { MvccState } from './state.js';
import { type Event, EventType } from './types.js';

/** Events queued per watcher before it is moved to catch up from history. */
export const WATCH_BUFFER_EVENTS_MAX = 1024;

export const WatchFilter = { NOPUT: 0, NODELETE: 1 } as const;
export type WatchFilter = (typeof WatchFilter)[keyof typeof WatchFilter];

export interface WatchRequest {
  key: Uint8Array;
  /** As in Range: empty is the single key, "\0" every key >= key. */
  rangeEnd?: Uint8Array;
  /** First revision to deliver; 0/absent: changes after the current revision. */
  startRevision?: number;
  prevKv?: boolean;
  filters?: WatchFilter[];
  /** Receive progressNotifyAll() notifications when idle. */
  progressNotify?: boolean;
}

export interface WatchResponse {
  watchId: number;
  /** Header revision: the store revision when the response was made. */
  revision: number;
  events: Event[];
  /** Set when the requested history is compacted; the watcher is then closed. */
  compactRevision?: number;
  canceled?: boolean;
}

export class Watcher implements AsyncIterable<WatchResponse> {
  /** The first revision not yet queued for delivery. */
  nextRev: number;
  synced = false;
  closed = false;
  readonly queue: WatchResponse[] = [];
  queuedEvents = 0;
  private wake: (() => void) | undefined;
  private reading = false;
  private readonly from: string;
  private readonly to: string | undefined; // undefined: no upper bound
  private readonly single: boolean;

  /** The hub feeding this watcher; a snapshot install moves it to the new store's hub. */
  hub: WatchHub;

  constructor(readonly id: number, readonly req: WatchRequest, hub: WatchHub, start: number) {
    this.hub = hub;
    this.nextRev = start;
    this.from = keyString(req.key);
    const end = req.rangeEnd;
    this.single = end === undefined || end.length === 0;
    this.to = this.single ? undefined : end?.length === 1 && end[0] === 0 ? undefined : keyString(end as Uint8Array);
  }

  get isSingleKey(): boolean {
    return this.single;
  }

  get keyString(): string {
    return this.from;
  }

  matches(ev: Event, key: string): boolean {
    if (this.req.filters?.includes(ev.type === EventType.PUT ? WatchFilter.NOPUT : WatchFilter.NODELETE) === true) return false;
    if (this.single) return key === this.from;
    return key >= this.from && (this.to === undefined || key < this.to);
  }

  enqueue(res: WatchResponse): void {
    this.queue.push(res);
    this.queuedEvents += res.events.length;
    this.wakeUp();
  }

  wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next response, or undefined once the watcher is closed. One caller at a time. */
  async next(): Promise<WatchResponse | undefined> {
    assert(!this.reading, 'Watcher.next() called concurrently');
    this.reading = true;
    try {
      for (;;) {
        const res = this.queue.shift();
        if (res !== undefined) {
          this.queuedEvents -= res.events.length;
          if (res.canceled === true) this.hub.remove(this);
          return this.req.prevKv === true ? await this.hub.withPrevKvs(res) : res;
        }
        if (this.closed) return undefined;
        if (!this.synced) {
          const hub = this.hub;
          try {
            await hub.catchUp(this);
          } catch (err) {
            // Moved to another hub while reading the old store's history (which may be
            // closed by now): catch up again from the new one.
            if (hub === this.hub) throw err;
          }
        } else await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.reading = false;
    }
  }

  /** Asks for a progress notification (sent only while synced, as etcd does). */
  requestProgress(): void {
    this.hub.progress(this);
  }

  cancel(): void {
    this.hub.remove(this);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    for (;;) {
      const res = await this.next();
      if (res === undefined) return;
      yield res;
    }
  }
}

export class WatchHub {
  private nextId = 1;
  private readonly byKey = new Map<string, Set<Watcher>>();
  private readonly ranges = new Set<Watcher>();
  private readonly all = new Set<Watcher>();

  /** Set by retire(): history reads wait for the handover instead of reading a store
   *  that is being replaced. */
  private handover: { done: Promise<void>; finish: () => void } | undefined;

  constructor(private readonly st: MvccState) {}

  get watcherCount(): number {
    return this.all.size;
  }

  watch(req: WatchRequest): Watcher {
    const current = this.st.published;
    const start = req.startRevision !== undefined && req.startRevision > 0 ? req.startRevision : current + 1;
    const w = new Watcher(this.nextId++, req, this, start);
    this.attach(w);
    if (start < this.st.compacted) this.compacted(w);
    else w.synced = start > current;
    return w;
  }

  /** Live events of one applied batch (already written), store revision `rev`. */
  publish(events: Event[], rev: number): void {
    if (events.length === 0 || this.all.size === 0) return;
    const matched = new Map<Watcher, Event[]>();
    for (const ev of events) {
      const key = keyString(ev.kv.key);
      const add = (w: Watcher): void => {
        if (!w.synced || w.closed || ev.kv.modRevision < w.nextRev || !w.matches(ev, key)) return;
        let list = matched.get(w);
        if (list === undefined) matched.set(w, (list = []));
        list.push(ev);
      };
      for (const w of this.byKey.get(key) ?? []) add(w);
      for (const w of this.ranges) add(w);
    }
    for (const w of this.all) {
      if (!w.synced || w.closed) continue;
      const evs = matched.get(w);
      if (evs !== undefined && w.queuedEvents + evs.length > WATCH_BUFFER_EVENTS_MAX) {
        // Too slow: stop buffering; next() reads these revisions from history later.
        w.synced = false;
        w.wakeUp();
        continue;
      }
      if (evs !== undefined) w.enqueue({ watchId: w.id, revision: rev, events: evs });
      w.nextRev = Math.max(w.nextRev, rev + 1);
    }
  }

  /** Reads the next chunk of history for an unsynced watcher; marks it synced when caught up. */
  async catchUp(w: Watcher): Promise<void> {
    for (;;) {
      if (w.closed) return;
      const retiring = this.retiring();
      if (retiring !== undefined) return retiring;
      if (w.nextRev < this.st.compacted) return this.compacted(w);
      if (w.nextRev > this.st.published) {
        w.synced = true; // synchronous with the check: no publish can slip between
        return;
      }
      const from = w.nextRev;
      let chunk;
      try {
        chunk = await readHistory(this.st, from, this.st.published, HISTORY_CHUNK_RECORDS_MAX);
      } catch (err) {
        // The store was retired (and its engine closed) during the read.
        const retired = this.retiring();
        if (retired !== undefined) return retired;
        throw err;
      }
      if (w.closed || w.hub !== this) return;
      // Compaction during the read may have removed records we needed.
      if (from < this.st.compacted) return this.compacted(w);
      w.nextRev = chunk.nextRev;
      const events = chunk.events.filter((ev) => w.matches(ev, keyString(ev.kv.key)));
      // Caught up: join the live group now, in the same tick as the check.
      if (w.nextRev > this.st.published) w.synced = true;
      if (events.length > 0) return w.enqueue({ watchId: w.id, revision: this.st.published, events });
      if (w.synced) return;
    }
  }

  progress(w: Watcher): void {
    if (w.synced && !w.closed) w.enqueue({ watchId: w.id, revision: this.st.published, events: [] });
  }

  /** etcd's periodic progress_notify: idle synced watchers that asked for it learn the revision. */
  progressNotifyAll(): void {
    for (const w of this.all) if (w.req.progressNotify === true && w.queue.length === 0) this.progress(w);
  }

  async withPrevKvs(res: WatchResponse): Promise<WatchResponse> {
    const events = await Promise.all(
      res.events.map(async (ev) => {
        const prevKv = await prevKvOf(this.st, ev.kv.key, ev.kv.modRevision);
        return prevKv === undefined ? ev : { ...ev, prevKv };
      }),
    );
    return { ...res, events };
  }

  private compacted(w: Watcher): void {
    w.synced = false;
    w.queue.length = 0;
    w.queuedEvents = 0;
    w.enqueue({ watchId: w.id, revision: this.st.published, events: [], compactRevision: this.st.compacted, canceled: true });
    this.detach(w);
  }

  /** Closes every watcher: clients re-watch. */
  closeAll(): void {
    for (const w of Array.from(this.all)) this.remove(w);
    this.handover?.finish();
  }

  private retiring(): Promise<void> | undefined {
    return this.handover?.done;
  }

  /** The store is about to be replaced: until moveAllTo() or closeAll(), watchers that
   *  need history wait instead of reading this store. */
  retire(): void {
    if (this.handover !== undefined) return;
    let resolveDone: (() => void) | undefined;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    this.handover = { done, finish: () => resolveDone?.() };
  }

  /**
   * Hands every open watcher over to `next`, the hub of the store that replaces this one
   * (a snapshot install). Each keeps its id, range, filters and the revision it has
   * reached, and catches up from the new store's history, so its client sees no gap and
   * no cancel; one whose revision the new store has compacted gets the compacted answer,
   * as etcd does when a snapshot moves a member past a watcher.
   */
  moveAllTo(next: WatchHub): void {
    for (const w of Array.from(this.all)) {
      this.detach(w);
      next.adopt(w);
    }
    this.handover?.finish();
  }

  private adopt(w: Watcher): void {
    w.hub = this;
    this.nextId = Math.max(this.nextId, w.id + 1);
    this.attach(w);
    w.synced = false;
    if (w.nextRev < this.st.compacted) this.compacted(w);
    else w.wakeUp();
  }

  remove(w: Watcher): void {
    this.detach(w);
    w.closed = true;
    w.wakeUp();
  }

  private attach(w: Watcher): void {
    this.all.add(w);
    if (w.isSingleKey) {
      let set = this.byKey.get(w.keyString);
      if (set === undefined) this.byKey.set(w.keyString, (set = new Set()));
      set.add(w);
    } else this.ranges.add(w);
  }

  /** Stops live events; the queue stays readable until drained. */
  private detach(w: Watcher): void {
    this.all.delete(w);
    this.ranges.delete(w);
    const set = this.byKey.get(w.keyString);
    set?.delete(w);
    if (set !== undefined && set.size === 0) this.byKey.delete(w.keyString);
  }
}
