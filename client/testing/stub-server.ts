// A scripted etcd v3 gRPC server for the client's unit tests: each test installs the
// handlers it needs (a handler sees the request and its metadata and answers, fails
// with a gRPC status, or never answers), and the server records every call.

import {
  Server, ServerCredentials, status, type Metadata, type ServerDuplexStream, type ServerUnaryCall, type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { LOADER_OPTIONS, loadEtcdServices } from '../../server/api/proto.js';

/** The regionstore.v1.Crdt service; its handlers are keyed "Crdt.<Method>" (etcd has a Hash too). */
function loadCrdtService(): ServiceDefinition {
  const dir = fileURLToPath(new URL('../../proto', import.meta.url));
  const def = loadSync('regionstore/v1/crdt_service.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
  const pkg = loadPackageDefinition(def) as unknown as { regionstore: { v1: { Crdt: { service: ServiceDefinition } } } };
  return pkg.regionstore.v1.Crdt.service;
}

export interface RecordedCall {
  method: string;
  request: Record<string, unknown>;
  clientId: string | undefined;
  seq: string | undefined;
}

/** What a unary handler does: answer, fail with a status, or hang (never answer). */
export type Reply = { answer: unknown } | { fail: status; details: string } | 'hang';
export type UnaryHandler = (req: Record<string, unknown>, md: Metadata, n: number) => Reply | Promise<Reply>;
export type WatchHandler = (call: ServerDuplexStream<Record<string, unknown>, unknown>, n: number) => void;

export const STUB_MEMBER_ID = '77';

export class StubServer {
  readonly calls: RecordedCall[] = [];
  readonly unary = new Map<string, UnaryHandler>();
  watch: WatchHandler | undefined;
  private readonly counts = new Map<string, number>();
  private readonly server = new Server();
  port = 0;

  constructor() {
    const defs: Record<string, ServiceDefinition> = { ...loadEtcdServices(), Crdt: loadCrdtService() };
    for (const [svc, def] of Object.entries(defs)) {
      const prefix = svc === 'Crdt' ? 'Crdt.' : '';
      const impl: UntypedServiceImplementation = {};
      for (const name of Object.keys(def)) {
        const m = def[name];
        if (m === undefined) continue;
        if (name === 'Watch') impl[name] = (call: ServerDuplexStream<Record<string, unknown>, unknown>) => this.onWatch(call);
        else if (!m.requestStream && !m.responseStream) impl[name] = (call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) => {
          void this.onUnary(prefix + name, call, cb);
        };
      }
      this.server.addService(def, impl);
    }
    // A Status that names this stub as the leader, unless a test replaces it.
    this.unary.set('Status', () => ({ answer: { header: { memberId: STUB_MEMBER_ID }, leader: STUB_MEMBER_ID, raftTerm: '1' } }));
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))));
    return this;
  }

  /** Forgets recorded calls and per-method counts (handlers stay). */
  reset(): void {
    this.calls.length = 0;
    this.counts.clear();
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private next(method: string): number {
    const n = (this.counts.get(method) ?? 0) + 1;
    this.counts.set(method, n);
    return n;
  }

  private async onUnary(method: string, call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>): Promise<void> {
    const md = call.metadata;
    const str = (k: string): string | undefined => {
      const v = md.get(k)[0];
      return typeof v === 'string' ? v : undefined;
    };
    if (method !== 'Status') this.calls.push({ method, request: call.request, clientId: str('rs-client-id'), seq: str('rs-seq') });
    const handler = this.unary.get(method);
    if (handler === undefined) return cb({ code: status.UNIMPLEMENTED, details: `stub: no handler for ${method}` });
    const reply = await handler(call.request, md, this.next(method));
    if (reply === 'hang') return;
    if ('fail' in reply) cb({ code: reply.fail, details: reply.details });
    else cb(null, reply.answer);
  }

  private onWatch(call: ServerDuplexStream<Record<string, unknown>, unknown>): void {
    const n = this.next('Watch');
    if (this.watch === undefined) {
      call.emit('error', { code: status.UNIMPLEMENTED, details: 'stub: no watch handler' });
      return;
    }
    this.watch(call, n);
  }

  stop(): Promise<void> {
    this.server.forceShutdown();
    return Promise.resolve();
  }
}
