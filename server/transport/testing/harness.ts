// Test helpers: a GrpcTransport on 127.0.0.1 with recording handlers.

import { emptyMessage, MessageType, type Message, type NodeId } from '../../raft/types.js';
import { GrpcTransport } from '../grpc-transport.js';
import type { TransportLimits } from '../limits.js';
import type { SnapshotStatus, TransportEvent, TransportHandlers } from '../transport.js';

export const CLUSTER = 'test-cluster';

export class TestNode {
  readonly received: Message[] = [];
  readonly unreachable: NodeId[] = [];
  readonly snapshotStatus: Array<[NodeId, SnapshotStatus]> = [];
  readonly events: TransportEvent[] = [];
  readonly transport: GrpcTransport;
  port = 0;

  constructor(
    readonly id: NodeId,
    opts: {
      clusterId?: string;
      limits?: Partial<TransportLimits>;
      handlers?: Partial<Pick<TransportHandlers, 'onSnapshot' | 'openSnapshot' | 'listMembers'>>;
    } = {},
  ) {
    this.transport = new GrpcTransport({
      id,
      clusterId: opts.clusterId ?? CLUSTER,
      limits: { backoffInitialMs: 20, backoffMaxMs: 200, ...opts.limits },
      random: () => 0.5,
      handlers: {
        onMessages: (msgs) => {
          for (const m of msgs) this.received.push(m);
        },
        onUnreachable: (peer) => this.unreachable.push(peer),
        onSnapshotStatus: (peer, status) => this.snapshotStatus.push([peer, status]),
        onSnapshot: opts.handlers?.onSnapshot ?? (async (_m, chunks) => {
          for await (const _ of chunks) { /* drain */ }
        }),
        ...(opts.handlers?.openSnapshot ? { openSnapshot: opts.handlers.openSnapshot } : {}),
        ...(opts.handlers?.listMembers ? { listMembers: opts.handlers.listMembers } : {}),
        onEvent: (e) => this.events.push(e),
      },
    });
  }

  async start(port = 0): Promise<this> {
    this.port = (await this.transport.start(`127.0.0.1:${port}`)).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  eventsOf<T extends TransportEvent['type']>(type: T): Array<Extract<TransportEvent, { type: T }>> {
    return this.events.filter((e): e is Extract<TransportEvent, { type: T }> => e.type === type);
  }
}

/** An App message whose `index` orders it and whose one entry carries `dataBytes`. */
export function app(from: NodeId, to: NodeId, index: number, dataBytes = 8): Message {
  const m = emptyMessage(MessageType.App, from, to, 1);
  m.index = index;
  m.entries = [{ term: 1, index: index + 1, type: 0, data: new Uint8Array(dataBytes).fill(index & 0xff) }];
  return m;
}

export function snapMessage(from: NodeId, to: NodeId, index: number): Message {
  const m = emptyMessage(MessageType.Snap, from, to, 2);
  m.snapshot = { metadata: { index, term: 2, confState: { voters: [1, 2, 3], learners: [] } }, data: new Uint8Array(0) };
  return m;
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Deterministic bytes, so a receiver can check what it got without keeping a copy. */
export function patternBytes(offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((offset + i) * 31 + 7) & 0xff;
  return out;
}
