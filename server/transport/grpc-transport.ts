// The grpc-js Transport: this node's RaftPeer server (receiving) and one PeerSender per
// peer (sending). Hot path per Ready: send() sorts messages into the per-peer bounded
// queues; one microtask later each queue goes out as one encoded MessageBatch frame. The
// receiving side decodes a frame and hands the whole batch to onMessages. No JSON, no
// per-message logging, no per-message events (events are per frame).

import {
  Client, Metadata, Server, ServerCredentials, status, type ChannelCredentials,
  type ServerReadableStream, type ServerUnaryCall, type ServiceError, type sendUnaryData,
} from '@grpc/grpc-js';
import { decodeMessageBatch } from '../../proto/raft-codec.js';
import { assert } from '../util/assert.js';
import { MessageType, type Message, type NodeId } from '../raft/types.js';
import { grpcChannelOptions, resolveLimits, type TransportLimits } from './limits.js';
import { PEER_FLOW_CONTROL_WINDOW_BYTES, widenConnectionWindow, widenStreamWindow } from './flow-window.js';
import { PeerSender } from './peer-sender.js';
import {
  callMetadata, checkCallMetadata, grpcTarget, peerService,
  type MembersRequest, type MembersResponse, type PeerService, type ProbeRequest, type ProbeResponse, type SendRequest, type SendResponse,
  type SnapshotChunk, type SnapshotResponse,
} from './peer-proto.js';
import { receiveSnapshot } from './snapshot.js';
import type { SnapshotStatus, Transport, TransportEvent, TransportHandlers } from './transport.js';
import { channelCredentialsFor, type ClientTlsFiles } from '../util/tls-client.js';
import { createTlsListener, type TlsListener, type TlsListenerEvents, type TlsServerFiles } from '../util/tls-server.js';

/** Peer TLS (etcd's --peer-* flags): the listener's files, and what this node dials its peers with. */
export interface PeerTlsOptions {
  /** Serve the peer port over TLS (https:// peer URLs); `clientCertAuth` refuses peers without a certificate the CA signed. */
  server?: TlsServerFiles;
  /** Dial https:// peers with these (the CA to verify them, this node's certificate to present). */
  dial?: ClientTlsFiles;
  events?: TlsListenerEvents;
}

export interface GrpcTransportOptions {
  /** This node's raft id. */
  id: NodeId;
  /** Calls from (and to) another cluster are refused. */
  clusterId: string;
  handlers: TransportHandlers;
  limits?: Partial<TransportLimits>;
  /** Jitter of the reconnect backoff; Math.random unless a test passes a seeded one. */
  random?: () => number;
  /** Absent: plaintext both ways. */
  tls?: PeerTlsOptions;
}

async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  if (bytes.length > 0) yield bytes;
}

export class GrpcTransport implements Transport {
  readonly id: NodeId;
  readonly limits: TransportLimits;
  private readonly clusterId: string;
  private readonly handlers: TransportHandlers;
  private readonly service: PeerService;
  private readonly random: () => number;
  private readonly peers = new Map<NodeId, PeerSender>();
  private server: Server | undefined;
  private tlsListener: TlsListener | undefined;
  /** Open TLS peer connections, destroyed on close (the listener's close waits for them). */
  private readonly tlsSockets = new Set<import('node:net').Socket>();
  private readonly tls: PeerTlsOptions | undefined;
  private closed = false;

  constructor(opts: GrpcTransportOptions) {
    assert(Number.isSafeInteger(opts.id) && opts.id > 0, `transport id ${opts.id}: must be a positive integer`);
    assert(opts.clusterId.length > 0, 'transport cluster id must not be empty');
    this.id = opts.id;
    this.clusterId = opts.clusterId;
    this.handlers = opts.handlers;
    this.limits = resolveLimits(opts.limits);
    this.service = peerService();
    this.random = opts.random ?? Math.random;
    this.tls = opts.tls;
  }

  /** What a peer URL is dialled with: TLS for https:// (or when dial files are set), else plaintext. */
  private readonly credentials = (url: string): ChannelCredentials => channelCredentialsFor(url, this.tls?.dial);

  private readonly emit = (event: TransportEvent): void => {
    this.handlers.onEvent?.(event);
  };

  async start(listenAddr: string): Promise<{ port: number }> {
    assert(this.server === undefined && !this.closed, 'transport: start() called twice or after close()');
    const server = new Server(grpcChannelOptions(this.limits));
    // A snapshot or a large append must not move 64 KiB per round trip (flow-window.ts).
    const widened = widenStreamWindow(server, PEER_FLOW_CONTROL_WINDOW_BYTES);
    server.addService(this.service.definition, {
      Send: (call: ServerReadableStream<SendRequest, SendResponse>, cb: sendUnaryData<SendResponse>) =>
        this.serveSend(call, cb),
      SendSnapshot: (call: ServerReadableStream<SnapshotChunk, SnapshotResponse>, cb: sendUnaryData<SnapshotResponse>) =>
        this.serveSnapshot(call, cb),
      Probe: (call: ServerUnaryCall<ProbeRequest, ProbeResponse>, cb: sendUnaryData<ProbeResponse>) =>
        this.serveProbe(call, cb),
      Members: (call: ServerUnaryCall<MembersRequest, MembersResponse>, cb: sendUnaryData<MembersResponse>) =>
        this.serveMembers(call, cb),
    });
    this.server = server;
    const port = this.tls?.server !== undefined
      ? await this.listenTls(server, listenAddr, this.tls.server)
      : await new Promise<number>((resolve, reject) => {
        server.bindAsync(grpcTarget(listenAddr), ServerCredentials.createInsecure(), (err, p) =>
          err !== null ? reject(err) : resolve(p));
      });
    if (!(widened && widenConnectionWindow(server, PEER_FLOW_CONTROL_WINDOW_BYTES))) {
      this.emit({ type: 'flow-window-default', reason: 'grpc-js internals (commonServerOptions, http2Servers) not as expected' });
    }
    return { port };
  }

  /**
   * The peer port over TLS: a node:tls listener (server/util/tls-server.ts: --peer-client-cert-auth,
   * certificate reload) hands each verified connection to grpc-js's connection injector, as the
   * client port's front door does. grpc-js's own TLS server would not reload files nor take
   * --cipher-suites.
   */
  private async listenTls(server: Server, listenAddr: string, files: TlsServerFiles): Promise<number> {
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    const listener = createTlsListener(files, ['h2'], (socket) => injector.injectConnection(socket), this.tls?.events);
    listener.server.on('connection', (socket: import('node:net').Socket) => {
      this.tlsSockets.add(socket);
      socket.once('close', () => this.tlsSockets.delete(socket));
    });
    this.tlsListener = listener;
    const target = grpcTarget(listenAddr);
    const colon = target.lastIndexOf(':');
    const host = target.slice(0, colon).replace(/^\[|\]$/g, '');
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen(Number(target.slice(colon + 1)), host, () => {
        listener.server.off('error', reject);
        resolve();
      });
    });
    return (listener.server.address() as { port: number }).port;
  }

  addPeer(id: NodeId, url: string): void {
    assert(!this.peers.has(id), `transport: peer ${id} added twice`);
    assert(id !== this.id, `transport: peer id ${id} is this node's own id`);
    if (this.closed) return;
    this.peers.set(id, new PeerSender(id, url, {
      localId: this.id,
      clusterId: this.clusterId,
      limits: this.limits,
      service: this.service,
      random: this.random,
      credentials: this.credentials,
      emit: this.emit,
      onUnreachable: (peer) => {
        if (!this.closed) this.handlers.onUnreachable(peer);
      },
    }));
  }

  updatePeer(id: NodeId, url: string): void {
    const peer = this.peers.get(id);
    assert(peer !== undefined || this.closed, `transport: updatePeer(${id}) of an unknown peer`);
    peer?.updateUrl(url);
  }

  removePeer(id: NodeId): void {
    this.peers.get(id)?.close();
    this.peers.delete(id);
  }

  hasPeer(id: NodeId): boolean {
    return this.peers.has(id);
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      if (m.type === MessageType.Snap) {
        this.sendSnapMessage(m);
        continue;
      }
      const peer = this.peers.get(m.to);
      if (peer !== undefined) peer.enqueue(m);
      else this.emit({ type: 'messages-dropped', peer: m.to, messages: 1, reason: this.closed ? 'closed' : 'unknown-peer' });
    }
  }

  private sendSnapMessage(m: Message): void {
    let data: AsyncIterable<Uint8Array>;
    try {
      data = this.handlers.openSnapshot?.(m) ?? single(m.snapshot?.data ?? new Uint8Array(0));
    } catch (err) {
      // Reported like any failed send: through onSnapshotStatus, never thrown from send().
      data = { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }) };
    }
    void this.sendSnapshot(m.to, m, data);
  }

  async sendSnapshot(to: NodeId, message: Message, data: AsyncIterable<Uint8Array>): Promise<SnapshotStatus> {
    const peer = this.peers.get(to);
    // Awaited even when failing at once, so handlers are never called from inside send().
    const result: SnapshotStatus = await (peer?.sendSnapshot(message, data) ?? Promise.resolve('failure' as const));
    if (!this.closed) this.handlers.onSnapshotStatus(to, result);
    return result;
  }

  /** True when the peer answers a Probe within limits.probeTimeoutMs. */
  async probe(url: string, to: NodeId): Promise<boolean> {
    const client = new Client(grpcTarget(url), this.credentials(url), grpcChannelOptions(this.limits));
    const def = this.service.probe;
    try {
      return await new Promise<boolean>((resolve) => {
        client.makeUnaryRequest<ProbeRequest, ProbeResponse>(
          def.path, def.requestSerialize, def.responseDeserialize, { from: this.id },
          callMetadata(this.clusterId, this.id, to), { deadline: Date.now() + this.limits.probeTimeoutMs },
          (err: ServiceError | null, res?: ProbeResponse) => resolve(err === null && res?.id === to),
        );
      });
    } finally {
      client.close();
    }
  }

  /**
   * Asks whoever listens at `url` for its member list (one attempt, limits.membersTimeoutMs).
   * Answers the list, or the reason the call failed (a gRPC status text).
   */
  async fetchMembers(url: string): Promise<MembersResponse | { error: string }> {
    const client = new Client(grpcTarget(url), this.credentials(url), grpcChannelOptions(this.limits));
    const def = this.service.members;
    try {
      return await new Promise((resolve) => {
        client.makeUnaryRequest<MembersRequest, MembersResponse>(
          def.path, def.requestSerialize, def.responseDeserialize, { from: this.id },
          callMetadata(this.clusterId, this.id, 0), { deadline: Date.now() + this.limits.membersTimeoutMs },
          (err: ServiceError | null, res?: MembersResponse) =>
            resolve(err === null && res !== undefined ? res : { error: err?.details ?? 'no response' }),
        );
      });
    } finally {
      client.close();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    // Incoming peer streams never end on their own, so a graceful shutdown would wait forever.
    this.server?.forceShutdown();
    this.server = undefined;
    if (this.tlsListener !== undefined) {
      this.tlsListener.stopWatching();
      const tcp = this.tlsListener.server;
      this.tlsListener = undefined;
      for (const s of this.tlsSockets) s.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    }
  }

  // ---- receiving side ----

  private accept(method: string, md: Metadata, anyTo = false): NodeId | { code: status; details: string } {
    const from = checkCallMetadata(md, this.clusterId, this.id, anyTo);
    if (typeof from !== 'number') this.emit({ type: 'call-refused', method, reason: from.details });
    // A peer that calls us is up: a sender backing off from it (it was down, or not yet
    // started, as a member just added) reconnects now instead of at the end of a backoff
    // of up to backoffMaxMs, which was most of a new member's wait for its snapshot.
    else this.peers.get(from)?.peerIsUp();
    return from;
  }

  private serveSend(call: ServerReadableStream<SendRequest, SendResponse>, callback: sendUnaryData<SendResponse>): void {
    const from = this.accept('Send', call.metadata);
    if (typeof from !== 'number') return callback(from);
    // Headers now tell the sender the stream is accepted (it resets its backoff on them).
    call.sendMetadata(new Metadata());
    let done = false;
    call.on('data', (req: SendRequest) => {
      if (done || this.closed) return;
      let messages: Message[];
      try {
        messages = decodeMessageBatch(req.batch);
      } catch (err) {
        done = true;
        const details = `undecodable message batch from ${from}: ${(err as Error).message}`;
        this.emit({ type: 'call-refused', method: 'Send', reason: details });
        return callback({ code: status.INVALID_ARGUMENT, details });
      }
      this.emit({ type: 'messages-received', peer: from, messages: messages.length, bytes: req.batch.length });
      this.handlers.onMessages(messages);
    });
    call.on('end', () => {
      if (!done) callback(null, {});
      done = true;
    });
    // A sender that goes away surfaces here; its next stream starts afresh.
    call.on('error', () => {
      done = true;
    });
  }

  private serveSnapshot(
    call: ServerReadableStream<SnapshotChunk, SnapshotResponse>,
    callback: sendUnaryData<SnapshotResponse>,
  ): void {
    const from = this.accept('SendSnapshot', call.metadata);
    if (typeof from !== 'number') return callback(from);
    call.on('error', () => {}); // the chunk iterator reports it to onSnapshot
    void receiveSnapshot(call, callback, from, {
      clusterId: this.clusterId,
      onSnapshot: (message, chunks) => this.handlers.onSnapshot(message, chunks),
      onMessages: (messages) => {
        if (!this.closed) this.handlers.onMessages(messages);
      },
      onReceived: (peer, bytes, ok, reason) => this.emit({ type: 'snapshot-received', peer, bytes, ok, reason }),
    });
  }

  private serveProbe(call: ServerUnaryCall<ProbeRequest, ProbeResponse>, callback: sendUnaryData<ProbeResponse>): void {
    const from = this.accept('Probe', call.metadata);
    if (typeof from !== 'number') return callback(from);
    callback(null, { id: this.id });
  }

  private serveMembers(call: ServerUnaryCall<MembersRequest, MembersResponse>, callback: sendUnaryData<MembersResponse>): void {
    const from = this.accept('Members', call.metadata, true);
    if (typeof from !== 'number') return callback(from);
    callback(null, { id: this.id, members: this.handlers.listMembers?.() ?? [] });
  }
}
