// A raw HTTP/2 gRPC caller for `bench:scale`: unary calls whose request bytes are built by
// hand (scale-frames.ts) over a few node:http2 sessions, with no protobuf library and no
// retry, so the same thin client loads etcd and regionstore alike and the figures are the
// servers'. Unlike h2load (one body for every request) each call has its own body, which
// loading a million distinct keys needs.

import { connect, constants, type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';

/** gRPC message prefix: compressed flag (1 byte) + length (4 bytes). */
const GRPC_PREFIX_BYTES = 5;
const GRPC_STATUS_OK = 0;

/** A call that did not end with grpc-status 0; `code` is the gRPC status, or -1 for transport. */
export class RawGrpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = 'RawGrpcError';
  }
}

function statusOf(h: IncomingHttpHeaders): { code: number; message: string } | undefined {
  const s = h['grpc-status'];
  if (s === undefined) return undefined;
  const m = h['grpc-message'];
  return { code: Number(s), message: decodeURIComponent(typeof m === 'string' ? m : '') };
}

export class RawGrpcPool {
  private readonly sessions: ClientHttp2Session[];
  private next = 0;

  /** `endpoint` is host:port; `connections` HTTP/2 sessions, used round-robin. */
  constructor(readonly endpoint: string, connections: number) {
    this.sessions = Array.from({ length: Math.max(1, connections) }, () => {
      const s = connect(`http://${endpoint}`);
      s.on('error', () => undefined); // each call sees the failure through its own stream
      return s;
    });
  }

  /**
   * One unary call: `frame` is a whole gRPC request message (prefix included). Resolves
   * with the response message (without its prefix); rejects with RawGrpcError.
   */
  call(path: string, frame: Buffer, timeoutMs: number): Promise<Buffer> {
    const session = this.sessions[this.next++ % this.sessions.length] as ClientHttp2Session;
    return new Promise<Buffer>((resolve, reject) => {
      let stream;
      try {
        stream = session.request({
          [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: path,
          'content-type': 'application/grpc', te: 'trailers',
        });
      } catch (err) {
        reject(new RawGrpcError(-1, `${this.endpoint}: ${(err as Error).message}`));
        return;
      }
      const chunks: Buffer[] = [];
      let status: { code: number; message: string } | undefined;
      const timer = setTimeout(() => stream.close(constants.NGHTTP2_CANCEL), timeoutMs);
      stream.on('response', (h) => { status = statusOf(h) ?? status; }); // trailers-only answers carry it here
      stream.on('trailers', (h) => { status = statusOf(h) ?? status; });
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => undefined); // 'close' below reports it
      stream.on('close', () => {
        clearTimeout(timer);
        if (status === undefined) {
          reject(new RawGrpcError(-1, `${this.endpoint}${path}: stream closed without a gRPC status (rst code ${stream.rstCode ?? '?'}` +
            `${stream.rstCode === constants.NGHTTP2_CANCEL ? `, no answer within ${timeoutMs} ms` : ''})`));
        } else if (status.code !== GRPC_STATUS_OK) {
          reject(new RawGrpcError(status.code, `${this.endpoint}${path}: gRPC status ${status.code}: ${status.message}`));
        } else {
          const body = Buffer.concat(chunks);
          resolve(body.subarray(Math.min(GRPC_PREFIX_BYTES, body.length)));
        }
      });
      stream.end(frame);
    });
  }

  close(): void {
    for (const s of this.sessions) s.close();
  }
}
