// The permission gate of etcd's Auth API: when auth is enabled, every call of the etcd
// services is checked before its handler runs, with etcd 3.5's rules:
//  - KV: Range reads its range; Put writes its key (and reads it with prev_kv; with a lease,
//    the caller must be able to write every key already on that lease); DeleteRange
//    writes its range (reads it with prev_kv); Txn: every compare reads, every op as
//    above, nested txns included. Compact: no permission (etcd checks none).
//  - Watch: a create request reads its range, else it is refused in-band (canceled with
//    "etcdserver: permission denied", as etcd's watch server answers).
//  - Lease: Revoke writes every key on the lease, TimeToLive reads them (root skips both);
//    Grant needs only a valid token; KeepAlive and Leases not even that (as etcd).
//  - Cluster: member changes need the root role; MemberList does not.
//  - Maintenance: Defragment, Snapshot, Hash and HashKV need the root role; Alarm a valid
//    token; Status and MoveLeader nothing (as etcd 3.5).
//  - Lock and Election (not checked by etcd's own servers beyond their KV calls): the lock's
//    or election's prefix `name/` must be readable and writable, a held key writable.
//  - regionstore.v1 (issue 16; a namespace is a key range, so its permissions are the
//    roles' key-range permissions over its prefix, DESIGN §10):
//    Namespaces Create/Update/Delete need the root role or the `namespace-admin` role
//    (NAMESPACE_ADMIN_ROLE; Delete with force, which deletes the keys, also write permission
//    on the prefix); Get and List any authenticated user (definitions are metadata, as
//    MemberList is). Crdt: Write needs write permission on the namespace's prefix, the reads
//    read permission. EdgeSync: an authenticated user; what its session may upload is
//    checked per page against the user's write permission on each namespace's prefix
//    (server/region/edge-host). EdgeAdmin: read permission on every key (dashboards).
//    Any other method of these services: the root role (safe rather than open).
// A token that this member does not know is refused with "etcdserver: invalid auth token"
// (clients then authenticate again) wherever etcd reads the token (UNCHECKED below). With auth disabled the gate costs one
// boolean read per call.

import type { Metadata, ServerUnaryCall, ServiceDefinition, UntypedHandleCall, UntypedServiceImplementation, sendUnaryData } from '@grpc/grpc-js';
import { AuthError, NAMESPACE_ADMIN_ROLE, isOpenEnded, type AuthInfo } from '../auth/index.js';
import { prefixEnd } from '../util/bytes.js';
import type { AuthBackend } from './auth-backend.js';
import { callerOf, callerPending } from './caller.js';
import type { Backend } from './backend.js';
import { toApiError } from './errors.js';
import type { CertUserOf } from './cert-user.js';
import type { WireDeleteRangeRequest, WirePutRequest, WireRangeRequest, WireRequestOp, WireTxnRequest } from './wire.js';

/** What rules may look up beyond the auth state. */
export interface GateContext {
  /** The key prefix of the namespace named `name` as this member knows it, or undefined when there is none. */
  namespacePrefix(name: string): Promise<string | undefined>;
  /** The user a call's client certificate names (its CN; --client-cert-auth), for calls without a token. */
  certUser?: CertUserOf;
}

const NO_NAMESPACES: GateContext = { namespacePrefix: () => Promise.resolve(undefined) };

type Rule = (req: never, actor: AuthInfo | undefined, auth: AuthBackend, ctx: GateContext) => void | Promise<void>;

const EMPTY = new Uint8Array(0);
const FROM_KEY = Uint8Array.of(0);

/** A Range / DeleteRange request's range as etcd checks it (an empty key is "\0"). */
function reqKey(key: Uint8Array): Uint8Array {
  return key.length === 0 ? FROM_KEY : key;
}

function checkPut(auth: AuthBackend, actor: AuthInfo | undefined, r: WirePutRequest): void {
  auth.checkRange(actor, 'write', r.key, EMPTY);
  if (r.prevKv) auth.checkRange(actor, 'read', r.key, EMPTY);
}

function checkDelete(auth: AuthBackend, actor: AuthInfo | undefined, r: WireDeleteRangeRequest): void {
  if (r.prevKv) auth.checkRange(actor, 'read', reqKey(r.key), r.rangeEnd);
  auth.checkRange(actor, 'write', reqKey(r.key), r.rangeEnd);
}

function checkOps(auth: AuthBackend, actor: AuthInfo | undefined, ops: WireRequestOp[], leases: number[]): void {
  for (const op of ops) {
    if (op.requestRange != null) auth.checkRange(actor, 'read', reqKey(op.requestRange.key), op.requestRange.rangeEnd);
    else if (op.requestPut != null) {
      checkPut(auth, actor, op.requestPut);
      if (op.requestPut.lease !== '0' && !op.requestPut.ignoreLease) leases.push(Number(op.requestPut.lease));
    } else if (op.requestDeleteRange != null) checkDelete(auth, actor, op.requestDeleteRange);
    else if (op.requestTxn != null) checkTxn(auth, actor, op.requestTxn, leases);
  }
}

function checkTxn(auth: AuthBackend, actor: AuthInfo | undefined, t: WireTxnRequest, leases: number[]): void {
  for (const c of t.compare) auth.checkRange(actor, 'read', c.key, c.rangeEnd);
  checkOps(auth, actor, t.success, leases);
  checkOps(auth, actor, t.failure, leases);
}

/** etcd's checkLeasePuts: writing on a lease needs write permission on every key it holds. */
async function checkLeaseKeys(auth: AuthBackend, actor: AuthInfo | undefined, leaseId: number, type: 'read' | 'write'): Promise<void> {
  if (!Number.isSafeInteger(leaseId) || leaseId <= 0 || auth.isAdmin(actor)) return;
  for (const key of await auth.leaseKeys(leaseId)) auth.checkRange(actor, type, key, EMPTY);
}

async function checkLeases(auth: AuthBackend, actor: AuthInfo | undefined, leases: number[]): Promise<void> {
  for (const id of leases) await checkLeaseKeys(auth, actor, id, 'write');
}

function prefixRange(name: Buffer): [Uint8Array, Uint8Array] {
  const prefix = Buffer.concat([name, Buffer.from('/')]);
  return [prefix, prefixEnd(prefix) ?? FROM_KEY];
}

function readWritePrefix(auth: AuthBackend, actor: AuthInfo | undefined, name: Buffer): void {
  const [key, end] = prefixRange(name);
  auth.checkRange(actor, 'read', key, end);
  auth.checkRange(actor, 'write', key, end);
}

const admin: Rule = (_req, actor, auth) => auth.checkAdmin(actor);
const tokenOnly: Rule = () => undefined;
/** A user, whatever its permissions (a token that names one). */
const authenticated: Rule = (_req, actor) => {
  if (actor === undefined || actor.user === '') throw new AuthError('user-empty');
};
/** Read permission on every key: what a read-only dashboard user holds. */
const readEverything: Rule = (_req, actor, auth) => auth.checkRange(actor, 'read', FROM_KEY, FROM_KEY);

function checkNamespaceAdmin(actor: AuthInfo | undefined, auth: AuthBackend): void {
  if (auth.isAdmin(actor)) return;
  if (actor === undefined || actor.user === '') throw new AuthError('user-empty');
  if (!auth.hasRole(actor, NAMESPACE_ADMIN_ROLE)) throw new AuthError('permission-denied');
}

/** A namespace's key range: [prefix, prefixEnd); the empty prefix is every key. */
export function namespaceRange(prefix: string): [Uint8Array, Uint8Array] {
  if (prefix === '') return [FROM_KEY, FROM_KEY];
  const key = Buffer.from(prefix, 'utf8');
  return [key, prefixEnd(key) ?? FROM_KEY];
}

/** `type` permission on the prefix of the request's namespace; an unknown namespace is left to the handler (not found). */
function onNamespace(type: 'read' | 'write'): Rule {
  return async (req: { namespace?: string }, actor, auth, ctx) => {
    authenticated(req as never, actor, auth, ctx);
    const prefix = await ctx.namespacePrefix(req.namespace ?? '');
    if (prefix !== undefined) auth.checkRange(actor, type, ...namespaceRange(prefix));
  };
}

const namespaceAdmin: Rule = (_req, actor, auth) => checkNamespaceAdmin(actor, auth);

/** Per service and method: what the caller must be allowed. Methods not listed need a valid token only. */
const RULES: Record<string, Record<string, Rule>> = {
  KV: {
    Range: (r: WireRangeRequest, actor, auth) => auth.checkRange(actor, 'read', reqKey(r.key), r.rangeEnd),
    Put: (r: WirePutRequest, actor, auth) => {
      checkPut(auth, actor, r);
      if (r.lease !== '0' && !r.ignoreLease) return checkLeaseKeys(auth, actor, Number(r.lease), 'write');
      return undefined;
    },
    DeleteRange: (r: WireDeleteRangeRequest, actor, auth) => checkDelete(auth, actor, r),
    Txn: (r: WireTxnRequest, actor, auth) => {
      const leases: number[] = [];
      checkTxn(auth, actor, r, leases);
      return leases.length === 0 ? undefined : checkLeases(auth, actor, leases);
    },
    Compact: tokenOnly,
  },
  Lease: {
    LeaseRevoke: (r: { ID: string }, actor, auth) => checkLeaseKeys(auth, actor, Number(r.ID), 'write'),
    LeaseTimeToLive: (r: { ID: string }, actor, auth) => checkLeaseKeys(auth, actor, Number(r.ID), 'read'),
  },
  Cluster: { MemberAdd: admin, MemberRemove: admin, MemberUpdate: admin, MemberPromote: admin },
  Maintenance: { Defragment: admin, Snapshot: admin, Hash: admin, HashKV: admin },
  Lock: {
    Lock: (r: { name: Buffer }, actor, auth) => readWritePrefix(auth, actor, r.name),
    Unlock: (r: { key: Buffer }, actor, auth) => auth.checkRange(actor, 'write', r.key, EMPTY),
  },
  Election: {
    Campaign: (r: { name: Buffer }, actor, auth) => readWritePrefix(auth, actor, r.name),
    Proclaim: (r: { leader: { key: Buffer } | null }, actor, auth) => auth.checkRange(actor, 'write', r.leader?.key ?? FROM_KEY, EMPTY),
    Resign: (r: { leader: { key: Buffer } | null }, actor, auth) => auth.checkRange(actor, 'write', r.leader?.key ?? FROM_KEY, EMPTY),
    Leader: (r: { name: Buffer }, actor, auth) => auth.checkRange(actor, 'read', ...prefixRange(r.name)),
    Observe: (r: { name: Buffer }, actor, auth) => auth.checkRange(actor, 'read', ...prefixRange(r.name)),
  },
  Namespaces: {
    Create: namespaceAdmin,
    Update: namespaceAdmin,
    Delete: async (r: { name: string; force: boolean }, actor, auth, ctx) => {
      checkNamespaceAdmin(actor, auth);
      if (!r.force) return;
      const prefix = await ctx.namespacePrefix(r.name);
      if (prefix !== undefined) auth.checkRange(actor, 'write', ...namespaceRange(prefix));
    },
    Get: authenticated,
    List: authenticated,
  },
  Crdt: {
    Write: onNamespace('write'),
    Read: onNamespace('read'),
    Superseded: onNamespace('read'),
    Completeness: onNamespace('read'),
    Conflicts: onNamespace('read'),
    Hash: onNamespace('read'),
  },
  EdgeSync: { Sync: authenticated },
  EdgeAdmin: { ListEdges: readEverything, EdgeStatus: readEverything },
};

/** Services of regionstore.v1: a method RULES does not name needs the root role (safe rather than open). */
const ROOT_ONLY_SERVICES = new Set(['Namespaces', 'Crdt', 'EdgeSync', 'EdgeAdmin']);

/**
 * Calls etcd serves without reading the token at all (so even an expired one passes);
 * every other call refuses an unknown token (etcd reads it for each Raft request too).
 */
const UNCHECKED = new Set([
  'Maintenance.Status', 'Maintenance.MoveLeader', 'Cluster.MemberList', 'Lease.LeaseKeepAlive', 'Lease.LeaseLeases',
]);

/** The caller each admitted call was checked as (KV writes pass it on for the apply-time check). */
const checked = new WeakMap<object, AuthInfo>();

/** The caller the gate admitted `call` as; undefined when auth was off (or the call was not gated). */
export function checkedCaller(call: object): AuthInfo | undefined {
  return checked.get(call);
}

interface GatedCall {
  request?: unknown;
  metadata: Metadata;
  getPeer(): string;
}

/** Runs the rule for a call; resolves when allowed, rejects with the refusal. */
function admit(auth: AuthBackend, rule: Rule, call: GatedCall, ctx: GateContext): Promise<void> | undefined {
  const check = (): void | Promise<void> => {
    const actor = callerOf(auth, call, ctx.certUser);
    if (actor !== undefined) checked.set(call, actor);
    return (rule as (req: unknown, actor: AuthInfo | undefined, auth: AuthBackend, ctx: GateContext) => void | Promise<void>)(call.request, actor, auth, ctx);
  };
  const pending = callerPending(auth, call);
  if (pending !== undefined) return pending.then(check);
  return check() ?? undefined;
}

function gateUnary(auth: AuthBackend, rule: Rule, handler: UntypedHandleCall, ctx: GateContext): UntypedHandleCall {
  const h = handler as (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void;
  return ((call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
    if (!auth.enabled) return h(call, cb);
    let pending: Promise<void> | undefined;
    try {
      pending = admit(auth, rule, call, ctx);
    } catch (err) {
      return cb(toApiError(err));
    }
    if (pending === undefined) return h(call, cb);
    pending.then(() => h(call, cb), (err: unknown) => cb(toApiError(err)));
  }) as UntypedHandleCall;
}

interface StreamCall extends NodeJS.EventEmitter {
  request?: unknown;
  metadata: Metadata;
  getPeer(): string;
}

/** Server-streaming calls (Snapshot, Observe) carry their request; bidi ones are checked per message elsewhere. */
function gateStream(auth: AuthBackend, rule: Rule, handler: UntypedHandleCall, ctx: GateContext): UntypedHandleCall {
  const h = handler as (call: StreamCall) => void;
  return ((call: StreamCall) => {
    if (!auth.enabled) return h(call);
    let pending: Promise<void> | undefined;
    try {
      pending = admit(auth, rule, call, ctx);
    } catch (err) {
      return void call.emit('error', toApiError(err));
    }
    if (pending === undefined) return h(call);
    pending.then(() => h(call), (err: unknown) => call.emit('error', toApiError(err)));
  }) as UntypedHandleCall;
}

/**
 * Wraps a service's handlers with the gate. `streaming` names the methods whose handler
 * takes a stream call (server- or bidi-streaming).
 */
export function gateService(
  auth: AuthBackend,
  service: string,
  def: ServiceDefinition,
  impl: UntypedServiceImplementation,
  ctx: GateContext = NO_NAMESPACES,
): UntypedServiceImplementation {
  const streaming = new Set(Object.keys(def).filter((m) => def[m]!.requestStream || def[m]!.responseStream));
  const out: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(impl)) {
    if (UNCHECKED.has(`${service}.${method}`) || (service === 'Watch' && method === 'Watch')) {
      out[method] = handler;
      continue;
    }
    const rule = RULES[service]?.[method] ?? (ROOT_ONLY_SERVICES.has(service) ? admin : tokenOnly);
    out[method] = streaming.has(method) ? gateStream(auth, rule, handler, ctx) : gateUnary(auth, rule, handler, ctx);
  }
  return out;
}

/**
 * The Watch service with the gate: each stream sees a backend whose watch() first checks
 * that the stream's caller may read the range; a refusal is answered in-band by watch.ts
 * (created and canceled, the status message as the reason), as etcd's watch server does.
 */
export function gatedWatchService(
  backend: Backend,
  auth: AuthBackend,
  make: (backend: Backend) => UntypedServiceImplementation,
  certUser?: CertUserOf,
): UntypedServiceImplementation {
  return {
    // Scoped even while auth is disabled: auth may be enabled while the stream is open.
    Watch: ((call: StreamCall) => {
      const scoped: Backend = Object.create(backend) as Backend;
      scoped.watch = (req) => {
        if (auth.enabled) {
          const end = req.rangeEnd ?? EMPTY;
          auth.checkRange(callerOf(auth, call, certUser), 'read', reqKey(req.key), isOpenEnded(end) ? FROM_KEY : end);
        }
        return backend.watch(req);
      };
      (make(scoped)['Watch'] as (call: StreamCall) => void)(call);
    }) as UntypedHandleCall,
  };
}
