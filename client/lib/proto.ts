// Loads proto/etcd with @grpc/proto-loader and exposes the etcd v3 methods as grpc-js
// method definitions (path + codecs), so one generic grpc.Client per connection serves
// every service. Loader options: camelCase fields, 64-bit integers as decimal strings
// (exact; int64.ts converts), bytes as Buffers, enums as numbers, defaults filled in,
// and the name of the set member of each oneof.

import { loadSync, type MethodDefinition, type Options } from '@grpc/proto-loader';
import { etcdProtoDir } from '../../proto/dir.js';

export const LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: String,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- wire shapes are typed in wire.ts
export type Method = MethodDefinition<any, any>;

export interface EtcdMethods {
  range: Method;
  put: Method;
  deleteRange: Method;
  txn: Method;
  compact: Method;
  watch: Method;
  leaseGrant: Method;
  leaseRevoke: Method;
  leaseKeepAlive: Method;
  leaseTimeToLive: Method;
  leaseLeases: Method;
  memberAdd: Method;
  memberRemove: Method;
  memberUpdate: Method;
  memberList: Method;
  memberPromote: Method;
  alarm: Method;
  status: Method;
  defragment: Method;
  hash: Method;
  hashKV: Method;
  snapshot: Method;
  moveLeader: Method;
}

let cached: EtcdMethods | undefined;

export function etcdMethods(): EtcdMethods {
  if (cached !== undefined) return cached;
  const def = loadSync('etcdserverpb/rpc.proto', { ...LOADER_OPTIONS, includeDirs: [etcdProtoDir()] });
  const service = (name: string): Record<string, Method> => {
    const s = def[`etcdserverpb.${name}`];
    if (s === undefined) throw new Error(`etcdserverpb.${name} missing from rpc.proto`);
    return s as unknown as Record<string, Method>;
  };
  const m = (svc: string, rpc: string): Method => {
    const method = service(svc)[rpc];
    if (method === undefined) throw new Error(`etcdserverpb.${svc}/${rpc} missing from rpc.proto`);
    return method;
  };
  cached = {
    range: m('KV', 'Range'),
    put: m('KV', 'Put'),
    deleteRange: m('KV', 'DeleteRange'),
    txn: m('KV', 'Txn'),
    compact: m('KV', 'Compact'),
    watch: m('Watch', 'Watch'),
    leaseGrant: m('Lease', 'LeaseGrant'),
    leaseRevoke: m('Lease', 'LeaseRevoke'),
    leaseKeepAlive: m('Lease', 'LeaseKeepAlive'),
    leaseTimeToLive: m('Lease', 'LeaseTimeToLive'),
    leaseLeases: m('Lease', 'LeaseLeases'),
    memberAdd: m('Cluster', 'MemberAdd'),
    memberRemove: m('Cluster', 'MemberRemove'),
    memberUpdate: m('Cluster', 'MemberUpdate'),
    memberList: m('Cluster', 'MemberList'),
    memberPromote: m('Cluster', 'MemberPromote'),
    alarm: m('Maintenance', 'Alarm'),
    status: m('Maintenance', 'Status'),
    defragment: m('Maintenance', 'Defragment'),
    hash: m('Maintenance', 'Hash'),
    hashKV: m('Maintenance', 'HashKV'),
    snapshot: m('Maintenance', 'Snapshot'),
    moveLeader: m('Maintenance', 'MoveLeader'),
  };
  return cached;
}
