// The gRPC server of the etcd v3 API: binds KV, Watch, Lease, Cluster and Maintenance
// (and etcd's Lock and Election services) to a Backend, with message-size limits from
// limits.ts, and reports every finished call through an optional typed hook (server/metrics maps it to prom-client; nothing
// here logs or measures per request when no hook is given). startApiServer listens through
// front-door.ts, so the same port also serves HTTP/1.1 (http1.ts) as etcd's client port does.

import {
  Server,
  ServerCredentials,
  status,
  type ChannelOptions,
  type ServiceDefinition,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Backend } from './backend.js';
import { clusterService } from './cluster.js';
import { withFastKvCodecs } from './fast-codec.js';
import { withFastCrdtCodecs } from './fast-crdt-codec.js';
import { kvService } from './kv.js';
import { leaseService } from './lease.js';
import { EDGE_SYNC_RECEIVE_BYTES_MAX, GRPC_SEND_BYTES_MAX, resolveLimits, type ApiLimits } from './limits.js';
import { receiveLimitFor } from './call-limits.js';
import { maintenanceService } from './maintenance.js';
import { loadConcurrencyServices, loadEtcdServices } from './proto.js';
import { electionService } from './election.js';
import { lockService } from './lock.js';
import { watchService } from './watch.js';
import { ConnectionWatchers } from './watch-guard.js';
import { startFrontDoor } from './front-door.js';
import { renewStreamMaps } from './session-streams.js';
import { FAST_METHODS, fastPathFromEnv, installFastUnary, type FastMethod, type FastPathStats } from './fast-unary.js';
import {
  enforcePingPolicy, grpcConnectionOptions, onGrpcSessions, resolveConnectionLimits, type ConnectionLimits,
} from './connection-limits.js';
import { Http1Router, createHttp1Server } from './http1.js';
import { loadNamespacesService, namespacesService } from './namespaces.js';
import { crdtService } from './crdt.js';
import { loadCrdtService } from './crdt-wire.js';
import type { CrdtBackend } from './crdt-backend.js';
import {
  EDGE_SYNC_PATH, EDGE_SYNC_SERVICE, edgeAdminService, edgeSyncService, loadEdgeAdminService, type EdgeAdminBackend, type EdgeSyncBackend,
} from './edge-sync.js';

/** What the server serves: the etcd Backend, and regionstore.v1.Crdt when `crdtOps` is there. */
export type ServedBackend = Backend & {
  /** Typed reads and writes of eventual namespaces (absent: the Crdt service is not offered). */
  readonly crdtOps?: CrdtBackend;
  /** Edge sessions (regionstore.v1.EdgeSync; absent: not offered). */
  readonly edgeSyncOps?: EdgeSyncBackend;
  /** The known edges (regionstore.v1.EdgeAdmin; absent: not offered). */
  readonly edgeAdminOps?: EdgeAdminBackend;
};
import { authService, loadAuthService } from './auth.js';
import { checkedCaller, gateService, gatedWatchService, type GateContext } from './auth-gate.js';
import type { EdgeCaller } from './edge-sync.js';
import { certUserFrom, noCertIdentity, type CertIdentityOf } from './cert-user.js';
import type { PeerIdentities, TlsListenerEvents, TlsServerFiles } from '../util/tls-server.js';

/** One finished call: what server/metrics counts (gRPC requests by method and code). */
export interface ApiCallEvent {
  /** etcd's service name: KV, Watch, Lease, Cluster, Maintenance, Lock or Election. */
  service: string;
  /** The method, e.g. Range, LeaseKeepAlive. */
  method: string;
  /** "service/method", made once per method rather than per call (a metric's label). */
  name: string;
  /** The gRPC status code the call ended with. */
  code: status;
  durationSeconds: number;
}

export interface ApiServerOptions {
  limits?: Partial<ApiLimits>;
  /** Called once per finished call; must not throw. */
  onCall?: (event: ApiCallEvent) => void;
  /** Extra grpc-js server options (keepalive, ...); size limits are set from `limits`. */
  grpcOptions?: ChannelOptions;
  /** HTTP/1.1 routes of the client port (http1.ts); default: none, every path answers 404. */
  http1?: Http1Router;
  /** A connection closed for an HTTP/2 protocol error in the front door (for logs). */
  onProtocolError?: (err: Error) => void;
  /** Connection limits (connection-limits.ts); defaults etcd's where etcd has them. */
  connection?: Partial<ConnectionLimits>;
  /**
   * A connection or stream refused or closed by a limit, named as in LimitName; for metrics
   * and logs, must not throw.
   */
  onLimit?: (limit: LimitName, detail: string) => void;
  /** TLS on the port (https:// client URLs): files, --client-cert-auth, reload events. Absent: plaintext. */
  tls?: { files: TlsServerFiles; events?: TlsListenerEvents };
  /** The verified client certificate of a call's connection (startApiServer sets it from the TLS listener). */
  certIdentity?: CertIdentityOf;
  /** Serve the hot unary calls on node:http2 directly (fast-unary.ts); default: unless RS_GRPC_FAST_PATH=0. */
  fastPath?: boolean;
}

/** The limits a connection or stream can be refused or closed by (the metric's label values). */
export type LimitName = 'handshake' | 'connections-per-address' | 'keepalive-min-time' | 'watch-slow-receiver';

export interface ApiServer {
  readonly server: Server;
  readonly limits: ApiLimits;
  /** The calls fast-unary.ts may serve, by path: the same handlers and codecs grpc-js was given. */
  readonly fastMethods: ReadonlyMap<string, FastMethod>;
  /** Whether startApiServer serves them on the fast path. */
  readonly fastPath: boolean;
}

/** Notes the handlers and codecs of a service's fast methods (FAST_METHODS) as bound into grpc-js. */
function noteFastMethods(into: Map<string, FastMethod>, name: string, def: ServiceDefinition, impl: UntypedServiceImplementation): void {
  for (const method of FAST_METHODS[name] ?? []) {
    const d = def[method];
    const handler = impl[method];
    if (d === undefined || handler === undefined || d.requestStream || d.responseStream) continue;
    into.set(d.path, {
      path: d.path,
      handler: handler as FastMethod['handler'],
      deserialize: d.requestDeserialize as FastMethod['deserialize'],
      serialize: d.responseSerialize as FastMethod['serialize'],
    });
  }
}

type Hook = (event: ApiCallEvent) => void;

function wrapUnary(service: string, method: string, handler: UntypedHandleCall, onCall: Hook): UntypedHandleCall {
  type Cb = (err: { code?: number } | null, res?: unknown, trailer?: unknown, flags?: unknown) => void;
  const h = handler as (call: unknown, cb: Cb) => void;
  const name = `${service}/${method}`;
  return ((call: unknown, cb: Cb) => {
    const t0 = performance.now();
    // Trailing metadata and flags passed on by name, not as a rest array per call (read levels
    // answer in trailers).
    h(call, (err, res, trailer, flags) => {
      const code = err === null ? status.OK : (err.code ?? status.UNKNOWN);
      onCall({ service, method, name, code, durationSeconds: (performance.now() - t0) / 1000 });
      cb(err, res, trailer, flags);
    });
  }) as UntypedHandleCall;
}

function wrapStream(service: string, method: string, handler: UntypedHandleCall, onCall: Hook): UntypedHandleCall {
  const name = `${service}/${method}`;
  const h = handler as (call: NodeJS.EventEmitter) => void;
  return ((call: NodeJS.EventEmitter) => {
    const t0 = performance.now();
    let code: status = status.OK;
    let reported = false;
    const report = (): void => {
      if (reported) return;
      reported = true;
      onCall({ service, method, name, code, durationSeconds: (performance.now() - t0) / 1000 });
    };
    call.on('error', (err: { code?: number }) => {
      code = err.code ?? status.UNKNOWN;
    });
    call.once('cancelled', () => {
      code = status.CANCELLED;
      report();
    });
    call.once('close', report);
    call.once('finish', report);
    h(call);
  }) as UntypedHandleCall;
}

function instrument(
  service: string,
  def: ServiceDefinition,
  impl: UntypedServiceImplementation,
  onCall: Hook | undefined,
): UntypedServiceImplementation {
  if (onCall === undefined) return impl;
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    const m = def[name];
    const streaming = m !== undefined && (m.requestStream || m.responseStream);
    out[name] = streaming ? wrapStream(service, name, handler, onCall) : wrapUnary(service, name, handler, onCall);
  }
  return out;
}

/** The permission gate of etcd's Auth API around a service's handlers (auth-gate.ts), when the backend has Auth. */
function gateFor(backend: Backend, certIdentity: CertIdentityOf) {
  const ctx: GateContext = {
    // The member's own registry (a serializable Get): what the gate checks a namespace's range by.
    namespacePrefix: async (name) => {
      if (backend.namespaceOps === undefined || name === '') return undefined;
      return backend.namespaceOps.get(name, true).then((d) => d.prefix, () => undefined);
    },
    certUser: certUserFrom(certIdentity),
  };
  return (name: string, def: ServiceDefinition, impl: UntypedServiceImplementation): UntypedServiceImplementation =>
    backend.auth === undefined || name === 'Watch' ? impl : gateService(backend.auth, name, def, impl, ctx);
}

/** The user an admitted EdgeSync stream runs as, with its permissions as they are at each check. */
function edgeCallerOf(backend: Backend): (call: object) => EdgeCaller | undefined {
  return (call) => {
    const auth = backend.auth;
    const actor = checkedCaller(call);
    if (auth === undefined || actor === undefined) return undefined;
    return { user: actor.user, permits: (type, key, rangeEnd) => auth.permitsUser(actor.user, type, key, rangeEnd) };
  };
}

/** A grpc-js Server with the five etcd services bound to `backend`; not yet listening. */
export function createApiServer(backend: ServedBackend, opts: ApiServerOptions = {}): ApiServer {
  const limits = resolveLimits(opts.limits);
  const connection = resolveConnectionLimits(opts.connection);
  const server = new Server({
    // Channelz keeps per-call and per-message counters and timestamps (Date.now()) for an
    // introspection service nobody registers here: 0.5-0.7 % of the leader's CPU in the
    // bench:compare profiles. A caller that wants it can pass the option back.
    'grpc.enable_channelz': 0,
    ...grpcConnectionOptions(connection),
    // EdgeSync streams get the sync session's message limit; every other call etcd's (below).
    interceptors: [receiveLimitFor(EDGE_SYNC_PATH, EDGE_SYNC_RECEIVE_BYTES_MAX)],
    ...opts.grpcOptions,
    'grpc.max_receive_message_length': limits.requestBytesMax + limits.grpcOverheadBytes,
    'grpc.max_send_message_length': GRPC_SEND_BYTES_MAX,
  });
  const defs = loadEtcdServices();
  const auth = backend.auth;
  const certIdentity = opts.certIdentity ?? noCertIdentity;
  const certUser = certUserFrom(certIdentity);
  const gate = gateFor(backend, certIdentity);
  const fastMethods = new Map<string, FastMethod>();
  // One per-connection watcher count for every Watch stream of this server.
  const watchOpts = { onSlowReceiver: (reason: string) => opts.onLimit?.('watch-slow-receiver', reason), perConnection: new ConnectionWatchers(limits) };
  const impls: Record<keyof typeof defs, UntypedServiceImplementation> = {
    KV: kvService(backend, limits),
    Watch: auth === undefined ? watchService(backend, limits, watchOpts) : gatedWatchService(backend, auth, (b) => watchService(b, limits, watchOpts), certUser),
    Lease: leaseService(backend, limits),
    Cluster: clusterService(backend),
    Maintenance: maintenanceService(backend, limits),
  };
  for (const name of Object.keys(defs) as Array<keyof typeof defs>) {
    // KV.Range and KV.Put, the hottest calls, get hand-written codecs (fast-codec.ts).
    const def = name === 'KV' ? withFastKvCodecs(defs.KV) : defs[name];
    const impl = instrument(name, def, gate(name, def, impls[name]), opts.onCall);
    server.addService(def, impl);
    noteFastMethods(fastMethods, name, def, impl);
  }
  // etcd's Lock and Election services, which etcd serves on the client port too.
  const concurrency = loadConcurrencyServices();
  const lock = gate('Lock', concurrency.Lock, lockService(backend, limits));
  server.addService(concurrency.Lock, instrument('Lock', concurrency.Lock, lock, opts.onCall));
  const election = gate('Election', concurrency.Election, electionService(backend, limits));
  server.addService(concurrency.Election, instrument('Election', concurrency.Election, election, opts.onCall));
  if (auth !== undefined) {
    const def = loadAuthService();
    server.addService(def, instrument('Auth', def, authService(auth, () => backend.headerInfo(), certUser), opts.onCall));
  }
  if (backend.namespaceOps !== undefined) {
    const def = loadNamespacesService();
    server.addService(def, instrument('Namespaces', def, gate('Namespaces', def, namespacesService(backend.namespaceOps)), opts.onCall));
  }
  if (backend.crdtOps !== undefined) {
    // Write, the client library's lww put, gets hand-written codecs (fast-crdt-codec.ts).
    const def = withFastCrdtCodecs(loadCrdtService());
    const impl = instrument('Crdt', def, gate('Crdt', def, crdtService(backend.crdtOps, limits)), opts.onCall);
    server.addService(def, impl);
    noteFastMethods(fastMethods, 'Crdt', def, impl);
  }
  if (backend.edgeSyncOps !== undefined) {
    server.addService(EDGE_SYNC_SERVICE, instrument('EdgeSync', EDGE_SYNC_SERVICE, gate('EdgeSync', EDGE_SYNC_SERVICE, edgeSyncService(backend.edgeSyncOps, certIdentity, edgeCallerOf(backend))), opts.onCall));
  }
  if (backend.edgeAdminOps !== undefined) {
    const def = loadEdgeAdminService();
    server.addService(def, instrument('EdgeAdmin', def, gate('EdgeAdmin', def, edgeAdminService(backend.edgeAdminOps)), opts.onCall));
  }
  return { server, limits, fastMethods, fastPath: opts.fastPath ?? fastPathFromEnv() };
}

export interface RunningApiServer extends ApiServer {
  /** The port bound (the OS's choice when asked for 0). */
  readonly port: number;
  /** With TLS: verified client certificates by connection. */
  readonly identities: PeerIdentities | undefined;
  /** Streams served on the unary fast path and handed to grpc-js (undefined: fast path off). */
  readonly fastPathStats: FastPathStats | undefined;
  /** Stops accepting calls, waits `graceMs` for running ones, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Creates the server and listens on host:port (port 0: the OS chooses), plaintext or TLS
 * (opts.tls), through the front door: gRPC and HTTP/1.1 on the one port.
 */
export async function startApiServer(
  backend: ServedBackend,
  listen: { host: string; port: number },
  opts: ApiServerOptions = {},
): Promise<RunningApiServer> {
  // The door (and its TLS listener) exists only after the services are bound: looked up late.
  let identities: PeerIdentities | undefined;
  const api = createApiServer(backend, { ...opts, certIdentity: opts.certIdentity ?? ((call) => identities?.of(call.getPeer())) });
  const connLimits = resolveConnectionLimits(opts.connection);
  const injector = api.server.createConnectionInjector(ServerCredentials.createInsecure());
  let fastPathStats: FastPathStats | undefined;
  if (api.fastPath) {
    fastPathStats = installFastUnary(api.server, api.fastMethods, {
      receiveBytesMax: api.limits.requestBytesMax + api.limits.grpcOverheadBytes,
      sendBytesMax: GRPC_SEND_BYTES_MAX,
    });
  }
  onGrpcSessions(api.server, (session) => {
    enforcePingPolicy(session, connLimits.keepaliveMinTimeMs, () => opts.onLimit?.('keepalive-min-time', session.socket?.remoteAddress ?? ''));
    renewStreamMaps(session);
  });
  const http1 = createHttp1Server(opts.http1 ?? new Http1Router());
  // An HTTP/1.1 client must have sent its request headers within the handshake timeout too.
  if (connLimits.handshakeTimeoutMs < http1.requestTimeout || http1.requestTimeout === 0) http1.headersTimeout = connLimits.handshakeTimeoutMs;
  const host = listen.host.startsWith('[') ? listen.host.slice(1, -1) : listen.host;
  const door = await startFrontDoor(
    { host, port: listen.port },
    {
      http2: (connection) => injector.injectConnection(connection),
      http1,
      ...(opts.onProtocolError ? { onProtocolError: opts.onProtocolError } : {}),
      handshakeTimeoutMs: connLimits.handshakeTimeoutMs,
      connectionsPerAddressMax: connLimits.connectionsPerAddressMax,
      onLimit: (limit, address) => opts.onLimit?.(limit, address),
      ...(opts.tls ? { tls: opts.tls } : {}),
    },
  );
  identities = door.identities;
  const close = async (graceMs = 1000): Promise<void> => {
    const closed = door.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => api.server.forceShutdown(), graceMs);
      api.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    // Whatever grpc-js has not closed by now (a rewritten connection still tearing down).
    door.destroyConnections();
    await closed;
  };
  return { ...api, port: door.port, identities: door.identities, fastPathStats, close };
}
