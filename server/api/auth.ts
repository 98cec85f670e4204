// etcd's Auth service (etcdserverpb.Auth): AuthEnable/Disable/Status, Authenticate, and
// user and role management. Each handler resolves the caller from the `token` metadata,
// converts the wire request and hands it to the AuthBackend, which decides with etcd's
// rules (server/auth); answers carry the usual response header.

import type { Metadata, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation, sendUnaryData } from '@grpc/grpc-js';
import { AuthError, PermType, type AuthInfo, type Permission } from '../auth/index.js';
import type { AuthBackend } from './auth-backend.js';
import type { HeaderInfo } from './backend.js';
import { noCertUser, type CertUserOf } from './cert-user.js';
import { servedService } from './proto.js';
import { answer, header } from './respond.js';

/** etcdserverpb.Auth from proto/etcd (loaded once, with the other served services: proto.ts). */
export function loadAuthService(): ServiceDefinition {
  return servedService('etcdserverpb.Auth');
}

/** etcd's metadata key for the token (rpctypes.TokenFieldNameGRPC). */
export const TOKEN_METADATA_KEY = 'token';
/** The key the JSON gateway forwards the Authorization header under (rpctypes.TokenFieldNameSwagger). */
export const GATEWAY_TOKEN_METADATA_KEY = 'authorization';

/** The token a call carries, if any. */
export function tokenOf(metadata: Metadata): string | undefined {
  const v = metadata.get(TOKEN_METADATA_KEY)[0] ?? metadata.get(GATEWAY_TOKEN_METADATA_KEY)[0];
  return v === undefined ? undefined : String(v);
}

/** The caller of a call (throws invalid-auth-token for an unknown token); `certUser`: its client certificate's CN. */
export function actorOf(auth: AuthBackend, metadata: Metadata, certUser?: string): AuthInfo | undefined {
  return auth.authInfo(tokenOf(metadata), certUser);
}

/** The caller, once a token made on another member a moment ago has been applied here. */
export async function actorWhenReady(auth: AuthBackend, metadata: Metadata, certUser?: string): Promise<AuthInfo | undefined> {
  await auth.tokenPending(tokenOf(metadata));
  return actorOf(auth, metadata, certUser);
}

interface WirePermission {
  permType: number;
  key: Buffer;
  rangeEnd: Buffer;
}

function permFromWire(p: WirePermission | null | undefined): Permission {
  if (p === null || p === undefined) throw new AuthError('permission-not-given');
  const t = p.permType;
  // proto3 enums are open: an unknown type is refused as etcd's store would panic on it.
  if (t !== PermType.Read && t !== PermType.Write && t !== PermType.ReadWrite) throw new AuthError('invalid-auth-mgmt');
  return { permType: t, key: new Uint8Array(p.key), rangeEnd: new Uint8Array(p.rangeEnd) };
}

function permToWire(p: Permission): WirePermission {
  return { permType: p.permType, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.rangeEnd) };
}

type Req = Record<string, unknown>;
type Call = ServerUnaryCall<Req, unknown>;

function str(req: Req, field: string): string {
  return String(req[field] ?? '');
}

function bytes(req: Req, field: string): Uint8Array {
  return new Uint8Array((req[field] as Buffer | undefined) ?? Buffer.alloc(0));
}

export function authService(auth: AuthBackend, headerInfo: () => HeaderInfo, certUser: CertUserOf = noCertUser): UntypedServiceImplementation {
  const hdr = (): unknown => {
    const h = headerInfo();
    return header(h, h.revision);
  };
  /** A handler: `run` gets the request and the caller; `extra` the response's fields. */
  const handle = <R>(run: (req: Req, actor: AuthInfo | undefined) => Promise<R>, extra: (r: R) => Record<string, unknown> = () => ({})) =>
    (call: Call, cb: sendUnaryData<unknown>): void =>
      answer(cb, async () => run(call.request, await actorWhenReady(auth, call.metadata, certUser(call))), (r) => ({ header: hdr(), ...extra(r) }));

  return {
    AuthEnable: handle((_req, actor) => auth.enable(actor)),
    AuthDisable: handle((_req, actor) => auth.disable(actor)),
    AuthStatus: handle((_req, actor) => auth.status(actor), (s) => ({ enabled: s.enabled, authRevision: s.revision })),
    // No token needed (and an old one is ignored): this is how a client gets one.
    Authenticate: (call: Call, cb: sendUnaryData<unknown>) =>
      answer(cb, () => auth.authenticate(str(call.request, 'name'), str(call.request, 'password')), (token) => ({ header: hdr(), token })),
    UserAdd: handle((req, actor) => {
      const options = req['options'] as { noPassword?: boolean } | null | undefined;
      return auth.userAdd(actor, str(req, 'name'), str(req, 'password'), str(req, 'hashedPassword'), options?.noPassword === true);
    }),
    UserGet: handle((req, actor) => auth.userGet(actor, str(req, 'name')), (roles) => ({ roles })),
    UserList: handle((_req, actor) => auth.userList(actor), (users) => ({ users })),
    UserDelete: handle((req, actor) => auth.userDelete(actor, str(req, 'name'))),
    UserChangePassword: handle((req, actor) =>
      auth.userChangePassword(actor, str(req, 'name'), str(req, 'password'), str(req, 'hashedPassword'))),
    UserGrantRole: handle((req, actor) => auth.userGrantRole(actor, str(req, 'user'), str(req, 'role'))),
    UserRevokeRole: handle((req, actor) => auth.userRevokeRole(actor, str(req, 'name'), str(req, 'role'))),
    RoleAdd: handle((req, actor) => auth.roleAdd(actor, str(req, 'name'))),
    RoleGet: handle((req, actor) => auth.roleGet(actor, str(req, 'role')), (perms) => ({ perm: perms.map(permToWire) })),
    RoleList: handle((_req, actor) => auth.roleList(actor), (roles) => ({ roles })),
    RoleDelete: handle((req, actor) => auth.roleDelete(actor, str(req, 'role'))),
    RoleGrantPermission: handle((req, actor) =>
      auth.roleGrantPermission(actor, str(req, 'name'), permFromWire(req['perm'] as WirePermission | null))),
    RoleRevokePermission: handle((req, actor) => auth.roleRevokePermission(actor, str(req, 'role'), bytes(req, 'key'), bytes(req, 'rangeEnd'))),
  };
}
