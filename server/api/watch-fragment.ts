// Splits one watch response into fragments, as etcd's sendFragments (v3rpc/watch.go)
// does for a watcher created with `fragment: true`: a response whose encoded size reaches
// the stream's limit (max request bytes + gRPC overhead, as etcd's sws.maxRequestBytes)
// and holds two or more events goes out as several responses, each marked `fragment`
// except the last, each under the limit unless one event alone is over it.

import { loadEtcdServices } from './proto.js';

export interface WatchResponseWire {
  events: unknown[];
  fragment?: boolean;
}

/** Bytes of the response as gRPC will encode it. */
export function encodedWatchResponseBytes(msg: unknown): number {
  const method = loadEtcdServices().Watch.Watch;
  if (method === undefined) throw new Error('proto/etcd has no Watch.Watch method');
  return method.responseSerialize(msg).length;
}

export function fragmentWatchResponse<T extends WatchResponseWire>(
  msg: T,
  maxBytes: number,
  sizeOf: (m: unknown) => number = encodedWatchResponseBytes,
): Array<T & { fragment?: boolean }> {
  if (msg.events.length < 2) return [msg];
  // A repeated field's entries encode independently: a message holding only one event
  // is exactly that event's share of any message.
  const shares = msg.events.map((ev) => sizeOf({ events: [ev] }));
  const marked = sizeOf({ ...msg, events: [], fragment: true });
  const unmarked = sizeOf({ ...msg, events: [], fragment: false });
  if (unmarked + shares.reduce((a, b) => a + b, 0) < maxBytes) return [msg];
  const out: Array<T & { fragment: boolean }> = [];
  let idx = 0;
  while (idx < msg.events.length) {
    const start = idx;
    let size = marked;
    // As etcd: add events while the fragment stays under the limit; always at least one.
    while (idx < msg.events.length) {
      const next = size + shares[idx]!;
      if (idx > start && next >= maxBytes) break;
      size = next;
      idx++;
    }
    out.push({ ...msg, events: msg.events.slice(start, idx), fragment: idx < msg.events.length });
  }
  return out;
}
