// A watch: an async iterable of event batches and progress notifications over a key,
// a range or a prefix, that survives member failures. It remembers the next revision
// it owes the caller; after a broken stream (member killed, connection lost, member
// stopping) it opens a new stream on another member starting at exactly that revision,
// and drops any event below it, so the caller sees every revision once, in order.
//
//   const w = client.watch('jobs/', { prefix: true });
//   await w.ready();                      // the server has the watcher: later writes are seen
//   for await (const b of w) if (b.type === 'events') ...
//
// A compacted resume point ends the iteration with CompactedError; a watch the server
// refuses ends it with WatchCanceledError. Leaving the for-await loop closes the watch.

import { Metadata, status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { BytesLike } from './bytes.js';
import { header, watchEvent } from './convert.js';
import { CompactedError, WatchCanceledError } from './errors.js';
import { toId, toNumber } from './int64.js';
import { backoffMs } from './policy.js';
import type { Endpoint, EndpointPool } from './pool.js';
import { etcdMethods } from './proto.js';
import { rangeEndOf, requestKey, type KeyRange } from './requests.js';
import { attemptErrorOf, unaryAttempt } from './rpc.js';
import type { ResponseHeader, WatchEvent } from './types.js';
import type { WireStatusResponse, WireWatchResponse } from './wire.js';

/** Batches buffered for a slow consumer before the stream is paused (gRPC flow control then holds the server). */
export const WATCH_QUEUE_BATCHES_MAX = 256;
/** The server's reason when it closes a watcher itself (member stopping, state replaced): re-watch. */
export const SERVER_CLOSED_REASON = 'etcdserver: watch canceled';
/**
 * A stream silent for this long is checked: its member is asked for Status. A member
 * that does not answer (frozen), or that has no leader (cut off from the others, so no
 * new events reach it), loses the watch to another member. gRPC keepalive alone would
 * take KEEPALIVE_TIME_MS + KEEPALIVE_TIMEOUT_MS to notice the first, never the second.
 */
export const WATCH_SILENCE_MS = 5_000;
export const WATCH_PROBE_TIMEOUT_MS = 2_000;
/** How often the silence is measured (a timestamp comparison; a probe only after WATCH_SILENCE_MS). */
export const WATCH_LIVENESS_CHECK_MS = 1_000;
/** Codes after which re-watching cannot help. */
const FATAL_CODES: ReadonlySet<status> = new Set([status.INVALID_ARGUMENT, status.UNIMPLEMENTED, status.PERMISSION_DENIED, status.UNAUTHENTICATED]);

export const WatchFilter = { noPut: 0, noDelete: 1 } as const;
export type WatchFilter = keyof typeof WatchFilter;

export interface WatchOptions extends KeyRange {
  /** First revision to deliver (0/absent: changes after the watch is created). */
  startRevision?: number;
  /** Each event carries the key before the change. */
  prevKv?: boolean;
  /** The server sends progress notifications while idle. */
  progressNotify?: boolean;
  filters?: WatchFilter[];
  /**
   * Also yield a 'session' batch each time a stream is (re)established, before its
   * events: for harnesses that check resumption (chaos/checker's watch sessions).
   */
  sessionMarkers?: boolean;
}

export type WatchBatch =
  | {
      type: 'events';
      /** Events in revision order; a revision's events always come in one batch. */
      events: WatchEvent[];
      header: ResponseHeader;
    }
  | {
      /** Every event up to `revision` has been delivered. */
      type: 'progress';
      revision: number;
      header: ResponseHeader;
    }
  | {
      /** Only with sessionMarkers: a stream now serves the watch from `startRevision` (inclusive). */
      type: 'session';
      startRevision: number;
      /** host:port of the member serving it. */
      endpoint: string;
      header: ResponseHeader;
    };

export interface WatchStats {
  /** Streams opened again after a failure. */
  reconnects: number;
  /** Events dropped because they were below the resume point (already delivered). */
  duplicatesDropped: number;
}

export class Watch implements AsyncIterable<WatchBatch> {
  readonly stats: WatchStats = { reconnects: 0, duplicatesDropped: 0 };
  private nextRev: number;
  private readonly queue: WatchBatch[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private closed = false;
  private created = false;
  private readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  private call: ClientDuplexStream<unknown, WireWatchResponse> | undefined;
  private lastFailed: Endpoint | undefined;
  private ep: Endpoint | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private paused = false;
  private lastHeardMs = Date.now();
  private probing = false;
  private readonly liveness: NodeJS.Timeout;
  private readonly create: Record<string, unknown>;
  private readonly sessionMarkers: boolean;

  constructor(
    private readonly pool: EndpointPool,
    key: BytesLike,
    opts: WatchOptions,
    private readonly onClose: (w: Watch) => void,
  ) {
    const start = opts.startRevision ?? 0;
    if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`startRevision must be a non-negative integer, got ${start}`);
    this.nextRev = start;
    this.sessionMarkers = opts.sessionMarkers === true;
    this.create = {
      key: requestKey(key, opts),
      rangeEnd: rangeEndOf(key, opts),
      prevKv: opts.prevKv === true,
      progressNotify: opts.progressNotify === true,
      filters: (opts.filters ?? []).map((f) => WatchFilter[f]),
    };
    this.liveness = setInterval(() => void this.checkLiveness(), WATCH_LIVENESS_CHECK_MS);
    this.liveness.unref();
    this.connect();
  }

  /** host:port of the member serving this watch now (undefined between streams). */
  get endpoint(): string | undefined {
    return this.call === undefined ? undefined : this.ep?.address;
  }

  /** The revision the next event will have at least; 0 while a watch from "now" is not yet created. */
  get resumeRevision(): number {
    return this.nextRev;
  }

  /** Resolves once the server holds the watcher (every later write will be seen). */
  ready(): Promise<void> {
    if (this.created) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Asks the member for a progress notification (answered once it has sent everything before). */
  requestProgress(): void {
    this.call?.write({ progressRequest: {} });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.liveness);
    this.dropStream();
    for (const w of this.readyWaiters) w.reject(new WatchCanceledError({ code: status.CANCELLED, details: 'regionstore client: watch closed' }));
    this.readyWaiters = [];
    this.wakeUp();
    this.onClose(this);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchBatch> {
    try {
      for (;;) {
        const batch = this.queue.shift();
        if (batch !== undefined) {
          if (this.paused && this.queue.length <= WATCH_QUEUE_BATCHES_MAX / 2) this.resume();
          yield batch;
          continue;
        }
        if (this.failure !== undefined) throw this.failure;
        if (this.closed) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      this.close();
    }
  }

  /** The events alone, one at a time. */
  async *events(): AsyncGenerator<WatchEvent> {
    for await (const b of this) if (b.type === 'events') yield* b.events;
  }

  private connect(): void {
    if (this.closed) return;
    const ep = this.pool.pick('any', this.lastFailed);
    const m = etcdMethods().watch;
    const call = ep.conn().makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new Metadata(), {}) as
      ClientDuplexStream<unknown, WireWatchResponse>;
    this.call = call;
    this.ep = ep;
    this.paused = false;
    this.lastHeardMs = Date.now();
    call.on('data', (res: WireWatchResponse) => {
      if (this.call !== call) return;
      this.lastHeardMs = Date.now();
      try {
        this.onResponse(res);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    call.on('error', (err: unknown) => this.onBroken(call, ep, err));
    call.on('end', () => this.onBroken(call, ep, { code: status.UNAVAILABLE, details: 'watch stream ended by the server' }));
    call.write({ createRequest: { ...this.create, startRevision: String(this.nextRev), watchId: '0', fragment: false } });
  }

  private onResponse(res: WireWatchResponse): void {
    const h = header(res.header);
    if (res.created && !res.canceled) {
      if (this.nextRev === 0) this.nextRev = h.revision + 1;
      if (this.sessionMarkers) this.push({ type: 'session', startRevision: this.nextRev, endpoint: this.ep?.address ?? '', header: h });
      this.failures = 0;
      this.created = true;
      for (const w of this.readyWaiters) w.resolve();
      this.readyWaiters = [];
      return;
    }
    if (res.canceled) return this.onCanceled(res);
    if (res.events.length > 0) {
      const from = this.nextRev;
      const events = res.events.map(watchEvent).filter((e) => e.kv.modRevision >= from);
      this.stats.duplicatesDropped += res.events.length - events.length;
      const last = events[events.length - 1];
      if (last === undefined) return;
      this.nextRev = last.kv.modRevision + 1;
      this.push({ type: 'events', events, header: h });
    } else {
      this.nextRev = Math.max(this.nextRev, h.revision + 1);
      this.push({ type: 'progress', revision: h.revision, header: h });
    }
  }

  private onCanceled(res: WireWatchResponse): void {
    const compactRevision = toNumber(res.compactRevision, 'compactRevision');
    if (compactRevision > 0) {
      return this.fail(new CompactedError({
        code: status.OUT_OF_RANGE,
        details: `${res.cancelReason || 'etcdserver: mvcc: required revision has been compacted'}: watch resumes at ${this.nextRev}, compacted up to ${compactRevision}`,
        compactRevision,
      }));
    }
    const reason = res.cancelReason;
    if (reason === '' || reason === SERVER_CLOSED_REASON) {
      const call = this.call;
      if (call !== undefined) this.onBroken(call, this.ep, { code: status.UNAVAILABLE, details: reason || 'watch canceled by the server' });
      return;
    }
    this.fail(new WatchCanceledError({ code: status.CANCELLED, details: reason }));
  }

  private push(b: WatchBatch): void {
    this.queue.push(b);
    if (!this.paused && this.queue.length >= WATCH_QUEUE_BATCHES_MAX) {
      this.paused = true;
      this.call?.pause();
    }
    this.wakeUp();
  }

  private resume(): void {
    this.paused = false;
    this.call?.resume();
  }

  private onBroken(call: ClientDuplexStream<unknown, WireWatchResponse>, ep: Endpoint | undefined, err: unknown): void {
    if (this.call !== call || this.closed) return;
    this.dropStream();
    const f = attemptErrorOf(err);
    if (FATAL_CODES.has(f.code)) return this.fail(new WatchCanceledError({ code: f.code, details: f.details }));
    if (ep !== undefined) {
      this.pool.reportFailure(ep, f);
      this.lastFailed = ep;
    }
    this.failures += 1;
    this.stats.reconnects += 1;
    this.retryTimer = setTimeout(() => this.connect(), backoffMs(this.failures));
  }

  /** After a silence, asks the serving member whether it is alive and has a leader. */
  private async checkLiveness(): Promise<void> {
    const call = this.call;
    const ep = this.ep;
    if (call === undefined || ep === undefined || this.probing || this.paused) return;
    if (Date.now() - this.lastHeardMs < WATCH_SILENCE_MS) return;
    this.probing = true;
    let failure: { code: status; details: string } | undefined;
    try {
      const s = await unaryAttempt<WireStatusResponse>(ep.conn(), etcdMethods().status, {}, { deadlineMs: Date.now() + WATCH_PROBE_TIMEOUT_MS });
      if (toId(s.leader) === '0') failure = { code: status.UNAVAILABLE, details: 'etcdserver: no leader (watch moved to another member)' };
    } catch (err) {
      failure = attemptErrorOf(err);
    } finally {
      this.probing = false;
    }
    if (failure === undefined) this.lastHeardMs = Date.now();
    else this.onBroken(call, ep, failure);
  }

  private dropStream(): void {
    const call = this.call;
    this.call = undefined;
    if (call === undefined) return;
    call.removeAllListeners('data');
    call.on('error', () => {}); // a cancelled call reports CANCELLED; nobody needs it
    call.cancel();
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.failure = err;
    for (const w of this.readyWaiters) w.reject(err);
    this.readyWaiters = [];
    clearTimeout(this.retryTimer);
    clearInterval(this.liveness);
    this.dropStream();
    this.closed = true;
    this.wakeUp();
    this.onClose(this);
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
