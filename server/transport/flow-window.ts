// HTTP/2 flow-control windows of the peer server, wider than the protocol's 64 KiB.
//
// The leader is the gRPC client of every peer stream (Send, SendSnapshot): the bytes it
// may have in flight to a follower are bounded by the follower server's receive windows,
// per stream (SETTINGS_INITIAL_WINDOW_SIZE) and per connection. HTTP/2 starts both at
// 65,535 bytes, and grpc-js gives its server no option to change them (its client has
// 'grpc-node.flow_control_window'). At 64 KiB a stream moves one window per round trip
// of WINDOW_UPDATE through the follower's event loop: a snapshot of hundreds of MB, or
// an append of 256 puts (~80 KB), waits on that loop, not on the disk or the wire.
//
// grpc-js creates its http2 servers from the options it keeps in `commonServerOptions`
// (1.14: settings are only set there for grpc.max_concurrent_streams); we add ours there
// before bindAsync, and raise each session's connection window as it opens. Both go
// through grpc-js internals, so each step checks what it touches and reports whether it
// applied: a grpc-js that changed them keeps the 64 KiB windows, and works as before.

import type { Http2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

/** Receive window per stream and per connection of the peer server. Bounds the bytes a
 *  peer may have sent that this node has not yet read: 2 streams per peer, a few peers. */
export const PEER_FLOW_CONTROL_WINDOW_BYTES = 8 * 1024 * 1024;

interface GrpcServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<{ on(event: 'session', listener: (session: Http2Session) => void): unknown }, unknown>;
}

/** Before bindAsync: the stream window every new session advertises. */
export function widenStreamWindow(server: Server, bytes: number): boolean {
  const s = server as unknown as GrpcServerInternals;
  if (typeof s.commonServerOptions !== 'object' || s.commonServerOptions === null) return false;
  s.commonServerOptions.settings = { ...s.commonServerOptions.settings, initialWindowSize: bytes };
  return true;
}

/** After bindAsync: each new session's connection window. */
export function widenConnectionWindow(server: Server, bytes: number): boolean {
  const s = server as unknown as GrpcServerInternals;
  if (!(s.http2Servers instanceof Map) || s.http2Servers.size === 0) return false;
  for (const h2 of s.http2Servers.keys()) {
    h2.on('session', (session) => {
      try {
        session.setLocalWindowSize(bytes);
      } catch {
        // a session already closing: nothing to widen
      }
    });
  }
  return true;
}
