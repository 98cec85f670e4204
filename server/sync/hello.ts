// The HELLO exchange (sync.proto's Hello): what each side says, and the checks on what it
// hears. Pure functions of their inputs; the session does the I/O.

import { VersionVector } from '../crdt/index.js';
import type { HelloMessage, WireVectorEntry } from '../../proto/sync-codec.js';
import { SYNC_HELLO_NAMESPACES_MAX, SYNC_PROTOCOL_VERSION, SYNC_VECTOR_ORIGINS_MAX, SYNC_WINDOW_DEFAULT, SYNC_WINDOW_MAX } from './limits.js';
import type { SyncErrorCode } from './replica-side.js';

export function toWire(v: VersionVector): WireVectorEntry[] {
  return v.entries().map(([origin, seq]) => ({ origin, seq }));
}

export function fromWire(entries: readonly WireVectorEntry[]): VersionVector {
  const v = new VersionVector();
  for (const e of entries) v.advance(e.origin, e.seq);
  return v;
}

/** A HELLO the session cannot go on with: the SyncError it answers (always fatal). */
export interface HelloProblem {
  code: SyncErrorCode;
  message: string;
  retry: boolean;
}

/** Checks a peer's HELLO; undefined when it is usable. */
export function checkHello(h: HelloMessage): HelloProblem | undefined {
  if (h.protocolVersion !== SYNC_PROTOCOL_VERSION) {
    return {
      code: 'unsupported-version', retry: false,
      message: `peer ${h.replicaId || '(unnamed)'} speaks sync protocol version ${h.protocolVersion}; this side speaks ${SYNC_PROTOCOL_VERSION}: upgrade the older side`,
    };
  }
  if (h.replicaId === '') return { code: 'malformed', retry: false, message: 'HELLO without a replica_id' };
  if (h.vectors.length > SYNC_HELLO_NAMESPACES_MAX) {
    return { code: 'malformed', retry: false, message: `HELLO lists ${h.vectors.length} namespaces, over SYNC_HELLO_NAMESPACES_MAX (${SYNC_HELLO_NAMESPACES_MAX})` };
  }
  const seen = new Set<string>();
  for (const nv of h.vectors) {
    if (seen.has(nv.namespace)) return { code: 'malformed', retry: false, message: `HELLO names namespace ${JSON.stringify(nv.namespace)} twice` };
    seen.add(nv.namespace);
    if (nv.vector.length > SYNC_VECTOR_ORIGINS_MAX) {
      return { code: 'malformed', retry: false, message: `HELLO's vector of ${nv.namespace} has ${nv.vector.length} origins, over SYNC_VECTOR_ORIGINS_MAX (${SYNC_VECTOR_ORIGINS_MAX})` };
    }
  }
  return undefined;
}

/** The window the peer asked for, clamped: 0 (unset) is the default, never more than the max. */
export function peerWindow(h: HelloMessage): number {
  if (h.window === 0) return SYNC_WINDOW_DEFAULT;
  return Math.min(h.window, SYNC_WINDOW_MAX);
}

/**
 * The acceptor's incarnation check: per origin of the peer's own replica id, how far this side
 * holds it when that is beyond what the peer says it holds (the peer lost acknowledged writes).
 */
export function aheadOfPeer(
  peerId: string, ours: ReadonlyMap<string, VersionVector>, theirs: ReadonlyMap<string, VersionVector>,
): WireVectorEntry[] {
  let max = 0;
  for (const [ns, v] of ours) {
    const mine = v.get(peerId);
    if (mine > (theirs.get(ns)?.get(peerId) ?? 0)) max = Math.max(max, mine);
  }
  return max > 0 ? [{ origin: peerId, seq: max }] : [];
}

/** A sentence for the new-incarnation outcome. */
export function aheadMessage(ahead: readonly WireVectorEntry[], peerId: string): string {
  const what = ahead.map((e) => `${e.origin} up to seq ${e.seq}`).join(', ');
  return `${peerId} holds ${what}, more than this replica holds of its own writes: the data directory lost writes (restored or rolled back); take a new incarnation and sync again to download the old history`;
}
