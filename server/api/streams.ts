// Writing to a server stream with backpressure: wait for 'drain' when grpc-js says its
// buffer is full, and stop when the client has gone away.

import { once } from 'node:events';
import type { Duplex, Writable } from 'node:stream';
import { EtcdErrors } from './errors.js';

/** True when the call can no longer be written (client cancelled, stream ended). */
export function isClosed(call: Writable | Duplex): boolean {
  return (call as { cancelled?: boolean }).cancelled === true || call.destroyed || call.writableEnded;
}

/** Writes `msg`; when the buffer is over its high-water mark waits until it drains. */
export async function writeWithBackpressure(call: Writable | Duplex, msg: unknown): Promise<void> {
  if (isClosed(call)) throw EtcdErrors.watchCanceled;
  if (call.write(msg)) return;
  const ac = new AbortController();
  try {
    await Promise.race([
      once(call, 'drain', { signal: ac.signal }),
      once(call, 'close', { signal: ac.signal }),
      once(call, 'cancelled', { signal: ac.signal }),
    ]);
  } finally {
    ac.abort();
  }
  if (isClosed(call)) throw EtcdErrors.watchCanceled;
}
