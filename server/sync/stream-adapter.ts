// Turns a gRPC bidi stream into the session's SyncChannel. Structural (no grpc-js or node:*
// import): a grpc-js ClientDuplexStream / ServerDuplexStream of raw bytes (EdgeSync.Sync with
// identity serializers, so the session decodes and a peer's garbage is `malformed`, not a
// grpc-js parse failure), or a callback stream like server/api's EdgeSyncStream.

import type { SyncChannel } from './channel.js';

/** Messages queued from the stream before it is paused (the session reads them promptly; a bound all the same). */
export const SYNC_INCOMING_QUEUE_MAX = 64;

/** The part of a grpc-js duplex call (client or server side) the adapter uses. */
export interface DuplexLike {
  write(chunk: Uint8Array, cb?: (error?: Error | null) => void): boolean;
  end(): void;
  on(event: 'data', fn: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close' | 'drain', fn: () => void): unknown;
  on(event: 'error', fn: (e: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  /** A client call's cancel (ends the stream at once); a server call may not have it. */
  cancel?(): void;
}

/** The shape of server/api's EdgeSyncStream. */
export interface CallbackStream {
  send(bytes: Uint8Array): void;
  end(): void;
  onMessage(fn: (bytes: Uint8Array) => void): void;
  onClose(fn: (reason: string) => void): void;
}

/** Incoming messages as an async iterable fed by pushes; ends or fails once (also the in-memory test channel's queue). */
export class Incoming implements AsyncIterable<Uint8Array> {
  private readonly items: Uint8Array[] = [];
  private waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: Error) => void } | undefined;
  private done = false;
  private error: Error | undefined;

  constructor(private readonly onDrained: () => void = () => undefined) {}

  get queued(): number {
    return this.items.length;
  }

  push(item: Uint8Array): void {
    if (this.done) return;
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
    } else this.items.push(item);
  }

  finish(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.error = error;
    const w = this.waiter;
    this.waiter = undefined;
    if (w === undefined) return;
    if (error !== undefined) w.reject(error);
    else w.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => {
        const item = this.items.shift();
        if (item !== undefined) {
          if (this.items.length === 0) this.onDrained();
          return Promise.resolve({ value: item, done: false });
        }
        if (this.done) return this.error !== undefined ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
      },
      return: () => {
        this.done = true;
        this.items.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/**
 * A SyncChannel over a grpc-js duplex call of raw bytes. `send` resolves when the call's
 * buffer has room again ('drain'); the call is paused while SYNC_INCOMING_QUEUE_MAX messages
 * wait to be read.
 */
export function channelFromDuplex(call: DuplexLike): SyncChannel {
  let closed = false;
  let paused = false;
  let drainWaiters: Array<() => void> = [];
  const incoming = new Incoming(() => {
    if (paused) {
      paused = false;
      call.resume();
    }
  });
  const wakeDrain = (): void => {
    const ws = drainWaiters;
    drainWaiters = [];
    for (const w of ws) w();
  };
  call.on('data', (chunk: Uint8Array) => {
    incoming.push(chunk);
    if (!paused && incoming.queued >= SYNC_INCOMING_QUEUE_MAX) {
      paused = true;
      call.pause();
    }
  });
  call.on('drain', wakeDrain);
  call.on('end', () => incoming.finish());
  call.on('error', (e: Error) => {
    closed = true;
    incoming.finish(e);
    wakeDrain();
  });
  const gone = (): void => {
    closed = true;
    incoming.finish();
    wakeDrain();
  };
  call.on('close', gone);
  // A grpc-js server call reports a client that went away as 'cancelled' (not in DuplexLike's types).
  (call as unknown as { on(event: string, fn: () => void): unknown }).on('cancelled', () => {
    if (!closed) {
      closed = true;
      incoming.finish(new Error('the peer cancelled the stream'));
      wakeDrain();
    }
  });
  return {
    incoming,
    send(message) {
      if (closed) return Promise.reject(new Error('the stream is closed'));
      const ok = call.write(message);
      if (ok) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        drainWaiters.push(() => (closed ? reject(new Error('the stream closed while sending')) : resolve()));
      });
    },
    close() {
      if (closed) return;
      closed = true;
      // end() half-closes after what was written (a final SyncError still reaches the peer).
      try {
        call.end();
      } catch {
        /* already ended */
      }
      incoming.finish();
      wakeDrain();
    },
  };
}

/** A SyncChannel over a callback stream (server/api's EdgeSyncStream); sends never wait. */
export function channelFromCallbacks(stream: CallbackStream): SyncChannel {
  let closed = false;
  const incoming = new Incoming();
  stream.onMessage((bytes) => incoming.push(bytes));
  stream.onClose(() => {
    closed = true;
    incoming.finish();
  });
  return {
    incoming,
    send(message) {
      if (closed) return Promise.reject(new Error('the stream is closed'));
      stream.send(message);
      return Promise.resolve();
    },
    close() {
      if (closed) return;
      closed = true;
      stream.end();
      incoming.finish();
    },
  };
}
