// How etcd's gateway (grpc-gateway 1.16) answers a failed call: the HTTP status its
// HTTPStatusFromCode gives the gRPC code, and a JSON body. A unary call's body is
// `{"error": msg, "code": N, "message": msg}`; a stream that fails ends with
// `{"error": {"grpc_code": N, "http_code": H, "message": msg, "http_status": text}}`
// (with the HTTP status H when nothing was written yet).

import { STATUS_CODES } from 'node:http';
import { status } from '@grpc/grpc-js';
import { goJson } from './codec.js';

/** grpc-gateway v1's runtime.HTTPStatusFromCode. */
export function httpStatusFromCode(code: number): number {
  switch (code) {
    case status.OK:
      return 200;
    case status.CANCELLED:
      return 408;
    case status.INVALID_ARGUMENT:
    case status.FAILED_PRECONDITION:
    case status.OUT_OF_RANGE:
      return 400;
    case status.DEADLINE_EXCEEDED:
      return 504;
    case status.NOT_FOUND:
      return 404;
    case status.ALREADY_EXISTS:
    case status.ABORTED:
      return 409;
    case status.PERMISSION_DENIED:
      return 403;
    case status.UNAUTHENTICATED:
      return 401;
    case status.RESOURCE_EXHAUSTED:
      return 429;
    case status.UNIMPLEMENTED:
      return 501;
    case status.UNAVAILABLE:
      return 503;
    default:
      // UNKNOWN, INTERNAL, DATA_LOSS and codes grpc-gateway does not know.
      return 500;
  }
}

/** A failed call as the gateway reports it: a gRPC code and its message. */
export interface GatewayFailure {
  code: number;
  message: string;
}

/** Body of a failed unary call (and of a stream that fails before its first message). */
export function errorBody(f: GatewayFailure): string {
  return goJson({ error: f.message, code: f.code, message: f.message });
}

/** The last line of a stream that fails after it started. */
export function streamErrorBody(f: GatewayFailure): string {
  const http = httpStatusFromCode(f.code);
  const body: Record<string, unknown> = {};
  // jsonpb leaves out zero fields here too (grpc_code 0 never happens; message may be "").
  if (f.code !== 0) body.grpc_code = f.code;
  body.http_code = http;
  if (f.message !== '') body.message = f.message;
  body.http_status = STATUS_CODES[http] ?? '';
  return goJson({ error: body });
}

/** A grpc-js call error (or anything thrown) as a code and message. */
export function failureOf(err: unknown): GatewayFailure {
  const e = err as { code?: unknown; details?: unknown; message?: unknown } | null;
  if (e !== null && typeof e === 'object' && typeof e.code === 'number') {
    const message = typeof e.details === 'string' ? e.details : String(e.message ?? '');
    return { code: e.code, message };
  }
  return { code: status.UNKNOWN, message: e instanceof Error ? e.message : String(err) };
}
