// The deterministic apply of eventual entries (entry.ts), inside the mvcc batch.
//
// Dots and HLCs of local writes (a region's, or an edge's: the same apply under its own
// origin, with a local log index for the Raft index) are assigned HERE, at apply, not at proposal: a follower's
// proposal reaches the leader through Raft's own forwarding (no application code sees it), and
// a deposed leader's unreplicated proposals would leave holes in the region's seqs. So:
//  - the dot of each op is (local origin, vector[local origin] + 1) of its namespace, the
//    same on every member because every member applies the same entries in the same order;
//  - the proposer stamps its physical time into the entry, and the op's HLC is the HLC
//    successor of the last applied region HLC and that time (HybridClock.now): monotonic,
//    close to real time, and identical on every member.
// Everything an op could be refused for is decided from the state and the entry alone
// (namespace gone or of another type, a key that now belongs to a nested namespace, a
// malformed token, the sibling cap, an event seq reused with other content, an undeclared
// schema version), so every member gives the same answer; a refusal of any op refuses the
// whole write, and nothing of it is written.

import {
  ClockSkewError, DeltaGapError, EventConflictError, HybridClock, SiblingCapError, compareHlc, counterTotalsAfter, hlcAfter,
  eventAppendCheck, mvSiblingsAfterWrite, type CrdtKind, type CrdtRecord, type Dot, type EventBody, type Hlc, type LwwRecord,
} from '../crdt/index.js';
import type { NamespaceDefinition, NamespaceRegistry } from '../namespace/index.js';
import { decodeKeyState, type KeyState } from './codec.js';
import { EvError, type EvAnswer, type EvOp, type EvOpOutcome, type EvPageBody, type EvWriteBody } from './entry.js';
import { hasNul, keyStateKey } from './layout.js';
import { counterTotals, deviceSummary, heldEvent, mergeRecord, mergeRecordNow, observedAdds, type MergeContext } from './merge.js';
import { parseContextToken } from './token.js';
import type { Work } from './work.js';
import { unsafeEdge } from '../util/unsafe-edge.js';

/**
 * Tests only (lww-fast-path.test.ts): off, lww writes go through the general loop too, so a
 * test can compare what the two write.
 */
export const lwwFastPath = { on: true };

/** Test-only tooth (server/util/unsafe-edge.ts): the region applies pages stamped past the bound. */
const unsafeAcceptSkew = unsafeEdge('accept-skew');

const OP_KIND: Record<EvOp['type'], CrdtKind> = {
  lwwPut: 'lww', lwwDelete: 'lww', mvPut: 'mv', counterAdd: 'counter', setAdd: 'set', setRemove: 'set', eventAppend: 'events',
};

const utf8Decoder = new TextDecoder();

export interface ApplyEnv {
  registry: NamespaceRegistry;
  localOrigin: string;
  /** A namespace this replica is resyncing (resync.ts): y, how far it held its own origin. */
  resyncing?: (ns: string) => { y: number } | undefined;
}

/** Per registry (a registry never changes: a registry command makes a new one), per
 *  namespace name: whether no other namespace nests inside its prefix. */
const ownedCache = new WeakMap<NamespaceRegistry, Map<string, boolean>>();

/**
 * Whether every etcd key of an events namespace's events is written by its projection alone:
 * no other namespace nests inside its prefix (a nested strong namespace could hold a
 * client's key where an event would project). Then the etcd key of an event not held is not
 * live (events are never dropped but with their namespace, whose delete removes its keys,
 * and a create over live keys is refused), so its projection is written without reading it
 * (Work.projectNew) and the store's read ahead skips it: one engine read per event less.
 */
export function eventKeysOwned(registry: NamespaceRegistry, def: NamespaceDefinition): boolean {
  let m = ownedCache.get(registry);
  if (m === undefined) ownedCache.set(registry, (m = new Map()));
  let owned = m.get(def.name);
  if (owned === undefined) {
    // A string prefix is a byte prefix of the keys' UTF-8 too.
    owned = def.prefix !== '' && !registry.list().some((d) => d.prefix.length > def.prefix.length && d.prefix.startsWith(def.prefix));
    m.set(def.name, owned);
  }
  return owned;
}

/** The eventual namespace `name`, or the refusal a person can act on. */
function eventualNamespace(env: ApplyEnv, name: string): NamespaceDefinition {
  const def = env.registry.get(name);
  if (def === undefined) throw new EvError('not-found', `namespace ${JSON.stringify(name)} not found: list them with rsctl ns list`);
  if (def.level !== 'eventual') {
    throw new EvError('failed-precondition', `namespace ${JSON.stringify(name)} is strong: write it with etcd Put/Txn, not the Crdt service`);
  }
  return def;
}

function checkKey(env: ApplyEnv, def: NamespaceDefinition, key: Uint8Array): void {
  if (key.length === 0) throw new EvError('invalid-argument', 'a CRDT op needs a key');
  const owner = env.registry.route(key);
  if (owner.name !== def.name) {
    throw new EvError('failed-precondition',
      `key ${JSON.stringify(utf8Decoder.decode(key))} belongs to namespace ${JSON.stringify(owner.name)}, not ${JSON.stringify(def.name)}: one namespace per write`);
  }
}

function checkKind(def: NamespaceDefinition, kind: CrdtKind, what: string): void {
  if (def.crdtType !== kind) {
    throw new EvError('failed-precondition', `${what} on namespace ${JSON.stringify(def.name)} of type ${def.crdtType}: use the ${def.crdtType} operations`);
  }
}

/**
 * Per op of a write body, the engine key of its key's state and that key's string, as the
 * store's read ahead built them (undefined for an event append): apply takes them rather
 * than building both again.
 */
export type StateKeys = Array<{ sk: Uint8Array; ks: string } | undefined>;

/**
 * `merged`, when given, receives each record the write merged, in seq order (an edge's live
 * push: store.ts onLocalRecords). `keys`: the ops' state keys, built already (StateKeys).
 */
// Not async itself: an lww write whose merges were all done at once answers without a promise
// (applyLww); the other writes answer through applyOps'. A refusal is thrown either way.
export function applyWrite(env: ApplyEnv, work: Work, body: EvWriteBody, merged?: CrdtRecord[], keys?: StateKeys): EvAnswer | Promise<EvAnswer> {
  const def = eventualNamespace(env, body.namespace);
  if (env.resyncing?.(def.name) !== undefined) {
    // Its own earlier writes are being downloaded again: a new one would take a seq among them.
    throw new EvError('unavailable', `namespace ${JSON.stringify(def.name)} is being resynced from the region (this replica was silent past its tombstone_ttl): writes resume once the download completes`);
  }
  const c: MergeContext = { work, def, localOrigin: env.localOrigin, eventKeysOwned: def.crdtType === 'events' && eventKeysOwned(env.registry, def) };
  const clock: StampClock = { last: work.hlc };
  const results: EvOpOutcome[] = [];
  const answer: EvAnswer = { kind: 'write', namespace: def.name, results };
  const ops = body.ops;
  if (lwwFastPath.on && lwwOnly(ops)) {
    const pending = applyLww(env, c, clock, body.physicalMs, ops, results, merged, keys);
    return pending === undefined ? answer : pending.then(() => answer);
  }
  return applyOps(env, c, clock, body, results, merged, keys).then(() => answer);
}

/** The ops of any write, one by one (the general loop). */
async function applyOps(
  env: ApplyEnv, c: MergeContext, clock: StampClock, body: EvWriteBody, results: EvOpOutcome[], merged: CrdtRecord[] | undefined, keys: StateKeys | undefined,
): Promise<void> {
  const { work, def } = c;
  for (let i = 0; i < body.ops.length; i++) {
    const op = body.ops[i]!;
    checkKind(def, OP_KIND[op.type], `a ${op.type}`);
    if (op.type !== 'eventAppend') checkKey(env, def, op.key);
    const pre = keys?.[i];
    if (pre !== undefined) work.prime(pre.sk, pre.ks);
    let rec: CrdtRecord;
    switch (op.type) {
      case 'lwwPut': case 'lwwDelete': {
        const { dot, hlc } = stamp(work, def, env.localOrigin, clock, body.physicalMs);
        rec = { kind: 'lww', key: op.key, value: op.type === 'lwwPut' ? op.value : null, ...dot, hlc };
        break;
      }
      case 'mvPut': {
        const token = parseContextToken(op.context);
        const st = await work.get<KeyState>(pre?.sk ?? keyStateKey(def.name, op.key), decodeKeyState);
        const left = mvSiblingsAfterWrite(st?.kind === 'mv' ? st.state : undefined, token);
        if (left > def.siblingCap) throw new EvError('failed-precondition', new SiblingCapError(op.key, left, def.siblingCap).message);
        const { dot, hlc } = stamp(work, def, env.localOrigin, clock, body.physicalMs);
        rec = { kind: 'mv', key: op.key, value: op.value, context: token, ...dot, hlc };
        break;
      }
      case 'counterAdd': {
        const totals = counterTotalsAfter(await counterTotals(c, op.key, env.localOrigin), op.delta);
        if (!Number.isSafeInteger(totals.p) || !Number.isSafeInteger(totals.n)) {
          throw new EvError('invalid-argument', `counter ${JSON.stringify(utf8Decoder.decode(op.key))} would leave the safe integer range (2^53)`);
        }
        const { dot, hlc } = stamp(work, def, env.localOrigin, clock, body.physicalMs);
        rec = { kind: 'counter', key: op.key, ...totals, ...dot, hlc };
        break;
      }
      case 'setAdd': {
        const { dot, hlc } = stamp(work, def, env.localOrigin, clock, body.physicalMs);
        rec = { kind: 'set', key: op.key, elem: op.member, op: 'add', ...dot, hlc };
        break;
      }
      case 'setRemove': {
        const removed = await observedAdds(c, op.key, op.member);
        const { dot, hlc } = stamp(work, def, env.localOrigin, clock, body.physicalMs);
        rec = { kind: 'set', key: op.key, elem: op.member, op: 'remove', removed, ...dot, hlc };
        break;
      }
      case 'eventAppend': {
        const r = await eventRecord(c, op, () => stamp(work, def, env.localOrigin, clock, body.physicalMs));
        if (r.duplicate) {
          results.push({ eventSeq: r.seq, duplicate: true });
          continue;
        }
        rec = r.rec;
        break;
      }
    }
    await mergeRecord(c, rec, pre?.sk);
    merged?.push(rec);
    results.push({ dot: { origin: rec.origin, seq: rec.seq }, hlc: rec.hlc, ...(rec.kind === 'events' ? { eventSeq: rec.deviceSeq } : {}) });
  }
}

function lwwOnly(ops: readonly EvOp[]): ops is Array<Extract<EvOp, { type: 'lwwPut' | 'lwwDelete' }>> {
  for (const op of ops) if (op.type !== 'lwwPut' && op.type !== 'lwwDelete') return false;
  return true;
}

/**
 * A write of lww puts and deletes (every etcd Put on an lww namespace): everything that could
 * refuse it (the namespace's type, each key's namespace) is checked before the first op is
 * stamped, so nothing can refuse it afterwards and its changes go straight into the batch
 * (Work.direct: no per-command copies of the namespace record, the states or the index).
 * Stamped and merged as the general loop does, op by op.
 */
type LwwOps = Array<Extract<EvOp, { type: 'lwwPut' | 'lwwDelete' }>>;

/** Undefined when every merge was done at once (a hot key: no promise at all), else the rest's promise. */
function applyLww(
  env: ApplyEnv, c: MergeContext, clock: StampClock, physicalMs: number, ops: LwwOps,
  results: EvOpOutcome[], merged: CrdtRecord[] | undefined, keys: StateKeys | undefined,
): Promise<void> | undefined {
  const { work, def } = c;
  if (ops.length > 0) checkKind(def, 'lww', `a ${ops[0]!.type}`);
  for (const op of ops) checkKey(env, def, op.key);
  work.direct();
  for (let i = 0; i < ops.length; i++) {
    const merging = applyLwwOp(env, c, clock, physicalMs, ops, i, results, merged, keys);
    if (merging !== undefined) return applyLwwAfter(env, c, clock, physicalMs, ops, i, merging, results, merged, keys);
  }
  return undefined;
}

/** The rest of applyLww once op `at`'s merge must wait for a read. */
async function applyLwwAfter(
  env: ApplyEnv, c: MergeContext, clock: StampClock, physicalMs: number, ops: LwwOps, at: number, merging: Promise<void>,
  results: EvOpOutcome[], merged: CrdtRecord[] | undefined, keys: StateKeys | undefined,
): Promise<void> {
  await merging;
  for (let i = at + 1; i < ops.length; i++) {
    const next = applyLwwOp(env, c, clock, physicalMs, ops, i, results, merged, keys);
    if (next !== undefined) await next;
  }
}

/** Stamps and merges op `i` (its outcome and record noted at once: ops go strictly one after the other). */
function applyLwwOp(
  env: ApplyEnv, c: MergeContext, clock: StampClock, physicalMs: number, ops: LwwOps, i: number,
  results: EvOpOutcome[], merged: CrdtRecord[] | undefined, keys: StateKeys | undefined,
): Promise<void> | undefined {
  const op = ops[i]!;
  const pre = keys?.[i];
  if (pre !== undefined) c.work.prime(pre.sk, pre.ks);
  // The stamp is the op's outcome as it is ({ dot, hlc }): no copy.
  const stamped = stamp(c.work, c.def, env.localOrigin, clock, physicalMs);
  const rec: LwwRecord = {
    kind: 'lww', key: op.key, value: op.type === 'lwwPut' ? op.value : null, origin: stamped.dot.origin, seq: stamped.dot.seq, hlc: stamped.hlc,
  };
  merged?.push(rec);
  results.push(stamped);
  return mergeRecord(c, rec, pre?.sk);
}

/**
 * The HLC a write's stamps follow, starting at the batch's last (Work.hlc): each stamp moves
 * it on (HybridClock.now's rule, hlcAfter), whether or not the stamp became the shared HLC.
 * A plain object per write, not a HybridClock (a class instance with its field initializers
 * per write, on every member).
 */
interface StampClock {
  last: Hlc;
}

/** The next dot and HLC of a region write (assigned at apply: see the top of this file). */
function stamp(work: Work, def: NamespaceDefinition, origin: string, clock: StampClock, physicalMs: number): { dot: Dot; hlc: Hlc } {
  const ns = def.name;
  const seq = work.vectorOf(ns, origin) + 1;
  let hlc = (clock.last = hlcAfter(clock.last, physicalMs));
  const p = Math.floor(physicalMs);
  const top = work.topHlc(ns);
  if (hlc.wall - p > def.maxClockSkewMs && top.wall - p <= def.maxClockSkewMs) {
    // The replica's one HLC was pushed ahead by records of another namespace, inside that
    // namespace's wider max_clock_skew_ms; stamped so, this write would be refused by every
    // replica as past this namespace's bound. Last-writer-wins needs order within a key only,
    // so the stamp follows this namespace's own highest stamp instead (every record merged
    // into it, local or received, was within its bound, so this one is too) and the shared
    // HLC stays where it is. (When the namespace's own stamps are that far ahead too, this
    // proposer's clock went back: nothing to gain, the shared HLC stamps as always.)
    hlc = top.wall >= p ? { wall: top.wall, logical: top.logical + 1 } : { wall: p, logical: 0 };
  } else work.hlc = hlc;
  work.raiseTopHlc(ns, hlc);
  work.advance(ns, origin, seq);
  return { dot: { origin, seq }, hlc };
}

async function eventRecord(
  c: MergeContext, op: Extract<EvOp, { type: 'eventAppend' }>, next: () => { dot: Dot; hlc: Hlc },
): Promise<{ duplicate: true; seq: number } | { duplicate: false; rec: CrdtRecord }> {
  const def = c.def;
  if (op.device === '' || hasNul(op.device)) throw new EvError('invalid-argument', 'an event needs a device id (no NUL characters)');
  if (op.eventType === '') throw new EvError('invalid-argument', 'an event needs a type');
  const schemaVersion = op.schemaVersion === 0 ? def.schemaVersions[0] ?? 0 : op.schemaVersion;
  if (!def.schemaVersions.includes(schemaVersion)) {
    // The namespace's declaration decides (it can change with rsctl ns update): a precondition.
    throw new EvError('failed-precondition',
      `schema version ${schemaVersion} is not declared by namespace ${JSON.stringify(def.name)} (it accepts ${def.schemaVersions.join(', ')}); add it with rsctl ns update`);
  }
  const seq = op.seq === 0 ? ((await deviceSummary(c, op.device))?.highest ?? 0) + 1 : op.seq;
  const held = await heldEvent(c, op.device, seq);
  // ts 0 is the HLC wall time of the write: only known once stamped, so compare without it
  // when the op leaves it to the region (a retry of such an append is then a duplicate).
  const body: EventBody = {
    kind: 'events', deviceId: op.device, deviceSeq: seq, ts: op.tsMs === 0 && held !== null ? held.ts : op.tsMs,
    type: op.eventType, schemaVersion, payload: op.payload,
  };
  const check = eventAppendCheck(held ?? undefined, body);
  if (check === 'conflict') throw new EvError('failed-precondition', new EventConflictError(op.device, seq).message);
  if (check === 'duplicate') return { duplicate: true, seq };
  const { dot, hlc } = next();
  return { duplicate: false, rec: { ...body, ts: op.tsMs === 0 ? hlc.wall : op.tsMs, ...dot, hlc } };
}

/**
 * A page of foreign-origin records (an edge upload, issue 14): accepted only in per-origin
 * prefix order (a range must start at most one past what is held, else "resend from");
 * records already held are ignored (duplicates); a stamp further ahead of the entry's
 * physical time than the namespace's max_clock_skew_ms refuses the page. Atomic: a refusal
 * applies nothing.
 */
export async function applyPage(env: ApplyEnv, work: Work, body: EvPageBody): Promise<EvAnswer> {
  const def = eventualNamespace(env, body.namespace);
  const c: MergeContext = { work, def, localOrigin: env.localOrigin, eventKeysOwned: def.crdtType === 'events' && eventKeysOwned(env.registry, def) };
  const ranges = new Map<string, { from: number; to: number }>();
  for (const g of body.ranges) {
    if (g.origin === '' || hasNul(g.origin)) throw new EvError('invalid-argument', 'a page range needs an origin (no NUL characters)');
    if (ranges.has(g.origin)) throw new EvError('invalid-argument', `malformed page: origin ${g.origin} has two ranges`);
    if (!(g.from >= 1 && g.to >= g.from - 1)) throw new EvError('invalid-argument', `malformed page: origin ${g.origin} has the range ${g.from}..${g.to}`);
    if (g.origin === env.localOrigin && g.to > Math.max(work.vectorOf(def.name, g.origin), env.resyncing?.(def.name)?.y ?? 0)) {
      throw new EvError('invalid-argument', `a page may not carry writes of this replica (${g.origin}) beyond what it holds`);
    }
    const held = work.vectorOf(def.name, g.origin);
    if (g.from > held + 1) {
      throw new EvError('failed-precondition', new DeltaGapError(g.origin, g.from, held).message, { origin: g.origin, seq: held + 1 });
    }
    ranges.set(g.origin, g);
  }
  const last = new Map<string, number>();
  let latest: CrdtRecord | undefined;
  for (const r of body.records) {
    const g = ranges.get(r.origin);
    if (g === undefined || r.seq < g.from || r.seq > g.to) throw new EvError('invalid-argument', `malformed page: record ${r.origin}:${r.seq} is outside the page's ranges`);
    if (r.seq <= (last.get(r.origin) ?? 0)) throw new EvError('invalid-argument', `malformed page: record ${r.origin}:${r.seq} is out of seq order`);
    last.set(r.origin, r.seq);
    checkKind(def, r.kind, `a ${r.kind} record`);
    if (r.kind === 'events') {
      if (r.deviceId === '' || hasNul(r.deviceId) || !(r.deviceSeq >= 1)) throw new EvError('invalid-argument', `malformed page: event ${r.origin}:${r.seq} has no device or seq`);
    } else checkKey(env, def, r.key);
    const skew = r.hlc.wall - Math.floor(body.physicalMs);
    if (skew > def.maxClockSkewMs && !unsafeAcceptSkew) throw new EvError('failed-precondition', new ClockSkewError(skew, def.maxClockSkewMs, r.origin).message);
    if (latest === undefined || compareHlc(r.hlc, latest.hlc) > 0) latest = r;
  }
  let applied = 0;
  for (const r of body.records) {
    if (r.seq <= work.vectorOf(def.name, r.origin)) continue; // held already: a duplicate
    if (!mergeRecordNow(c, r)) await mergeRecord(c, r);
    work.advance(def.name, r.origin, r.seq);
    applied++;
  }
  for (const g of body.ranges) work.advance(def.name, g.origin, g.to);
  if (latest !== undefined) {
    // One merge per page with its latest stamp: later region writes order after all of it.
    const clock = new HybridClock(env.localOrigin, Number.MAX_SAFE_INTEGER);
    clock.restore(work.hlc);
    work.hlc = clock.update(latest.hlc, body.physicalMs, latest.origin);
    work.raiseTopHlc(def.name, latest.hlc);
  }
  return { kind: 'page', namespace: def.name, applied };
}
