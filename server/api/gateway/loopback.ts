// The gateway's gRPC client: as etcd's gateway does (embed/serve.go dials the member's own
// client address), every JSON call becomes a gRPC call to the port the HTTP request came
// in on. So a call through the gateway is the very call an etcd client makes: the same
// handlers, validation, limits, error texts and metrics. Messages travel as the bytes
// codec.ts encodes and decodes (no second protobuf codec here).

import { Client, Metadata, type ChannelOptions } from '@grpc/grpc-js';
import { memberClientCredentials } from '../../util/tls-client.js';

/**
 * Answers can be as large as the server sends (the server's own limits apply on the way
 * in); channelz off as on the server (server.ts says why).
 */
export const LOOPBACK_CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.enable_channelz': 0,
};

const raw = (b: Buffer): Buffer => b;

/** One grpc-js channel per local address the gateway was reached on (normally one). */
export class LoopbackClients {
  private readonly clients = new Map<string, Client>();
  private closed = false;

  /** host:port (IPv6 in brackets) of the listener a request came in on. */
  static targetOf(localAddress: string | undefined, localPort: number | undefined): string {
    let host = localAddress ?? '127.0.0.1';
    // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
    if (host.startsWith('::ffff:') && host.includes('.')) host = host.slice('::ffff:'.length);
    return `${host.includes(':') ? `[${host}]` : host}:${localPort ?? 0}`;
  }

  private client(target: string): Client {
    if (this.closed) throw new Error('the JSON gateway is closed');
    let c = this.clients.get(target);
    if (c === undefined) {
      // A TLS port is dialled over TLS with the member's own client certificate, as etcd's gateway does.
      c = new Client(target, memberClientCredentials(), LOOPBACK_CHANNEL_OPTIONS);
      this.clients.set(target, c);
    }
    return c;
  }

  /** `md`: metadata to send (the Auth token from the request's Authorization header). */
  unary(target: string, path: string, request: Buffer, cb: (err: unknown, res?: Buffer) => void, md = new Metadata()): { cancel(): void } {
    return this.client(target).makeUnaryRequest(path, raw, raw, request, md, (err, res) => cb(err, res));
  }

  serverStream(target: string, path: string, request: Buffer, md = new Metadata()) {
    return this.client(target).makeServerStreamRequest(path, raw, raw, request, md);
  }

  bidiStream(target: string, path: string, md = new Metadata()) {
    return this.client(target).makeBidiStreamRequest(path, raw, raw, md);
  }

  close(): void {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
