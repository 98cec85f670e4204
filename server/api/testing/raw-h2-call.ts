// One unary gRPC call on a raw HTTP/2 stream, answered as plain values a test can compare:
// the fast path's tests send the same bytes to the fast path and to grpc-js and compare
// what came back (headers without `date`, message bytes, trailers).

import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

export interface RawAnswer {
  headers: Record<string, string>;
  /** The response DATA bytes, hex. */
  data: string;
  trailers: Record<string, string> | undefined;
}

/** Header values as strings, without `date` (which differs between two answers). */
export function comparableHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k !== 'date') out[k] = String(v);
  return out;
}

/**
 * POSTs `body` (already gRPC-framed, in parts) to `path` with `headers` on top of gRPC's; with
 * `open` the request is left without END_STREAM (for deadlines) and closed once the answer ends.
 */
export function rawH2Call(session: ClientHttp2Session, path: string, body: Buffer[], headers: OutgoingHttpHeaders = {}, open = false): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...headers }, { endStream: false });
    let got: Record<string, string> = {};
    let trailers: Record<string, string> | undefined;
    const data: Buffer[] = [];
    stream.on('response', (h) => (got = comparableHeaders(h)));
    stream.on('trailers', (t) => (trailers = comparableHeaders(t)));
    stream.on('data', (d: Buffer) => data.push(d));
    stream.on('end', () => open && stream.close());
    stream.on('error', reject);
    stream.on('close', () => resolve({ headers: got, data: Buffer.concat(data).toString('hex'), trailers }));
    for (const part of body) stream.write(part);
    if (!open) stream.end();
  });
}
