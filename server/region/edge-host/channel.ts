// The I/O inputs of a server/sync session on a region member: the EdgeSync stream (server/api
// hands it over as raw SyncMessage bytes) as the session's SyncChannel (server/sync's
// channelFromCallbacks), with the bytes each way counted for the sync bytes metric.

import { channelFromCallbacks, type CallbackStream, type SyncChannel } from '../../sync/index.js';
import type { EdgeCertificate } from './identity.js';

/** What server/api's EdgeSyncStream gives (structurally: server/region may not import server/api). */
export interface EdgeStream extends CallbackStream {
  readonly peer: string;
  /** The session's user while auth is on, with its permissions as they are now (absent: auth off). */
  readonly caller?: {
    readonly user: string;
    permits(type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): boolean;
  };
  /** The verified client certificate of the stream's connection, if any (identity.ts). */
  readonly certificate?: EdgeCertificate | undefined;
}

export function streamChannel(stream: EdgeStream, counted: (direction: 'in' | 'out', n: number) => void): SyncChannel {
  return channelFromCallbacks({
    send(bytes) {
      counted('out', bytes.length);
      stream.send(bytes);
    },
    end: () => stream.end(),
    onMessage(fn) {
      stream.onMessage((bytes) => {
        counted('in', bytes.length);
        fn(bytes);
      });
    },
    onClose: (fn) => stream.onClose(fn),
  });
}
