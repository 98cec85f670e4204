// What a Watch stream may hold of the server on behalf of a slow client (issue 16):
//  - the bytes of responses handed to gRPC that the client has not taken yet: HTTP/2 flow
//    control keeps them in this process while the client does not read. Past
//    --max-watch-pending-bytes the stream's watchers are canceled;
//  - how long such responses may wait with none of them taken (a client that never reads):
//    past --watch-stall-timeout, the same;
//  - watchers per client connection, over all its Watch streams (--max-watchers-per-connection).
// A tripped stream gets each watcher canceled in-band with a reason naming the limit and its
// flag, then the RESOURCE_EXHAUSTED status with the same text; a client that still does not
// read within WATCH_RESET_GRACE_MS has its stream reset, which frees what it pinned.

import { status } from '@grpc/grpc-js';
import { ApiError } from './errors.js';
import type { ApiLimits } from './limits.js';

/** After a trip, how long the client has to read the cancel and the status before its stream is reset. */
export const WATCH_RESET_GRACE_MS = 5_000;
/** Bytes counted per event and per response beyond keys and values (fields, revisions, header). */
const EVENT_OVERHEAD_BYTES = 48;
const RESPONSE_OVERHEAD_BYTES = 64;

export const WATCH_PENDING_FLAG = '--max-watch-pending-bytes';
export const WATCH_STALL_FLAG = '--watch-stall-timeout';
export const WATCHERS_PER_CONNECTION_FLAG = '--max-watchers-per-connection';

interface SizedKv {
  key?: Uint8Array | null;
  value?: Uint8Array | null;
}

/** A watch response's size on the wire, near enough: keys and values plus a fixed overhead. */
export function watchResponseBytes(msg: { events?: unknown[] }): number {
  let n = RESPONSE_OVERHEAD_BYTES;
  for (const e of (msg.events ?? []) as Array<{ kv?: SizedKv | null; prevKv?: SizedKv | null }>) {
    n += EVENT_OVERHEAD_BYTES + (e.kv?.key?.length ?? 0) + (e.kv?.value?.length ?? 0);
    n += (e.prevKv?.key?.length ?? 0) + (e.prevKv?.value?.length ?? 0);
  }
  return n;
}

/**
 * Counts one stream's pending bytes and watches for a stall; calls `trip` once with the
 * reason when a limit is crossed.
 */
export class WatchStreamGuard {
  private pending = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  /** When the client last took something, or the first pending response was written. */
  private progressAt = 0;
  private tripped = false;

  constructor(
    private readonly limits: ApiLimits,
    private readonly trip: (reason: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get pendingBytes(): number {
    return this.pending;
  }

  /** A response of `bytes` was handed to gRPC; call `flushed` when its write completes. */
  written(bytes: number): void {
    if (this.tripped) return;
    if (this.pending === 0) {
      this.progressAt = this.now();
      if (this.stallTimer === undefined) this.armStall(this.limits.watchStallMs);
    }
    this.pending += bytes;
    if (this.pending > this.limits.watchPendingBytesMax) {
      this.fire(
        `regionstore: watch canceled: the client has not read ${this.pending} bytes of watch responses, over the limit of ` +
          `${this.limits.watchPendingBytesMax} (${WATCH_PENDING_FLAG}); read faster or watch less`,
      );
    }
  }

  /** The client took `bytes` (a write completed): the stall clock starts again. No timer work here, per response. */
  flushed(bytes: number): void {
    this.pending = Math.max(0, this.pending - bytes);
    this.progressAt = this.now();
  }

  close(): void {
    this.tripped = true;
    this.disarmStall();
  }

  /** One timer per stream while anything is pending; it re-arms for the rest of the time when the client made progress. */
  private armStall(ms: number): void {
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.tripped || this.pending === 0) return;
      const idle = this.now() - this.progressAt;
      if (idle < this.limits.watchStallMs) return this.armStall(this.limits.watchStallMs - idle);
      this.fire(
        `regionstore: watch canceled: the client took none of ${this.pending} bytes of watch responses for ` +
          `${this.limits.watchStallMs} ms (${WATCH_STALL_FLAG}); a watcher must keep reading`,
      );
    }, Math.max(1, Math.ceil(ms)));
    this.stallTimer.unref();
  }

  private disarmStall(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  private fire(reason: string): void {
    if (this.tripped) return;
    this.tripped = true;
    this.disarmStall();
    this.trip(reason);
  }
}

/** The status a tripped stream ends with. */
export function slowReceiverError(reason: string): ApiError {
  return new ApiError(status.RESOURCE_EXHAUSTED, reason);
}

/** Watchers per client connection (keyed by the peer address and port: one per TCP connection). */
export class ConnectionWatchers {
  private readonly counts = new Map<string, number>();

  constructor(private readonly limits: ApiLimits) {}

  /** The refusal reason when `peer` is at its limit, else undefined. */
  refusal(peer: string): string | undefined {
    const n = this.counts.get(peer) ?? 0;
    if (n < this.limits.watchersPerConnectionMax) return undefined;
    return `regionstore: too many watchers on this connection (limit ${this.limits.watchersPerConnectionMax}, ${WATCHERS_PER_CONNECTION_FLAG})`;
  }

  add(peer: string): void {
    this.counts.set(peer, (this.counts.get(peer) ?? 0) + 1);
  }

  remove(peer: string): void {
    const n = (this.counts.get(peer) ?? 0) - 1;
    if (n <= 0) this.counts.delete(peer);
    else this.counts.set(peer, n);
  }

  count(peer: string): number {
    return this.counts.get(peer) ?? 0;
  }
}

interface StreamHolder {
  call?: StreamHolder;
  nextCall?: StreamHolder;
  stream?: { close?: (code?: number) => void; destroyed?: boolean };
}

/** NGHTTP2_CANCEL: the RST_STREAM code of a stream the server gives up on. */
const RST_CANCEL = 8;

/**
 * Resets the HTTP/2 stream under a grpc-js server call, freeing what its send buffer holds.
 * grpc-js offers no public way to do this, so it walks the call's wrappers (ServerDuplexStream
 * → ServerInterceptingCall(s) → BaseServerInterceptingCall.stream); returns false when the
 * shape is not found (a grpc-js upgrade changed it), and the stream then lives until its
 * connection closes.
 */
export function resetCallStream(call: object): boolean {
  let at: StreamHolder | undefined = (call as StreamHolder).call;
  for (let depth = 0; at !== undefined && depth < 8; depth++) {
    const stream = at.stream;
    if (stream !== undefined && typeof stream.close === 'function') {
      if (stream.destroyed !== true) stream.close(RST_CANCEL);
      return true;
    }
    at = at.nextCall;
  }
  return false;
}
