// The writes of each type: build the body from the replica's current state (what it has
// observed), check the type's refusal rules, then commit (stamp, apply, return the delta).

import { CounterStore } from './counter.js';
import type { Dot } from './dots.js';
import { EventStore } from './events.js';
import type { HybridClock } from './hlc.js';
import { LwwStore } from './lww.js';
import { MvStore } from './mv.js';
import type { CounterRecord, CrdtKind, EventBody, EventRecord, LwwRecord, MvRecord, SetRecord } from './records.js';
import { CrdtReplica } from './replica.js';
import { counterTotalsAfter } from './rules.js';
import { SetStore } from './set.js';
import type { TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

/** How many unobserved seqs per origin the broken remove (setRemoveUnobserved) claims. */
const UNSAFE_UNOBSERVED_CLAIM = 4;

export function createStore(kind: CrdtKind, unsafe: UnsafeCrdtSwitches = {}): TypeStore {
  switch (kind) {
    case 'lww':
      return new LwwStore(unsafe);
    case 'mv':
      return new MvStore(unsafe);
    case 'counter':
      return new CounterStore(unsafe);
    case 'set':
      return new SetStore(unsafe);
    case 'events':
      return new EventStore(unsafe);
  }
}

export function createReplica(kind: CrdtKind, replicaId: string, clock: HybridClock, unsafe: UnsafeCrdtSwitches = {}): CrdtReplica {
  return new CrdtReplica(replicaId, kind, createStore(kind, unsafe), clock);
}

export function lwwPut(r: CrdtReplica, key: Uint8Array, value: Uint8Array | null, nowMs: number): LwwRecord {
  // Copied into a plain Uint8Array (Buffer.slice would be a view): a record is immutable, and
  // the caller's buffer may be reused.
  return r.commit({ kind: 'lww', key: new Uint8Array(key), value: value === null ? null : new Uint8Array(value) }, nowMs) as LwwRecord;
}

export function lwwDelete(r: CrdtReplica, key: Uint8Array, nowMs: number): LwwRecord {
  return lwwPut(r, key, null, nowMs);
}

/** Throws SiblingCapError when the write would leave more siblings than the cap. */
export function mvPut(r: CrdtReplica, key: Uint8Array, value: Uint8Array, token: Readonly<Record<string, number>>, nowMs: number): MvRecord {
  (r.store as MvStore).checkWrite(key, token);
  return r.commit({ kind: 'mv', key: new Uint8Array(key), value: new Uint8Array(value), context: { ...token } }, nowMs) as MvRecord;
}

export function counterAdd(r: CrdtReplica, key: Uint8Array, by: number, nowMs: number): CounterRecord {
  const body = counterTotalsAfter((r.store as CounterStore).totals(key, r.replicaId), by);
  return r.commit({ kind: 'counter', key: new Uint8Array(key), ...body }, nowMs) as CounterRecord;
}

export function setAdd(r: CrdtReplica, key: Uint8Array, elem: Uint8Array, nowMs: number): SetRecord {
  return r.commit({ kind: 'set', key: new Uint8Array(key), elem: new Uint8Array(elem), op: 'add' }, nowMs) as SetRecord;
}

/** Removes the adds of elem this replica has observed; concurrent adds elsewhere survive. */
export function setRemove(r: CrdtReplica, key: Uint8Array, elem: Uint8Array, nowMs: number): SetRecord {
  const store = r.store as SetStore;
  const removed: Dot[] = store.observed(key, elem);
  if (store.unsafe.setRemoveUnobserved) {
    const v = r.vector;
    for (const o of v.origins()) {
      if (o === r.replicaId) continue;
      for (let i = 1; i <= UNSAFE_UNOBSERVED_CLAIM; i++) removed.push({ origin: o, seq: v.get(o) + i });
    }
  }
  return r.commit({ kind: 'set', key: new Uint8Array(key), elem: new Uint8Array(elem), op: 'remove', removed }, nowMs) as SetRecord;
}

/**
 * Appends an event. Returns undefined for an exact duplicate (nothing to write); throws
 * EventConflictError for the same (device, seq) with other content.
 */
export function eventAppend(r: CrdtReplica, e: Omit<EventBody, 'kind'>, nowMs: number): EventRecord | undefined {
  const body: EventBody = { kind: 'events', ...e, payload: new Uint8Array(e.payload) };
  if (!(r.store as EventStore).checkAppend(body)) return undefined;
  return r.commit(body, nowMs) as EventRecord;
}

