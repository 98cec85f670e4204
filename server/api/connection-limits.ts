// Limits on the client port's connections (issue 16), each a named default that
// `regionstore serve`'s flags override (etcd's names and defaults where etcd has them):
//  - concurrent streams per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, grpc-js);
//  - keepalive: the server pings an idle connection every interval and closes it when the
//    answer takes longer than the timeout (grpc-js); a client pinging more often than the
//    min time gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" after MAX_PING_STRIKES, as
//    grpc-go's enforcement policy that etcd configures (PermitWithoutStream false: with no
//    call open, pings more often than every 2 h are strikes);
//  - idle: a connection with no call open for the idle timeout is sent GOAWAY (grpc-js);
//  - handshake and connections per address: front-door.ts.

import type { Http2Server, Http2Session, ServerHttp2Stream } from 'node:http2';
import { constants as h2 } from 'node:http2';
import type { ChannelOptions, Server } from '@grpc/grpc-js';

export const MAX_CONCURRENT_STREAMS_DEFAULT = 4_294_967_295;
export const KEEPALIVE_MIN_TIME_MS_DEFAULT = 5_000;
export const KEEPALIVE_INTERVAL_MS_DEFAULT = 2 * 60 * 60_000;
export const KEEPALIVE_TIMEOUT_MS_DEFAULT = 20_000;
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 10_000;
export const IDLE_TIMEOUT_MS_DEFAULT = 60 * 60_000;
export const CONNECTIONS_PER_ADDRESS_MAX_DEFAULT = 1000;
/** grpc-go's maxPingStrikes: the third ping too early is one too many. */
export const MAX_PING_STRIKES = 2;
/** grpc-go's min time between pings on a connection with no call open (PermitWithoutStream false). */
export const PING_MIN_TIME_WITHOUT_CALLS_MS = 2 * 60 * 60_000;
/** Once GOAWAY is sent, how long before the connection is destroyed whatever the client does. */
const GOAWAY_CLOSE_MS = 1_000;
/** A PING ACK frame: 9 bytes of header and 8 of payload (bytes written beyond these are "data sent"). */
const PING_ACK_BYTES = 17;

export interface ConnectionLimits {
  concurrentStreamsMax: number;
  keepaliveMinTimeMs: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  connectionsPerAddressMax: number;
}

export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  concurrentStreamsMax: MAX_CONCURRENT_STREAMS_DEFAULT,
  keepaliveMinTimeMs: KEEPALIVE_MIN_TIME_MS_DEFAULT,
  keepaliveIntervalMs: KEEPALIVE_INTERVAL_MS_DEFAULT,
  keepaliveTimeoutMs: KEEPALIVE_TIMEOUT_MS_DEFAULT,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS_DEFAULT,
  idleTimeoutMs: IDLE_TIMEOUT_MS_DEFAULT,
  connectionsPerAddressMax: CONNECTIONS_PER_ADDRESS_MAX_DEFAULT,
});

/** Defaults with overrides; each must be a positive integer. */
export function resolveConnectionLimits(overrides: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`connection limit ${name} must be a positive integer, got ${String(value)}`);
  }
  return limits;
}

/** The grpc-js server options that carry these limits. */
export function grpcConnectionOptions(l: ConnectionLimits): ChannelOptions {
  return {
    'grpc.max_concurrent_streams': Math.min(l.concurrentStreamsMax, MAX_CONCURRENT_STREAMS_DEFAULT),
    'grpc.keepalive_time_ms': l.keepaliveIntervalMs,
    'grpc.keepalive_timeout_ms': l.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': l.idleTimeoutMs,
  };
}

/**
 * Calls `fn` with each HTTP/2 session grpc-js accepts from now on. grpc-js has no public
 * hook for it; a connection injector's HTTP/2 server is kept in its private `http2Servers`
 * map, so this subscribes to the servers in it (call right after createConnectionInjector).
 * Throws when the field is missing (a grpc-js upgrade changed it): the ping policy would
 * otherwise be off without anyone knowing.
 */
export function onGrpcSessions(server: Server, fn: (session: Http2Session) => void): void {
  const servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  if (!(servers instanceof Map)) throw new Error('grpc-js internals changed: Server.http2Servers not found (server/api/connection-limits.ts)');
  for (const s of servers.keys()) {
    if ((s as unknown as { [SUBSCRIBED]?: true })[SUBSCRIBED]) continue;
    (s as unknown as { [SUBSCRIBED]?: true })[SUBSCRIBED] = true;
    s.on('session', fn);
  }
}

const SUBSCRIBED = Symbol('regionstore.sessionHook');

/**
 * grpc-go's keepalive enforcement on one session: a PING received sooner than the min time
 * after the previous one (2 h with no call open) is a strike unless the server sent data in
 * between; past MAX_PING_STRIKES the client is sent GOAWAY ENHANCE_YOUR_CALM with debug data
 * "too_many_pings" and the connection closed. `onStrikeOut` is told (for metrics and logs).
 */
export function enforcePingPolicy(session: Http2Session, minTimeMs: number, onStrikeOut: () => void, now: () => number = () => performance.now()): void {
  let open = 0;
  let strikes = 0;
  let lastPingAt: number | undefined;
  let writtenAtLastPing = 0;
  let streamsSinceLastPing = false;
  const written = (): number => (session.socket as { bytesWritten?: number } | undefined)?.bytesWritten ?? 0;
  // One listener per session, not a closure and a once-wrapper per stream that live as long
  // as its call (issue 20); a stream's 'close' fires once.
  const closed = (): void => {
    open--;
  };
  session.on('stream', (stream: ServerHttp2Stream) => {
    open++;
    streamsSinceLastPing = true;
    stream.on('close', closed);
  });
  session.on('ping', () => {
    const t = now();
    // Read once: session.socket is node:http2's proxy of the socket, and grpc-go clients
    // (etcdctl) send a BDP ping per round trip, so this runs about once per request.
    const bytes = written();
    const sentData = streamsSinceLastPing || bytes - writtenAtLastPing > PING_ACK_BYTES;
    const previous = lastPingAt;
    lastPingAt = t;
    writtenAtLastPing = bytes;
    streamsSinceLastPing = false;
    if (previous === undefined || sentData) {
      strikes = 0;
      return;
    }
    const min = open === 0 ? Math.max(minTimeMs, PING_MIN_TIME_WITHOUT_CALLS_MS) : minTimeMs;
    if (t - previous <= min) strikes++;
    if (strikes <= MAX_PING_STRIKES || session.closed || session.destroyed) return;
    onStrikeOut();
    session.goaway(h2.NGHTTP2_ENHANCE_YOUR_CALM, 0, Buffer.from('too_many_pings'));
    setTimeout(() => session.destroy(), GOAWAY_CLOSE_MS).unref();
  });
}
