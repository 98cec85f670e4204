// The inputs of a session that are I/O: the message stream, the compression codecs and the
// timers. server/transport/sync-stream.ts builds them over grpc-js and node:zlib; the tests
// over in-memory queues and manual time, so every run is deterministic.

/**
 * One bidi stream of encoded SyncMessages (proto/sync-codec.ts). The session decodes them
 * itself, so garbage bytes from a peer are a SyncError `malformed`, never a transport crash.
 */
export interface SyncChannel {
  /**
   * Sends one encoded message. Resolves when the transport can take the next one (backpressure);
   * rejects once the stream is gone.
   */
  send(message: Uint8Array): Promise<void>;
  /** The peer's messages in order; ends when the peer half-closes, throws on a stream error. */
  readonly incoming: AsyncIterable<Uint8Array>;
  /** Ends the stream (idempotent). Pending and later sends reject; `incoming` ends. */
  close(): void;
}

/** A compression codec of DELTA pages ("br", "deflate", "identity"; sync.proto's Delta.encoding). */
export interface PageCodec {
  readonly name: string;
  compress(page: Uint8Array): Promise<Uint8Array>;
  /** Rejects when the output would exceed `maxBytes` (a decompression bomb is refused, not expanded). */
  decompress(page: Uint8Array, maxBytes: number): Promise<Uint8Array>;
}

/** No compression: always understood, so two sides always share one codec. */
export const identityCodec: PageCodec = {
  name: 'identity',
  compress: (page) => Promise.resolve(page),
  decompress: (page, maxBytes) =>
    page.length > maxBytes ? Promise.reject(new Error(`page of ${page.length} bytes is over ${maxBytes}`)) : Promise.resolve(page),
};

/** Timers as an input (heartbeats and deadlines), so tests drive time by hand. */
export interface SyncTimers {
  /** Calls `fn` once after `ms`; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

/** Real timers (the process's event loop); unref'd so a session never keeps a process alive. */
export const realTimers: SyncTimers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    (t as { unref?: () => void }).unref?.();
    return () => clearTimeout(t);
  },
};
