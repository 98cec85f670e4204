// The regionstore.v1.Crdt service on an edge (server/api's CrdtBackend, structurally):
// writes apply locally under the edge's origin and are answered once group-committed
// (durable); reads read the local store. Works the same connected or not: that is what an
// edge is for. A namespace the edge does not hold (--namespaces) is NOT_FOUND, saying so.

import type { ClientSeq } from '../mvcc/index.js';
import type { NamespaceDefinition } from '../namespace/index.js';
import { EvError, decodeAnswer, encodeBody, type EvOp } from '../eventual/entry.js';
import { CRDT_DEVICES_PAGE_DEFAULT, CRDT_DEVICES_PAGE_MAX, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX } from '../eventual/limits.js';
import { readConflicts, readDevices, readEntries, readEvents, readSuperseded, wireHlc } from '../eventual/reads.js';
import { eventualCommand, type EdgeStore } from './store.js';
import { traceNow, tracePoint, tracing } from '../util/trace-points.js';

export interface EdgeIdentity {
  /** The device id (--name). */
  readonly name: string;
  /** The member id headers and answers carry: a stable number from the device id. */
  readonly memberId: number;
  /** Namespaces held; undefined: all. */
  readonly held: ReadonlySet<string> | undefined;
  /** The edge's clock (ms since the epoch; the test-only offset included). */
  now(): number;
}

function clampLimit(limit: number, dflt: number, max: number): number {
  return limit <= 0 ? dflt : Math.min(limit, max);
}

export class EdgeCrdt {
  /** Called after every acknowledged local write, with its namespace (the session pushes it). */
  onLocalWrite: ((namespace: string) => void) | undefined;
  /** Awaited before a local write is applied (the edge node's incarnation rule). */
  beforeLocalWrite: (() => Promise<void>) | undefined;

  constructor(private readonly store: EdgeStore, private readonly id: EdgeIdentity) {}

  private answer(namespace: string, revision: number) {
    return { namespace, revision, vector: this.store.eventual.vector(namespace), memberId: this.id.memberId };
  }

  holds(name: string): boolean {
    return this.id.held === undefined || this.id.held.has(name);
  }

  /** The eventual namespace a request names, or that owns its key. */
  namespaceOf(name: string, key: Uint8Array | undefined): NamespaceDefinition {
    const reg = this.store.registry;
    let def: NamespaceDefinition | undefined;
    if (name !== '') {
      def = reg.get(name);
      if (def === undefined) {
        throw new EvError('not-found', `namespace ${JSON.stringify(name)} is not known to edge ${this.id.name}: list them with rsctl ns list (the registry comes from the region once connected)`);
      }
    } else {
      if (key === undefined || key.length === 0) throw new EvError('invalid-argument', 'name the namespace, or give a key inside it');
      def = reg.route(key);
    }
    if (!this.holds(def.name)) throw new EvError('not-found', `edge ${this.id.name} does not hold namespace ${JSON.stringify(def.name)} (see its --namespaces)`);
    if (def.level !== 'eventual') {
      throw new EvError('failed-precondition', `namespace ${JSON.stringify(def.name)} is strong: use the etcd KV API (writes go to the region)`);
    }
    return def;
  }

  async write(req: { namespace: string; ops: EvOp[] }, identity: ClientSeq | undefined) {
    const t0 = tracing ? traceNow() : 0;
    if (req.ops.length === 0) throw new EvError('invalid-argument', 'a write needs at least one op');
    const firstKey = req.ops.find((o) => o.type !== 'eventAppend') as { key: Uint8Array } | undefined;
    if (req.namespace === '' && firstKey === undefined) throw new EvError('invalid-argument', 'event appends need the namespace named');
    const def = this.namespaceOf(req.namespace, firstKey?.key);
    await this.beforeLocalWrite?.();
    const body = encodeBody({ kind: 'write', namespace: def.name, physicalMs: this.id.now(), ops: req.ops });
    const res = await this.store.external(eventualCommand(body), identity);
    const a = decodeAnswer(res.body);
    if (a.kind === 'error') throw new EvError(a.code, a.message);
    if (a.kind !== 'write') throw new Error(`a CRDT write got a ${a.kind} answer`);
    if (tracing) {
      const seq = a.results[a.results.length - 1]?.dot?.seq ?? 0;
      tracePoint('edge.call', seq, t0);
      tracePoint('edge.durable', seq);
    }
    this.onLocalWrite?.(def.name);
    return {
      ...this.answer(def.name, res.revision),
      results: a.results.map((o) => ({
        ...(o.dot ? { dot: o.dot } : {}), ...(o.hlc ? { hlc: wireHlc(o.hlc) } : {}),
        ...(o.eventSeq !== undefined ? { eventSeq: o.eventSeq } : {}), ...(o.duplicate ? { duplicate: true } : {}),
      })),
    };
  }

  async read(req: { namespace: string; key: Uint8Array; rangeEnd: Uint8Array; device: string; fromSeq: number; toSeq: number; limit: number }) {
    const def = this.namespaceOf(req.namespace, req.key);
    const limit = clampLimit(req.limit, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX);
    const crdtType = def.crdtType as 'lww' | 'mv' | 'counter' | 'set' | 'events';
    const base = { ...this.answer(def.name, this.store.mvcc.currentRevision), crdtType };
    if (crdtType === 'events') {
      const r = await readEvents(this.store.engine, def, req.device, req.fromSeq, req.toSeq, limit);
      return { ...base, entries: [], events: r.events, more: r.more };
    }
    const r = await readEntries(this.store.engine, def, req.key, req.rangeEnd, limit);
    return { ...base, entries: r.entries, events: [], more: r.more };
  }

  async superseded(req: { namespace: string; key: Uint8Array; rangeEnd: Uint8Array; limit: number }) {
    const def = this.namespaceOf(req.namespace, req.key);
    if (def.crdtType !== 'lww') throw new EvError('failed-precondition', `namespace ${JSON.stringify(def.name)} is of type ${def.crdtType}: only lww namespaces keep superseded records`);
    const limit = clampLimit(req.limit, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX);
    const total = this.store.eventual.counts(def.name).superseded;
    const r = await readSuperseded(this.store.engine, def, req.key, req.rangeEnd, limit);
    return { ...this.answer(def.name, this.store.mvcc.currentRevision), ...r, total };
  }

  async completeness(req: { namespace: string; device: string; afterDevice: string; limit: number }) {
    const def = this.namespaceOf(req.namespace, undefined);
    if (def.crdtType !== 'events') throw new EvError('failed-precondition', `namespace ${JSON.stringify(def.name)} is of type ${def.crdtType}: completeness is for events namespaces`);
    const limit = clampLimit(req.limit, CRDT_DEVICES_PAGE_DEFAULT, CRDT_DEVICES_PAGE_MAX);
    const c = this.store.eventual.counts(def.name);
    const r = await readDevices(this.store.engine, def, req.device, req.afterDevice, limit);
    return {
      ...this.answer(def.name, this.store.mvcc.currentRevision), ...r,
      completeness: c.eventsHighest === 0 ? 1 : c.eventsHeld / c.eventsHighest, deviceCount: c.devices, gapCount: c.gaps,
    };
  }

  async conflicts(req: { namespace: string; afterKey: Uint8Array; limit: number }) {
    const def = this.namespaceOf(req.namespace, undefined);
    if (def.crdtType !== 'mv') throw new EvError('failed-precondition', `namespace ${JSON.stringify(def.name)} is of type ${def.crdtType}: only mv namespaces keep siblings (conflicts)`);
    const limit = clampLimit(req.limit, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX);
    const r = await readConflicts(this.store.engine, def, req.afterKey, limit);
    return { ...this.answer(def.name, this.store.mvcc.currentRevision), ...r, unresolved: this.store.eventual.counts(def.name).unresolved };
  }

  /** The local state's hash (what tests compare with the region's members). */
  async hash(namespace: string) {
    const def = this.namespaceOf(namespace, undefined);
    await this.store.mvcc.idle();
    const revision = this.store.mvcc.currentRevision;
    const vector = this.store.eventual.vector(def.name);
    const hash = await this.store.eventual.hash(def.name);
    return { namespace: def.name, revision, vector, memberId: this.id.memberId, hash, appliedIndex: this.store.mvcc.appliedIndex };
  }
}
