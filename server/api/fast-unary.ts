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

/**
 * respond()'s options before a message: made once, not per call (node:http2 only reads them).
 * No `date` header: node:http2 adds one unless told not to, grpc-js sends it, no gRPC client
 * reads it and etcd's server does not send it; leaving it out spares node:http2 a header to
 * copy, validate and HPACK-encode per response (its header handling was ~20 µs of the
 * leader's CPU per etcdctl put in `check datascale`, issue 20).
 */
const WAIT_FOR_TRAILERS = Object.freeze({ waitForTrailers: true, sendDate: false });
/** respond()'s options of a trailers-only answer (an error before any message). */
const TRAILERS_ONLY = Object.freeze({ endStream: true, sendDate: false });

/** A successful call's trailers (grpc-js sends details "OK"). */
const OK_TRAILERS: Record<string, string | number> = Object.freeze({ 'grpc-status': status.OK, 'grpc-message': 'OK' });

/** Request headers grpc-js removes from the metadata handlers see. */
const NOT_METADATA = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];

const NOT_METADATA_SET: ReadonlySet<string> = new Set(NOT_METADATA);

/** The handlers' metadata as grpc-js builds it: fromHttp2Headers, then the request headers it removes. */
export function grpcJsMetadata(headers: IncomingHttpHeaders): Metadata {
  const metadata = Metadata.fromHttp2Headers(headers);
  for (const key of NOT_METADATA) metadata.remove(key);
  return metadata;
}

/**
 * grpcJsMetadata's result without making and then removing the entries of the headers grpc-js
 * drops (a Map entry and an array each, per call, held as long as the call: issue 20). Only
 * plain string values are added here; a binary (-bin) key, a repeated header or a value
 * Metadata refuses takes grpc-js's own path, which decodes, splits and logs as grpc-js does.
 */
export function metadataOf(headers: IncomingHttpHeaders): Metadata {
  const metadata = new Metadata();
  for (const key in headers) {
    if (key.charCodeAt(0) === 0x3a /* ':' */ || NOT_METADATA_SET.has(key)) continue;
    const value = headers[key];
    if (typeof value !== 'string' || key.endsWith('-bin')) return grpcJsMetadata(headers);
    try {
      metadata.add(key, value);
    } catch {
      return grpcJsMetadata(headers);
    }
  }
  return metadata;
}

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
  // (grpc-js would throw on a thrown primitive; our handlers pass ApiError, and nothing here may crash.)
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as { message?: unknown; code?: unknown; details?: unknown; metadata?: Metadata | null };
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

const CALL = Symbol('regionstore.fastCall');

/** Serves one stream of a fast method: the call object lives on as the stream's listeners' target. */
function serveFast(stream: ServerHttp2Stream & { [CALL]: FastUnaryCall }, headers: IncomingHttpHeaders, m: FastMethod, limits: FastPathLimits): void {
  stream[CALL] = new FastUnaryCall(stream, headers, m, limits);
}
type CallStream = ServerHttp2Stream & { [CALL]: FastUnaryCall };

// Stream listeners shared by every call (`this` is the stream): no closures per call.
function onData(this: CallStream, chunk: Buffer): void {
  this[CALL].data(chunk);
}
function onEnd(this: CallStream): void {
  this[CALL].end();
}
function onClose(this: CallStream): void {
  this[CALL].finish();
}
function onError(): void {
  // The stream's 'close' follows and cancels the call; nothing can be sent on it now.
}
function onWantTrailers(this: CallStream): void {
  this.sendTrailers(this[CALL].trailers);
}
function onDeadline(call: FastUnaryCall): void {
  call.sendStatus({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: null });
}

/**
 * One call on the fast path, as grpc-js's BaseServerInterceptingCall + handleUnary serve it;
 * also the call object the handler gets, with the fields and methods of grpc-js's unary
 * call that our handlers, the auth gate and the hooks read.
 */
export class FastUnaryCall extends EventEmitter {
  request: unknown = undefined;
  /** True once the call is over (answered, or the stream closed), as grpc-js sets it. */
  cancelled = false;
  readonly metadata: Metadata;
  /** The trailers the 'wantTrailers' listener sends. */
  trailers: Record<string, string | number> = OK_TRAILERS;
  private finished = false; // a status was sent (or the stream closed): nothing more is written
  private headersSent = false;
  private deadline = Infinity;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private haveRequest = false;
  // The request's bytes so far: a message is copied out once complete (grpc-js copies too).
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private messageBytes = -1; // the current message's length once its prefix is read
  private readonly host: string | undefined;
  /** The callback the handler answers through (grpc-js's sendUnaryData). */
  private readonly respond: Respond = (err, value, trailer) => {
    if (err) this.sendStatus(errorToStatus(err, trailer));
    else this.sendMessage(value, trailer);
  };

  constructor(
    private readonly stream: CallStream,
    headers: IncomingHttpHeaders,
    private readonly m: FastMethod,
    private readonly limits: FastPathLimits,
  ) {
    super();
    // `on`, not `once`: each of these fires at most once on a stream anyway, and a `once`
    // allocates a wrapper and its state per call that lives as long as the call (issue 20).
    stream.on('error', onError);
    stream.on('close', onClose);
    this.metadata = metadataOf(headers);
    const timeout = headers['grpc-timeout'];
    if (typeof timeout === 'string') {
      const match = TIMEOUT_HEADER.exec(timeout) as RegExpExecArray;
      const ms = (Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number)) | 0;
      this.deadline = Date.now() + ms;
      this.deadlineTimer = setTimeout(onDeadline, ms, this);
    }
    this.host = headers[':authority'] ?? headers.host;
    stream.on('data', onData);
    stream.on('end', onEnd);
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
    return this.m.path;
  }

  getHost(): string | undefined {
    return this.host;
  }

  sendMetadata(md: Metadata): void {
    this.sendHeaders(md);
  }

  /** The call is over: no more writes; incoming bytes are read and dropped (grpc-js resumes the stream). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.stream.resume();
    this.cancelled = true;
    // grpc-js tells the call it is over on the next tick, whatever the outcome.
    if (this.listenerCount('cancelled') > 0) process.nextTick(() => this.emit('cancelled', 'cancelled'));
  }

  private closed(): boolean {
    if (!this.finished && (this.stream.destroyed || this.stream.closed)) this.finish();
    return this.finished;
  }

  private sendHeaders(md: Metadata | undefined): void {
    if (this.closed() || this.headersSent) return;
    this.headersSent = true;
    this.stream.respond(md === undefined ? RESPONSE_HEADERS : { ...RESPONSE_HEADERS, ...md.toHttp2Headers() }, WAIT_FOR_TRAILERS);
  }

  sendStatus(s: GrpcStatusOut): void {
    if (this.closed()) return;
    const trailers = s.metadata?.toHttp2Headers();
    if (this.headersSent) {
      this.trailers = { 'grpc-status': s.code, 'grpc-message': encodeURI(s.details), ...(trailers as Record<string, string>) };
      this.stream.once('wantTrailers', onWantTrailers);
      this.stream.end();
    } else {
      // A trailers-only response, in grpc-js's key order.
      this.stream.respond({ 'grpc-status': s.code, 'grpc-message': encodeURI(s.details), ':status': 200, 'content-type': 'application/grpc+proto', ...trailers }, TRAILERS_ONLY);
    }
    this.finish();
  }

  private sendMessage(value: unknown, trailer: Metadata | undefined): void {
    if (this.closed()) return;
    let body: Buffer;
    try {
      body = this.m.serialize(value as never);
    } catch (err) {
      this.sendStatus({ code: status.INTERNAL, details: SEND_ERROR_DETAILS ? `Error serializing response: ${(err as Error).message}` : 'Error serializing response', metadata: null });
      return;
    }
    const framed = Buffer.allocUnsafe(body.byteLength + PREFIX_BYTES);
    framed[0] = 0;
    framed.writeUInt32BE(body.byteLength, 1);
    body.copy(framed, PREFIX_BYTES);
    const max = this.limits.sendBytesMax;
    if (max !== -1 && body.byteLength > max) {
      this.sendStatus({ code: status.RESOURCE_EXHAUSTED, details: `Sent message larger than max (${framed.length} vs. ${max})`, metadata: null });
      return;
    }
    this.sendHeaders(undefined);
    if (trailer !== undefined) this.trailers = { ...OK_TRAILERS, ...(trailer.toHttp2Headers() as Record<string, string>) };
    this.stream.once('wantTrailers', onWantTrailers);
    this.stream.end(framed);
    this.finish();
  }

  data(chunk: Buffer): void {
    if (this.closed()) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.takeMessages();
  }

  /** Messages complete in `pending`: the first is the request; a second is refused as grpc-js does. */
  private takeMessages(): void {
    for (;;) {
      if (this.messageBytes < 0) {
        if (this.pendingBytes < PREFIX_BYTES) return;
        const first = this.pending[0] as Buffer;
        const head = first.length >= PREFIX_BYTES ? first : Buffer.concat(this.pending);
        this.messageBytes = head.readUInt32BE(1);
        const max = this.limits.receiveBytesMax;
        if (max !== -1 && this.messageBytes > max) {
          this.sendStatus({ code: status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${this.messageBytes} vs ${max})`, metadata: null });
          return;
        }
      }
      const end = PREFIX_BYTES + this.messageBytes;
      if (this.pendingBytes < end) return;
      const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending, this.pendingBytes);
      const message = Buffer.allocUnsafe(this.messageBytes);
      all.copy(message, 0, PREFIX_BYTES, end);
      const rest = all.subarray(end);
      this.pending = rest.length === 0 ? [] : [rest];
      this.pendingBytes = rest.length;
      this.messageBytes = -1;
      if (this.haveRequest) {
        this.sendStatus({ code: status.UNIMPLEMENTED, details: `Received a second request message for server streaming method ${this.m.path}`, metadata: null });
        return;
      }
      try {
        this.request = this.m.deserialize(message);
      } catch (err) {
        this.sendStatus({ code: status.INTERNAL, details: SEND_ERROR_DETAILS ? `Error deserializing request: ${(err as Error).message}` : 'Error deserializing request', metadata: null });
        return;
      }
      this.haveRequest = true;
    }
  }

  /** The request's end: runs the handler on the one message. */
  end(): void {
    if (this.closed()) return;
    if (!this.haveRequest) {
      this.sendStatus({ code: status.UNIMPLEMENTED, details: `Received no request message for server streaming method ${this.m.path}`, metadata: null });
      return;
    }
    try {
      (this.m.handler as (call: FastUnaryCall, cb: Respond) => void)(this, this.respond);
    } catch (err) {
      this.sendStatus({ code: status.UNKNOWN, details: SEND_ERROR_DETAILS ? `Server method handler threw error ${(err as Error).message}` : 'Unknown error', metadata: null });
    }
  }
}


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
      serveFast(stream as CallStream, headers, m, limits);
    });
  }
  return stats;
}
