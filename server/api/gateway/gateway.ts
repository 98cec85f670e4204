// etcd's JSON gateway on the client port's HTTP/1.1 side: POST /v3/<route> with a JSON
// request message, answered as etcd 3.5's grpc-gateway answers (codec.ts for the JSON,
// errors.ts for failures). Unary calls answer one JSON object; Watch, LeaseKeepAlive and
// Snapshot stream one `{"result": ...}` line per message. Each call is a gRPC call to this
// member's own port (loopback.ts), so it gets exactly the treatment of an etcd client's.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { Metadata, status } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { EtcdErrors } from '../errors.js';
import type { Http1Router } from '../http1.js';
import { GRPC_OVERHEAD_BYTES, REQUEST_BYTES_MAX } from '../limits.js';
import { GatewayInputError, encodeFromJson, jsonFromEncoded } from './codec.js';
import { errorBody, failureOf, httpStatusFromCode, streamErrorBody, type GatewayFailure } from './errors.js';
import { JsonIncompleteError, JsonSyntaxError, parseJsonValue, skipWhitespace } from './json-parse.js';
import { LoopbackClients } from './loopback.js';
import { GATEWAY_PREFIXES, routeFor } from './routes.js';
import { methodTypes, type MethodTypes } from './schema.js';

/**
 * Largest request body (or, on a stream, largest unread request) taken in, in bytes: 8 MiB
 * with the default limits. A value travels as base64 (4/3 of its size) inside JSON, so four
 * times the most gRPC takes leaves room for any request gRPC would accept, while a client
 * cannot fill the member's memory; the gRPC call then enforces the real limit with etcd's
 * error.
 */
export const GATEWAY_BODY_BYTES_MAX = 4 * (REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES);

/** etcd's client port answers CORS for any origin by default (--cors '*'). */
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'access-control-allow-headers': 'accept, content-type, authorization',
} as const;

/** grpc-gateway forwards the gRPC answer's content-type header under this name. */
/**
 * The gRPC metadata a gateway call carries: the Auth token from the Authorization header,
 * as etcd's gateway forwards it (metadata "authorization", which etcd reads beside "token").
 */
function metadataOf(req: IncomingMessage): Metadata {
  const md = new Metadata();
  const token = req.headers.authorization;
  if (typeof token === 'string' && token !== '') md.set('authorization', token);
  return md;
}

const FORWARDED_HEADERS = { 'content-type': 'application/json', 'grpc-metadata-content-type': 'application/grpc' } as const;

/** Methods whose gRPC stream stays open after the request body ends (see handleBidi). */
const KEEP_OPEN_AFTER_BODY = new Set(['etcdserverpb.Watch/Watch']);

export interface JsonGatewayOptions {
  bodyBytesMax?: number;
}

export class JsonGateway {
  private readonly clients = new LoopbackClients();
  private readonly active = new Set<{ cancel(): void }>();
  private readonly bodyBytesMax: number;

  constructor(opts: JsonGatewayOptions = {}) {
    this.bodyBytesMax = opts.bodyBytesMax ?? GATEWAY_BODY_BYTES_MAX;
  }

  /** The Http1Handler for every path under GATEWAY_PREFIXES. */
  readonly handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = routeFor(path);
    if (req.method === 'OPTIONS') {
      // etcd's CORS handler answers every preflight itself.
      res.writeHead(200, CORS_HEADERS).end();
      return;
    }
    if (route === undefined) return plainError(res, 404, 'Not Found');
    if (req.method !== 'POST') return plainError(res, 405, 'Method Not Allowed');
    const types = methodTypes(route.service, route.method);
    if (typeof types === 'string') {
      // A service regionstore does not serve (Auth, Downgrade, ...): what grpc-go answers.
      req.resume();
      return sendFailure(res, { code: status.UNIMPLEMENTED, message: types });
    }
    const target = LoopbackClients.targetOf(req.socket.localAddress, req.socket.localPort);
    const grpcPath = `/${route.service}/${route.method}`;
    const md = metadataOf(req);
    if (route.kind === 'bidi-stream') return this.handleBidi(req, res, target, grpcPath, types, md);
    const body = await readBody(req, this.bodyBytesMax);
    if (typeof body !== 'string') return sendFailure(res, body);
    let request: Buffer;
    try {
      request = Buffer.from(encodeFromJson(types.request, firstValue(body)));
    } catch (err) {
      return sendFailure(res, inputFailure(err, status.INVALID_ARGUMENT));
    }
    if (route.kind === 'unary') return this.handleUnary(res, target, grpcPath, types, request, md);
    this.handleServerStream(res, target, grpcPath, types, request, md);
  };

  private handleUnary(res: ServerResponse, target: string, grpcPath: string, types: MethodTypes, request: Buffer, md: Metadata): Promise<void> {
    return new Promise<void>((resolve) => {
      const call = this.clients.unary(target, grpcPath, request, (err, answer) => {
        this.active.delete(call);
        if (err !== null && err !== undefined) sendFailure(res, failureOf(err));
        else if (answer !== undefined) send(res, 200, jsonFromEncoded(types.response, answer));
        resolve();
      }, md);
      this.track(call, res);
    });
  }

  private handleServerStream(
    res: ServerResponse,
    target: string,
    grpcPath: string,
    types: MethodTypes,
    request: Buffer,
    md: Metadata,
  ): void {
    const call = this.clients.serverStream(target, grpcPath, request, md);
    this.track(call, res);
    pipeAnswers(call, res, types.response, () => this.active.delete(call));
  }

  /**
   * A bidirectional stream: each JSON value of the body is sent as it arrives. As in
   * grpc-gateway, a body whose first value cannot be read fails the call (code UNKNOWN:
   * the decoder's error is no gRPC status), and the end of the body half-closes the
   * stream, except for Watch: etcd's server keeps a watch stream serving after the client
   * half-closes, so a `curl -d '{"create_request":...}'` watch goes on until curl leaves.
   */
  private async handleBidi(
    req: IncomingMessage, res: ServerResponse, target: string, grpcPath: string, types: MethodTypes, md: Metadata,
  ): Promise<void> {
    const keepOpen = KEEP_OPEN_AFTER_BODY.has(grpcPath.slice(1));
    const call = this.clients.bidiStream(target, grpcPath, md);
    this.track(call, res);
    pipeAnswers(call, res, types.response, () => this.active.delete(call));
    let sent = 0;
    let text = '';
    // Set once nothing more is sent: the body failed, or its unread rest is ignored.
    let stopped = false;
    const stop = (f: GatewayFailure): void => {
      stopped = true;
      text = '';
      if (sent > 0) {
        // A later value that cannot be read ends the sending side only (grpc-gateway's loop breaks).
        if (!keepOpen) call.end();
        return;
      }
      sendFailure(res, f);
      call.cancel();
    };
    const sendAvailable = (final: boolean): void => {
      for (;;) {
        const start = skipWhitespace(text, 0);
        if (start >= text.length) {
          text = '';
          return;
        }
        let msg: Buffer;
        try {
          const parsed = parseJsonValue(text, start, final);
          msg = Buffer.from(encodeFromJson(types.request, parsed.value));
          text = text.slice(parsed.end);
        } catch (err) {
          if (!(err instanceof JsonIncompleteError) || final) return stop(inputFailure(err, status.UNKNOWN));
          if (text.length > this.bodyBytesMax) stop({ code: status.INVALID_ARGUMENT, message: EtcdErrors.requestTooLarge.details });
          return;
        }
        sent++;
        call.write(msg);
      }
    };
    req.setEncoding('utf8');
    for await (const chunk of req as AsyncIterable<string>) {
      if (stopped) continue;
      text += chunk;
      sendAvailable(false);
    }
    if (stopped) return;
    sendAvailable(true);
    if (!stopped && !keepOpen) call.end();
  }

  /** Cancels the call when the HTTP client goes away or the gateway closes. */
  private track(call: { cancel(): void }, res: ServerResponse): void {
    this.active.add(call);
    res.once('close', () => {
      if (this.active.delete(call)) call.cancel();
    });
  }

  /** Cancels every call in progress and closes the gRPC channels. */
  close(): void {
    for (const call of this.active) call.cancel();
    this.active.clear();
    this.clients.close();
  }
}

/** Mounts the gateway under every prefix etcd serves it at; returns it (close() on shutdown). */
export function addJsonGateway(router: Http1Router, gateway = new JsonGateway()): JsonGateway {
  for (const prefix of GATEWAY_PREFIXES) router.prefix(prefix, gateway.handle);
  return gateway;
}

interface AnswerStream {
  on(event: 'data', fn: (b: Buffer) => void): unknown;
  on(event: 'error', fn: (err: unknown) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** Writes each answer as a `{"result": ...}` line, with backpressure; a failure ends the stream. */
function pipeAnswers(call: AnswerStream, res: ServerResponse, type: protobuf.Type, done: () => void): void {
  let wrote = false;
  // False once the response was answered otherwise (a body that failed) or the client left.
  const open = (): boolean => !res.destroyed && !res.writableEnded;
  const start = (): void => {
    if (wrote || res.headersSent) return;
    wrote = true;
    res.writeHead(200, { ...CORS_HEADERS, ...FORWARDED_HEADERS });
  };
  call.on('data', (b: Buffer) => {
    if (!open()) return;
    start();
    if (!res.write(`{"result":${jsonFromEncoded(type, b)}}\n`)) {
      call.pause();
      res.once('drain', () => call.resume());
    }
  });
  call.on('error', (err: unknown) => {
    done();
    const f = failureOf(err);
    // A call cancelled because the HTTP client left has no one to tell.
    if (!open()) return;
    if (!wrote && !res.headersSent) {
      wrote = true;
      res.writeHead(httpStatusFromCode(f.code), { ...CORS_HEADERS, 'content-type': 'application/json' });
    }
    res.end(streamErrorBody(f));
  });
  call.on('end', () => {
    done();
    if (!open()) return;
    start();
    res.end();
  });
}

/** The body as text, or a failure when it is over `max` bytes. */
async function readBody(req: IncomingMessage, max: number): Promise<string | GatewayFailure> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      req.resume();
      return { code: status.INVALID_ARGUMENT, message: EtcdErrors.requestTooLarge.details };
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A unary body's first JSON value (grpc-gateway decodes one value and ignores the rest); empty is `{}`. */
function firstValue(body: string): ReturnType<typeof parseJsonValue>['value'] {
  const start = skipWhitespace(body, 0);
  if (start >= body.length) return null;
  return parseJsonValue(body, start).value;
}

function inputFailure(err: unknown, code: number): GatewayFailure {
  if (err instanceof JsonSyntaxError || err instanceof GatewayInputError) return { code, message: err.message };
  throw err;
}

function send(res: ServerResponse, httpStatus: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(httpStatus, { ...CORS_HEADERS, ...FORWARDED_HEADERS, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendFailure(res: ServerResponse, f: GatewayFailure): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(f);
  res.writeHead(httpStatusFromCode(f.code), { ...CORS_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** What Go's http.Error writes (the mux's 404 and 405). */
function plainError(res: ServerResponse, httpStatus: number, text: string): void {
  res.writeHead(httpStatus, { ...CORS_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end(`${text}\n`);
}
