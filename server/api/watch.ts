// The Watch service: one session per stream, many watchers per session, as etcd's
// serverWatchStream. Requests: create (watch_id 0 = the session picks the lowest free
// id from 0, as etcd; or the client's id), cancel, progress. Answers: "created" (or
// created + canceled with a reason when refused), event batches, progress
// notifications, a compacted answer (compact_revision + canceled) when the history a
// watcher needs is gone, and canceled on cancel.
//
// Backpressure: when grpc-js reports its buffer full, the listener answers false and
// the backend holds that watcher's delivery until the stream drains and resume() is
// called; so a session buffers at most one batch per watcher beyond the high-water mark.

import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Event } from '../mvcc/types.js';
import type { Backend, WatchHandle, WatchListener } from './backend.js';
import { idFromWire, watchCreateFromWire } from './convert.js';
import { EtcdErrors, toApiError } from './errors.js';
import type { ApiLimits } from './limits.js';
import { header } from './respond.js';
import { isFromKey } from './validate.js';
import type { WireWatchCreateRequest, WireWatchRequest } from './wire.js';

/** etcd's watch id of answers that belong to no watcher (refused creates, progress). */
export const NO_WATCH_ID = -1;
export const DUPLICATE_WATCH_ID_REASON = 'mvcc: duplicate watch ID provided on the WatchStream';
export const EMPTY_WATCH_RANGE_REASON = 'mvcc: watcher range is empty';

type WatchCall = ServerDuplexStream<WireWatchRequest, unknown>;

class Watcher implements WatchListener {
  handle: WatchHandle | undefined;
  /** Listener calls that arrived before "created" was written (the backend should not). */
  private early: Array<() => void> | undefined = [];
  closed = false;

  constructor(
    private readonly session: WatchSession,
    readonly id: number,
  ) {}

  /** "created" has been written: from now on answers go straight out. */
  open(): void {
    const early = this.early ?? [];
    this.early = undefined;
    for (const f of early) f();
  }

  onEvents(events: Event[], revision: number): boolean {
    if (this.closed) return true;
    if (this.early !== undefined) {
      this.early.push(() => this.onEvents(events, revision));
      return true;
    }
    return this.session.sendEvents(this, events, revision);
  }

  onProgress(revision: number): void {
    if (this.closed) return;
    if (this.early !== undefined) {
      this.early.push(() => this.onProgress(revision));
      return;
    }
    this.session.send({ header: this.session.header(revision), watchId: this.id });
  }

  onCompacted(compactRevision: number, revision: number): void {
    if (this.closed) return;
    if (this.early !== undefined) {
      this.early.push(() => this.onCompacted(compactRevision, revision));
      return;
    }
    this.session.drop(this);
    this.session.send({
      header: this.session.header(revision),
      watchId: this.id,
      canceled: true,
      compactRevision,
      cancelReason: EtcdErrors.compacted.details,
    });
  }

  onCanceled(reason: string): void {
    if (this.closed) return;
    if (this.early !== undefined) {
      this.early.push(() => this.onCanceled(reason));
      return;
    }
    this.session.drop(this);
    this.session.send({ header: this.session.current(), watchId: this.id, canceled: true, cancelReason: reason });
  }
}

export class WatchSession {
  private readonly watchers = new Map<number, Watcher>();
  private nextAutoId = 0;
  /** Watchers whose delivery waits for 'drain'. */
  private paused: Watcher[] = [];
  private writable = true;
  private closed = false;

  constructor(
    private readonly backend: Backend,
    private readonly limits: ApiLimits,
    private readonly call: WatchCall,
  ) {
    call.on('data', (req: WireWatchRequest) => this.onRequest(req));
    call.on('drain', () => this.onDrain());
    call.on('end', () => {
      this.close();
      if (!call.writableEnded) call.end();
    });
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
  }

  get size(): number {
    return this.watchers.size;
  }

  header(revision: number): unknown {
    return header(this.backend.headerInfo(), revision);
  }

  current(): unknown {
    const h = this.backend.headerInfo();
    return header(h, h.revision);
  }

  send(msg: unknown): void {
    if (this.closed) return;
    if (!this.call.write(msg)) this.writable = false;
  }

  sendEvents(w: Watcher, events: Event[], revision: number): boolean {
    this.send({ header: this.header(revision), watchId: w.id, events });
    if (this.writable) return true;
    this.paused.push(w);
    return false;
  }

  drop(w: Watcher): void {
    w.closed = true;
    if (this.watchers.get(w.id) === w) this.watchers.delete(w.id);
  }

  private onDrain(): void {
    this.writable = true;
    const paused = this.paused;
    this.paused = [];
    for (const w of paused) if (!w.closed) w.handle?.resume();
  }

  private onRequest(req: WireWatchRequest): void {
    if (this.closed) return;
    try {
      if (req.createRequest != null) this.create(req.createRequest);
      else if (req.cancelRequest != null) this.cancel(idFromWire(req.cancelRequest.watchId));
      else if (req.progressRequest != null) this.progress();
    } catch (err) {
      // Handlers answer refusals in-band; reaching here is a bug: end the stream loudly.
      this.close();
      this.call.emit('error', toApiError(err));
    }
  }

  private refuse(reason: string): void {
    this.send({ header: this.current(), watchId: NO_WATCH_ID, created: true, canceled: true, cancelReason: reason });
  }

  private create(wire: WireWatchCreateRequest): void {
    const req = watchCreateFromWire(wire);
    // As etcd: an empty key is the smallest key, "\0" as the range end is "every key from key on".
    if (req.key.length === 0) req.key = Buffer.from([0]);
    if (req.key.length > this.limits.keyBytesMax || req.rangeEnd.length > this.limits.keyBytesMax) {
      return this.refuse(`regionstore: watch key or range end over ${this.limits.keyBytesMax} bytes`);
    }
    if (req.rangeEnd.length > 0 && !isFromKey(req.rangeEnd) && Buffer.compare(req.key, req.rangeEnd) >= 0) {
      return this.refuse(EMPTY_WATCH_RANGE_REASON);
    }
    if (this.watchers.size >= this.limits.watchersPerStreamMax) {
      return this.refuse(`regionstore: too many watchers on this stream (limit ${this.limits.watchersPerStreamMax})`);
    }
    const wanted = idFromWire(wire.watchId);
    if (wanted === undefined) return this.refuse('regionstore: a watch ID must be in 1..2^53-1 (or 0)');
    if (wanted !== 0 && this.watchers.has(wanted)) return this.refuse(DUPLICATE_WATCH_ID_REASON);
    const id = wanted !== 0 ? wanted : this.autoId();
    const w = new Watcher(this, id);
    try {
      w.handle = this.backend.watch(req, w);
    } catch (err) {
      return this.refuse(toApiError(err).details);
    }
    this.watchers.set(id, w);
    this.send({ header: this.current(), watchId: id, created: true });
    w.open();
  }

  private autoId(): number {
    while (this.watchers.has(this.nextAutoId)) this.nextAutoId++;
    return this.nextAutoId++;
  }

  /** etcd answers a cancel of an unknown watcher with nothing. */
  private cancel(id: number | undefined): void {
    if (id === undefined) return;
    const w = this.watchers.get(id);
    if (w === undefined) return;
    this.drop(w);
    w.handle?.cancel();
    this.send({ header: this.current(), watchId: id, canceled: true });
  }

  /**
   * A progress answer (watch id -1) promises that every event up to its revision has
   * been sent on this stream: the lowest revision every watcher has been served to.
   */
  private progress(): void {
    let revision = this.backend.headerInfo().revision;
    for (const w of this.watchers.values()) {
      if (w.handle !== undefined) revision = Math.min(revision, w.handle.progressRevision());
    }
    this.send({ header: this.header(revision), watchId: NO_WATCH_ID });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers.values()) {
      w.closed = true;
      w.handle?.cancel();
    }
    this.watchers.clear();
    this.paused = [];
  }
}

export function watchService(backend: Backend, limits: ApiLimits): UntypedServiceImplementation {
  return {
    Watch: (call: WatchCall): void => {
      const session = new WatchSession(backend, limits, call);
      void session;
    },
  };
}
