// The regionstore.v1.Crdt service: typed writes and reads of eventual namespaces (DESIGN
// §2, §6, §6a; issue 13).
//
//   await client.crdt.counterAdd('hits/home', 1);
//   (await client.crdt.counterGet('hits/home')).value;
//   const { values, context } = await client.crdt.mvGet('profile/ann');
//   await client.crdt.mvPut('profile/ann', 'merged', context);
//   await client.crdt.eventsAppend('telemetry', [{ device: 'pump-7', type: 'temp', payload: { c: 21.5 } }]);
//
// Calls go through the same Caller as KV: the leader when known, bounded retries, one
// deadline per call. Writes carry the writer identity (rs-client-id / rs-seq), so a retry
// re-sends the same identity and the region applies the write once. Reads take KV's read
// level options; every answer's revision feeds the client's session clock, so a
// serializable read never sees older state than this client wrote or read before.

import type { Metadata } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { prefixEnd, text, toBuffer, type BytesLike } from './bytes.js';
import type { Caller, CallOptions } from './caller.js';
import {
  completenessResult, conflictsResult, hashResult, opToWire, readResult, supersededResult, writeResult,
  type CompletenessResult, type ConflictsResult, type CounterGetResult, type CrdtHashResult, type CrdtOp, type CrdtOpWriteResult,
  type CrdtReadResult, type CrdtWriteResult, type EventInput, type EventsAppendResult, type EventsScanResult, type LwwEntry,
  type LwwGetResult, type LwwRangeResult, type MvGetResult, type SetMembersResult, type StoredEvent, type SupersededResult,
  type WireHashResponse, type WireWriteResponse,
} from './crdt-types.js';
import { decodeOpWriteResult, decodeWriteResult, encodeWriteRequest, fastWriteMethod, isDecoded } from './crdt-codec.js';
import { LOADER_OPTIONS, type Method } from './proto.js';
import { readInfoFrom, readMetadata, type ReadInfo, type ReadLevelOptions, type SessionClock } from './read-level.js';
import { protoDir } from '../../proto/dir.js';

/** Pages a call with `all: true` fetches at most (a bound on a runaway loop, not on data: pages hold many entries). */
export const CRDT_PAGES_MAX = 100_000;

/** Options of a key op's write: the namespace (default: the one owning the key) and the call's. */
export type CrdtWriteOptions = { namespace?: string } & CallOptions;

/**
 * Read options: a level (as for KV range: `serializable` alone is a session read at the
 * highest revision this client has seen), the namespace when the key does not name it, and
 * the call's options.
 */
export type CrdtReadOptions = ReadLevelOptions & { serializable?: boolean; namespace?: string } & CallOptions;

export interface CrdtReadRequest {
  /** A key, or with rangeEnd the range [key, rangeEnd) (FROM_KEY: every key from key on); none: the whole namespace. */
  key?: BytesLike;
  rangeEnd?: BytesLike;
  /** Events: one device (absent: every device) and seqs fromSeq..toSeq (0: unbounded). */
  device?: string;
  fromSeq?: number;
  toSeq?: number;
  /** Entries or events per answer (0: the server's default). */
  limit?: number;
}

export interface LwwRangeOptions extends CrdtReadOptions {
  /** Every key with `key` as a prefix (instead of rangeEnd). */
  prefix?: boolean;
  limit?: number;
  /** Fetch every page (`limit` is then the page size). */
  all?: boolean;
}

export interface EventsScanOptions extends CrdtReadOptions {
  device?: string;
  fromSeq?: number;
  toSeq?: number;
  /** Events per answer (0: the server's default). */
  limit?: number;
  /** Fetch every page until no more match (`limit` is then the page size). */
  all?: boolean;
}

export interface CompletenessOptions extends CrdtReadOptions {
  device?: string;
  /** Devices after this name (paging). */
  afterDevice?: string;
  limit?: number;
  /** Fetch every page of devices. */
  all?: boolean;
}

export interface ConflictsOptions extends CrdtReadOptions {
  afterKey?: BytesLike;
  limit?: number;
  all?: boolean;
}

export interface SupersededOptions extends CrdtReadOptions {
  key?: BytesLike;
  rangeEnd?: BytesLike;
  limit?: number;
}

interface CrdtMethods {
  write: Method;
  /** Write sending encoded bytes and answering with crdt-codec.ts's result (or proto-loader's object for what it leaves). */
  writeFast: Method;
  /** The same for a one-op write: the answer as Crdt.one returns it. */
  writeOneFast: Method;
  read: Method;
  superseded: Method;
  completeness: Method;
  conflicts: Method;
  hash: Method;
}

let cached: CrdtMethods | undefined;

function methods(): CrdtMethods {
  if (cached !== undefined) return cached;
  const dir = protoDir();
  const def = loadSync('regionstore/v1/crdt_service.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
  const s = def['regionstore.v1.Crdt'] as unknown as Record<string, Method>;
  const write = s['Write']!;
  cached = {
    write, writeFast: fastWriteMethod(write, decodeWriteResult), writeOneFast: fastWriteMethod(write, decodeOpWriteResult),
    read: s['Read']!, superseded: s['Superseded']!, completeness: s['Completeness']!, conflicts: s['Conflicts']!, hash: s['Hash']!,
  };
  return cached;
}

/** The key after `key` in byte order: where the next page of a range starts. */
function keyAfter(key: Uint8Array): Buffer {
  return Buffer.concat([toBuffer(key), Buffer.from([0])]);
}

function nonNegative(v: number | undefined, what: string): number {
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a whole number >= 0, got ${String(v)}`);
  return v;
}

export class Crdt {
  /**
   * @param session the client's session clock (shared with KV); `sessionReads`: a
   *   serializable read is sent as a session read at its revision.
   */
  constructor(
    private readonly caller: Caller,
    readonly session: SessionClock,
    private readonly sessionReads = true,
  ) {}

  // ---- writes ----

  /** A batch of ops of one namespace, applied as one Raft entry (at most once, retries included). */
  async write(namespace: string, ops: readonly CrdtOp[], opts: CallOptions = {}): Promise<CrdtWriteResult> {
    const req = this.writeBytes(namespace, ops);
    const a = await this.caller.unary<CrdtWriteResult | WireWriteResponse>(methods().writeFast, req, 'write', opts);
    const r = isDecoded(a) ? a : writeResult(a);
    this.session.observe(r.revision);
    return r;
  }

  /** The request as bytes (crdt-codec.ts: the ops encoded directly, else proto-loader's path); throws for bad ops before anything is sent. */
  private writeBytes(namespace: string, ops: readonly CrdtOp[]): Buffer {
    if (ops.length === 0) throw new RangeError('a CRDT write needs at least one op');
    return encodeWriteRequest(namespace, ops) ?? methods().write.requestSerialize({ namespace, ops: ops.map(opToWire) });
  }

  lwwPut(key: BytesLike, value: BytesLike, opts: CrdtWriteOptions = {}): Promise<CrdtOpWriteResult> {
    return this.one({ op: 'lwwPut', key, value }, opts);
  }

  /** Writes a tombstone: the key reads as absent until a later put wins. */
  lwwDelete(key: BytesLike, opts: CrdtWriteOptions = {}): Promise<CrdtOpWriteResult> {
    return this.one({ op: 'lwwDelete', key }, opts);
  }

  /** `context`: the token of the mvGet this write follows (it replaces the siblings that read saw). */
  mvPut(key: BytesLike, value: BytesLike, context?: string, opts: CrdtWriteOptions = {}): Promise<CrdtOpWriteResult> {
    return this.one({ op: 'mvPut', key, value, ...(context === undefined ? {} : { context }) }, opts);
  }

  counterAdd(key: BytesLike, delta: number, opts: CrdtWriteOptions = {}): Promise<CrdtOpWriteResult> {
    return this.one({ op: 'counterAdd', key, delta }, opts);
  }

  setAdd(key: BytesLike, member: BytesLike, opts: CrdtWriteOptions = {}): Promise<CrdtOpWriteResult> {
    return this.one({ op: 'setAdd', key, member }, opts);
  }

  setRemove(key: BytesLike, member: BytesLike, opts: CrdtWriteOptions = {}): Promise<CrdtOpWriteResult> {
    return this.one({ op: 'setRemove', key, member }, opts);
  }

  /** Appends events (one Write); per event: the seq it holds, whether it was already held, its dot. */
  async eventsAppend(namespace: string, events: readonly EventInput[], opts: CallOptions = {}): Promise<EventsAppendResult> {
    if (namespace === '') throw new RangeError('eventsAppend needs the namespace (events have no key to name it)');
    const r = await this.write(namespace, events.map((e) => ({ op: 'eventAppend' as const, ...e })), opts);
    return { ...r, results: r.results.map((x) => ({ seq: x.eventSeq, duplicate: x.duplicate, dot: x.dot, hlc: x.hlc })) };
  }

  /** One op: its answer decoded with the op's dot and HLC at hand (no copy of the write's answer). */
  private async one(op: CrdtOp, opts: CrdtWriteOptions): Promise<CrdtOpWriteResult> {
    // (opts carries `namespace` to the caller too: it reads only CallOptions' fields.)
    const req = this.writeBytes(opts.namespace ?? '', [op]);
    const a = await this.caller.unary<CrdtOpWriteResult | WireWriteResponse>(methods().writeOneFast, req, 'write', opts);
    let r: CrdtOpWriteResult;
    if (isDecoded(a)) r = a;
    else {
      const w = writeResult(a);
      r = { ...w, dot: w.results[0]?.dot, hlc: w.results[0]?.hlc };
    }
    this.session.observe(r.revision);
    return r;
  }

  // ---- reads ----

  /** The Read RPC as it is: a key or range of a keyed namespace, or events. */
  async read(namespace: string, req: CrdtReadRequest, opts: CrdtReadOptions = {}): Promise<CrdtReadResult> {
    const wire = {
      namespace,
      key: toBuffer(req.key),
      rangeEnd: toBuffer(req.rangeEnd),
      device: req.device ?? '',
      fromSeq: String(nonNegative(req.fromSeq, 'fromSeq')),
      toSeq: String(nonNegative(req.toSeq, 'toSeq')),
      limit: nonNegative(req.limit, 'limit'),
      serializable: opts.serializable === true,
    };
    return this.readCall(methods().read, wire, opts, readResult);
  }

  async lwwGet(key: BytesLike, opts: CrdtReadOptions = {}): Promise<LwwGetResult> {
    const r = await this.read(opts.namespace ?? '', { key }, opts);
    const e = r.entries[0];
    if (e !== undefined && e.type !== 'lww') throw new RangeError(`${JSON.stringify(text(e.key))} is a ${e.type} key, not lww`);
    const base = { namespace: r.namespace, revision: r.revision, vector: r.vector, ...(r.readInfo === undefined ? {} : { readInfo: r.readInfo }) };
    if (e === undefined) return { ...base, key: toBuffer(key), value: undefined, hlc: undefined, writer: undefined };
    return { ...base, key: e.key, value: e.value, hlc: e.hlc, writer: e.writer };
  }

  /** The value as UTF-8 text, or undefined. */
  async lwwGetString(key: BytesLike, opts: CrdtReadOptions = {}): Promise<string | undefined> {
    const v = (await this.lwwGet(key, opts)).value;
    return v === undefined ? undefined : text(v);
  }

  /** The keys in [key, rangeEnd) (rangeEnd absent: the key alone; FROM_KEY: every key from key on). */
  async lwwRange(key: BytesLike, rangeEnd?: BytesLike, opts: LwwRangeOptions = {}): Promise<LwwRangeResult> {
    if (opts.prefix === true && rangeEnd !== undefined) throw new RangeError('lwwRange takes a rangeEnd or prefix: true, not both');
    const end = opts.prefix === true ? prefixEnd(key) : rangeEnd;
    const entries: LwwEntry[] = [];
    let from = toBuffer(key);
    for (let page = 0; ; page++) {
      const r = await this.read(opts.namespace ?? '', { key: from, ...(end === undefined ? {} : { rangeEnd: end }), limit: opts.limit ?? 0 }, opts);
      for (const e of r.entries) if (e.type === 'lww') entries.push({ key: e.key, value: e.value, hlc: e.hlc, writer: e.writer });
      const last = r.entries.at(-1);
      if (opts.all !== true || !r.more || last === undefined || page + 1 >= CRDT_PAGES_MAX) return { ...answerOf(r), entries, more: opts.all === true ? false : r.more };
      from = keyAfter(last.key);
    }
  }

  /** The key's siblings and the context token to send back with mvPut (no siblings: an absent key). */
  async mvGet(key: BytesLike, opts: CrdtReadOptions = {}): Promise<MvGetResult> {
    const r = await this.read(opts.namespace ?? '', { key }, opts);
    const e = r.entries[0];
    if (e === undefined) return { ...answerOf(r), key: toBuffer(key), values: [], dots: [], context: '' };
    if (e.type !== 'mv') throw new RangeError(`${JSON.stringify(text(e.key))} is a ${e.type} key, not mv`);
    return { ...answerOf(r), key: e.key, values: e.values, dots: e.dots, context: e.context };
  }

  /** The counter (0 when never written). */
  async counterGet(key: BytesLike, opts: CrdtReadOptions = {}): Promise<CounterGetResult> {
    const r = await this.read(opts.namespace ?? '', { key }, opts);
    const e = r.entries[0];
    if (e === undefined) return { ...answerOf(r), key: toBuffer(key), value: 0, p: 0, n: 0 };
    if (e.type !== 'counter') throw new RangeError(`${JSON.stringify(text(e.key))} is a ${e.type} key, not counter`);
    return { ...answerOf(r), key: e.key, value: e.value, p: e.p, n: e.n };
  }

  /** The set's members in byte order (none when never written). */
  async setMembers(key: BytesLike, opts: CrdtReadOptions = {}): Promise<SetMembersResult> {
    const r = await this.read(opts.namespace ?? '', { key }, opts);
    const e = r.entries[0];
    if (e === undefined) return { ...answerOf(r), key: toBuffer(key), members: [] };
    if (e.type !== 'set') throw new RangeError(`${JSON.stringify(text(e.key))} is a ${e.type} key, not set`);
    return { ...answerOf(r), key: e.key, members: e.members };
  }

  /** The members as UTF-8 text. */
  async setMemberStrings(key: BytesLike, opts: CrdtReadOptions = {}): Promise<string[]> {
    return (await this.setMembers(key, opts)).members.map(text);
  }

  /**
   * Events by device and seq. With `all`, every page: of the one device asked for, or of
   * every device in turn (the devices listed through completeness, as the Read RPC pages
   * one device's seqs). Revision and vector are the first answer's.
   */
  async eventsScan(namespace: string, opts: EventsScanOptions = {}): Promise<EventsScanResult> {
    if (namespace === '') throw new RangeError('eventsScan needs the namespace');
    if (opts.all !== true) return eventsAnswer(await this.read(namespace, scanRequest(opts, opts.device ?? '', opts.fromSeq), opts), false);
    const devices = opts.device !== undefined && opts.device !== ''
      ? [opts.device]
      : (await this.completeness(namespace, { ...opts, device: '', all: true })).devices.map((d) => d.device);
    let first: EventsScanResult | undefined;
    const events: StoredEvent[] = [];
    for (const device of devices) {
      let fromSeq = opts.fromSeq;
      for (let page = 0; page < CRDT_PAGES_MAX; page++) {
        const r = eventsAnswer(await this.read(namespace, scanRequest(opts, device, fromSeq), opts), false);
        first ??= r;
        events.push(...r.events);
        const last = r.events.at(-1);
        if (!r.more || last === undefined) break;
        fromSeq = last.seq + 1;
      }
    }
    first ??= eventsAnswer(await this.read(namespace, scanRequest(opts, '', opts.fromSeq), opts), false);
    return { ...first, events, more: false };
  }

  /** Per device of an events namespace: the contiguous high-water seq, the gaps, completeness. */
  async completeness(namespace: string, opts: CompletenessOptions = {}): Promise<CompletenessResult> {
    const page = (afterDevice: string): Promise<CompletenessResult> => this.readCall(methods().completeness, {
      namespace, device: opts.device ?? '', afterDevice, limit: nonNegative(opts.limit, 'limit'), serializable: opts.serializable === true,
    }, opts, completenessResult);
    let r = await page(opts.afterDevice ?? '');
    if (opts.all !== true) return r;
    const devices = [...r.devices];
    for (let n = 1; r.more && r.devices.length > 0 && n < CRDT_PAGES_MAX; n++) {
      r = await page(r.devices.at(-1)!.device);
      devices.push(...r.devices);
    }
    return { ...r, devices, more: false };
  }

  /** The mv keys that hold more than one sibling. */
  async conflicts(namespace: string, opts: ConflictsOptions = {}): Promise<ConflictsResult> {
    const page = (afterKey: Uint8Array): Promise<ConflictsResult> => this.readCall(methods().conflicts, {
      namespace, afterKey: toBuffer(afterKey), limit: nonNegative(opts.limit, 'limit'), serializable: opts.serializable === true,
    }, opts, conflictsResult);
    let r = await page(toBuffer(opts.afterKey));
    if (opts.all !== true) return r;
    const keys = [...r.keys];
    for (let n = 1; r.more && r.keys.length > 0 && n < CRDT_PAGES_MAX; n++) {
      r = await page(r.keys.at(-1)!.key);
      keys.push(...r.keys);
    }
    return { ...r, keys, more: false };
  }

  /** The lww writes that lost and are still held (key or range; none: the whole namespace). */
  superseded(namespace: string, opts: SupersededOptions = {}): Promise<SupersededResult> {
    return this.readCall(methods().superseded, {
      namespace, key: toBuffer(opts.key), rangeEnd: toBuffer(opts.rangeEnd), limit: nonNegative(opts.limit, 'limit'), serializable: opts.serializable === true,
    }, opts, supersededResult);
  }

  /**
   * A digest of the namespace's CRDT state as of the answering member's applied index
   * (`endpoint` picks the member; members that applied the same entries agree).
   */
  async hash(namespace: string, opts: CallOptions = {}): Promise<CrdtHashResult> {
    return hashResult(await this.caller.unary<WireHashResponse>(methods().hash, { namespace }, 'read', opts));
  }

  /** hash() of every endpoint of the client: an answer or the error, per endpoint. */
  async hashAll(namespace: string, opts: Omit<CallOptions, 'endpoint'> = {}): Promise<Array<{ endpoint: string } & ({ hash: CrdtHashResult } | { error: Error })>> {
    const endpoints = this.caller.pool.endpoints.map((e) => e.address);
    return Promise.all(endpoints.map(async (endpoint) => {
      try {
        return { endpoint, hash: await this.hash(namespace, { ...opts, endpoint }) };
      } catch (err) {
        return { endpoint, error: err instanceof Error ? err : new Error(String(err)) };
      }
    }));
  }

  private async readCall<W extends { revision: string }, R extends { revision: number; readInfo?: ReadInfo }>(
    method: Method, req: unknown, opts: CrdtReadOptions, convert: (w: W) => R,
  ): Promise<R> {
    let info: ReadInfo | undefined;
    const metadata = readMetadata(opts, this.session, this.sessionReads);
    const extras = { metadata, onTrailers: (md: Metadata) => (info = readInfoFrom(md)) };
    const r = convert(await this.caller.unary<W>(method, req, 'read', opts, extras));
    this.session.observe(r.revision);
    if (info !== undefined) r.readInfo = info;
    return r;
  }
}

function answerOf(r: CrdtReadResult): Pick<CrdtReadResult, 'namespace' | 'revision' | 'vector' | 'readInfo'> {
  return { namespace: r.namespace, revision: r.revision, vector: r.vector, ...(r.readInfo === undefined ? {} : { readInfo: r.readInfo }) };
}

function scanRequest(o: EventsScanOptions, device: string, fromSeq: number | undefined): CrdtReadRequest {
  return { device, fromSeq: fromSeq ?? 0, toSeq: o.toSeq ?? 0, limit: o.limit ?? 0 };
}

function eventsAnswer(r: CrdtReadResult, more: boolean): EventsScanResult {
  return { ...answerOf(r), events: r.events, more: more || r.more };
}
