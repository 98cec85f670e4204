// The paths of etcd 3.5's JSON gateway (its generated *.pb.gw.go registrations) and the
// gRPC method each one calls. Every route is POST with the request message as the body.
// Where two registrations share a path the first wins in grpc-gateway's mux (lastMatchWins
// is off), so /v3/maintenance/hash calls Hash, not HashKV, as on etcd 3.4 and 3.5; HashKV
// has no gateway path. Older prefixes are served as aliases: /v3beta/ (etcd 3.4 serves it)
// and /v3alpha/ (etcd 3.3's; Debian's python3-etcd3gw 2.0 still calls it by default).

export type CallKind = 'unary' | 'server-stream' | 'bidi-stream';

export interface GatewayRoute {
  /** Fully qualified gRPC service name, e.g. etcdserverpb.KV. */
  service: string;
  method: string;
  kind: CallKind;
}

/** URL prefixes the gateway serves: etcd 3.5's, and the older aliases (see above). */
export const GATEWAY_PREFIXES = ['/v3/', '/v3beta/', '/v3alpha/'] as const;

const KV = 'etcdserverpb.KV';
const LEASE = 'etcdserverpb.Lease';
const CLUSTER = 'etcdserverpb.Cluster';
const MAINT = 'etcdserverpb.Maintenance';
const AUTH = 'etcdserverpb.Auth';

function unary(service: string, method: string): GatewayRoute {
  return { service, method, kind: 'unary' };
}

/** Path below the prefix → the call. */
export const GATEWAY_ROUTES: ReadonlyMap<string, GatewayRoute> = new Map([
  ['kv/range', unary(KV, 'Range')],
  ['kv/put', unary(KV, 'Put')],
  ['kv/deleterange', unary(KV, 'DeleteRange')],
  ['kv/txn', unary(KV, 'Txn')],
  ['kv/compaction', unary(KV, 'Compact')],
  ['watch', { service: 'etcdserverpb.Watch', method: 'Watch', kind: 'bidi-stream' }],
  ['lease/grant', unary(LEASE, 'LeaseGrant')],
  ['lease/revoke', unary(LEASE, 'LeaseRevoke')],
  ['kv/lease/revoke', unary(LEASE, 'LeaseRevoke')],
  ['lease/keepalive', { service: LEASE, method: 'LeaseKeepAlive', kind: 'bidi-stream' }],
  ['lease/timetolive', unary(LEASE, 'LeaseTimeToLive')],
  ['kv/lease/timetolive', unary(LEASE, 'LeaseTimeToLive')],
  ['lease/leases', unary(LEASE, 'LeaseLeases')],
  ['kv/lease/leases', unary(LEASE, 'LeaseLeases')],
  ['cluster/member/add', unary(CLUSTER, 'MemberAdd')],
  ['cluster/member/remove', unary(CLUSTER, 'MemberRemove')],
  ['cluster/member/update', unary(CLUSTER, 'MemberUpdate')],
  ['cluster/member/list', unary(CLUSTER, 'MemberList')],
  ['cluster/member/promote', unary(CLUSTER, 'MemberPromote')],
  ['maintenance/alarm', unary(MAINT, 'Alarm')],
  ['maintenance/status', unary(MAINT, 'Status')],
  ['maintenance/defragment', unary(MAINT, 'Defragment')],
  ['maintenance/hash', unary(MAINT, 'Hash')],
  ['maintenance/snapshot', { service: MAINT, method: 'Snapshot', kind: 'server-stream' }],
  ['maintenance/transfer-leadership', unary(MAINT, 'MoveLeader')],
  ['maintenance/downgrade', unary(MAINT, 'Downgrade')],
  ['auth/enable', unary(AUTH, 'AuthEnable')],
  ['auth/disable', unary(AUTH, 'AuthDisable')],
  ['auth/status', unary(AUTH, 'AuthStatus')],
  ['auth/authenticate', unary(AUTH, 'Authenticate')],
  ['auth/user/add', unary(AUTH, 'UserAdd')],
  ['auth/user/get', unary(AUTH, 'UserGet')],
  ['auth/user/list', unary(AUTH, 'UserList')],
  ['auth/user/delete', unary(AUTH, 'UserDelete')],
  ['auth/user/changepw', unary(AUTH, 'UserChangePassword')],
  ['auth/user/grant', unary(AUTH, 'UserGrantRole')],
  ['auth/user/revoke', unary(AUTH, 'UserRevokeRole')],
  ['auth/role/add', unary(AUTH, 'RoleAdd')],
  ['auth/role/get', unary(AUTH, 'RoleGet')],
  ['auth/role/list', unary(AUTH, 'RoleList')],
  ['auth/role/delete', unary(AUTH, 'RoleDelete')],
  ['auth/role/grant', unary(AUTH, 'RoleGrantPermission')],
  ['auth/role/revoke', unary(AUTH, 'RoleRevokePermission')],
  ['lock/lock', unary('v3lockpb.Lock', 'Lock')],
  ['lock/unlock', unary('v3lockpb.Lock', 'Unlock')],
  ['election/campaign', unary('v3electionpb.Election', 'Campaign')],
  ['election/proclaim', unary('v3electionpb.Election', 'Proclaim')],
  ['election/leader', unary('v3electionpb.Election', 'Leader')],
  ['election/observe', { service: 'v3electionpb.Election', method: 'Observe', kind: 'server-stream' }],
  ['election/resign', unary('v3electionpb.Election', 'Resign')],
]);

/** The route for a URL path, or undefined (also for paths outside the prefixes). */
export function routeFor(path: string): GatewayRoute | undefined {
  for (const prefix of GATEWAY_PREFIXES) {
    if (path.startsWith(prefix)) return GATEWAY_ROUTES.get(path.slice(prefix.length));
  }
  return undefined;
}
