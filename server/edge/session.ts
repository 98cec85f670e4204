// The edge's EdgeSync session runner: one server/sync SyncSession (initiator) per connection
// over a raw-bytes grpc-js bidi call to regionstore.v1.EdgeSync/Sync (server/transport's
// openEdgeSyncCall, server/sync's channelFromDuplex and the measured page codecs; the
// session decodes SyncMessages itself). What the session's end means for the link:
//  - new-incarnation: the region holds more of our origin than we do (a restored data dir):
//    take a new incarnation (durably) and reconnect; the next session downloads our old
//    history as a foreign origin;
//  - not-leader: reconnect to the member it named;
//  - anything else: reconnect with backoff, unless the outcome says retrying cannot help.

import type { ChannelCredentials } from '@grpc/grpc-js';
import { SyncSession, channelFromDuplex, realTimers, type SyncChannel } from '../sync/index.js';
import { SYNC_PAGE_CODECS } from '../transport/sync-codecs.js';
import { openEdgeSyncCall } from '../transport/sync-stream.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { EdgeNode } from './edge-node.js';
import type { SessionEnd, SessionHooks, SessionRunner } from './upstream.js';

/** The channel with the bytes each way counted (the edge's status and metrics). */
function counting(channel: SyncChannel, counted: (direction: 'in' | 'out', n: number) => void): SyncChannel {
  return {
    send(message) {
      counted('out', message.length);
      return channel.send(message);
    },
    incoming: {
      async *[Symbol.asyncIterator]() {
        for await (const m of channel.incoming) {
          counted('in', m.length);
          yield m;
        }
      },
    },
    close: () => channel.close(),
  };
}

/** Session counters the status and metrics read (summed over the edge's sessions). */
export interface EdgeSyncTotals {
  bytesSent: number;
  bytesReceived: number;
  opsSent: number;
  opsApplied: number;
  sessions: number;
  newIncarnations: number;
  skewMs: number;
  /** Pages refused either way (clock-skew, ...), and the last refusal. */
  refused: number;
  lastRefusal: string;
  /** Of those, refused for clock skew; the last one's message and wall time (ms); absent: none yet. */
  skewRefusals?: number;
  lastSkewRefusal?: string;
  lastSkewRefusalMs?: number;
  lastOutcome: string;
}

/** `credentials`: how the region is dialled (TLS with the edge's certificate); absent: plaintext. */
export function edgeSessionRunner(node: EdgeNode, clock: Clock, logger: Logger, credentials?: () => ChannelCredentials): SessionRunner {
  const totals: EdgeSyncTotals = { bytesSent: 0, bytesReceived: 0, opsSent: 0, opsApplied: 0, sessions: 0, newIncarnations: 0, skewMs: 0, refused: 0, lastRefusal: '', lastOutcome: '' };
  let current: SyncSession | undefined;
  /** The current session got through HELLO (pages flow). */
  let open = false;
  node.endSession = (why) => current?.close(why);
  node.sessionStatus = () => ({
    sync: { ...totals, open, ...(current !== undefined ? { lagOps: current.stats.lagOps, lagMs: current.stats.lagMs, skewMs: current.stats.skewMs } : {}) },
  });
  const offsetClock: Clock = { nowMs: () => node.identity.now(), monotonicMs: () => clock.monotonicMs() };
  return async (endpoint: string, hooks: SessionHooks): Promise<SessionEnd> => {
    const sync = openEdgeSyncCall(endpoint, credentials !== undefined ? { credentials: credentials() } : {});
    const channel = counting(channelFromDuplex(sync.call), (d, n) => {
      if (d === 'in') totals.bytesReceived += n;
      else totals.bytesSent += n;
    });
    const held = node.identity.held;
    // The replica id this session's HELLO names (a local write may renew it meanwhile).
    const opened = node.replicaId;
    const session = new SyncSession({
      role: 'initiator', replica: node.replica, channel, clock: offsetClock, timers: realTimers, codecs: SYNC_PAGE_CODECS,
      sessionId: `${node.replicaId}-${++totals.sessions}`, logger,
      ...(held !== undefined ? { namespaces: node.replica.namespaces().map((n) => n.name) } : {}),
      observer: {
        hello: (peer) => {
          totals.skewMs = peer.skewMs;
          // Past the incarnation check: the region holds no more of our origin than we do.
          node.incarnationConfirmed(opened);
          open = true;
          hooks.established();
          logger.info('sync session open', { endpoint, region: peer.replicaId, session: peer.sessionId, namespaces: peer.namespaces, skewMs: peer.skewMs });
        },
        pageSent: (_ns, records) => {
          totals.opsSent += records;
        },
        pageApplied: (_ns, applied) => {
          totals.opsApplied += applied;
        },
        caughtUp: (ns, direction) => {
          // A resync's download is complete: its kept local writes go back in (then upload).
          if (direction !== 'received' || node.store.eventual.resyncMark(ns) === undefined) return;
          void node.replica.caughtUp(ns).then(
            (n) => logger.info('resync of a namespace complete', { ns, restored: n }),
            (e: unknown) => logger.error('resync restore failed', { ns, error: (e as Error).message }),
          );
        },
        refused: (code, message, sent) => {
          totals.refused++;
          totals.lastRefusal = `${sent ? 'refused a page from the region' : 'the region refused a page'}: ${code}: ${message}`;
          if (code === 'clock-skew') {
            totals.skewRefusals = (totals.skewRefusals ?? 0) + 1;
            totals.lastSkewRefusal = totals.lastRefusal;
            totals.lastSkewRefusalMs = clock.nowMs();
          }
          logger.warn(sent ? 'refused a page from the region' : 'the region refused a page', { code, message });
        },
      },
    });
    current = session;
    hooks.onStop(() => session.close('the edge link went down'));
    try {
      const outcome = await session.run();
      totals.lastOutcome = `${outcome.reason}${outcome.code !== undefined ? ` (${outcome.code})` : ''}: ${outcome.message}`;
      if (outcome.reason === 'new-incarnation') {
        totals.newIncarnations++;
        await node.newIncarnation(outcome.message, opened);
        // Nothing failed: the region answered, and the next HELLO names the new incarnation.
        return { message: outcome.message, retry: true, now: true };
      }
      if (node.replicaId !== opened) {
        // A local write took a new incarnation and ended this session: the next HELLO names it.
        return { message: `${outcome.message} (new incarnation ${node.replicaId})`, retry: true, now: true };
      }
      if (outcome.code === 'not-leader') {
        const leader = (outcome.detail ?? '').replace(/^https?:\/\//, '').replace(/\/+$/, '');
        return { message: outcome.message, ...(leader !== '' ? { leader } : {}), retry: true, notLeader: true };
      }
      return { message: outcome.message, retry: outcome.retry };
    } finally {
      current = undefined;
      open = false;
      channel.close();
      sync.close();
    }
  };
}
