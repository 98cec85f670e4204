// The client port's front door: one TCP listener that serves gRPC (HTTP/2, prior knowledge)
// and HTTP/1.1 (/metrics, /health, /version, later etcd's JSON gateway) as etcd's client
// port does. It owns the net.Server and looks at each connection's first bytes:
//   - not the HTTP/2 client preface: the socket goes to a node:http server;
//   - the preface: the front door answers with an empty SETTINGS frame (HTTP/2 lets the
//     server's preface be empty and lets the real settings follow), so clients that wait
//     for the server's preface (grpc-go) send their first request, and reads frames up to
//     the end of that request's header block. If its :authority is one nghttp2 accepts,
//     the bytes read are put back and the socket itself goes to grpc-js: from then on the
//     front door is not on the path (no copy, no per-request work). If not (etcdctl 3.4
//     with http:// endpoints), the connection goes to grpc-js through authority-fix.ts's
//     rewriter for its lifetime.
// While waiting for that header block the front door answers PINGs itself and drops the
// client's ACK of its SETTINGS, so the server sees the byte stream it would have seen.
// Two limits live here (issue 16): a connection must have sent its first complete request
// header block (HTTP/2) or first byte (HTTP/1.1, whose request line Node's headersTimeout
// bounds) within the handshake timeout, else it is closed (a slowloris client sending
// nothing or half a preface holds nothing); and one IP address may hold at most
// connectionsPerAddressMax connections: one more is answered GOAWAY ENHANCE_YOUR_CALM
// (HTTP/1.1: 429) with the limit in the text, and closed.

import type { Server as Http1Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { ClientStreamRewriter, needsAuthorityRepair } from './authority-fix.js';
import {
  CLIENT_PREFACE,
  FRAME_HEADER_BYTES,
  Flag,
  FrameType,
  HeaderBlockAssembler,
  frameHeader,
  readFrameHeader,
} from './h2-frames.js';
import { HpackDecoder } from './hpack.js';
import { createTlsListener, type PeerIdentities, type TlsListenerEvents, type TlsServerFiles } from '../util/tls-server.js';

/**
 * The default handshake timeout: a connection that has not sent its first request's header
 * block (HTTP/2) or first byte (HTTP/1.1) by then is closed.
 */
export const PROTOCOL_SNIFF_TIMEOUT_MS = 10_000;
/** Connections one IP address may hold at once, by default. */
export const CONNECTIONS_PER_ADDRESS_MAX = 1000;
/** How long a refused connection has to read its GOAWAY or 429 before it is destroyed. */
const REFUSAL_LINGER_MS = 1_000;
/**
 * Bytes an HTTP/2 client may send before its first header block is complete. Past this the
 * connection is rewritten without a decision (safe, only slower): a client that streams
 * this much without a request is not a gRPC client we know.
 */
export const H2_SNIFF_BYTES_MAX = 256 * 1024;

/** The server preface the front door sends: a SETTINGS frame with no settings. */
const EMPTY_SETTINGS = frameHeader(0, FrameType.SETTINGS, 0, 0);
const PING_PAYLOAD_BYTES = 8;

export interface FrontDoorOptions {
  /** Takes an HTTP/2 connection (grpc-js's connection injector). */
  http2: (connection: Duplex) => void;
  /** Serves HTTP/1.1 connections; never listening itself. */
  http1: Http1Server;
  /** Called when a connection is closed for a protocol error (for logs); must not throw. */
  onProtocolError?: (err: Error) => void;
  /** Default PROTOCOL_SNIFF_TIMEOUT_MS. */
  handshakeTimeoutMs?: number;
  /** Default CONNECTIONS_PER_ADDRESS_MAX. */
  connectionsPerAddressMax?: number;
  /** A connection refused or closed by a limit: which one ('handshake' | 'connections-per-address'); must not throw. */
  onLimit?: (limit: 'handshake' | 'connections-per-address', remoteAddress: string) => void;
  /**
   * TLS (https:// client URLs): the door terminates TLS (ALPN h2 and http/1.1) and sniffs
   * the plaintext as it would a plain connection's bytes. Absent: plaintext.
   */
  tls?: { files: TlsServerFiles; events?: TlsListenerEvents };
}

export interface FrontDoor {
  readonly server: NetServer;
  readonly port: number;
  /** With TLS: the verified client certificate of each connection, by its remote address. */
  readonly identities: PeerIdentities | undefined;
  /**
   * Stops accepting connections, closes HTTP/1.1 ones and those not yet handed on; HTTP/2
   * sessions are grpc-js's to close. Resolves when every connection has closed.
   */
  close(): Promise<void>;
  /** Destroys every connection still open (after grpc-js's grace period). */
  destroyConnections(): void;
}

export async function startFrontDoor(listen: { host: string; port: number }, opts: FrontDoorOptions): Promise<FrontDoor> {
  // Every open connection (one Set entry per connection, nothing per request), so close()
  // can end those no server owns yet and destroyConnections() the rest.
  const open = new Set<Socket>();
  const sniffing = new Set<Socket>();
  const perAddress = new Map<string, number>();
  const perAddressMax = opts.connectionsPerAddressMax ?? CONNECTIONS_PER_ADDRESS_MAX;
  // noDelay: gRPC answers are small writes that must not wait for Nagle.
  const accept = (socket: Socket): void => {
    const address = socket.remoteAddress ?? '';
    const count = (perAddress.get(address) ?? 0) + 1;
    perAddress.set(address, count);
    open.add(socket);
    sniffing.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      sniffing.delete(socket);
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n === 0) perAddress.delete(address);
      else perAddress.set(address, n);
    });
    if (count > perAddressMax) {
      sniffing.delete(socket);
      opts.onLimit?.('connections-per-address', address);
      refuse(socket, `regionstore: too many connections from ${address} (limit ${perAddressMax}, --max-connections-per-address)`);
      return;
    }
    sniff(socket, opts, () => sniffing.delete(socket));
  };
  const tls = opts.tls === undefined ? undefined : createTlsListener(opts.tls.files, ['h2', 'http/1.1'], (socket) => {
    socket.setNoDelay(true);
    accept(socket);
  }, opts.tls.events);
  const server: NetServer = tls?.server ?? createNetServer({ noDelay: true }, accept);
  // With TLS the TCP sockets under the TLS ones: one still in its handshake is owned by no
  // one yet, and destroyConnections() ends it too.
  if (tls !== undefined) {
    server.on('connection', (raw: Socket) => {
      open.add(raw);
      raw.once('close', () => open.delete(raw));
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    identities: tls?.identities,
    close: () =>
      new Promise<void>((resolve) => {
        tls?.stopWatching();
        server.close(() => resolve());
        opts.http1.closeAllConnections();
        for (const socket of sniffing) socket.destroy();
      }),
    destroyConnections: () => {
      for (const socket of open) socket.destroy();
    },
  };
}

/** Reads a connection's first bytes and hands it on; `handedOn` is called once it is. */
function sniff(socket: Socket, opts: FrontDoorOptions, handedOn: () => void): void {
  let buf: Buffer = Buffer.alloc(0);
  let h2: H2Sniff | undefined;
  // Runs until the connection is handed on: past the preface too, until the first header block.
  const timer = setTimeout(() => {
    opts.onLimit?.('handshake', socket.remoteAddress ?? '');
    socket.destroy();
  }, opts.handshakeTimeoutMs ?? PROTOCOL_SNIFF_TIMEOUT_MS);
  const detach = (): void => {
    handedOn();
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('end', onError);
    socket.pause();
  };
  const onError = (): void => {
    detach();
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    if (h2 !== undefined) {
      h2.feed(chunk);
      return;
    }
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const n = Math.min(buf.length, CLIENT_PREFACE.length);
    if (!buf.subarray(0, n).equals(CLIENT_PREFACE.subarray(0, n))) {
      detach();
      // node:http parses from the socket's handle directly, so the bytes already read are
      // handed to it as the 'data' event it listens to.
      opts.http1.emit('connection', socket);
      socket.emit('data', buf);
      socket.resume();
      return;
    }
    if (buf.length < CLIENT_PREFACE.length) return;
    socket.write(EMPTY_SETTINGS);
    h2 = new H2Sniff(socket, opts, detach);
    h2.feed(buf.subarray(CLIENT_PREFACE.length));
  };
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('end', onError);
}

/** Reads an HTTP/2 connection's frames up to its first complete header block; then decides. */
class H2Sniff {
  private pending: Buffer = Buffer.alloc(0);
  /** What the server will be given: the preface and every frame not answered here. */
  private readonly kept: Buffer[] = [CLIENT_PREFACE];
  private keptBytes = CLIENT_PREFACE.length;
  private settingsAcked = false;
  private decision: 'pass' | 'rewrite' | undefined;
  private done = false;
  private readonly assembler = new HeaderBlockAssembler();

  constructor(
    private readonly socket: Socket,
    private readonly opts: FrontDoorOptions,
    private readonly detach: () => void,
  ) {}

  feed(chunk: Buffer): void {
    if (this.done) return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    try {
      this.readFrames();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private readFrames(): void {
    while (this.pending.length >= FRAME_HEADER_BYTES) {
      const h = readFrameHeader(this.pending, 0);
      const size = FRAME_HEADER_BYTES + h.length;
      if (this.keptBytes + size > H2_SNIFF_BYTES_MAX) return this.handOver('rewrite');
      if (this.pending.length < size) return;
      const frame = this.pending.subarray(0, size);
      this.pending = this.pending.subarray(size);
      this.onFrame(h, frame);
      if (this.decision === 'rewrite' || (this.decision === 'pass' && this.settingsAcked)) {
        return this.handOver(this.decision);
      }
    }
  }

  private onFrame(h: ReturnType<typeof readFrameHeader>, frame: Buffer): void {
    const payload = frame.subarray(FRAME_HEADER_BYTES);
    if (h.type === FrameType.SETTINGS && (h.flags & Flag.ACK) !== 0 && !this.settingsAcked) {
      this.settingsAcked = true; // the ACK of EMPTY_SETTINGS: the server never sent that frame
      return;
    }
    if (h.type === FrameType.PING && (h.flags & Flag.ACK) === 0 && h.length === PING_PAYLOAD_BYTES) {
      this.socket.write(Buffer.concat([frameHeader(PING_PAYLOAD_BYTES, FrameType.PING, Flag.ACK, 0), payload]));
      return;
    }
    this.kept.push(frame);
    this.keptBytes += frame.length;
    if (this.decision !== undefined) return;
    if (h.type === FrameType.HEADERS || h.type === FrameType.CONTINUATION || this.assembler.inBlock) {
      const block = this.assembler.add(h, payload);
      if (block !== undefined) {
        // A throwaway decoder: the first block of a connection; the server decodes it again.
        this.decision = needsAuthorityRepair(new HpackDecoder().decode(block.fragment)) ? 'rewrite' : 'pass';
      }
    }
  }

  private handOver(how: 'pass' | 'rewrite'): void {
    this.done = true;
    this.detach();
    const bytes = Buffer.concat([...this.kept, this.pending]);
    if (how === 'pass') {
      // Node's HTTP/2 session reads what the socket has buffered before its own reads.
      this.socket.unshift(bytes);
      this.opts.http2(this.socket);
      return;
    }
    const host = this.socket.localAddress ?? '127.0.0.1';
    const rewriter = new ClientStreamRewriter({
      dropFirstSettingsAck: !this.settingsAcked,
      fallbackAuthority: `${host.includes(':') ? `[${host}]` : host}:${this.socket.localPort ?? 0}`,
    });
    this.opts.http2(rewritingConnection(this.socket, rewriter, bytes, this.opts));
  }

  private fail(err: Error): void {
    this.done = true;
    this.detach();
    this.opts.onProtocolError?.(err);
    this.socket.destroy();
  }
}

/** A Duplex over `socket` whose readable side is the rewritten client stream. */
function rewritingConnection(socket: Socket, rewriter: ClientStreamRewriter, first: Buffer, opts: FrontDoorOptions): Duplex {
  const conn = new Duplex({
    read: () => {
      socket.resume();
    },
    write: (chunk: Buffer, _enc, cb) => {
      socket.write(chunk, cb);
    },
    final: (cb) => {
      socket.end(cb);
    },
    destroy: (err, cb) => {
      socket.destroy(err ?? undefined);
      cb(err);
    },
  });
  const feed = (chunk: Buffer): void => {
    let more = true;
    try {
      for (const b of rewriter.push(chunk)) more = conn.push(b) && more;
    } catch (err) {
      opts.onProtocolError?.(err as Error);
      conn.destroy();
      return;
    }
    if (!more) socket.pause();
  };
  socket.on('data', feed);
  socket.on('end', () => conn.push(null));
  socket.on('error', (err) => conn.destroy(err));
  socket.on('close', () => conn.destroy());
  // grpc-js and Node read the peer address for logs and call.getPeer().
  // bytesWritten: the keepalive ping policy tells data sent from PING answers by it (connection-limits.ts).
  for (const key of ['remoteAddress', 'remotePort', 'remoteFamily', 'localAddress', 'localPort', 'bytesWritten'] as const) {
    Object.defineProperty(conn, key, { get: () => socket[key] });
  }
  feed(first);
  return conn;
}

/**
 * Answers a connection over a limit in its own protocol once its first bytes show which:
 * HTTP/2 gets SETTINGS then GOAWAY ENHANCE_YOUR_CALM with `reason` as debug data (grpc-go and
 * grpc-js clients show it), HTTP/1.1 a 429 with `reason` as the body; then it is closed.
 */
function refuse(socket: Socket, reason: string): void {
  const linger = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  socket.on('error', () => socket.destroy());
  socket.once('data', (chunk: Buffer) => {
    const n = Math.min(chunk.length, CLIENT_PREFACE.length);
    const text = Buffer.from(reason, 'utf8');
    if (chunk.subarray(0, n).equals(CLIENT_PREFACE.subarray(0, n))) {
      const payload = Buffer.alloc(8);
      payload.writeUInt32BE(ENHANCE_YOUR_CALM, 4); // last stream id 0: no call was taken
      socket.end(Buffer.concat([EMPTY_SETTINGS, frameHeader(8 + text.length, FrameType.GOAWAY, 0, 0), payload, text]));
    } else {
      socket.end(`HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\nConnection: close\r\n\r\n${reason}\n`);
    }
  });
}

/** HTTP/2's ENHANCE_YOUR_CALM error code (RFC 9113 §7). */
const ENHANCE_YOUR_CALM = 0xb;
