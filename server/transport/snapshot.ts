// Snapshot streaming on its own SendSnapshot call: the sender side (header, then data in
// bounded chunks within a small write window) and the receiver side (see the order of
// events in transport.ts). Raft's Snap message travels inside the header; the state it
// describes travels as the data chunks.

import { status, type Client, type ClientWritableStream, type Metadata, type ServerReadableStream, type ServiceError, type sendUnaryData } from '@grpc/grpc-js';
import { decodeMessage, decodeSnapshotMetadata } from '../../proto/raft-codec.js';
import { MessageType, type Message, type NodeId } from '../raft/types.js';
import type { PeerService, SnapshotChunk, SnapshotHeader, SnapshotResponse } from './peer-proto.js';
import type { TransportLimits } from './limits.js';

/**
 * Re-cuts a byte stream into pieces of at most `max` bytes. Large chunks are sliced without
 * copying; runs of small ones are packed into one buffer, so a source that yields one
 * key-value pair at a time does not cost one gRPC frame each. A source must not reuse a
 * chunk's memory after yielding it (slices of it may still be queued for writing).
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>, max: number): AsyncGenerator<Uint8Array> {
  let buf: Uint8Array | undefined;
  let fill = 0;
  for await (const chunk of source) {
    let off = 0;
    if (buf !== undefined) {
      const n = Math.min(max - fill, chunk.length);
      buf.set(chunk.subarray(0, n), fill);
      fill += n;
      off = n;
      if (fill < max) continue; // the whole chunk fit
      yield buf;
      buf = undefined;
      fill = 0;
    }
    // Invariant: buf === undefined here.
    while (chunk.length - off >= max) {
      yield chunk.subarray(off, off + max);
      off += max;
    }
    if (off < chunk.length) {
      buf = new Uint8Array(max);
      buf.set(chunk.subarray(off), 0);
      fill = chunk.length - off;
    }
  }
  if (buf !== undefined) yield buf.subarray(0, fill);
}

interface WritableCall<T> {
  write(msg: T, cb: () => void): boolean;
  on(event: 'drain', listener: () => void): unknown;
}

/** At most `max` writes not yet taken by the HTTP/2 stream, and none while grpc-js asks
 *  us to wait for 'drain'. `ended` rejects when the call is over, so a waiter never hangs. */
class WriteWindow<T> {
  private inflight = 0;
  private needDrain = false;
  private wake: (() => void) | undefined;

  constructor(private readonly call: WritableCall<T>, private readonly max: number, private readonly ended: Promise<never>) {
    call.on('drain', () => {
      this.needDrain = false;
      this.wakeUp();
    });
  }

  async write(msg: T): Promise<void> {
    while (this.inflight >= this.max || this.needDrain) {
      await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), this.ended]);
    }
    this.inflight++;
    const more = this.call.write(msg, () => {
      this.inflight--;
      this.wakeUp();
    });
    if (!more) this.needDrain = true;
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

export interface SnapshotSend {
  client: Client;
  service: PeerService;
  metadata: Metadata;
  header: SnapshotHeader;
  data: AsyncIterable<Uint8Array>;
  limits: TransportLimits;
  signal: AbortSignal;
}

const MIB = 1024 * 1024;

/**
 * The size-scaled deadline of one snapshot send (limits.snapshotDeadline*): base plus a
 * share per MiB sent so far, checked by one timer re-armed for the current deadline.
 * `onExpired` runs once, with a reason a person can act on.
 */
class SnapshotDeadline {
  private readonly startedAt = Date.now();
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly limits: TransportLimits, private readonly onExpired: (reason: string) => void) {
    this.arm();
  }

  sent(bytes: number): void {
    this.bytes = bytes;
  }

  private deadline(): number {
    return this.startedAt + this.limits.snapshotDeadlineBaseMs + (this.bytes / MIB) * this.limits.snapshotDeadlineMsPerMiB;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      if (Date.now() < this.deadline()) return this.arm(); // bytes moved meanwhile
      this.timer = undefined;
      const mib = (this.bytes / MIB).toFixed(1);
      this.onExpired(`snapshot not reported within ${Date.now() - this.startedAt} ms (${mib} MiB sent; ` +
        `deadline ${this.limits.snapshotDeadlineBaseMs} ms + ${this.limits.snapshotDeadlineMsPerMiB} ms per MiB)`);
    }, Math.max(1, this.deadline() - Date.now()));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * Streams one snapshot; resolves with the data bytes the receiver confirmed, or throws.
 * The receiver answers once it installed the state, so this also waits for that, within
 * the size-scaled deadline (SnapshotDeadline); past it the call is cancelled.
 */
export async function streamSnapshot(s: SnapshotSend): Promise<number> {
  const def = s.service.sendSnapshot;
  let call!: ClientWritableStream<SnapshotChunk>;
  const answer = new Promise<SnapshotResponse>((resolve, reject) => {
    call = s.client.makeClientStreamRequest<SnapshotChunk, SnapshotResponse>(
      def.path, def.requestSerialize, def.responseDeserialize, s.metadata, {},
      (err: ServiceError | null, res?: SnapshotResponse) =>
        err !== null || res === undefined ? reject(err ?? new Error('no response')) : resolve(res),
    );
  });
  // While we are still writing, any end of the call is a failure (an early OK included).
  const ended = answer.then(() => {
    throw new Error('the receiver answered before the snapshot was complete');
  });
  ended.catch(() => {});
  answer.catch(() => {});
  // Errors arrive through the callback; this listener keeps an 'error' event from crashing.
  call.on('error', () => {});
  let expired: string | undefined;
  const deadline = new SnapshotDeadline(s.limits, (reason) => {
    expired = reason;
    call.cancel();
  });
  const onAbort = (): void => call.cancel();
  s.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const window = new WriteWindow<SnapshotChunk>(call, s.limits.snapshotWritesInflightMax, ended);
    await window.write({ header: s.header });
    let bytes = 0;
    for await (const piece of rechunk(s.data, s.limits.snapshotChunkBytesMax)) {
      if (s.signal.aborted) throw new Error('snapshot send aborted');
      await window.write({ data: piece });
      bytes += piece.length;
      deadline.sent(bytes);
    }
    await window.write({ trailer: { totalBytes: bytes } });
    call.end();
    const res = await answer;
    if (res.receivedBytes !== bytes) {
      throw new Error(`the receiver took ${res.receivedBytes} snapshot bytes of ${bytes}`);
    }
    return bytes;
  } catch (err) {
    call.cancel();
    throw expired !== undefined ? new Error(expired) : err;
  } finally {
    deadline.stop();
    s.signal.removeEventListener('abort', onAbort);
  }
}

export interface SnapshotReceiver {
  clusterId: string;
  onSnapshot(message: Message, chunks: AsyncIterable<Uint8Array>): Promise<void>;
  onMessages(messages: Message[]): void;
  onReceived(from: NodeId, bytes: number, ok: boolean, reason: string): void;
}

function fail(callback: sendUnaryData<SnapshotResponse>, code: status, details: string): void {
  callback({ code, details });
}

/** Serves one SendSnapshot call whose metadata was already accepted. */
export async function receiveSnapshot(
  call: ServerReadableStream<SnapshotChunk, SnapshotResponse>,
  callback: sendUnaryData<SnapshotResponse>,
  from: NodeId,
  r: SnapshotReceiver,
): Promise<void> {
  // A cancelled sender would otherwise leave the chunk iterator waiting forever.
  call.on('cancelled', () => call.destroy(new Error(`snapshot from ${from}: the sender cancelled the stream`)));
  const chunks = call[Symbol.asyncIterator]() as AsyncIterator<SnapshotChunk>;
  let bytes = 0;
  let complete = false;
  try {
    const first = await chunks.next();
    const header = first.done === true || first.value.kind !== 'header' ? undefined : first.value.header;
    if (header === undefined) {
      return fail(callback, status.INVALID_ARGUMENT, 'snapshot stream: the first request must be a header');
    }
    if (header.clusterId !== r.clusterId) {
      return fail(callback, status.FAILED_PRECONDITION,
        `cluster id mismatch: this node is in cluster ${r.clusterId}, the snapshot is from ${header.clusterId}`);
    }
    const message = decodeMessage(header.message);
    if (message.type !== MessageType.Snap || message.snapshot === undefined || message.from !== from ||
        decodeSnapshotMetadata(header.metadata).index !== message.snapshot.metadata.index) {
      return fail(callback, status.INVALID_ARGUMENT,
        `snapshot stream: the header must hold a Snap message from ${from} whose snapshot matches its metadata`);
    }
    // Ends only at a trailer that matches the bytes received; any other end throws, so an
    // incomplete snapshot can never look complete to the installer.
    async function* data(): AsyncGenerator<Uint8Array> {
      for (;;) {
        const next = await chunks.next();
        if (next.done === true) throw new Error(`snapshot stream from ${from} ended without a trailer (cancelled?)`);
        const chunk = next.value;
        if (chunk.kind === 'trailer') {
          if (chunk.trailer.totalBytes !== bytes) {
            throw new Error(`snapshot stream from ${from}: trailer says ${chunk.trailer.totalBytes} bytes, got ${bytes}`);
          }
          complete = true;
          return;
        }
        if (chunk.kind !== 'data') throw new Error(`snapshot stream from ${from}: a second header`);
        bytes += chunk.data.length;
        yield chunk.data;
      }
    }
    await r.onSnapshot(message, data());
    if (!complete) throw new Error('onSnapshot resolved before reading the whole snapshot');
    // Only now is the state in place that the Snap message describes: let raft step it.
    r.onMessages([message]);
    r.onReceived(from, bytes, true, '');
    callback(null, { receivedBytes: bytes });
  } catch (err) {
    const reason = `snapshot from ${from} not installed: ${(err as Error).message}`;
    r.onReceived(from, bytes, false, reason);
    fail(callback, status.ABORTED, reason);
  }
}
