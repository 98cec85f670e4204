// Renews an HTTP/2 session's map of open streams now and then (issue 20: the leader's
// promotion and Mark-Compacts).
//
// node:http2 keeps a session's open streams in a Map (`session[kState].streams`): set when a
// stream opens, deleted when it closes, for the life of the connection. V8 rebuilds a Map's
// table every so often under that churn and links the old table to the new one. A
// Mark-Compact promotes what is young and alive when it runs, that table included; from then
// on each scavenge found the next table alive through the link from the promoted one, with
// the streams it held and everything they retained (the call, its request, its proposal):
// all promoted, table after table, until the next Mark-Compact, which promoted the table then
// current and started the chain again. Measured on a leader under a put load: after its first
// Mark-Compact each scavenge promoted ~2.7 MB instead of ~0.2 MB, the stream's objects with a
// 50-70 % share of what they allocate (scripts/trace-put-gc.ts --heap-promoted; a Map churned
// by set/delete shows it alone in a few lines of node).
//
// A copy of the map, every STREAMS_PER_RENEWAL streams of a session, cuts such a chain: the
// old map gets no more sets, so its last table links to nothing new. The copy is of the
// streams open at the time (at most the session's concurrent streams), made in the 'stream'
// listener, where node is not iterating the map. node reads the map from the session's state
// on every use; if a node release moves it, this does nothing (streamMapOf: undefined).

import type { Http2Session } from 'node:http2';

/** Streams opened on a session between two renewals of its map (~ one scavenge's worth of puts over 4 connections). */
export const STREAMS_PER_RENEWAL = 256;

interface StreamMapHolder {
  streams: Map<number, unknown>;
}

/** node's per-session state holding the open streams' map, if this node keeps it where node 18-22 do. */
export function streamMapOf(session: Http2Session): StreamMapHolder | undefined {
  const sym = Object.getOwnPropertySymbols(session).find((s) => s.description === 'state');
  const state = sym === undefined ? undefined : (session as unknown as Record<symbol, unknown>)[sym];
  if (typeof state !== 'object' || state === null) return undefined;
  const streams = (state as { streams?: unknown }).streams;
  // node's SafeMap is a Map subclass from another prototype chain: check the methods used.
  const m = streams as { size?: unknown; get?: unknown; set?: unknown; delete?: unknown; constructor?: unknown } | undefined;
  if (m === undefined || typeof m.size !== 'number' || typeof m.get !== 'function' || typeof m.set !== 'function' || typeof m.delete !== 'function' || typeof m.constructor !== 'function') return undefined;
  return state as StreamMapHolder;
}

/** From now on, replaces `session`'s stream map with a copy every `every` streams opened on it. */
export function renewStreamMaps(session: Http2Session, every = STREAMS_PER_RENEWAL): void {
  const holder = streamMapOf(session);
  if (holder === undefined) return;
  let opened = 0;
  session.on('stream', () => {
    if (++opened < every) return;
    opened = 0;
    const old = holder.streams;
    // The same class as node made (its SafeMap), filled from the old one.
    holder.streams = new (old.constructor as new (entries: Iterable<[number, unknown]>) => Map<number, unknown>)(old);
  });
}
