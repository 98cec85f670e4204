// Loads every .proto definition the client port serves, once, when a member starts and
// before its Raft runs (issue 20, "no request stalls Raft"). proto-loader and protobufjs
// parse .proto files synchronously: the served services' files in one load (proto.ts
// servedService: 66-73 ms on this machine, where one load per service took 94-118) and the
// gateway's schema (~20-35 ms). Loaded where they were
// first needed, they held a running member's event loop that long: the API server is
// created after the region node has started Raft, and the JSON gateway read its schema at
// its first request. Each loader keeps what it loaded, so the later calls cost nothing.

import { loadAuthService } from './auth.js';
import { warmMessageCodecs } from './codec-warmup.js';
import { loadCrdtService } from './crdt-wire.js';
import { loadEdgeAdminService } from './edge-sync.js';
import { etcdSchema } from './gateway/schema.js';
import { loadNamespacesService } from './namespaces.js';
import { FAST_METHODS } from './fast-unary.js';
import { loadConcurrencyServices, loadEtcdServices } from './proto.js';
import type { ServiceDefinition } from '@grpc/grpc-js';

export function loadApiDefinitions(): void {
  loadEtcdServices();
  loadConcurrencyServices();
  loadAuthService();
  loadNamespacesService();
  loadCrdtService();
  loadEdgeAdminService();
  etcdSchema();
}

/**
 * The methods whose codecs warmHotCodecs runs before Raft starts: the fast path's (what a
 * load is made of), Status and MemberList (what clients and a joining member call first).
 * Not every method: each codec generated costs start-up CPU (these ~30-40 ms in all, the
 * first ones the most: protobufjs's generator compiles too), and the rest are rare.
 */
export const WARM_METHODS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  ...FAST_METHODS,
  Maintenance: ['Status'],
  Cluster: ['MemberList'],
});

/** Runs the hot methods' request and response codecs once (codec-warmup.ts says why); how many ran. */
export function warmHotCodecs(): number {
  const services: Record<string, ServiceDefinition> = { ...loadEtcdServices(), Crdt: loadCrdtService() };
  const picked = Object.entries(WARM_METHODS).map(([svc, methods]) =>
    Object.fromEntries(methods.flatMap((m) => (services[svc]?.[m] === undefined ? [] : [[m, services[svc][m]]]))) as ServiceDefinition);
  return warmMessageCodecs(picked);
}
