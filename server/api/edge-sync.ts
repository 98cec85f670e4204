// regionstore.v1.EdgeSync (proto/regionstore/v1/sync.proto) and regionstore.v1.EdgeAdmin
// (edge_admin.proto) on the client port (issue 14). server/api knows neither sessions nor
// edges: EdgeSync hands each stream, as raw SyncMessage bytes, to a structural backend (the
// region's edge host decodes them), and EdgeAdmin asks a structural backend for the list.

import {
  status, type sendUnaryData, type ServerDuplexStream, type ServiceDefinition, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { servedService } from './proto.js';
import { answer } from './respond.js';
import { noCertIdentity, type CertIdentityOf } from './cert-user.js';
import type { PeerCertIdentity } from '../util/tls-server.js';

/** One EdgeSync stream as the backend sees it: SyncMessage bytes both ways. */
export interface EdgeSyncStream {
  send(bytes: Uint8Array): void;
  /** Ends the stream (OK status) after what was sent. */
  end(): void;
  onMessage(fn: (bytes: Uint8Array) => void): void;
  /** The stream ended (peer half-close, cancel or error); called once. */
  onClose(fn: (reason: string) => void): void;
  readonly peer: string;
  /** The verified client certificate of the stream's connection (TLS with client-cert-auth); undefined: none. */
  readonly certificate: PeerCertIdentity | undefined;
  /** The authenticated user of the stream while auth is on (absent: auth off, nothing to check). */
  readonly caller?: EdgeCaller;
}

/** The user an edge session runs as, and what its roles let it do now (checked per page). */
export interface EdgeCaller {
  readonly user: string;
  permits(type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): boolean;
}

export interface EdgeSyncBackend {
  serve(stream: EdgeSyncStream): void;
}

/** The ListEdgesResponse, as proto-loader takes it (camelCase; 64-bit as numbers). */
export interface EdgeListAnswer {
  memberId: number;
  edges: Array<Record<string, unknown>>;
  stable: Array<{ namespace: string; vector: Array<{ origin: string; seq: number }> }>;
}

export interface EdgeAdminBackend {
  listEdges(): Promise<EdgeListAnswer>;
  /** An edge's own view (EdgeStatusResponse, camelCase); absent on a region member: UNIMPLEMENTED. */
  edgeStatus?(): Promise<Record<string, unknown>>;
}

const identity = (b: Buffer): Buffer => b;

export const EDGE_SYNC_PATH = '/regionstore.v1.EdgeSync/Sync';

/** EdgeSync.Sync with raw bytes as messages (the backend owns the codec). */
export const EDGE_SYNC_SERVICE: ServiceDefinition = {
  Sync: {
    path: EDGE_SYNC_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} as unknown as ServiceDefinition;

/**
 * `certIdentity`: the connection's verified client certificate; `identify`: the caller of a
 * stream the permission gate admitted (undefined: auth off).
 */
export function edgeSyncService(
  backend: EdgeSyncBackend,
  certIdentity: CertIdentityOf = noCertIdentity,
  identify: (call: object) => EdgeCaller | undefined = () => undefined,
): UntypedServiceImplementation {
  const Sync = (call: ServerDuplexStream<Buffer, Buffer>): void => {
    const caller = identify(call);
    let closed = false;
    const closers: Array<(reason: string) => void> = [];
    const close = (reason: string): void => {
      if (closed) return;
      closed = true;
      for (const f of closers) f(reason);
    };
    call.on('end', () => close('the peer ended the stream'));
    call.on('cancelled', () => close('the peer cancelled the stream'));
    call.on('error', (e: Error) => close(`stream error: ${e.message}`));
    call.on('close', () => close('the stream closed'));
    backend.serve({
      send: (bytes) => {
        if (!closed) call.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      },
      end: () => {
        if (closed) return;
        call.end();
        close('ended by this side');
      },
      onMessage: (fn) => call.on('data', (b: Buffer) => fn(b)),
      onClose: (fn) => closers.push(fn),
      peer: call.getPeer(),
      ...(caller === undefined ? {} : { caller }),
      certificate: certIdentity(call),
    });
  };
  return { Sync };
}

/** regionstore.v1.EdgeAdmin (loaded once, with the other served services: proto.ts). */
export function loadEdgeAdminService(): ServiceDefinition {
  return servedService('regionstore.v1.EdgeAdmin');
}

export function edgeAdminService(backend: EdgeAdminBackend): UntypedServiceImplementation {
  return {
    ListEdges: (_call: unknown, cb: sendUnaryData<unknown>) => answer(cb, () => backend.listEdges(), (r) => r),
    EdgeStatus: (_call: unknown, cb: sendUnaryData<unknown>) => {
      if (backend.edgeStatus === undefined) {
        cb({ code: status.UNIMPLEMENTED, details: 'EdgeStatus is answered by an edge (rsctl --endpoints <edge> edge status); a region member lists its edges with rsctl edge list' });
        return;
      }
      answer(cb, () => backend.edgeStatus!(), (r) => r);
    },
  };
}
