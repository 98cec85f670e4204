// etcd KV writes on eventual namespaces (DESIGN §2): which etcd write goes where.
//
// - Put on a key of an `lww` namespace is an lww put through the CRDT path (one Raft entry,
//   stamped at apply like every region CRDT write); its PutResponse carries the revision the
//   write got. DeleteRange of keys inside one `lww` namespace deletes each live key with an
//   lww delete (one CRDT write, so one entry and one revision).
// - prev_kv and ignore_value need the value before the write: it is read from this member's
//   state after a ReadIndex barrier, then the write is proposed. The two are not one atomic
//   step (an lww namespace has no compare-and-swap: a concurrent write may land between);
//   what the answer reports is the value the write replaced as far as this member saw.
// - Everything else that would touch an eventual key through etcd's write API is refused
//   with FAILED_PRECONDITION naming the namespace, its type and what to use instead: Put and
//   DeleteRange on the other types, a Put with a lease, any Txn (compares, reads and writes
//   alike: a Txn's guarantee is one atomic step, which an eventual namespace does not give),
//   and a DeleteRange spanning namespaces of different levels or several eventual ones.
// Ranges and Watch need nothing here: every eventual merge is projected into the mvcc store.
//
// Cheap for strong-only registries: the check is skipped when no namespace is eventual.
//
// The routing decides by this member's registry when the request arrives, which may be a
// moment behind a namespace create already in the log: such a Put could reach the log as a
// strong write into what is, by the time it applies, an eventual prefix. applyGuard below
// refuses it at apply, by the registry as applied up to that entry (the same on every member).

import type {
  DeleteRangeRequest, DeleteRangeResponse, KeyValue, MvccStore, PutRequest, PutResponse, RangeRequest, RequestOp, TxnRequest,
  ClientSeq, WriteGuard,
} from '../mvcc/index.js';
import { CrdtType, Level, type NamespaceDefinition, type NamespaceRegistry } from '../namespace/index.js';

/** The lww ops this module writes: a subset of server/api's CrdtOpInput. */
export type LwwOp = { type: 'lwwPut'; key: Uint8Array; value: Uint8Array } | { type: 'lwwDelete'; key: Uint8Array };

/** The CRDT write path (server/api's CrdtBackend.write, structurally). */
export interface LwwWriter {
  write(req: { namespace: string; ops: LwwOp[] }, identity: ClientSeq | undefined): Promise<{ revision: number }>;
}

/** What the routing needs of a region node. */
export interface RoutingNode {
  readonly namespaces: NamespaceRegistry;
  linearizableBarrier(): Promise<void>;
  readLocal<T>(read: (mvcc: MvccStore) => Promise<T> | T): Promise<T>;
}

export interface RoutingLimits {
  /** Ops in one CRDT write: the most live keys one etcd DeleteRange may delete there. */
  opsMax: number;
  /** Bytes of one op (key + value). */
  opBytesMax: number;
}

export type RoutingErrorCode = 'failed-precondition' | 'resource-exhausted' | 'invalid' | 'key-not-found';

/** A refusal; `code` is one of server/api's backend error codes. */
export class EventualRoutingError extends Error {
  override name = 'EventualRoutingError';
  constructor(readonly code: RoutingErrorCode, message: string) {
    super(message);
  }
}

/** What to use instead, per type, in refusals. */
const INSTEAD: Record<string, string> = {
  [CrdtType.Lww]: 'write with etcd Put / DeleteRange on single keys or regionstore.v1.Crdt (rsctl lww put|del)',
  [CrdtType.Mv]: 'write with regionstore.v1.Crdt (rsctl mv put [--context TOKEN])',
  [CrdtType.Counter]: 'write with regionstore.v1.Crdt (rsctl counter add)',
  [CrdtType.Set]: 'write with regionstore.v1.Crdt (rsctl set add|remove)',
  [CrdtType.Events]: 'write with regionstore.v1.Crdt (rsctl events append)',
};

function describe(d: NamespaceDefinition): string {
  return d.level === Level.Eventual ? `namespace ${JSON.stringify(d.name)} is eventual (${d.crdtType})` : `namespace ${JSON.stringify(d.name)} is strong`;
}

function refuse(d: NamespaceDefinition, what: string, instead = INSTEAD[d.crdtType] ?? 'use a strong namespace'): EventualRoutingError {
  return new EventualRoutingError('failed-precondition', `${describe(d)}: ${what}; ${instead}`);
}

const isEventual = (d: NamespaceDefinition): boolean => d.level === Level.Eventual;

/** Per registry (immutable, swapped on change): does any namespace route to the CRDT path? */
const anyEventual = new WeakMap<NamespaceRegistry, boolean>();
function hasEventual(reg: NamespaceRegistry): boolean {
  let v = anyEventual.get(reg);
  if (v === undefined) anyEventual.set(reg, (v = reg.list().some(isEventual)));
  return v;
}

/** etcd's range end in the registry's terms: undefined one key, empty to the end of the keyspace. */
function registryEnd(rangeEnd: Uint8Array | undefined): Uint8Array | undefined {
  if (rangeEnd === undefined || rangeEnd.length === 0) return undefined;
  return rangeEnd.length === 1 && rangeEnd[0] === 0 ? new Uint8Array(0) : rangeEnd;
}

/**
 * The mvcc write guard of a region member (server/mvcc/write-guard.ts): an etcd Put,
 * DeleteRange or Txn in the log that touches a key of an eventual namespace is refused with
 * FAILED_PRECONDITION naming the namespace. `registry` is the registry as applied so far:
 * the region node applies the mvcc entries before a registry entry first, so at each entry it
 * is the registry as of that entry.
 */
export function applyGuard(registry: () => NamespaceRegistry): WriteGuard {
  return {
    refuse(key, rangeEnd) {
      const reg = registry();
      if (!hasEventual(reg)) return undefined;
      const ns = reg.routeRange(key, registryEnd(rangeEnd)).find(isEventual);
      if (ns === undefined) return undefined;
      const instead = ns.crdtType === CrdtType.Lww
        ? 'send the request again (this member now routes an lww Put or DeleteRange through the CRDT path; a Txn stays refused)'
        : INSTEAD[ns.crdtType] ?? 'use a strong namespace';
      return `${describe(ns)}: this etcd write reached the log as a strong write (its member had not yet applied the namespace's creation) and was refused; ${instead}`;
    },
  };
}

export class EventualRouting {
  constructor(
    private readonly node: RoutingNode,
    private readonly writer: LwwWriter,
    private readonly limits: RoutingLimits,
  ) {}

  /** The namespaces a key or range touches, or undefined when none is eventual (the mvcc path). */
  private eventualTouched(key: Uint8Array, rangeEnd: Uint8Array | undefined): NamespaceDefinition[] | undefined {
    const reg = this.node.namespaces;
    if (!hasEventual(reg)) return undefined;
    const defs = reg.routeRange(key, registryEnd(rangeEnd));
    return defs.some(isEventual) ? defs : undefined;
  }

  /** A Put's answer when its key is eventual; undefined: a strong key, for the mvcc path. */
  put(req: PutRequest, id: ClientSeq | undefined): Promise<PutResponse> | undefined {
    // One key has one namespace: route(), not eventualTouched's routeRange (an array per Put,
    // strong ones included, once any namespace is eventual).
    const reg = this.node.namespaces;
    if (!hasEventual(reg)) return undefined;
    const ns = reg.route(req.key);
    if (!isEventual(ns)) return undefined;
    if (ns.crdtType !== CrdtType.Lww) return Promise.reject(refuse(ns, 'etcd Put works only on strong and lww namespaces'));
    if (req.lease !== undefined && req.lease !== 0) {
      return Promise.reject(refuse(ns, 'leases exist only in strong namespaces',
        'put the key without a lease (an lww key lives until it is deleted), or keep keys that expire in a strong namespace'));
    }
    if (req.key.length + req.value.length > this.limits.opBytesMax) {
      return Promise.reject(new EventualRoutingError('invalid',
        `${describe(ns)}: a write there is at most ${this.limits.opBytesMax} bytes of key + value (CRDT_OP_BYTES_MAX), this one is ${req.key.length + req.value.length}`));
    }
    return this.lwwPut(ns, req, id);
  }

  private lwwPut(ns: NamespaceDefinition, req: PutRequest, id: ClientSeq | undefined): Promise<PutResponse> {
    // The common Put (no prev_kv, no ignore_value): the write's own promise, no frame of this one.
    if (req.prevKv !== true && req.ignoreValue !== true) return this.writer.write({ namespace: ns.name, ops: [{ type: 'lwwPut', key: req.key, value: req.value }] }, id);
    return this.lwwPutReading(ns, req, id);
  }

  /** A Put with prev_kv or ignore_value: the value before it is read first (see the top of this file). */
  private async lwwPutReading(ns: NamespaceDefinition, req: PutRequest, id: ClientSeq | undefined): Promise<PutResponse> {
    const prev: KeyValue | undefined = (await this.readLive({ key: req.key }))[0];
    let value = req.value;
    if (req.ignoreValue === true) {
      if (prev === undefined) throw new EventualRoutingError('key-not-found', 'etcdserver: key not found');
      value = prev.value;
    }
    const res = await this.writer.write({ namespace: ns.name, ops: [{ type: 'lwwPut', key: req.key, value }] }, id);
    return req.prevKv === true && prev !== undefined ? { revision: res.revision, prevKv: prev } : { revision: res.revision };
  }

  /** A DeleteRange's answer when it touches an eventual key; undefined: strong only, for the mvcc path. */
  deleteRange(req: DeleteRangeRequest, id: ClientSeq | undefined): Promise<DeleteRangeResponse> | undefined {
    const defs = this.eventualTouched(req.key, req.rangeEnd);
    if (defs === undefined) return undefined;
    if (defs.length > 1) {
      const names = defs.map((d) => `${JSON.stringify(d.name)} (${d.level === Level.Eventual ? `eventual ${d.crdtType}` : 'strong'})`).join(', ');
      return Promise.reject(new EventualRoutingError('failed-precondition',
        `the range spans namespaces ${names}: an etcd DeleteRange that touches an eventual namespace must stay inside that one namespace; delete each namespace's keys with its own request`));
    }
    const ns = defs[0]!;
    if (ns.crdtType !== CrdtType.Lww) return Promise.reject(refuse(ns, 'etcd DeleteRange works only on strong and lww namespaces'));
    return this.lwwDeleteRange(ns, req, id);
  }

  private async lwwDeleteRange(ns: NamespaceDefinition, req: DeleteRangeRequest, id: ClientSeq | undefined): Promise<DeleteRangeResponse> {
    const range: RangeRequest = { key: req.key, keysOnly: req.prevKv !== true };
    if (req.rangeEnd !== undefined && req.rangeEnd.length > 0) range.rangeEnd = req.rangeEnd;
    const live = await this.readLive(range);
    if (live.length === 0) {
      // Nothing to delete: no write, as etcd (the header shows the current revision).
      return { revision: await this.node.readLocal((mvcc) => mvcc.currentRevision), deleted: 0, prevKvs: [] };
    }
    if (live.length > this.limits.opsMax) {
      throw new EventualRoutingError('resource-exhausted',
        `${describe(ns)}: an etcd DeleteRange there deletes each key with one CRDT write of at most ${this.limits.opsMax} ops (CRDT_WRITE_OPS_MAX), ` +
        `and the range holds ${live.length} live keys or more: delete it in smaller ranges`);
    }
    const ops: LwwOp[] = live.map((kv) => ({ type: 'lwwDelete', key: kv.key }));
    const res = await this.writer.write({ namespace: ns.name, ops }, id);
    return { revision: res.revision, deleted: live.length, prevKvs: req.prevKv === true ? live : [] };
  }

  /** Live keys of a range as of a linearizable read (at most opsMax + 1: enough to refuse). */
  private async readLive(req: RangeRequest): Promise<KeyValue[]> {
    await this.node.linearizableBarrier();
    const res = await this.node.readLocal((mvcc) => mvcc.range({ ...req, limit: this.limits.opsMax + 1 }));
    return res.kvs;
  }

  /** Throws when a Txn touches an eventual key anywhere (compares, ops, nested txns). */
  checkTxn(req: TxnRequest): void {
    if (!hasEventual(this.node.namespaces)) return;
    for (const c of req.compare) this.refuseTxnOn(c.key, c.rangeEnd);
    for (const op of req.success) this.checkTxnOp(op);
    for (const op of req.failure) this.checkTxnOp(op);
  }

  private checkTxnOp(op: RequestOp): void {
    switch (op.type) {
      case 'range':
        return this.refuseTxnOn(op.range.key, op.range.rangeEnd);
      case 'put':
        return this.refuseTxnOn(op.put.key, undefined);
      case 'deleteRange':
        return this.refuseTxnOn(op.deleteRange.key, op.deleteRange.rangeEnd);
      case 'txn':
        return this.checkTxn(op.txn);
    }
  }

  private refuseTxnOn(key: Uint8Array, rangeEnd: Uint8Array | undefined): void {
    const defs = this.eventualTouched(key, rangeEnd);
    const ns = defs?.find(isEventual);
    if (ns !== undefined) {
      throw refuse(ns, 'etcd Txn works only on strong namespaces');
    }
  }
}
