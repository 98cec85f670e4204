// The client API's view of an edge (server/api's Backend, structurally: server/api may not
// import server/edge). What an edge serves on its own port:
//  - etcd Range and Watch on every namespace it holds, from the local store: eventual ones
//    (their merged state, projected as in the region) and the read-only copy of strong ones
//    (fed by the region's Watch), with `rs-staleness-ms` in the trailers of reads touching a
//    strong namespace and `bounded` reads refused past the bound (UNAVAILABLE, with the
//    measured staleness);
//  - Put / DeleteRange on lww namespaces as local CRDT writes, durable before the answer;
//    other eventual types, leases and Txn with writes refused as in the region;
//  - Put / DeleteRange on strong namespaces forwarded to the region while connected, and
//    UNAVAILABLE "edge <name> is offline from the region since <ISO>" while not;
//  - Cluster, Lease and the Maintenance calls that change a cluster: UNAVAILABLE, saying this
//    is an edge and where to send them.

import {
  isReadOnlyTxn,
  type CompactionRequest, type DeleteRangeRequest, type DeleteRangeResponse, type KeyValue, type PutRequest, type PutResponse,
  type RangeRequest, type RangeResponse, type TxnRequest, type TxnResponse, type WatchRequest, type ClientSeq,
} from '../mvcc/index.js';
import { CrdtType, Level, type NamespaceDefinition, type ReadAsk } from '../namespace/index.js';
import { CRDT_OP_BYTES_MAX, CRDT_WRITE_OPS_MAX } from '../eventual/limits.js';
import type { EdgeCrdt, EdgeIdentity } from './crdt.js';
import type { EdgeNamespaces } from './namespaces.js';
import type { EdgeStore } from './store.js';

/** What the backend needs of the upstream link (upstream.ts). */
export interface RegionLink {
  readonly connected: boolean;
  /** When the link went down (ms since the epoch); undefined while connected or before the first connect. */
  readonly offlineSinceMs: number | undefined;
  /** How far behind the region the strong copy may be, in ms (Infinity before its first catch-up). */
  strongStalenessMs(): number;
  forwardPut(req: PutRequest): Promise<PutResponse>;
  forwardDeleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse>;
}

class EdgeError extends Error {
  override name = 'EdgeError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** etcd's range end in the registry's terms: undefined one key, empty to the end of the keyspace. */
function registryEnd(rangeEnd: Uint8Array | undefined): Uint8Array | undefined {
  if (rangeEnd === undefined || rangeEnd.length === 0) return undefined;
  return rangeEnd.length === 1 && rangeEnd[0] === 0 ? new Uint8Array(0) : rangeEnd;
}

export class EdgeBackend {
  readonly crdtOps: EdgeCrdt;
  readonly namespaceOps: EdgeNamespaces;
  /** regionstore.v1.EdgeAdmin: the edge's own status (the edge list is the region's). */
  readonly edgeAdminOps: { listEdges(): Promise<never>; edgeStatus(): Promise<Record<string, unknown>> };

  constructor(
    private readonly store: EdgeStore,
    crdt: EdgeCrdt,
    namespaces: EdgeNamespaces,
    private readonly id: EdgeIdentity,
    private readonly link: RegionLink,
    admin: { listEdges(): Promise<never>; edgeStatus(): Promise<Record<string, unknown>> },
  ) {
    this.edgeAdminOps = admin;
    this.crdtOps = crdt;
    this.namespaceOps = namespaces;
  }

  private notOnEdge(what: string): EdgeError {
    return new EdgeError('unavailable', `${what} is not served by an edge (this is edge ${this.id.name}): send it to the region`);
  }

  private offline(): EdgeError {
    const since = this.link.offlineSinceMs;
    const when = since === undefined ? 'start (it has not reached the region yet)' : new Date(since).toISOString();
    return new EdgeError('unavailable', `edge ${this.id.name} is offline from the region since ${when}: writes to strong namespaces need the region`);
  }

  headerInfo() {
    return { clusterId: 0, memberId: this.id.memberId, raftTerm: 0, revision: this.store.mvcc.currentRevision };
  }

  /** Namespaces a key or range touches, each checked to be held. */
  private touched(key: Uint8Array, rangeEnd: Uint8Array | undefined): NamespaceDefinition[] {
    const defs = this.store.registry.routeRange(key, registryEnd(rangeEnd));
    if (this.id.held !== undefined && rangeEnd === undefined) {
      const d = defs[0]!;
      if (!this.id.held.has(d.name)) throw new EdgeError('not-found', `edge ${this.id.name} does not hold namespace ${JSON.stringify(d.name)} (see its --namespaces)`);
    }
    return defs;
  }

  // ---- KV reads: local, with staleness for strong namespaces
  async range(req: RangeRequest): Promise<RangeResponse> {
    return (await this.rangeLeveled(req, undefined, Number.POSITIVE_INFINITY)).response;
  }

  async rangeLeveled(req: RangeRequest, ask: ReadAsk | undefined, deadlineMs: number) {
    const defs = this.touched(req.key, req.rangeEnd);
    const strong = defs.filter((d) => d.level === Level.Strong && (this.id.held === undefined || this.id.held.has(d.name)));
    if (strong.length === 0) {
      const response = await this.store.mvcc.range(req);
      return { response, level: 'serializable', appliedRevision: this.store.mvcc.currentRevision };
    }
    const staleness = this.link.strongStalenessMs();
    const level = ask?.level ?? strong[0]!.readLevel;
    if (level === 'bounded') {
      const bound = ask?.maxStalenessMs ?? Math.min(...strong.map((d) => d.maxStalenessMs));
      if (!(staleness <= bound)) {
        const measured = Number.isFinite(staleness) ? `${Math.round(staleness)} ms` : 'unknown (never caught up with the region)';
        throw new EdgeError('unavailable', `edge ${this.id.name}: the copy of strong namespace ${JSON.stringify(strong[0]!.name)} is ${measured} stale, past the bound of ${bound} ms`);
      }
    }
    if (level === 'session' && (ask?.minRevision ?? 0) > this.store.mvcc.currentRevision) {
      const until = Math.min(deadlineMs, Date.now() + 5_000);
      while ((ask?.minRevision ?? 0) > this.store.mvcc.currentRevision && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      if ((ask?.minRevision ?? 0) > this.store.mvcc.currentRevision) throw new EdgeError('deadline-exceeded', `edge ${this.id.name} has not reached revision ${ask?.minRevision} yet`);
    }
    const response = await this.store.mvcc.range(req);
    const stalenessMs = Number.isFinite(staleness) ? Math.round(staleness) : 2 ** 31 - 1;
    // Whatever was asked, an edge serves strong namespaces from its copy: what it served says so.
    return { response, level: level === 'bounded' ? 'bounded' : 'serializable', appliedRevision: this.store.mvcc.currentRevision, stalenessMs };
  }

  // ---- KV writes
  async put(req: PutRequest, id?: ClientSeq): Promise<PutResponse> {
    const ns = this.touched(req.key, undefined)[0]!;
    if (ns.level === Level.Strong) {
      if (!this.link.connected) throw this.offline();
      return this.link.forwardPut(req);
    }
    if (ns.crdtType !== CrdtType.Lww) {
      throw new EdgeError('failed-precondition', `namespace ${JSON.stringify(ns.name)} is eventual (${ns.crdtType}): etcd Put works only on strong and lww namespaces; write it with regionstore.v1.Crdt`);
    }
    if (req.lease !== undefined && req.lease !== 0) {
      throw new EdgeError('failed-precondition', `namespace ${JSON.stringify(ns.name)} is eventual (lww): leases exist only in strong namespaces`);
    }
    if (req.key.length + req.value.length > CRDT_OP_BYTES_MAX) {
      throw new EdgeError('invalid', `a write to an lww namespace is at most ${CRDT_OP_BYTES_MAX} bytes of key + value (CRDT_OP_BYTES_MAX), this one is ${req.key.length + req.value.length}`);
    }
    const prev = req.prevKv === true || req.ignoreValue === true ? await this.liveKv(req.key) : undefined;
    let value = req.value;
    if (req.ignoreValue === true) {
      if (prev === undefined) throw new EdgeError('key-not-found', 'etcdserver: key not found');
      value = prev.value;
    }
    const res = await this.crdtOps.write({ namespace: ns.name, ops: [{ type: 'lwwPut', key: req.key, value }] }, id);
    return { revision: res.revision, ...(req.prevKv === true && prev !== undefined ? { prevKv: prev } : {}) };
  }

  private async liveKv(key: Uint8Array): Promise<KeyValue | undefined> {
    return (await this.store.mvcc.range({ key })).kvs[0];
  }

  async deleteRange(req: DeleteRangeRequest, id?: ClientSeq): Promise<DeleteRangeResponse> {
    const defs = this.touched(req.key, req.rangeEnd);
    if (defs.every((d) => d.level === Level.Strong)) {
      if (!this.link.connected) throw this.offline();
      return this.link.forwardDeleteRange(req);
    }
    const ns = defs[0]!;
    if (defs.length > 1) {
      throw new EdgeError('failed-precondition', `the range spans ${defs.length} namespaces (${defs.map((d) => d.name).join(', ')}) and one is eventual: delete inside one namespace at a time`);
    }
    if (ns.crdtType !== CrdtType.Lww) {
      throw new EdgeError('failed-precondition', `namespace ${JSON.stringify(ns.name)} is eventual (${ns.crdtType}): etcd DeleteRange works only on strong and lww namespaces`);
    }
    const live = await this.store.mvcc.range({ key: req.key, ...(req.rangeEnd ? { rangeEnd: req.rangeEnd } : {}), keysOnly: req.prevKv !== true, limit: CRDT_WRITE_OPS_MAX + 1 });
    if (live.kvs.length > CRDT_WRITE_OPS_MAX) {
      throw new EdgeError('resource-exhausted', `a DeleteRange in an lww namespace deletes at most ${CRDT_WRITE_OPS_MAX} keys at once (CRDT_WRITE_OPS_MAX); this range holds more`);
    }
    if (live.kvs.length === 0) return { revision: this.store.mvcc.currentRevision, deleted: 0, prevKvs: [] };
    const res = await this.crdtOps.write({ namespace: ns.name, ops: live.kvs.map((kv) => ({ type: 'lwwDelete' as const, key: kv.key })) }, id);
    return { revision: res.revision, deleted: live.kvs.length, prevKvs: req.prevKv === true ? live.kvs : [] };
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    if (!isReadOnlyTxn(req)) throw this.notOnEdge('a Txn with writes');
    return this.store.mvcc.readTxn(req);
  }

  compact(_req: CompactionRequest): Promise<never> {
    return Promise.reject(this.notOnEdge('Compact'));
  }

  watch(req: WatchRequest) {
    return this.store.mvcc.watchHub.watch(req);
  }

  // ---- Lease: only in strong namespaces, which the region owns
  leaseGrant(): Promise<never> {
    return Promise.reject(this.notOnEdge('LeaseGrant (leases exist only in the region\'s strong namespaces)'));
  }
  leaseRevoke(): Promise<never> {
    return Promise.reject(this.notOnEdge('LeaseRevoke'));
  }
  leaseKeepAlive(): Promise<never> {
    return Promise.reject(this.notOnEdge('LeaseKeepAlive'));
  }
  leaseTimeToLive(): Promise<never> {
    return Promise.reject(this.notOnEdge('LeaseTimeToLive'));
  }
  leaseLeases(): Promise<never> {
    return Promise.reject(this.notOnEdge('LeaseLeases'));
  }

  // ---- Cluster
  memberAdd(): Promise<never> {
    return Promise.reject(this.notOnEdge('MemberAdd'));
  }
  memberRemove(): Promise<never> {
    return Promise.reject(this.notOnEdge('MemberRemove'));
  }
  memberUpdate(): Promise<never> {
    return Promise.reject(this.notOnEdge('MemberUpdate'));
  }
  memberList(): Promise<never> {
    return Promise.reject(this.notOnEdge('MemberList'));
  }
  memberPromote(): Promise<never> {
    return Promise.reject(this.notOnEdge('MemberPromote'));
  }

  // ---- Maintenance: status and hashes of the local store; the rest is the region's
  async status() {
    const dbSize = await this.store.engine.approximateSize();
    return {
      leader: 0,
      raftIndex: this.store.mvcc.appliedIndex,
      raftTerm: 0,
      raftAppliedIndex: this.store.mvcc.appliedIndex,
      dbSize,
      dbSizeInUse: dbSize,
      isLearner: false,
      errors: this.link.connected ? [] : [this.offline().message],
    };
  }

  async alarm(action: number): Promise<Array<{ memberID: number; alarm: 0 | 1 | 2 }>> {
    if (action !== 0) throw this.notOnEdge('Alarm activate/deactivate');
    return [];
  }

  async defragment(): Promise<void> {
    // RocksDB compacts in the background; nothing to defragment.
  }

  async hash(): Promise<number> {
    return (await this.store.mvcc.hashKV(0)).hash;
  }

  hashKV(revision: number) {
    return this.store.mvcc.hashKV(revision);
  }

  moveLeader(): Promise<never> {
    return Promise.reject(this.notOnEdge('MoveLeader'));
  }

  snapshot(): Promise<never> {
    return Promise.reject(this.notOnEdge('Snapshot (take snapshots of the region)'));
  }
}
