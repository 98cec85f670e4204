// The Watch service: one session per stream, many watchers per session, as etcd's
// serverWatchStream. Requests: create (watch_id 0 = the session picks the lowest free
// id from 0, as etcd; or the client's id), cancel, progress. Answers: "created" (or
// created + canceled with a reason when refused), event batches, progress
// notifications, a compacted answer (compact_revision + canceled) when the history a
// watcher needs is gone, and canceled on cancel. A watcher created with `fragment` gets
// large event batches split as etcd splits them (watch-fragment.ts).
//
// Backpressure: each watcher has a pump that pulls its next response only after the
// previous one was written and the stream is below its high-water mark, so a slow
// client costs at most one response per watcher here; the hub falls back to history.
// What a slow client may pin is bounded besides (watch-guard.ts): bytes handed to gRPC and
// not yet taken, how long they may wait untaken, and watchers per connection.

import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { WatchRequest, WatchResponse } from '../mvcc/index.js';
import type { Backend, BackendWatcher } from './backend.js';
import { idFromWire, watchCreateFromWire } from './convert.js';
import { toApiError } from './errors.js';
import type { ApiLimits } from './limits.js';
import { header } from './respond.js';
import { fragmentWatchResponse } from './watch-fragment.js';
import { ConnectionWatchers, WATCH_RESET_GRACE_MS, WatchStreamGuard, resetCallStream, slowReceiverError, watchResponseBytes } from './watch-guard.js';
import { isFromKey } from './validate.js';
import type { WireWatchCreateRequest, WireWatchRequest } from './wire.js';
import { tracePoint, tracing } from '../util/trace-points.js';

/** etcd's watch id of answers that belong to no watcher (refused creates, progress). */
export const NO_WATCH_ID = -1;
export const DUPLICATE_WATCH_ID_REASON = 'mvcc: duplicate watch ID provided on the WatchStream';
export const EMPTY_WATCH_RANGE_REASON = 'mvcc: watcher range is empty';
/** Reason given when the backend closes a watcher on its own (node stopping). */
export const BACKEND_CLOSED_REASON = 'etcdserver: watch canceled';
/** The header revision of the response that cancels a compacted watcher (etcd's: none). */
export const COMPACTED_CANCEL_REVISION = 0;

type WatchCall = ServerDuplexStream<WireWatchRequest, unknown>;

interface Entry {
  id: number;
  watcher: BackendWatcher;
  /** Canceled by the client or the session: the pump stops silently. */
  closed: boolean;
  /** Created with `fragment`: large responses are split (watch-fragment.ts). */
  fragment: boolean;
}

export class WatchSession {
  private readonly entries = new Map<number, Entry>();
  private nextAutoId = 0;
  private drained: Promise<void> | undefined;
  private releaseDrained: (() => void) | undefined;
  private closed = false;
  /**
   * Watchers asked by the latest progress request that have not answered yet. Their
   * answers become one response with watch id -1 once all have answered, as etcd's
   * RequestProgressAll answers on behalf of the whole stream (an unsynced watcher does
   * not answer, so neither does the stream: etcd 3.5 sends nothing then either).
   */
  private progressWaiting = new Set<number>();
  private progressRevision = Number.POSITIVE_INFINITY;
  private readonly guard: WatchStreamGuard;
  /** The client connection (address:port), for the per-connection watcher count. */
  private readonly peer: string;

  constructor(
    private readonly backend: Backend,
    private readonly limits: ApiLimits,
    private readonly call: WatchCall,
    private readonly perConnection: ConnectionWatchers = new ConnectionWatchers(limits),
    private readonly onTrip: (reason: string) => void = () => undefined,
  ) {
    this.guard = new WatchStreamGuard(limits, (reason) => this.tripped(reason));
    this.peer = call.getPeer();
    call.on('data', (req: WireWatchRequest) => this.onRequest(req));
    call.on('drain', () => this.onDrain());
    // A client that half-closes (no more requests) keeps its watchers, as etcd's watch
    // server does (its recvLoop returns on EOF and the stream serves until the client
    // cancels or goes away): 'cancelled' and 'close' end the session.
    call.on('end', () => undefined);
    call.on('error', () => this.close());
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
  }

  get watcherCount(): number {
    return this.entries.size;
  }

  private current(): unknown {
    const h = this.backend.headerInfo();
    return header(h, h.revision);
  }

  private send(msg: object): void {
    if (this.closed) return;
    const bytes = watchResponseBytes(msg as { events?: unknown[] });
    this.guard.written(bytes);
    // This response may have crossed a limit: then the stream is closed and it is not sent.
    if (this.closed) return;
    if (!this.call.write(msg, () => this.guard.flushed(bytes)) && this.drained === undefined) {
      this.drained = new Promise<void>((resolve) => (this.releaseDrained = resolve));
    }
  }

  private onDrain(): void {
    const release = this.releaseDrained;
    this.drained = undefined;
    this.releaseDrained = undefined;
    release?.();
  }

  private onRequest(req: WireWatchRequest): void {
    if (this.closed) return;
    try {
      if (req.createRequest != null) this.create(req.createRequest);
      else if (req.cancelRequest != null) this.cancel(idFromWire(req.cancelRequest.watchId));
      else if (req.progressRequest != null) this.progress();
    } catch (err) {
      // Refusals are answered in-band; reaching here is a bug: end the stream, loudly.
      this.close();
      this.call.emit('error', toApiError(err));
    }
  }

  private refuse(reason: string): void {
    this.send({ header: this.current(), watchId: NO_WATCH_ID, created: true, canceled: true, cancelReason: reason });
  }

  /** Why the session refuses this create, or undefined. Normalises the key as etcd. */
  private check(req: WatchRequest, wantedId: number | undefined): string | undefined {
    const end = req.rangeEnd ?? Buffer.alloc(0);
    const max = this.limits.keyBytesMax;
    if (req.key.length > max || end.length > max) return `regionstore: watch key or range end over ${max} bytes`;
    if (end.length > 0 && !isFromKey(end) && Buffer.compare(req.key, end) >= 0) return EMPTY_WATCH_RANGE_REASON;
    if (this.entries.size >= this.limits.watchersPerStreamMax) {
      return `regionstore: too many watchers on this stream (limit ${this.limits.watchersPerStreamMax}, --max-watchers-per-stream)`;
    }
    const perConnection = this.perConnection.refusal(this.peer);
    if (perConnection !== undefined) return perConnection;
    if (wantedId === undefined) return 'regionstore: a watch ID must be in 1..2^53-1 (or 0)';
    if (wantedId !== 0 && this.entries.has(wantedId)) return DUPLICATE_WATCH_ID_REASON;
    return undefined;
  }

  private create(wire: WireWatchCreateRequest): void {
    const req = watchCreateFromWire(wire);
    // As etcd: an empty key is the smallest key.
    if (req.key.length === 0) req.key = Buffer.from([0]);
    const wanted = idFromWire(wire.watchId);
    const refusal = this.check(req, wanted);
    if (refusal !== undefined) return this.refuse(refusal);
    let watcher: BackendWatcher;
    try {
      watcher = this.backend.watch(req);
    } catch (err) {
      return this.refuse(toApiError(err).details);
    }
    const id = wanted !== undefined && wanted !== 0 ? wanted : this.autoId();
    const entry: Entry = { id, watcher, closed: false, fragment: wire.fragment === true };
    this.entries.set(id, entry);
    this.perConnection.add(this.peer);
    this.send({ header: this.current(), watchId: id, created: true });
    this.pump(entry).catch((err: unknown) => this.endWatcher(entry, toApiError(err).details));
  }

  private autoId(): number {
    while (this.entries.has(this.nextAutoId)) this.nextAutoId++;
    return this.nextAutoId++;
  }

  /** Moves the watcher's responses to the stream, one at a time, behind backpressure. */
  private async pump(entry: Entry): Promise<void> {
    for (;;) {
      if (this.drained !== undefined) await this.drained;
      if (entry.closed) return;
      const res = await entry.watcher.next();
      if (entry.closed) return;
      if (res === undefined) return this.endWatcher(entry, BACKEND_CLOSED_REASON);
      if (res.compactRevision !== undefined && res.compactRevision > 0) return this.compacted(entry, res);
      if (res.events.length === 0 && this.progressWaiting.delete(entry.id)) {
        this.progressAnswered(res.revision);
        continue;
      }
      if (tracing) tracePoint('watch.send', res.revision);
      const msg = { header: header(this.backend.headerInfo(), res.revision), watchId: entry.id, events: res.events as unknown[] };
      if (!entry.fragment) this.send(msg);
      else for (const part of fragmentWatchResponse(msg, this.limits.requestBytesMax + this.limits.grpcOverheadBytes)) this.send(part);
    }
  }

  /**
   * As etcd (3.4 and 3.5) cancels a watcher whose start revision was compacted: the
   * compact revision, canceled, no cancel reason (clients read compact_revision; etcdctl
   * prints the compacted error itself) and header revision 0 (etcd's mvcc answers it
   * at no revision).
   */
  private compacted(entry: Entry, res: WatchResponse): void {
    this.forget(entry);
    this.send({
      header: header(this.backend.headerInfo(), COMPACTED_CANCEL_REVISION),
      watchId: entry.id,
      canceled: true,
      compactRevision: res.compactRevision,
    });
  }

  private endWatcher(entry: Entry, reason: string): void {
    if (entry.closed) return;
    this.forget(entry);
    this.send({ header: this.current(), watchId: entry.id, canceled: true, cancelReason: reason });
  }

  private forget(entry: Entry): void {
    entry.closed = true;
    entry.watcher.cancel();
    // A watcher canceled while a progress request waits for it no longer holds it up.
    if (this.progressWaiting.delete(entry.id) && this.progressWaiting.size === 0 && Number.isFinite(this.progressRevision)) {
      this.progressAnswered(this.progressRevision);
    }
    if (this.entries.get(entry.id) === entry) {
      this.entries.delete(entry.id);
      this.perConnection.remove(this.peer);
    }
  }

  /** etcd answers a cancel of an unknown watcher with nothing. */
  private cancel(id: number | undefined): void {
    const entry = id === undefined ? undefined : this.entries.get(id);
    if (entry === undefined) return;
    this.forget(entry);
    this.send({ header: this.current(), watchId: entry.id, canceled: true });
  }

  /**
   * A progress request: with no watchers, one answer (watch id -1) at the current
   * revision (etcd 3.4's answer); otherwise each watcher answers once synced, in order
   * after the events it has delivered, and the last answer sends the stream's one
   * response (watch id -1), as etcd 3.5's RequestProgressAll.
   */
  private progress(): void {
    if (this.entries.size === 0) {
      this.send({ header: this.current(), watchId: NO_WATCH_ID });
      return;
    }
    this.progressWaiting = new Set(this.entries.keys());
    this.progressRevision = Number.POSITIVE_INFINITY;
    for (const entry of this.entries.values()) entry.watcher.requestProgress();
  }

  /** One watcher's progress answer; the last one sends the stream's (at the lowest revision, safe for all). */
  private progressAnswered(revision: number): void {
    this.progressRevision = Math.min(this.progressRevision, revision);
    if (this.progressWaiting.size > 0) return;
    this.send({ header: header(this.backend.headerInfo(), this.progressRevision), watchId: NO_WATCH_ID });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.guard.close();
    for (const entry of this.entries.values()) {
      entry.closed = true;
      entry.watcher.cancel();
      this.perConnection.remove(this.peer);
    }
    this.entries.clear();
    this.onDrain();
  }

  /**
   * A slow-receiver limit was crossed: every watcher is canceled in-band with the reason,
   * the stream ends with it as a RESOURCE_EXHAUSTED status, and a client that has not read
   * that within WATCH_RESET_GRACE_MS has its stream reset (what it pinned is freed).
   */
  private tripped(reason: string): void {
    this.onTrip(reason);
    // Deleting the entry being visited is safe in a Map's iteration.
    for (const entry of this.entries.values()) this.endWatcher(entry, reason);
    const call = this.call;
    const reset = setTimeout(() => resetCallStream(call), WATCH_RESET_GRACE_MS);
    reset.unref();
    call.once('close', () => clearTimeout(reset));
    this.close();
    call.emit('error', slowReceiverError(reason));
  }
}

/** Options of the Watch service beyond the limits. */
export interface WatchServiceOptions {
  /** Called when a stream is canceled for a slow-receiver limit (for metrics); must not throw. */
  onSlowReceiver?: (reason: string) => void;
  /**
   * The server's per-connection watcher count; every Watch stream of the server must share
   * one (the auth gate makes a service per stream). Default: one per watchService call.
   */
  perConnection?: ConnectionWatchers;
}

export function watchService(backend: Backend, limits: ApiLimits, opts: WatchServiceOptions = {}): UntypedServiceImplementation {
  const perConnection = opts.perConnection ?? new ConnectionWatchers(limits);
  return {
    Watch: (call: WatchCall): void => {
      const session = new WatchSession(backend, limits, call, perConnection, opts.onSlowReceiver);
      void session;
    },
  };
}
