// The I/O inputs of a server/sync session on a region member: the EdgeSync stream (server/api
// hands it over as raw SyncMessage bytes) as a SyncChannel, and the page codecs over node:zlib.

import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, deflate, inflate, constants as zc } from 'node:zlib';
import type { PageCodec, SyncChannel } from '../../sync/index.js';

/** What server/api's EdgeSyncStream gives (structurally: server/region may not import server/api). */
export interface EdgeStream {
  send(bytes: Uint8Array): void;
  end(): void;
  onMessage(fn: (bytes: Uint8Array) => void): void;
  onClose(fn: (reason: string) => void): void;
  readonly peer: string;
}

/** Received messages held while the session is busy; past it the stream is ended (a peer ignoring the window). */
const INCOMING_QUEUE_MAX = 1024;

/** A SyncChannel over the stream; `counted` sees the bytes each way (the sync bytes metric). */
export function streamChannel(stream: EdgeStream, counted: (direction: 'in' | 'out', n: number) => void): SyncChannel {
  const queue: Uint8Array[] = [];
  let waiter: (() => void) | undefined;
  let closed = false;
  let failure: Error | undefined;
  const wake = (): void => {
    const w = waiter;
    waiter = undefined;
    w?.();
  };
  stream.onMessage((b) => {
    if (closed) return;
    counted('in', b.length);
    if (queue.length >= INCOMING_QUEUE_MAX) {
      failure = new Error(`more than ${INCOMING_QUEUE_MAX} messages queued from the peer`);
      closed = true;
      stream.end();
    } else queue.push(b);
    wake();
  });
  stream.onClose(() => {
    closed = true;
    wake();
  });
  const incoming: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (failure !== undefined) throw failure;
        if (closed) return;
        await new Promise<void>((r) => (waiter = r));
      }
    },
  };
  return {
    send(message) {
      if (closed) return Promise.reject(new Error('the stream is closed'));
      counted('out', message.length);
      stream.send(message);
      return Promise.resolve();
    },
    incoming,
    close() {
      if (closed) return;
      closed = true;
      stream.end();
      wake();
    },
  };
}

const brotliC = promisify(brotliCompress);
const brotliD = promisify(brotliDecompress);
const deflateC = promisify(deflate);
const inflateD = promisify(inflate);

/** Brotli at a middle quality: near its best ratio on small records at a fraction of quality 11's CPU. */
const BROTLI_QUALITY = 5;

export const PAGE_CODECS: readonly PageCodec[] = [
  {
    name: 'br',
    compress: (page) => brotliC(page, { params: { [zc.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zc.BROTLI_PARAM_SIZE_HINT]: page.length } }),
    decompress: (page, maxBytes) => brotliD(page, { maxOutputLength: maxBytes }),
  },
  {
    name: 'deflate',
    compress: (page) => deflateC(page),
    decompress: (page, maxBytes) => inflateD(page, { maxOutputLength: maxBytes }),
  },
];
