// Loads proto/etcd with @grpc/proto-loader and returns the five etcd services (and,
// separately, etcd's Lock and Election services of v3lockpb / v3electionpb). The
// loader options are the ones wire.ts describes: camelCase fields (keepCase false),
// 64-bit integers as decimal strings on the way in so that any id a client sends is
// exact (convert.ts turns them into numbers where they fit), Buffers for bytes, enums as
// numbers, defaults filled in, and oneof member names.

import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';
import { etcdProtoDir } from '../../proto/dir.js';

export const LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

export { etcdProtoDir };

export interface EtcdServices {
  KV: ServiceDefinition;
  Watch: ServiceDefinition;
  Lease: ServiceDefinition;
  Cluster: ServiceDefinition;
  Maintenance: ServiceDefinition;
}

let cached: EtcdServices | undefined;

export function loadEtcdServices(): EtcdServices {
  if (cached !== undefined) return cached;
  const dir = etcdProtoDir();
  const def = loadSync('etcdserverpb/rpc.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
  const pkg = loadPackageDefinition(def) as unknown as {
    etcdserverpb: Record<keyof EtcdServices, { service: ServiceDefinition }>;
  };
  const p = pkg.etcdserverpb;
  cached = {
    KV: p.KV.service,
    Watch: p.Watch.service,
    Lease: p.Lease.service,
    Cluster: p.Cluster.service,
    Maintenance: p.Maintenance.service,
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
  if (cachedConcurrency !== undefined) return cachedConcurrency;
  const dir = etcdProtoDir();
  const def = loadSync(['v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'], {
    ...LOADER_OPTIONS,
    includeDirs: [dir],
  });
  const pkg = loadPackageDefinition(def) as unknown as {
    v3lockpb: { Lock: { service: ServiceDefinition } };
    v3electionpb: { Election: { service: ServiceDefinition } };
  };
  cachedConcurrency = { Lock: pkg.v3lockpb.Lock.service, Election: pkg.v3electionpb.Election.service };
  return cachedConcurrency;
}
