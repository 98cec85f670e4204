// The unary fast path: the hottest calls (KV Range, Put, DeleteRange, Txn and Crdt.Write)
// served straight on node:http2 streams, without grpc-js's per-call machinery (interceptor
// chain, call objects, stream decoder, read queue, promise per message), on the same
// connections and port as every other call.
//
// Why: the session-8 profile of a put on the leader put 42.4 µs of its 124 in grpc-js,
// node:http2 and nghttp2, and scripts/bench-grpc-overhead.ts measured grpc-js at 23-31 µs
// of server CPU per unary call against 15-16 for a bare node:http2 responder.
//
// How: grpc-js's connection injector owns an HTTP/2 server (found through its private
// `http2Servers` map, as connection-limits.ts does) with one 'stream' listener. A dispatcher
// takes that listener's place: a stream for a fast method whose headers it fully
// understands (POST, content-type application/grpc[+proto], no grpc-encoding or identity,
// a well-formed grpc-timeout or none) is served here; every other stream goes to grpc-js's
// listener unchanged. The handler run is the very function grpc-js would run (the
// instrumented, gated service handler from server.ts), given a call object with what our
// handlers and gate read: request, metadata (grpc-js's Metadata, built the way grpc-js
// builds it), getPeer() (the same "ip:port" string), getDeadline(), getPath(), getHost(),
// `cancelled` and the 'cancelled' event.
//
// Every answer is what grpc-js 1.14.7's server sends (build/src/server-interceptors.js and
// server.js's handleUnary): the same response headers, trailers-only errors with
// `grpc-message` percent-encoded by encodeURI, the same texts for a message over the receive
// limit, a second or missing request message, an undecodable request, a handler that
// throws, a response over the send limit, and "Deadline exceeded" when grpc-timeout runs
// out. fast-unary.test.ts runs the same calls with the fast path on and off and compares.
// `RS_GRPC_FAST_PATH=0` turns it off (comparison and fallback).

import { EventEmitter } from 'node:events';
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Metadata, status, type Server } from '@grpc/grpc-js';

/** The environment variable that turns the fast path off when set to "0". */
export const FAST_PATH_ENV = 'RS_GRPC_FAST_PATH';

/** The calls served on the fast path, by service: the unary calls a load is made of. */
export const FAST_METHODS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  KV: ['Range', 'Put', 'DeleteRange', 'Txn'],
  Crdt: ['Write'],
});

/** Whether the fast path is on: unless `RS_GRPC_FAST_PATH` is "0". */
export function fastPathFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[FAST_PATH_ENV] !== '0';
}

/** grpc-js's switch for detailed error texts; read the way grpc-js reads it (environment.js). */
const SEND_ERROR_DETAILS = (process.env['GRPC_NODE_DEBUG_SEND_ERROR_DETAILS'] ?? 'false') === 'true';

/** The 5-byte gRPC message prefix: a compressed flag and a 32-bit big-endian length. */
const PREFIX_BYTES = 5;

/** A grpc-timeout value grpc-js reads the same way: anything else goes to grpc-js (which answers INTERNAL). */
const TIMEOUT_HEADER = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/** The response headers grpc-js sends before a message (defaultResponseHeaders + defaultCompressionHeaders). */
const RESPONSE_HEADERS = Object.freeze({
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
});

/** Request headers grpc-js removes from the metadata handlers see. */
const NOT_METADATA = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];

type Respond = (err: unknown, value?: unknown, trailer?: Metadata, flags?: number) => void;

/** One fast method: its handler as bound into grpc-js, and its codecs. */
export interface FastMethod {
  readonly path: string;
  /** The unary handler grpc-js would run (instrumented and gated): (call, callback). */
  readonly handler: (call: never, cb: never) => void;
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (value: never) => Buffer;
}

export interface FastPathLimits {
  /** grpc.max_receive_message_length of the server (-1: none). */
  readonly receiveBytesMax: number;
  /** grpc.max_send_message_length of the server (-1: none). */
  readonly sendBytesMax: number;
}

interface GrpcStatusOut {
  code: number;
  details: string;
  metadata: Metadata | null;
}

/** grpc-js's serverErrorToStatus (server-call.js): a handler's error to the status sent. */
function errorToStatus(err: unknown, trailer: Metadata | undefined): GrpcStatusOut {
  const e = err as { message?: unknown; code?: unknown; details?: unknown; metadata?: Metadata | null };
  const out: GrpcStatusOut = {
    code: status.UNKNOWN,
    details: 'message' in e ? (e.message as string) : 'Unknown Error',
    metadata: trailer ?? e.metadata ?? null,
  };
  if ('code' in e && typeof e.code === 'number' && Number.isInteger(e.code)) {
    out.code = e.code;
    if ('details' in e && typeof e.details === 'string') out.details = e.details;
  }
  return out;
}

/**
 * The call object a handler gets: the fields and methods of grpc-js's unary call that our
 * handlers, the auth gate and the hooks read.
 */
export class FastUnaryCall extends EventEmitter {
  request: unknown = undefined;
  cancelled = false;
  constructor(
    readonly metadata: Metadata,
    private readonly stream: ServerHttp2Stream,
    private readonly path: string,
    private readonly deadline: number,
    private readonly host: string | undefined,
    private readonly sendHeaders: (md: Metadata) => void,
  ) {
    super();
  }

  /** As grpc-js: the connection's remote "address:port" (or the address, or "unknown"). */
  getPeer(): string {
    const socket = this.stream.session?.socket;
    if (socket?.remoteAddress) return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
    return 'unknown';
  }

  /** Epoch ms (Infinity: no grpc-timeout), as grpc-js. */
  getDeadline(): number {
    return this.deadline;
  }

  getPath(): string {
    return this.path;
  }

  getHost(): string | undefined {
    return this.host;
  }

  sendMetadata(md: Metadata): void {
    this.sendHeaders(md);
  }
}

/** Headers the fast path understands as grpc-js would treat them; anything else is left to grpc-js. */
function understood(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  if (type !== 'application/grpc' && type !== 'application/grpc+proto') return false;
  if (headers[':method'] !== 'POST') return false;
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return false;
  const timeout = headers['grpc-timeout'];
  return timeout === undefined || (typeof timeout === 'string' && TIMEOUT_HEADER.test(timeout));
}

/** Serves one stream of a fast method, as grpc-js's BaseServerInterceptingCall + handleUnary would. */
function serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, m: FastMethod, limits: FastPathLimits): void {
  let finished = false; // a status was sent (or the stream closed): nothing more is written
  let headersSent = false;
  let deadlineTimer: NodeJS.Timeout | undefined;
  let call: FastUnaryCall | undefined;
  let request: unknown;
  let haveRequest = false;
  // The request's bytes so far: a message is copied out once complete (grpc-js copies too).
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let messageBytes = -1; // the current message's length once its prefix is read

  const finish = (): void => {
    if (finished) return;
    finished = true;
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    // Incoming bytes after the answer are read and dropped (grpc-js resumes the stream).
    stream.resume();
    // grpc-js marks the call cancelled once it is over, whatever the outcome, on the next tick.
    if (call !== undefined) {
      const c = call;
      process.nextTick(() => {
        c.cancelled = true;
        c.emit('cancelled', 'cancelled');
      });
    }
  };
  const closed = (): boolean => {
    if (!finished && (stream.destroyed || stream.closed)) finish();
    return finished;
  };

  const sendHeaders = (md: Metadata | undefined): void => {
    if (closed() || headersSent) return;
    headersSent = true;
    stream.respond(md === undefined ? RESPONSE_HEADERS : { ...RESPONSE_HEADERS, ...md.toHttp2Headers() }, { waitForTrailers: true });
  };

  const sendStatus = (s: GrpcStatusOut): void => {
    if (closed()) return;
    const trailers = s.metadata?.toHttp2Headers();
    if (headersSent) {
      stream.once('wantTrailers', () => {
        stream.sendTrailers({ 'grpc-status': s.code, 'grpc-message': encodeURI(s.details), ...trailers });
      });
      stream.end();
    } else {
      // A trailers-only response, in grpc-js's key order.
      stream.respond({ 'grpc-status': s.code, 'grpc-message': encodeURI(s.details), ':status': 200, 'content-type': 'application/grpc+proto', ...trailers }, { endStream: true });
    }
    finish();
  };

  const sendMessage = (value: unknown, trailer: Metadata | undefined): void => {
    if (closed()) return;
    let body: Buffer;
    try {
      body = m.serialize(value as never);
    } catch (err) {
      sendStatus({ code: status.INTERNAL, details: SEND_ERROR_DETAILS ? `Error serializing response: ${(err as Error).message}` : 'Error serializing response', metadata: null });
      return;
    }
    const framed = Buffer.allocUnsafe(body.byteLength + PREFIX_BYTES);
    framed[0] = 0;
    framed.writeUInt32BE(body.byteLength, 1);
    body.copy(framed, PREFIX_BYTES);
    if (limits.sendBytesMax !== -1 && body.byteLength > limits.sendBytesMax) {
      sendStatus({ code: status.RESOURCE_EXHAUSTED, details: `Sent message larger than max (${framed.length} vs. ${limits.sendBytesMax})`, metadata: null });
      return;
    }
    sendHeaders(undefined);
    const trailers = trailer?.toHttp2Headers();
    stream.once('wantTrailers', () => {
      stream.sendTrailers(trailers === undefined ? OK_TRAILERS : { ...OK_TRAILERS, ...trailers });
    });
    stream.end(framed);
    finish();
  };

  const respond: Respond = (err, value, trailer) => {
    if (err) sendStatus(errorToStatus(err, trailer));
    else sendMessage(value, trailer);
  };

  /** Messages complete in `pending`: the first is the request; a second is refused as grpc-js does. */
  const takeMessages = (): void => {
    for (;;) {
      if (messageBytes < 0) {
        if (pendingBytes < PREFIX_BYTES) return;
        const head = pending.length === 1 || (pending[0] as Buffer).length >= PREFIX_BYTES ? (pending[0] as Buffer) : Buffer.concat(pending);
        messageBytes = head.readUInt32BE(1);
        if (limits.receiveBytesMax !== -1 && messageBytes > limits.receiveBytesMax) {
          sendStatus({ code: status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${messageBytes} vs ${limits.receiveBytesMax})`, metadata: null });
          return;
        }
      }
      if (pendingBytes < PREFIX_BYTES + messageBytes) return;
      const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
      const end = PREFIX_BYTES + messageBytes;
      const message = Buffer.allocUnsafe(messageBytes);
      all.copy(message, 0, PREFIX_BYTES, end);
      const rest = all.subarray(end);
      pending = rest.length === 0 ? [] : [rest];
      pendingBytes = rest.length;
      messageBytes = -1;
      if (haveRequest) {
        sendStatus({ code: status.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${m.path}`, metadata: null });
        return;
      }
      try {
        request = m.deserialize(message);
      } catch (err) {
        sendStatus({ code: status.INTERNAL, details: SEND_ERROR_DETAILS ? `Error deserializing request: ${(err as Error).message}` : 'Error deserializing request', metadata: null });
        return;
      }
      haveRequest = true;
    }
  };

  stream.once('error', () => {
    // The stream's 'close' follows and cancels the call; nothing can be sent on it now.
  });
  stream.once('close', finish);

  const metadata = Metadata.fromHttp2Headers(headers);
  for (const key of NOT_METADATA) metadata.remove(key);
  let deadline = Infinity;
  const timeout = headers['grpc-timeout'];
  if (typeof timeout === 'string') {
    const match = TIMEOUT_HEADER.exec(timeout) as RegExpExecArray;
    const ms = (Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number)) | 0;
    deadline = Date.now() + ms;
    deadlineTimer = setTimeout(() => sendStatus({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: null }), ms);
  }
  const host = headers[':authority'] ?? headers.host;

  stream.on('data', (chunk: Buffer) => {
    if (closed()) return;
    pending.push(chunk);
    pendingBytes += chunk.length;
    takeMessages();
  });
  stream.once('end', () => {
    if (closed()) return;
    if (!haveRequest) {
      sendStatus({ code: status.UNIMPLEMENTED, details: `Received no request message for server streaming method ${m.path}`, metadata: null });
      return;
    }
    call = new FastUnaryCall(metadata, stream, m.path, deadline, host, sendHeaders);
    call.request = request;
    try {
      (m.handler as (call: FastUnaryCall, cb: Respond) => void)(call, respond);
    } catch (err) {
      sendStatus({ code: status.UNKNOWN, details: SEND_ERROR_DETAILS ? `Server method handler threw error ${(err as Error).message}` : 'Unknown error', metadata: null });
    }
  });
}

/** A successful call's trailers (grpc-js sends details "OK"). */
const OK_TRAILERS = Object.freeze({ 'grpc-status': status.OK, 'grpc-message': 'OK' });

const INSTALLED = Symbol('regionstore.fastUnary');

/** Streams the dispatcher saw: served on the fast path, or handed to grpc-js. */
export interface FastPathStats {
  served: number;
  handedOn: number;
}

type StreamListener = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => void;

/**
 * Puts the fast-path dispatcher in front of grpc-js's 'stream' listener on each HTTP/2
 * server grpc-js holds for `server` (call right after createConnectionInjector). Throws when
 * grpc-js's internals are not as expected (an upgrade changed them): serving a method past
 * grpc-js without its idle accounting would otherwise go unnoticed.
 */
export function installFastUnary(server: Server, methods: ReadonlyMap<string, FastMethod>, limits: FastPathLimits): FastPathStats {
  const stats: FastPathStats = { served: 0, handedOn: 0 };
  const internals = server as unknown as { http2Servers?: Map<Http2Server, unknown>; onStreamOpened?: (stream: ServerHttp2Stream) => void };
  const servers = internals.http2Servers;
  const onStreamOpened = internals.onStreamOpened;
  if (!(servers instanceof Map) || typeof onStreamOpened !== 'function') {
    throw new Error('grpc-js internals changed: Server.http2Servers or onStreamOpened not found (server/api/fast-unary.ts)');
  }
  for (const h2 of servers.keys()) {
    const marked = h2 as unknown as { [INSTALLED]?: true };
    if (marked[INSTALLED]) continue;
    const listeners = h2.listeners('stream') as StreamListener[];
    if (listeners.length !== 1) throw new Error(`grpc-js internals changed: ${listeners.length} 'stream' listeners on its HTTP/2 server, expected 1 (server/api/fast-unary.ts)`);
    const grpcJs = listeners[0] as StreamListener;
    marked[INSTALLED] = true;
    h2.removeListener('stream', grpcJs);
    h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      const m = methods.get(headers[':path'] as string);
      if (m === undefined || !understood(headers)) {
        stats.handedOn++;
        grpcJs.call(h2, stream, headers, flags, rawHeaders);
        return;
      }
      stats.served++;
      // grpc-js's idle-connection accounting counts this stream as an open call.
      onStreamOpened.call(server, stream);
      serve(stream, headers, m, limits);
    });
  }
  return stats;
}
