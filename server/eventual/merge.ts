// Merging one record into the persistent state of its namespace: the rules are server/crdt's
// (rules.ts, shared with the in-memory stores); here they meet storage. Each merge reads the
// key's state through the command's working set, writes the new state, keeps the per-origin
// index of live records (a record leaves it once dominated), the superseded lww losers, the
// running counts of the namespace record and the change-feed projection.

import {
  counterMerge, counterValue, dotKey, eventDotBefore, eventMerge, lwwWins, mvMerge, setAddBlocked, setRemoveEffects, VersionVector,
  type CounterRecord, type CrdtRecord, type Dot, type EventRecord, type LwwRecord, type MvRecord, type SetAddRecord, type SetRecord,
} from '../crdt/index.js';
import type { NamespaceDefinition } from '../namespace/index.js';
import {
  decodeDevice, decodeEvent, decodeKeyState, encodeDevice, encodeEvent, encodeIndex, encodeKeyState, encodeSuperseded, lwwRecordOf,
  type DeviceSummary, type IndexEntry, type KeyState, type LwwWinner, type SetKeyState,
} from './codec.js';
import {
  conflictKey, deviceKey, eventKey, eventLoserKey, indexKey, keyStateKey, supersededKey,
} from './layout.js';
import { counterValueBytes, eventEtcdKey, eventValue, mvValue, setValue } from './project.js';
import { keyString, type Work } from './work.js';

const U32 = new Uint8Array(4);

export interface MergeContext {
  work: Work;
  def: NamespaceDefinition;
  /** The local replica's origin (`region:<token>` or `edge:<device>:<incarnation>`). */
  localOrigin: string;
  /** An events namespace whose events' etcd keys only their projection writes (apply.ts eventKeysOwned). */
  eventKeysOwned?: boolean;
}

/** The engine key of a key's state, built once per merge (get then set use the same object). */
function stateKey(c: MergeContext, key: Uint8Array): Uint8Array {
  return keyStateKey(c.def.name, key);
}

function loadState(c: MergeContext, key: Uint8Array, sk = stateKey(c, key)): Promise<KeyState | null> {
  return c.work.get(sk, decodeKeyState);
}

function setState(c: MergeContext, key: Uint8Array, s: KeyState | null, sk = stateKey(c, key)): void {
  c.work.set(sk, s, encodeKeyState);
}

/**
 * `r` enters the index. A record merged for the first time has a dot no index key held
 * before (dots are unique, and a record already held is never merged again), so its entry is
 * a fresh put: one dominated later in the same batch (a hot key rewritten) costs no engine op
 * at all. `whole` (an event that lost its (device, seq)) rewrites an entry that may exist.
 */
function indexPut(c: MergeContext, r: CrdtRecord, whole = false): void {
  if (!whole && r.kind !== 'events' && !(r.kind === 'set' && r.op === 'remove')) {
    // Most entries: the record stands for its key entry (FreshValue), encoded at flush if
    // still held then; no IndexEntry object, no bytes for an entry the batch deletes again.
    c.work.putIndexFresh(c.def.name, r.origin, r.seq, r);
    return;
  }
  const e: IndexEntry = whole || r.kind !== 'events' ? { where: 'record', record: r } : { where: 'event', device: r.deviceId, seq: r.deviceSeq };
  if (whole) c.work.put(indexKey(c.def.name, r.origin, r.seq), encodeIndex(e));
  else c.work.putIndexFresh(c.def.name, r.origin, r.seq, encodeIndex(e));
}

function indexDel(c: MergeContext, d: Dot): void {
  c.work.delIndex(c.def.name, d.origin, d.seq);
}

/**
 * `sk`: the engine key of r's key state when the caller built it already (keyStateKey of r.key).
 * Not async itself: it hands back its merge's promise (an async wrapper cost a promise and a
 * frame per op on the apply path), or undefined when the merge was done at once (an lww
 * merge whose key state is known without an engine read: apply.ts skips the await then).
 */
export function mergeRecord(c: MergeContext, r: CrdtRecord, sk?: Uint8Array): Promise<void> | undefined {
  c.work.countOp(c.def.name, r.kind);
  switch (r.kind) {
    case 'lww': return mergeLww(c, r, sk);
    case 'mv': return mergeMv(c, r);
    case 'counter': return mergeCounter(c, r);
    case 'set': return mergeSet(c, r);
    case 'events': return mergeEvent(c, r);
  }
}

// lww: done at once (no promise) when the key's state is known without an engine read (the
// batch's or the cache's: a hot key) and the held winner's value is not needed (it loses to a
// later write of its own origin, or is a tombstone); otherwise the same steps after the reads.
function mergeLww(c: MergeContext, r: LwwRecord, given?: Uint8Array): Promise<void> | undefined {
  const sk = given ?? stateKey(c, r.key);
  const known = c.work.peek(sk) as KeyState | null | undefined;
  if (known === undefined) return loadState(c, r.key, sk).then((st) => mergeLwwInto(c, r, sk, st));
  return mergeLwwInto(c, r, sk, known);
}

function mergeLwwInto(c: MergeContext, r: LwwRecord, sk: Uint8Array, st: KeyState | null): Promise<void> | undefined {
  const held = st?.kind === 'lww' ? st.winner : undefined;
  if (held === undefined) {
    lwwWinner(c, r, sk);
    return undefined;
  }
  // A write supersedes the earlier writes of its own origin causally (an origin's writes are
  // sequential: each saw the ones before it): nothing to keep. Decided by the records alone,
  // not by which replica applies them, so a region and an edge holding the same records hold
  // the same state (and hash). A loser of another origin may have been concurrent with its
  // winner: kept (listable) until causally stable.
  if (!lwwWins(r, held)) {
    // r lost on arrival: it never enters the state or the index.
    if (!(held.origin === r.origin && r.seq < held.seq)) keepSuperseded(c, r, held);
    return undefined;
  }
  if (held.origin === r.origin && held.seq < r.seq) {
    lwwWinner(c, r, sk);
    indexDel(c, held);
    return undefined;
  }
  // The held winner is kept as a loser, with its value: in the state (format 1), or its mvcc
  // row (or this command's pending projection), read before r's projection replaces it.
  if (held.tombstone || held.value !== undefined) {
    lwwHeldLost(c, r, sk, held, held.tombstone ? null : held.value!);
    return undefined;
  }
  return c.work.liveValue(r.key).then((v) => lwwHeldLost(c, r, sk, held, v));
}

/** r is the key's winner now: its state, its index entry, its projection. */
function lwwWinner(c: MergeContext, r: LwwRecord, sk: Uint8Array): void {
  setState(c, r.key, { kind: 'lww', winner: { origin: r.origin, seq: r.seq, hlc: r.hlc, tombstone: r.value === null, revision: c.work.writeRevision } }, sk);
  indexPut(c, r);
  c.work.project(r.key, r.value, true);
}

/** r beat the held winner of another origin, which is kept as superseded with `value`. */
function lwwHeldLost(c: MergeContext, r: LwwRecord, sk: Uint8Array, held: LwwWinner, value: Uint8Array | null): void {
  lwwWinner(c, r, sk);
  indexDel(c, held);
  keepSuperseded(c, lwwRecordOf(r.key, held, value), r);
}

function keepSuperseded(c: MergeContext, loser: LwwRecord, winner: Dot): void {
  const ns = c.def.name;
  c.work.put(supersededKey(ns, loser.key, loser.origin, loser.seq), encodeSuperseded(loser, { origin: winner.origin, seq: winner.seq }));
  c.work.counts(ns).superseded++;
}

async function mergeMv(c: MergeContext, r: MvRecord): Promise<void> {
  const ns = c.def.name;
  const st = await loadState(c, r.key);
  const before = st?.kind === 'mv' ? st.state : undefined;
  const m = mvMerge(before, r);
  setState(c, r.key, { kind: 'mv', state: m.state });
  for (const s of m.replaced) indexDel(c, s);
  if (m.kept) indexPut(c, r);
  const was = before?.siblings.length ?? 0;
  const now = m.state.siblings.length;
  const counts = c.work.counts(ns);
  if (now > 1) {
    new DataView(U32.buffer).setUint32(0, now);
    c.work.put(conflictKey(ns, r.key), U32.slice());
    if (was <= 1) counts.unresolved++;
  } else if (was > 1) {
    c.work.del(conflictKey(ns, r.key));
    counts.unresolved--;
  }
  if (m.kept || m.replaced.length > 0) c.work.project(r.key, mvValue(m.state.siblings));
}

async function mergeCounter(c: MergeContext, r: CounterRecord): Promise<void> {
  const st = await loadState(c, r.key);
  const entries = st?.kind === 'counter' ? st.entries : [];
  const cur = entries.find((e) => e.origin === r.origin);
  const m = counterMerge(cur, r);
  if (m === undefined) return; // an older entry of that origin: dominated on arrival
  const next = entries.filter((e) => e.origin !== r.origin);
  next.push(r);
  next.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
  setState(c, r.key, { kind: 'counter', entries: next });
  if (m.dominated !== undefined) indexDel(c, m.dominated);
  indexPut(c, r);
  c.work.project(r.key, counterValueBytes(counterValue(next)));
}

/** The region's totals for a counter key (what its next write adds to). */
export async function counterTotals(c: MergeContext, key: Uint8Array, origin: string): Promise<{ p: number; n: number }> {
  const st = await loadState(c, key);
  const e = st?.kind === 'counter' ? st.entries.find((x) => x.origin === origin) : undefined;
  return { p: e?.p ?? 0, n: e?.n ?? 0 };
}

/** The add dots of `member` held now: what a region remove observes. */
export async function observedAdds(c: MergeContext, key: Uint8Array, member: Uint8Array): Promise<Dot[]> {
  const st = await loadState(c, key);
  if (st?.kind !== 'set') return [];
  return (st.state.elems.get(keyString(member)) ?? []).map((a) => ({ origin: a.origin, seq: a.seq }));
}

function membersOf(s: SetKeyState): Uint8Array[] {
  return [...s.elems.keys()].sort().map((e) => s.elems.get(e)![0]!.elem);
}

async function mergeSet(c: MergeContext, r: SetRecord): Promise<void> {
  const ns = c.def.name;
  const st = await loadState(c, r.key);
  const prev = st?.kind === 'set' ? st.state : { elems: new Map<string, SetAddRecord[]>(), cloud: [] };
  // A copy: decoded states are shared with the caches and never changed in place.
  const elems = new Map(prev.elems);
  const held = new VersionVector();
  for (const [o, s] of c.work.record(ns).vector) held.advance(o, s);
  // Removed dots the vector covers can no longer arrive: forget them (the in-memory store's gc).
  let cloud = prev.cloud.filter((e) => !held.covers(e.dot));
  const elem = keyString(r.elem);
  if (r.op === 'add') {
    const blocked = cloud.find((e) => e.dot.origin === r.origin && e.dot.seq === r.seq);
    if (setAddBlocked(blocked, elem)) {
      cloud = cloud.filter((e) => e !== blocked);
    } else {
      const adds = [...(elems.get(elem) ?? []), r].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.seq - b.seq));
      elems.set(elem, adds);
      indexPut(c, r);
    }
  } else {
    const adds = elems.get(elem) ?? [];
    const { taken, cloud: waiting } = setRemoveEffects(new Set(adds.map(dotKey)), r, held);
    if (taken.length > 0) {
      const gone = new Set(taken.map(dotKey));
      const left = adds.filter((a) => !gone.has(dotKey(a)));
      if (left.length > 0) elems.set(elem, left);
      else elems.delete(elem);
      for (const d of taken) indexDel(c, d);
    }
    for (const d of waiting) cloud.push({ elem, dot: d });
    indexPut(c, r); // a remove stays live until causally stable (issue 14 collects it)
  }
  const next: SetKeyState = { elems, cloud };
  setState(c, r.key, elems.size === 0 && cloud.length === 0 ? null : { kind: 'set', state: next });
  c.work.project(r.key, setValue(membersOf(next)));
}

export async function deviceSummary(c: MergeContext, device: string): Promise<DeviceSummary | null> {
  return c.work.get(deviceKey(c.def.name, device), decodeDevice);
}

/**
 * The event held at (device, seq), or null. A seq past the device's highest cannot be held
 * (the summary's highest is the highest seq ever merged, and events are never dropped), so
 * the summary (cached: one per device) answers for a device's new events without reading
 * the event key: appends run ahead of what is held, one engine read each saved.
 */
export async function heldEvent(c: MergeContext, device: string, seq: number): Promise<EventRecord | null> {
  const d = await deviceSummary(c, device);
  if (d === null || seq > d.highest) return null;
  return c.work.get(eventKey(c.def.name, device, seq), decodeEvent);
}

/**
 * mergeRecord without a promise, when the record needs nothing from the engine: an event past
 * its device's highest seq while the device's summary is in memory (every event of a bulk
 * upload but each device's first after a restart). false: nothing was done, mergeRecord it.
 * The same writes in the same order as mergeRecord's.
 */
export function mergeRecordNow(c: MergeContext, r: CrdtRecord): boolean {
  if (r.kind !== 'events') return false;
  const summary = c.work.peek(deviceKey(c.def.name, r.deviceId)) as DeviceSummary | null | undefined;
  if (summary === undefined || (summary !== null && r.deviceSeq <= summary.highest)) return false;
  c.work.countOp(c.def.name, r.kind);
  mergeNewEvent(c, r, summary);
  return true;
}

async function mergeEvent(c: MergeContext, r: EventRecord): Promise<void> {
  const ns = c.def.name;
  // heldEvent, keeping the summary for the new event's note (nothing below changes it first).
  const summary = await deviceSummary(c, r.deviceId);
  const held = summary === null || r.deviceSeq > summary.highest ? null : await c.work.get(eventKey(ns, r.deviceId, r.deviceSeq), decodeEvent);
  const m = eventMerge(held ?? undefined, r);
  if (m.kind === 'new') {
    mergeNewEvent(c, r, summary);
    return;
  }
  if (m.kind === 'duplicate') {
    // The same event under another dot: a device re-sent an append whose answer it never got
    // after its edge's data dir was replaced (a wipe, a restored copy), so the new data dir
    // appended it again. The stored record is hashed (CrdtHash) and extracted by its dot, so
    // every replica keeps the smaller dot whatever order the two arrived in (as a conflict's
    // winner); the larger's index entry then resolves to nothing and its range alone is sent.
    // The change feed is unchanged: an event's etcd value does not name its dot.
    if (held !== null && eventDotBefore(r, held)) {
      indexPut(c, r);
      c.work.set(eventKey(ns, r.deviceId, r.deviceSeq), r, encodeEvent, false);
    }
    return;
  }
  // Both sides of a conflict stay live (indexed), so every replica gets both and lists the same.
  c.work.put(eventLoserKey(ns, m.lose.deviceId, m.lose.deviceSeq, m.lose.origin, m.lose.seq), encodeEvent(m.lose));
  indexPut(c, m.lose, true);
  if (m.win !== r) return;
  indexPut(c, r);
  c.work.set(eventKey(ns, r.deviceId, r.deviceSeq), r, encodeEvent, false);
  c.work.project(eventEtcdKey(c.def.prefix, r.deviceId, r.deviceSeq), eventValue(r));
}

/** An event whose (device, seq) is not held; `summary`: its device's, as held now. */
function mergeNewEvent(c: MergeContext, r: EventRecord, summary: DeviceSummary | null): void {
  indexPut(c, r);
  c.work.set(eventKey(c.def.name, r.deviceId, r.deviceSeq), r, encodeEvent, false);
  const etcdKey = eventEtcdKey(c.def.prefix, r.deviceId, r.deviceSeq);
  // A (device, seq) not held has no live etcd key when only projections write there.
  if (c.eventKeysOwned === true) c.work.projectNew(etcdKey, eventValue(r));
  else c.work.project(etcdKey, eventValue(r));
  noteEventSeq(c, r.deviceId, r.deviceSeq, summary);
}

/** A new (device, seq) is held: the device's highest, held count and gaps (`cur`: its summary
 *  before), and the namespace's totals. */
function noteEventSeq(c: MergeContext, device: string, s: number, cur: DeviceSummary | null): void {
  const counts = c.work.counts(c.def.name);
  if (cur === null) counts.devices++;
  const d: DeviceSummary = cur === null ? { highest: 0, held: 0, gaps: [] } : { highest: cur.highest, held: cur.held, gaps: [...cur.gaps] };
  if (s > d.highest) {
    if (s > d.highest + 1) {
      d.gaps.push([d.highest + 1, s - 1]);
      counts.gaps++;
    }
    counts.eventsHighest += s - d.highest;
    d.highest = s;
  } else {
    const i = d.gaps.findIndex(([a, b]) => a <= s && s <= b);
    if (i >= 0) {
      const [a, b] = d.gaps[i]!;
      const pieces: Array<[number, number]> = [];
      if (a < s) pieces.push([a, s - 1]);
      if (s < b) pieces.push([s + 1, b]);
      d.gaps.splice(i, 1, ...pieces);
      counts.gaps += pieces.length - 1;
    }
  }
  d.held++;
  counts.eventsHeld++;
  c.work.set(deviceKey(c.def.name, device), d, encodeDevice);
}
