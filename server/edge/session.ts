// The edge's EdgeSync session runner: one server/sync SyncSession (initiator) per connection
// over a raw-bytes grpc-js bidi call to regionstore.v1.EdgeSync/Sync (the session decodes
// SyncMessages itself). What the session's end means for the link:
//  - new-incarnation: the region holds more of our origin than we do (a restored data dir):
//    take a new incarnation (durably) and reconnect; the next session downloads our old
//    history as a foreign origin;
//  - not-leader: reconnect to the member it named;
//  - anything else: reconnect with backoff, unless the outcome says retrying cannot help.

import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, deflate, inflate, constants as zc } from 'node:zlib';
import { Client, Metadata, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { SyncSession, realTimers, type PageCodec, type SyncChannel } from '../sync/index.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { EdgeNode } from './edge-node.js';
import type { SessionEnd, SessionHooks, SessionRunner } from './upstream.js';

export const EDGE_SYNC_PATH = '/regionstore.v1.EdgeSync/Sync';
/** gRPC's message bound on the sync call: the session's own bound (4 MiB) plus framing room, so the session refuses first. */
export const EDGE_SYNC_GRPC_BYTES_MAX = 4 * 1024 * 1024 + 64 * 1024;
/** Brotli at a middle quality: near its best ratio on small records at a fraction of quality 11's CPU. */
const BROTLI_QUALITY = 5;

const brotliC = promisify(brotliCompress);
const brotliD = promisify(brotliDecompress);
const deflateC = promisify(deflate);
const inflateD = promisify(inflate);

export const EDGE_PAGE_CODECS: readonly PageCodec[] = [
  {
    name: 'br',
    compress: (page) => brotliC(page, { params: { [zc.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zc.BROTLI_PARAM_SIZE_HINT]: page.length } }),
    decompress: (page, maxBytes) => brotliD(page, { maxOutputLength: maxBytes }),
  },
  { name: 'deflate', compress: (page) => deflateC(page), decompress: (page, maxBytes) => inflateD(page, { maxOutputLength: maxBytes }) },
];

const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** A SyncChannel over a grpc-js duplex call; `counted` sees the bytes each way. */
export function duplexChannel(call: ClientDuplexStream<Uint8Array, Buffer>, counted: (direction: 'in' | 'out', n: number) => void): SyncChannel {
  const queue: Uint8Array[] = [];
  let waiter: (() => void) | undefined;
  let ended = false;
  let failure: Error | undefined;
  let closedByUs = false;
  const wake = (): void => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  call.on('data', (b: Buffer) => {
    counted('in', b.length);
    queue.push(b);
    wake();
  });
  call.on('end', () => {
    ended = true;
    wake();
  });
  call.on('error', (e: Error) => {
    if (!closedByUs) failure = e;
    ended = true;
    wake();
  });
  return {
    async send(message) {
      if (ended || closedByUs) throw new Error('the sync stream is closed');
      counted('out', message.length);
      if (!call.write(toBuffer(message))) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            call.off('drain', done);
            call.off('close', done);
            resolve();
          };
          call.once('drain', done);
          call.once('close', done);
        });
      }
    },
    incoming: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = queue.shift();
          if (next !== undefined) {
            yield next;
            continue;
          }
          if (failure !== undefined) throw failure;
          if (ended) return;
          await new Promise<void>((r) => (waiter = r));
        }
      },
    },
    close() {
      if (closedByUs) return;
      closedByUs = true;
      call.end();
      call.cancel();
      wake();
    },
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
  lastOutcome: string;
}

export function edgeSessionRunner(node: EdgeNode, clock: Clock, logger: Logger): SessionRunner {
  const totals: EdgeSyncTotals = { bytesSent: 0, bytesReceived: 0, opsSent: 0, opsApplied: 0, sessions: 0, newIncarnations: 0, skewMs: 0, lastOutcome: '' };
  let current: SyncSession | undefined;
  node.sessionStatus = () => ({
    sync: { ...totals, ...(current !== undefined ? { lagOps: current.stats.lagOps, lagMs: current.stats.lagMs, skewMs: current.stats.skewMs } : {}) },
  });
  const offsetClock: Clock = { nowMs: () => node.identity.now(), monotonicMs: () => clock.monotonicMs() };
  return async (endpoint: string, hooks: SessionHooks): Promise<SessionEnd> => {
    const client = new Client(endpoint, credentials.createInsecure(), {
      'grpc.max_receive_message_length': EDGE_SYNC_GRPC_BYTES_MAX, 'grpc.max_send_message_length': EDGE_SYNC_GRPC_BYTES_MAX,
      'grpc.keepalive_time_ms': 30_000,
    });
    const call = client.makeBidiStreamRequest(EDGE_SYNC_PATH, toBuffer, (b: Buffer) => b, new Metadata());
    const channel = duplexChannel(call, (d, n) => {
      if (d === 'in') totals.bytesReceived += n;
      else totals.bytesSent += n;
    });
    const held = node.identity.held;
    const session = new SyncSession({
      role: 'initiator', replica: node.replica, channel, clock: offsetClock, timers: realTimers, codecs: EDGE_PAGE_CODECS,
      sessionId: `${node.replicaId}-${++totals.sessions}`, logger,
      ...(held !== undefined ? { namespaces: node.replica.namespaces().map((n) => n.name) } : {}),
      observer: {
        hello: (peer) => {
          totals.skewMs = peer.skewMs;
          hooks.established();
          logger.info('sync session open', { endpoint, region: peer.replicaId, session: peer.sessionId, namespaces: peer.namespaces, skewMs: peer.skewMs });
        },
        pageSent: (_ns, records) => {
          totals.opsSent += records;
        },
        pageApplied: (_ns, applied) => {
          totals.opsApplied += applied;
        },
        refused: (code, message, sent) => logger.warn(sent ? 'refused a page from the region' : 'the region refused a page', { code, message }),
      },
    });
    current = session;
    hooks.onStop(() => session.close('the edge link went down'));
    try {
      const outcome = await session.run();
      totals.lastOutcome = `${outcome.reason}${outcome.code !== undefined ? ` (${outcome.code})` : ''}: ${outcome.message}`;
      if (outcome.reason === 'new-incarnation') {
        totals.newIncarnations++;
        await node.newIncarnation(outcome.message);
        return { message: outcome.message, retry: true };
      }
      if (outcome.code === 'not-leader') {
        const leader = (outcome.detail ?? '').replace(/^https?:\/\//, '').replace(/\/+$/, '');
        return { message: outcome.message, ...(leader !== '' ? { leader } : {}), retry: true };
      }
      return { message: outcome.message, retry: outcome.retry };
    } finally {
      current = undefined;
      channel.close();
      client.close();
    }
  };
}
