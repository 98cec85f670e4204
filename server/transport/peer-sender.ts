// Everything this node sends to one peer: a bounded queue, one long-lived Send stream
// that carries the queue in batches, reconnection with backoff, and at most one snapshot
// in flight on its own call.
//
// States of the stream: none (no call; opened by the next flush), open (a call exists;
// 'metadata' from the receiver means it is established), backoff (a timer; the queue still
// fills, bounded, and is flushed by the stream opened when the timer fires).

import { Client, type ChannelCredentials, type ClientWritableStream, type ServiceError } from '@grpc/grpc-js';
import { encodeMessage, encodeMessageBatch, encodeSnapshotMetadata } from '../../proto/raft-codec.js';
import { assert } from '../util/assert.js';
import type { Message, NodeId } from '../raft/types.js';
import { grpcChannelOptions, type TransportLimits } from './limits.js';
import { callMetadata, grpcTarget, type PeerService, type SendRequest, type SendResponse } from './peer-proto.js';
import { streamSnapshot } from './snapshot.js';
import type { DropReason, SnapshotStatus, TransportEvent } from './transport.js';

/** Fixed bytes counted per message on top of entries and context (ids, term, index...). */
const MESSAGE_OVERHEAD_BYTES = 64;
/** Entry bytes beyond data (term, index, type, framing). */
const ENTRY_OVERHEAD_BYTES = 24;
/** Consumed queue slots kept before the array is compacted. */
const QUEUE_COMPACT_SLOTS_MIN = 1024;

export function messageSizeEstimate(m: Message): number {
  let size = MESSAGE_OVERHEAD_BYTES + m.context.length;
  for (const e of m.entries) size += e.data.length + ENTRY_OVERHEAD_BYTES;
  if (m.snapshot !== undefined) size += m.snapshot.data.length;
  return size;
}

export interface PeerSenderContext {
  localId: NodeId;
  clusterId: string;
  limits: TransportLimits;
  service: PeerService;
  random: () => number;
  /** Credentials to dial a peer URL with (TLS for https:// peers). */
  credentials(url: string): ChannelCredentials;
  emit(event: TransportEvent): void;
  onUnreachable(id: NodeId): void;
}

export class PeerSender {
  private client: Client;
  // FIFO as an array with a head index: shift() would be O(n) per message.
  private queue: Message[] = [];
  private sizes: number[] = [];
  private head = 0;
  private queuedBytes = 0;
  private dropped = 0;
  private dropReason: DropReason = 'queue-full';
  private flushScheduled = false;
  private call: ClientWritableStream<SendRequest> | undefined;
  private writesInflight = 0;
  private awaitingDrain = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** The snapshot in flight to this peer, if any. */
  private snapshot: { abort: AbortController; result: Promise<SnapshotStatus> } | undefined;
  private closed = false;

  constructor(readonly id: NodeId, private url: string, private readonly ctx: PeerSenderContext) {
    this.client = this.newClient(url);
  }

  private newClient(url: string): Client {
    return new Client(grpcTarget(url), this.ctx.credentials(url), grpcChannelOptions(this.ctx.limits));
  }

  /** Queues one message; a drop is counted and reported from the next flush. */
  enqueue(m: Message): void {
    const size = messageSizeEstimate(m);
    const limits = this.ctx.limits;
    if (this.closed || size > limits.queueBytesMax ||
        this.queue.length - this.head >= limits.queueMessagesMax || this.queuedBytes + size > limits.queueBytesMax) {
      this.dropped++;
      this.dropReason = this.closed ? 'closed' : size > limits.queueBytesMax ? 'too-large' : 'queue-full';
    } else {
      this.queue.push(m);
      this.sizes.push(size);
      this.queuedBytes += size;
    }
    this.scheduleFlush();
  }

  queuedMessages(): number {
    return this.queue.length - this.head;
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // A microtask: every message queued in this turn (one Ready) shares a frame, and
    // handlers are never called from inside send().
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.dropped > 0) {
      this.ctx.emit({ type: 'messages-dropped', peer: this.id, messages: this.dropped, reason: this.dropReason });
      this.dropped = 0;
      if (!this.closed) this.ctx.onUnreachable(this.id);
    }
    if (this.closed || this.head === this.queue.length) return;
    if (this.call === undefined) {
      if (this.reconnectTimer !== undefined) return; // backing off; the timer flushes
      this.openStream();
    }
    const call = this.call;
    assert(call !== undefined, 'peer stream must be open after openStream');
    while (this.head < this.queue.length && this.writesInflight < this.ctx.limits.writesInflightMax && !this.awaitingDrain) {
      this.writeBatch(call);
    }
  }

  /** Writes everything queued up to batchBytesMax (at least one message) as one frame. */
  private writeBatch(call: ClientWritableStream<SendRequest>): void {
    const start = this.head;
    let bytes = this.sizes[start]!;
    let end = start + 1;
    while (end < this.queue.length && bytes + this.sizes[end]! <= this.ctx.limits.batchBytesMax) {
      bytes += this.sizes[end]!;
      end++;
    }
    const batch = encodeMessageBatch(this.queue.slice(start, end));
    this.advanceHead(end, bytes);
    this.writesInflight++;
    const more = call.write({ batch }, () => {
      if (this.call !== call) return; // a write callback of a stream we already left
      this.writesInflight--;
      this.scheduleFlush();
    });
    if (!more) this.awaitingDrain = true;
    this.ctx.emit({ type: 'messages-sent', peer: this.id, messages: end - start, bytes: batch.length });
  }

  private advanceHead(end: number, bytes: number): void {
    this.queuedBytes -= bytes;
    this.head = end;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.sizes.length = 0;
      this.head = 0;
    } else if (this.head >= QUEUE_COMPACT_SLOTS_MIN && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
  }

  private openStream(): void {
    const def = this.ctx.service.send;
    const md = callMetadata(this.ctx.clusterId, this.ctx.localId, this.id);
    const call: ClientWritableStream<SendRequest> = this.client.makeClientStreamRequest<SendRequest, SendResponse>(
      def.path, def.requestSerialize, def.responseDeserialize, md, {},
      (err: ServiceError | null) => this.onStreamEnd(call, err),
    );
    this.call = call;
    this.writesInflight = 0;
    this.awaitingDrain = false;
    // The receiver sends headers once it accepted the call: the stream is up.
    call.on('metadata', () => {
      if (this.call !== call) return;
      this.failures = 0;
      this.ctx.emit({ type: 'peer-connected', peer: this.id });
    });
    call.on('drain', () => {
      if (this.call !== call) return;
      this.awaitingDrain = false;
      this.scheduleFlush();
    });
    // Errors arrive through the callback above; this keeps an 'error' event from crashing.
    call.on('error', () => {});
  }

  private onStreamEnd(call: ClientWritableStream<SendRequest>, err: ServiceError | null): void {
    if (this.call !== call) return;
    this.call = undefined;
    if (this.closed) return;
    // Frames written to the broken stream are lost; raft retransmits what matters once
    // it knows the peer was unreachable.
    this.failures++;
    this.ctx.emit({ type: 'send-failure', peer: this.id, reason: err?.details ?? 'the peer ended the stream' });
    this.ctx.onUnreachable(this.id);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.scheduleFlush();
    }, this.backoffMs());
  }

  /** The peer was heard from: if we are backing off from it, reconnect now, on a fresh
   *  channel (grpc-js's own channel keeps a reconnect backoff of its own). */
  peerIsUp(): void {
    if (this.reconnectTimer === undefined || this.closed) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.failures = 0;
    const old = this.client;
    this.client = this.newClient(this.url);
    old.close(); // a call still on it (a snapshot) carries on
    this.scheduleFlush();
  }

  private backoffMs(): number {
    const l = this.ctx.limits;
    const base = Math.min(l.backoffMaxMs, l.backoffInitialMs * 2 ** Math.min(this.failures - 1, 30));
    return base * (1 - l.backoffJitter + 2 * l.backoffJitter * this.ctx.random());
  }

  /**
   * Streams a snapshot on its own call; never rejects. One at a time: while one is in
   * flight, another request (raft asking again, e.g. under a new term) gets the outcome
   * of the one in flight instead of a second stream. Answering it 'failure' at once, as
   * before, made raft probe and ask again at every heartbeat: ~10 sends and failures a
   * second for as long as the real transfer ran (issue 20).
   */
  sendSnapshot(message: Message, data: AsyncIterable<Uint8Array>): Promise<SnapshotStatus> {
    if (this.closed || message.snapshot === undefined) {
      const reason = this.closed ? 'closed' : 'a Snap message without a snapshot';
      this.ctx.emit({ type: 'snapshot-sent', peer: this.id, bytes: 0, status: 'failure', reason });
      return Promise.resolve('failure');
    }
    if (this.snapshot !== undefined) return this.snapshot.result;
    const abort = new AbortController();
    const result = this.streamSnapshot(message, message.snapshot.metadata, data, abort.signal);
    const inflight = { abort, result };
    this.snapshot = inflight;
    void result.finally(() => {
      if (this.snapshot === inflight) this.snapshot = undefined;
    });
    return result;
  }

  private async streamSnapshot(
    message: Message, metadata: NonNullable<Message['snapshot']>['metadata'], data: AsyncIterable<Uint8Array>, signal: AbortSignal,
  ): Promise<SnapshotStatus> {
    try {
      const bytes = await streamSnapshot({
        client: this.client,
        service: this.ctx.service,
        metadata: callMetadata(this.ctx.clusterId, this.ctx.localId, this.id),
        header: {
          from: this.ctx.localId,
          clusterId: this.ctx.clusterId,
          metadata: encodeSnapshotMetadata(metadata),
          message: encodeMessage(message),
        },
        data,
        limits: this.ctx.limits,
        signal,
      });
      this.ctx.emit({ type: 'snapshot-sent', peer: this.id, bytes, status: 'finish', reason: '' });
      return 'finish';
    } catch (err) {
      const reason = (err as Partial<ServiceError>).details ?? (err as Error).message;
      this.ctx.emit({ type: 'snapshot-sent', peer: this.id, bytes: 0, status: 'failure', reason });
      return 'failure';
    }
  }

  /** Points the sender at a new URL: the stream restarts there with the queue kept. */
  updateUrl(url: string): void {
    if (url === this.url) return;
    const old = this.client;
    this.client = this.newClient(url);
    this.url = url;
    this.failures = 0;
    this.dropStream();
    this.snapshot?.abort.abort();
    old.close();
    this.scheduleFlush();
  }

  private dropStream(): void {
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dropStream();
    this.snapshot?.abort.abort();
    this.queue.length = 0;
    this.sizes.length = 0;
    this.head = 0;
    this.queuedBytes = 0;
    this.client.close();
  }
}
