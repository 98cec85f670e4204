// The region side of the Crdt service (server/api/crdt-backend.ts's CrdtBackend, implemented
// structurally: server/region may not import server/api). A write is one Raft entry (an mvcc
// external command, so a retried identity applies at most once) answered once this member
// applied it; reads wait for their read level's barrier, then read this member's state.
// Refusals the state decides come back as errors with `code` one of CrdtBackendErrorCode;
// proposal failures keep the region's codes (no-leader, timeout, ...), which server/api maps
// as for etcd writes.

import type { CrdtRecord } from '../../crdt/index.js';
import { AlarmAction, AlarmType, MvccError, type ClientSeq } from '../../mvcc/index.js';
import { putCost } from '../quota.js';
import type { NamespaceDefinition, ReadAsk } from '../../namespace/index.js';
import type { RegionNode } from '../region-node.js';
import { EvError, decodeAnswer, encodeBody, isWriteAnswer, writeBody, type EvBody, type EvOp, type EvPageRange } from '../../eventual/entry.js';
import { hasNul } from '../../eventual/layout.js';
import type { EdgeUpdate } from '../../eventual/edges.js';
import type { VectorView } from '../../eventual/store.js';
import { CRDT_DEVICES_PAGE_DEFAULT, CRDT_DEVICES_PAGE_MAX, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX } from '../../eventual/limits.js';
import { eventualReadBarrier } from './read-level.js';
import {
  readConflicts, readDevices, readEntries, readEvents, readSuperseded, wireHlc,
  type DeviceItem, type EntryValue, type StoredEvent, type SupersededItem,
} from '../../eventual/reads.js';

export interface Answer {
  namespace: string;
  revision: number;
  vector: VectorView;
  memberId: number;
}

export interface WriteInput {
  namespace: string;
  ops: EvOp[];
}

export interface OpOutcome {
  dot?: { origin: string; seq: number };
  hlc?: { wallMs: number; logical: number };
  eventSeq?: number;
  duplicate?: boolean;
}

export interface ReadInput {
  namespace: string;
  key: Uint8Array;
  rangeEnd: Uint8Array;
  device: string;
  fromSeq: number;
  toSeq: number;
  limit: number;
}

/** MvccError codes a CRDT write can meet, as the Crdt service's codes. */
function fromMvcc(e: MvccError): EvError {
  switch (e.code) {
    case 'no-space': return new EvError('resource-exhausted', e.message);
    case 'corrupt': return new EvError('unavailable', e.message);
    default: return new EvError('failed-precondition', e.message);
  }
}

/** Bytes an op adds about (its key or device and its value), as putCost counts an etcd put. */
function opCost(op: EvOp): number {
  switch (op.type) {
    case 'lwwPut': case 'mvPut': return putCost(op.key, op.value);
    case 'setAdd': case 'setRemove': return putCost(op.key, op.member);
    case 'lwwDelete': case 'counterAdd': return putCost(op.key, new Uint8Array(0));
    case 'eventAppend': return putCost(new TextEncoder().encode(op.device), op.payload);
  }
}

/** The quota cost of a write's ops. */
function writeCost(ops: readonly EvOp[]): number {
  let cost = 0;
  for (const op of ops) cost += opCost(op);
  return cost;
}

/** A proposal's failure as the Crdt service's (an MvccError), else as it is. */
function proposalError(e: unknown): never {
  if (e instanceof MvccError) throw fromMvcc(e);
  throw e;
}

/**
 * A write's answer as it is, once it is known to be one (not a refusal, which is thrown as
 * an EvError). The per-op outcomes are decoded only by write(): an etcd Put
 * (writeRevision) needs the revision alone.
 */
function writeAnswer(res: { revision: number; body: Uint8Array }): { revision: number; body: Uint8Array } {
  if (!isWriteAnswer(res.body)) {
    const a = decodeAnswer(res.body);
    if (a.kind === 'error') throw new EvError(a.code, a.message);
    throw new Error(`a CRDT write got a ${a.kind} answer`);
  }
  return res;
}

/**
 * A Write's answer as the leader (or the member that took it) hands it to server/api: the
 * apply's answer bytes as they are (`answer`: server/api encodes the wire answer straight from
 * them) and the outcomes decoded only if someone reads `results` (no decode, outcome or dot
 * objects per Write on the hot path).
 */
class WriteResult implements Answer {
  private decoded: OpOutcome[] | undefined;

  constructor(
    readonly namespace: string,
    readonly revision: number,
    readonly vector: VectorView,
    readonly memberId: number,
    readonly answer: Uint8Array,
  ) {}

  get results(): OpOutcome[] {
    return this.decoded ??= (decodeAnswer(this.answer) as Extract<ReturnType<typeof decodeAnswer>, { kind: 'write' }>).results.map((o) => ({
      ...(o.dot ? { dot: o.dot } : {}), ...(o.hlc ? { hlc: wireHlc(o.hlc) } : {}),
      ...(o.eventSeq !== undefined ? { eventSeq: o.eventSeq } : {}), ...(o.duplicate ? { duplicate: true } : {}),
    }));
  }
}

function revisionOnly(_def: NamespaceDefinition, res: { revision: number }): { revision: number } {
  return { revision: res.revision };
}

/** writeRevision's answer from a proposal's (no closure per write: it needs no namespace). */
function revisionAnswer(res: { revision: number; body: Uint8Array }): { revision: number } {
  return { revision: writeAnswer(res).revision };
}

/** The key of a write's first op that has one (not an event append): what names its namespace when the write does not. */
function firstKey(ops: readonly EvOp[]): Uint8Array | undefined {
  for (const op of ops) if (op.type !== 'eventAppend') return op.key;
  return undefined;
}

function clampLimit(limit: number, dflt: number, max: number): number {
  return limit <= 0 ? dflt : Math.min(limit, max);
}

export class RegionCrdt {
  constructor(private readonly node: RegionNode) {}

  private answer(namespace: string, revision: number): Answer {
    return { namespace, revision, vector: this.node.eventual.vector(namespace), memberId: this.node.id };
  }

  /** The eventual namespace a request names, or that owns its key. */
  private namespaceOf(name: string, key: Uint8Array | undefined): NamespaceDefinition {
    const reg = this.node.namespaces;
    let def: NamespaceDefinition | undefined;
    if (name !== '') {
      def = reg.get(name);
      if (def === undefined) throw new EvError('not-found', `namespace ${JSON.stringify(name)} not found: list them with rsctl ns list`);
    } else {
      if (key === undefined || key.length === 0) throw new EvError('invalid-argument', 'name the namespace, or give a key inside it');
      def = reg.route(key);
    }
    if (def.level !== 'eventual') {
      throw new EvError('failed-precondition', `namespace ${JSON.stringify(def.name)} is strong: use the etcd KV API (Put, Range, Txn) for it`);
    }
    return def;
  }

  /**
   * namespaceOf for a write, asked again after a linearizable barrier when this member's
   * registry refuses it: a member still catching up (a learner before its snapshot) holds an
   * old registry, and its NOT_FOUND would be taken by the client as the answer to every
   * attempt of the write, while an earlier attempt at another member may have applied it
   * (chaos seed 4: an mv write recorded as failed with NOT_FOUND was in the final state).
   * After the barrier this member has applied everything committed before the write reached
   * it, so a refusal then is the region's answer. Only the refusal path pays the round trip.
   */
  private async writableNamespace(name: string, key: Uint8Array | undefined): Promise<NamespaceDefinition> {
    try {
      return this.namespaceOf(name, key);
    } catch (e) {
      if (!(e instanceof EvError) || (e.code !== 'not-found' && e.code !== 'failed-precondition')) throw e;
      await this.node.linearizableBarrier();
      return this.namespaceOf(name, key);
    }
  }

  write(req: WriteInput, identity: ClientSeq | undefined): Promise<Answer & { results: OpOutcome[]; answer: Uint8Array }> {
    return this.proposeWrite(req, identity, this.writeResult);
  }

  /** write()'s answer (made once per RegionCrdt, not a closure per write). */
  private readonly writeResult = (def: NamespaceDefinition, res: { revision: number; body: Uint8Array }): WriteResult =>
    new WriteResult(def.name, res.revision, this.node.eventual.vector(def.name), this.node.id, res.body);

  /**
   * An etcd Put or DeleteRange on an lww namespace (eventual-routing.ts): the same entry as
   * write(), answered with the revision only (no vector, no per-op outcomes to build).
   */
  writeRevision(req: WriteInput, identity: ClientSeq | undefined): Promise<{ revision: number }> {
    const def = this.fastNamespace(req);
    if (def === undefined) return this.writeEntry(req, identity).then((r) => revisionOnly(r.def, r));
    return this.proposeNow(def, req, identity).then(revisionAnswer, proposalError);
  }

  /**
   * Proposes a write; `done` makes the answer from a write's answer (a refusal is thrown as an
   * EvError first). While nothing refuses it here (a namespace this member knows, the quota
   * measured and not reached: every write but the first after a start) it is encoded and
   * proposed at once, with one .then per write rather than the general path's async frames
   * held for the whole round trip (writeEntry decides the rest: the barrier, the alarm).
   */
  private proposeWrite<T>(req: WriteInput, identity: ClientSeq | undefined, done: (def: NamespaceDefinition, res: { revision: number; body: Uint8Array }) => T): Promise<T> {
    const def = this.fastNamespace(req);
    if (def === undefined) return this.writeEntry(req, identity).then((r) => done(r.def, r));
    return this.proposeNow(def, req, identity).then((res) => done(def, writeAnswer(res)), proposalError);
  }

  /** The write's namespace when proposeWrite's fast path takes it (nothing here refuses it), else undefined. */
  private fastNamespace(req: WriteInput): NamespaceDefinition | undefined {
    const def = req.ops.length === 0 ? undefined : this.namespaceNow(req);
    return def === undefined || this.node.quota.fitsNow(writeCost(req.ops)) !== true ? undefined : def;
  }

  /** Proposes the write's body, written straight into the command's bytes (no finished body of its own to copy in). */
  private proposeNow(def: NamespaceDefinition, req: WriteInput, identity: ClientSeq | undefined): Promise<{ revision: number; body: Uint8Array }> {
    const body: EvBody = { kind: 'write', namespace: def.name, physicalMs: Date.now(), ops: req.ops };
    return this.node.proposeEventualWritten((w) => writeBody(w, body), identity);
  }

  /**
   * The eventual namespace a write names, or (named '') that owns its first keyed op's key, as
   * this member knows it, decided at once (the client library's lww put names none: it takes
   * this path too); undefined where writeEntry would refuse (or look further).
   */
  private namespaceNow(req: WriteInput): NamespaceDefinition | undefined {
    const reg = this.node.namespaces;
    let def: NamespaceDefinition | undefined;
    if (req.namespace !== '') def = reg.get(req.namespace);
    else {
      const key = firstKey(req.ops);
      if (key === undefined || key.length === 0) return undefined;
      def = reg.route(key);
    }
    return def !== undefined && def.level === 'eventual' ? def : undefined;
  }

  /** Proposes the write after every check (the general path of proposeWrite); resolves with its answer's bytes once it is known to be a write's answer (not a refusal). */
  private async writeEntry(req: WriteInput, identity: ClientSeq | undefined): Promise<{ def: NamespaceDefinition; revision: number; body: Uint8Array }> {
    if (req.ops.length === 0) throw new EvError('invalid-argument', 'a write needs at least one op');
    const key = firstKey(req.ops);
    if (req.namespace === '' && key === undefined) throw new EvError('invalid-argument', 'event appends need the namespace named');
    const def = await this.writableNamespace(req.namespace, key);
    await this.checkQuota(writeCost(req.ops));
    const body = encodeBody({ kind: 'write', namespace: def.name, physicalMs: Date.now(), ops: req.ops });
    const res = writeAnswer(await this.propose(body, identity));
    return { def, revision: res.revision, body: res.body };
  }

  /**
   * A page of foreign-origin records (an edge upload, issue 14), one Raft entry: per-origin
   * prefix order, duplicates ignored; a gap answers FAILED_PRECONDITION with `resendFrom`.
   */
  async uploadPage(namespace: string, ranges: EvPageRange[], records: CrdtRecord[], identity?: ClientSeq): Promise<Answer & { applied: number }> {
    const def = this.namespaceOf(namespace, undefined);
    for (const g of ranges) if (hasNul(g.origin)) throw new EvError('invalid-argument', 'origins hold no NUL characters');
    const res = await this.propose(encodeBody({ kind: 'page', namespace: def.name, physicalMs: Date.now(), ranges, records }), identity);
    const a = decodeAnswer(res.body);
    if (a.kind === 'error') throw new EvError(a.code, a.message, a.resendFrom);
    if (a.kind !== 'page') throw new Error(`a page upload got a ${a.kind} answer`);
    return { ...this.answer(def.name, res.revision), applied: a.applied };
  }

  /** A known edge's session event or ACK batch (server/eventual/edges.ts), one Raft entry. */
  async recordEdge(update: EdgeUpdate): Promise<void> {
    const res = await this.propose(encodeBody({ kind: 'edge', namespace: '', physicalMs: Date.now(), update }), undefined);
    const a = decodeAnswer(res.body);
    if (a.kind === 'error') throw new EvError(a.code, a.message);
  }

  /** A causal-stability GC entry (server/eventual/gc.ts); resolves with the records dropped. */
  async collect(body: { namespace: string; stable: Array<{ origin: string; seq: number }>; superseded: Array<{ key: Uint8Array; origin: string; seq: number }>; removes: Array<{ origin: string; seq: number }> }): Promise<number> {
    const res = await this.propose(encodeBody({ kind: 'gc', physicalMs: Date.now(), ...body }), undefined);
    const a = decodeAnswer(res.body);
    if (a.kind === 'error') throw new EvError(a.code, a.message);
    return a.kind === 'gc' ? a.dropped : 0;
  }

  /**
   * etcd's quota rule for CRDT writes too: a write that would take the state database past
   * --quota-backend-bytes raises the NOSPACE alarm (through Raft) and is refused; the alarm
   * then refuses CRDT writes at apply on every member until it is disarmed.
   */
  private async checkQuota(cost: number): Promise<void> {
    if (await this.node.quota.available(cost)) return;
    const raise = { type: 'alarm' as const, alarm: { action: AlarmAction.ACTIVATE, memberId: this.node.id, alarm: AlarmType.NOSPACE } };
    await this.node.proposeCommand(raise).catch(() => undefined);
    throw new EvError('resource-exhausted', 'etcdserver: mvcc: database space exceeded');
  }

  private propose(body: Uint8Array, identity: ClientSeq | undefined): Promise<{ revision: number; body: Uint8Array }> {
    return this.node.proposeEventual(body, identity).catch(proposalError);
  }

  async read(req: ReadInput, ask: ReadAsk | undefined, deadlineMs: number): Promise<Answer & {
    crdtType: 'lww' | 'mv' | 'counter' | 'set' | 'events';
    entries: Array<{ key: Uint8Array; value: EntryValue }>;
    events: StoredEvent[];
    more: boolean;
  }> {
    const def = this.namespaceOf(req.namespace, req.key);
    await eventualReadBarrier(this.node, ask, deadlineMs, def.maxStalenessMs);
    const limit = clampLimit(req.limit, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX);
    const crdtType = def.crdtType as 'lww' | 'mv' | 'counter' | 'set' | 'events';
    return this.node.readEventual(async (store, mvcc) => {
      const base = { ...this.answer(def.name, mvcc.currentRevision), vector: store.vector(def.name), crdtType };
      if (crdtType === 'events') {
        const r = await readEvents(store.engine, def, req.device, req.fromSeq, req.toSeq, limit);
        return { ...base, entries: [], events: r.events, more: r.more };
      }
      const r = await readEntries(store.engine, def, req.key, req.rangeEnd, limit);
      return { ...base, entries: r.entries, events: [], more: r.more };
    });
  }

  async superseded(
    req: { namespace: string; key: Uint8Array; rangeEnd: Uint8Array; limit: number }, ask: ReadAsk | undefined, deadlineMs: number,
  ): Promise<Answer & { records: SupersededItem[]; more: boolean; total: number }> {
    const def = this.namespaceOf(req.namespace, req.key);
    if (def.crdtType !== 'lww') throw new EvError('failed-precondition', `namespace ${JSON.stringify(def.name)} is of type ${def.crdtType}: only lww namespaces keep superseded records`);
    await eventualReadBarrier(this.node, ask, deadlineMs, def.maxStalenessMs);
    const limit = clampLimit(req.limit, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX);
    return this.node.readEventual(async (store, mvcc) => {
      const total = store.counts(def.name).superseded;
      const r = await readSuperseded(store.engine, def, req.key, req.rangeEnd, limit);
      return { ...this.answer(def.name, mvcc.currentRevision), vector: store.vector(def.name), ...r, total };
    });
  }

  async completeness(
    req: { namespace: string; device: string; afterDevice: string; limit: number }, ask: ReadAsk | undefined, deadlineMs: number,
  ): Promise<Answer & { devices: DeviceItem[]; more: boolean; completeness: number; deviceCount: number; gapCount: number }> {
    const def = this.namespaceOf(req.namespace, undefined);
    if (def.crdtType !== 'events') throw new EvError('failed-precondition', `namespace ${JSON.stringify(def.name)} is of type ${def.crdtType}: completeness is for events namespaces`);
    await eventualReadBarrier(this.node, ask, deadlineMs, def.maxStalenessMs);
    const limit = clampLimit(req.limit, CRDT_DEVICES_PAGE_DEFAULT, CRDT_DEVICES_PAGE_MAX);
    return this.node.readEventual(async (store, mvcc) => {
      const c = store.counts(def.name);
      const r = await readDevices(store.engine, def, req.device, req.afterDevice, limit);
      return {
        ...this.answer(def.name, mvcc.currentRevision), vector: store.vector(def.name), ...r,
        completeness: c.eventsHighest === 0 ? 1 : c.eventsHeld / c.eventsHighest, deviceCount: c.devices, gapCount: c.gaps,
      };
    });
  }

  async conflicts(
    req: { namespace: string; afterKey: Uint8Array; limit: number }, ask: ReadAsk | undefined, deadlineMs: number,
  ): Promise<Answer & { keys: Array<{ key: Uint8Array; siblings: number }>; more: boolean; unresolved: number }> {
    const def = this.namespaceOf(req.namespace, undefined);
    if (def.crdtType !== 'mv') throw new EvError('failed-precondition', `namespace ${JSON.stringify(def.name)} is of type ${def.crdtType}: only mv namespaces keep siblings (conflicts)`);
    await eventualReadBarrier(this.node, ask, deadlineMs, def.maxStalenessMs);
    const limit = clampLimit(req.limit, CRDT_READ_LIMIT_DEFAULT, CRDT_READ_LIMIT_MAX);
    return this.node.readEventual(async (store, mvcc) => {
      const r = await readConflicts(store.engine, def, req.afterKey, limit);
      return { ...this.answer(def.name, mvcc.currentRevision), vector: store.vector(def.name), ...r, unresolved: store.counts(def.name).unresolved };
    });
  }

  /** Local: this member's applied state (what tests compare across members). */
  async hash(namespace: string): Promise<Answer & { hash: number; appliedIndex: number }> {
    const def = this.namespaceOf(namespace, undefined);
    return this.node.readEventual(async (store, mvcc) => {
      const appliedIndex = mvcc.appliedIndex;
      const revision = mvcc.currentRevision;
      const vector = store.vector(def.name);
      const hash = await store.hash(def.name);
      return { namespace: def.name, revision, vector, memberId: this.node.id, hash, appliedIndex };
    });
  }
}
