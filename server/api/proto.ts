// Loads proto/etcd with @grpc/proto-loader and returns the five etcd services (and,
// separately, etcd's Lock and Election services of v3lockpb / v3electionpb). The
// loader options are the ones wire.ts describes: camelCase fields (keepCase false),
// 64-bit integers as decimal strings on the way in so that any id a client sends is
// exact (convert.ts turns them into numbers where they fit), Buffers for bytes, enums as
// numbers, defaults filled in, and oneof member names.

import { loadPackageDefinition, type GrpcObject, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { etcdProtoDir, protoDir } from '../../proto/dir.js';

export const LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

export { etcdProtoDir };

/**
 * The .proto files of every service the client port serves (etcd's six with Lock and
 * Election, and regionstore's Namespaces, Crdt and EdgeAdmin), relative to etcdProtoDir() or
 * protoDir(). Loaded together, once: loaded one service at a time, rpc.proto was parsed and
 * described twice (KV and friends, then Auth), ~35-45 ms more of each member's start.
 */
const SERVED_PROTO_FILES = [
  'etcdserverpb/rpc.proto',
  'v3lockpb/v3lock.proto',
  'v3electionpb/v3election.proto',
  'regionstore/v1/namespaces.proto',
  'regionstore/v1/crdt_service.proto',
  'regionstore/v1/edge_admin.proto',
];

let served: GrpcObject | undefined;

/** The service `path` (e.g. 'etcdserverpb.Auth') of the served protos. */
export function servedService(path: string): ServiceDefinition {
  served ??= loadPackageDefinition(loadSync(SERVED_PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [etcdProtoDir(), protoDir()] }));
  let node: unknown = served;
  for (const part of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  const service = (node as { service?: ServiceDefinition } | undefined)?.service;
  if (service === undefined) throw new Error(`no service ${path} in ${SERVED_PROTO_FILES.join(', ')}`);
  return service;
}

export interface EtcdServices {
  KV: ServiceDefinition;
  Watch: ServiceDefinition;
  Lease: ServiceDefinition;
  Cluster: ServiceDefinition;
  Maintenance: ServiceDefinition;
}

let cached: EtcdServices | undefined;

export function loadEtcdServices(): EtcdServices {
  cached ??= {
    KV: servedService('etcdserverpb.KV'),
    Watch: servedService('etcdserverpb.Watch'),
    Lease: servedService('etcdserverpb.Lease'),
    Cluster: servedService('etcdserverpb.Cluster'),
    Maintenance: servedService('etcdserverpb.Maintenance'),
  };
  return cached;
}

/** etcd's concurrency services, served on the client port beside the five above. */
export interface ConcurrencyServices {
  Lock: ServiceDefinition;
  Election: ServiceDefinition;
}

let cachedConcurrency: ConcurrencyServices | undefined;

export function loadConcurrencyServices(): ConcurrencyServices {
  cachedConcurrency ??= { Lock: servedService('v3lockpb.Lock'), Election: servedService('v3electionpb.Election') };
  return cachedConcurrency;
}
