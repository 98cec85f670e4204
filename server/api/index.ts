// server/api: the etcd v3 compatible client API (gRPC). See backend.ts for what a
// region node provides, limits.ts for the limits, errors.ts for the error texts,
// identity.ts for the rs-client-id / rs-seq metadata.

export type {
  AlarmAction,
  AlarmMember,
  AlarmType,
  Backend,
  HashKVResult,
  HeaderInfo,
  LeaseKeepAliveResult,
  LeaseLeasesResult,
  LeaseTimeToLiveResult,
  Member,
  MemberAddResult,
  RequestIdentity,
  SnapshotStream,
  StatusInfo,
  BackendWatcher,
} from './backend.js';
export { ApiError, EtcdErrors, toApiError, toGrpcStatus, type BackendErrorCode } from './errors.js';
export { CLIENT_ID_METADATA_KEY, SEQ_METADATA_KEY, identityFromMetadata } from './identity.js';
export * from './limits.js';
export { ETCD_COMPAT_VERSION } from './maintenance.js';
export { LOADER_OPTIONS, etcdProtoDir, loadEtcdServices } from './proto.js';
export { loadApiDefinitions, warmHotCodecs } from './proto-warmup.js';
export {
  createApiServer,
  startApiServer,
  type ApiCallEvent,
  type ApiServer,
  type ApiServerOptions,
  type RunningApiServer,
  type ServedBackend,
} from './server.js';
export type * from './crdt-backend.js';
export * as validate from './validate.js';
export type * from './edge-sync.js';
