// A test-side edge session over EdgeSync.Sync with raw SyncMessage bytes (the reflection
// codec of sync-wire.ts): tests drive the region's side of the protocol message by message,
// including messages no real edge would send (bad input).

import { Client as GrpcClient, Metadata, credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { encodeDeltaPage } from '../../proto/crdt-codec.js';
import type { CrdtRecord, LwwRecord } from '../../server/crdt/index.js';
import { sleep } from './cluster.js';
import { decodeSyncMessage, encodeSyncMessage, vectorToWire, type HelloMsg, type SyncMsg } from './sync-wire.js';

const raw = (x: Buffer): Buffer => x;

export class SyncPeer {
  readonly got: SyncMsg[] = [];
  private readonly waiters: Array<() => void> = [];
  readonly call: ClientDuplexStream<Buffer, Buffer>;
  private readonly grpc: GrpcClient;
  ended = false;
  /** The gRPC status the stream ended with, if it ended with an error. */
  status: ServiceError | undefined;

  /** `metadata`: sent with the stream (an Auth token, as an edge's user). */
  constructor(readonly endpoint: string, metadata: Metadata = new Metadata()) {
    this.grpc = new GrpcClient(endpoint, credentials.createInsecure());
    this.call = this.grpc.makeBidiStreamRequest('/regionstore.v1.EdgeSync/Sync', raw, raw, metadata);
    this.call.on('data', (buf: Buffer) => {
      try {
        this.got.push(decodeSyncMessage(buf));
      } catch (err) {
        this.got.push({ error: { code: 'test-undecodable', message: String(err), pageId: 0, fatal: false, detail: '' } });
      }
      this.wakeAll();
    });
    const end = (): void => {
      this.ended = true;
      this.wakeAll();
    };
    this.call.on('end', end);
    this.call.on('error', (err: ServiceError) => {
      this.status = err;
      end();
    });
  }

  private wakeAll(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(m: SyncMsg): void {
    this.call.write(Buffer.from(encodeSyncMessage(m)));
  }

  /** Bytes as they are, framed as one gRPC message. */
  sendRaw(bytes: Uint8Array): void {
    this.call.write(Buffer.from(bytes));
  }

  hello(replicaId: string, vectors: Record<string, Record<string, number>>, overrides: Partial<HelloMsg> = {}): void {
    const [, device, inc] = replicaId.split(':');
    this.send({
      hello: {
        protocolVersion: 1, replicaId, deviceId: device ?? '', incarnation: Number(inc), hlc: { wallMs: Date.now(), logical: 0 }, physicalMs: Date.now(),
        vectors: Object.entries(vectors).map(([namespace, v]) => ({ namespace, vector: vectorToWire(v) })),
        acceptEncodings: ['deflate', 'identity'], window: 8, sessionId: `test-${process.pid}-${Date.now()}`, registryRevision: 0, aheadOfYou: [], resync: [],
        ...overrides,
      },
    });
  }

  /** The first message from index `from` on that `pick` accepts. */
  async next<T>(pick: (m: SyncMsg) => T | undefined, from = 0, timeoutMs = 15_000): Promise<{ value: T; at: number }> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ;) {
      for (; i < this.got.length; i++) {
        const v = pick(this.got[i]!);
        if (v !== undefined) return { value: v, at: i };
      }
      const kinds = JSON.stringify(this.got.map((m) => Object.keys(m)[0]));
      if (this.ended) throw new Error(`stream ended (${this.status?.code ?? 'ok'} ${this.status?.details ?? ''}) before the message; got ${kinds}`);
      if (Date.now() > deadline) throw new Error(`timed out; got ${kinds}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(200)]);
    }
  }

  /** Resolves once the stream has ended (true), or false after `timeoutMs`. */
  async endedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(100)]);
    return this.ended;
  }

  close(): void {
    this.call.end();
    this.grpc.close();
  }
}

export const bytesOf = (s: string): Buffer => Buffer.from(s);

export function lwwRecord(origin: string, seq: number, key: string, value: string, wallMs = Date.now()): LwwRecord {
  return { kind: 'lww', key: bytesOf(key), value: bytesOf(value), origin, seq, hlc: { wall: wallMs, logical: 0 } };
}

/** A DELTA of lww records of one origin, seqs [from, to], uncompressed. */
export function lwwDelta(pageId: number, ns: string, origin: string, from: number, to: number, records: CrdtRecord[]): SyncMsg {
  const page = encodeDeltaPage('lww', { ranges: [{ origin, from, to }], records });
  return { delta: { pageId, namespace: ns, encoding: 'identity', page, viewIndex: 0, caughtUp: false, hlc: { wallMs: Date.now(), logical: 0 }, physicalMs: Date.now() } };
}

/** A session on the region leader: any member first; a follower's not-leader names the leader. */
export async function openOnLeader(
  hostPorts: readonly string[], replicaId: string, vectors: Record<string, Record<string, number>>,
): Promise<{ peer: SyncPeer; hello: HelloMsg }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    for (const ep of hostPorts) {
      const peer = new SyncPeer(ep);
      peer.hello(replicaId, vectors);
      const first = await peer.next((m) => ('hello' in m || 'error' in m ? m : undefined)).catch(() => undefined);
      if (first !== undefined && 'hello' in first.value) return { peer, hello: first.value.hello };
      peer.close();
      if (first !== undefined && 'error' in first.value && first.value.error.code === 'not-leader' && first.value.error.detail !== '') {
        const leader = new SyncPeer(first.value.error.detail.replace(/^https?:\/\//, ''));
        leader.hello(replicaId, vectors);
        const h = await leader.next((m) => ('hello' in m || 'error' in m ? m : undefined)).catch(() => undefined);
        if (h !== undefined && 'hello' in h.value) return { peer: leader, hello: h.value.hello };
        leader.close();
      }
    }
    await sleep(300);
  }
  throw new Error('no member hosted the session');
}
