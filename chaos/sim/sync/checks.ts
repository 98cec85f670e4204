// The invariants of the sync simulator that look at replicas (simulator.ts checks the
// rest as it acts): lww winners, GC only of stable records, and the final convergence to
// the reference model with complete events.

import {
  bytesEqual, CRDT_KINDS, compareStamp, renderBytes, renderCanonical,
  type CrdtKind, type CrdtRecord, type EventStore, type LwwStore,
} from '../../../server/crdt/index.js';
import { expectedRender, type CreatedOp } from './model.js';
import type { SimReplica } from './node.js';

export class Violation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

export interface Device {
  id: string;
  edge: string;
  next: number;
  /** Seqs skipped so far (a gap), sent later. */
  pending: number[];
  payloads: Map<number, { ts: number; payload: Uint8Array }>;
}

export const dotId = (kind: CrdtKind, r: { origin: string; seq: number }): string => `${kind}/${r.origin}:${r.seq}`;

/** Each lww key shows the largest (HLC, replica id) of the records this replica holds for it. */
export function checkLwwWinners(rep: SimReplica): void {
  const store = rep.rep('lww').store as LwwStore;
  for (const key of store.keyNames()) {
    const w = store.winner(key)!;
    for (const s of store.superseded(key)) {
      if (compareStamp(s.hlc, s.origin, w.hlc, w.origin) > 0) {
        throw new Violation('lww: the largest (HLC, replica id) wins', `${rep.id} key ${JSON.stringify(renderBytes(key))} shows ${w.origin}:${w.seq} over ${s.origin}:${s.seq} (HLC ${s.hlc.wall}.${s.hlc.logical} vs ${w.hlc.wall}.${w.hlc.logical})`);
      }
    }
  }
}

/** A tombstone or remove record leaves a replica only once every replica holds it durably. */
export function checkDroppedStable(rep: SimReplica, kind: CrdtKind, before: CrdtRecord[], after: CrdtRecord[], replicas: readonly SimReplica[]): void {
  const kept = new Set(after.map((r) => dotId(kind, r)));
  for (const r of before) {
    if (kept.has(dotId(kind, r))) continue;
    for (const other of replicas) {
      if (!other.durableVector(kind).covers(r)) {
        throw new Violation('GC drops only causally stable records', `${rep.id} dropped ${dotId(kind, r)}, which ${other.id} does not hold durably`);
      }
    }
  }
}

export function checkFinal(reps: readonly SimReplica[], ops: ReadonlyMap<CrdtKind, readonly CreatedOp[]>, devices: readonly Device[]): void {
  for (const kind of CRDT_KINDS) {
    const v0 = reps[0]!.rep(kind).vector;
    const r0 = renderCanonical(reps[0]!.rep(kind).store);
    for (const rep of reps.slice(1)) {
      if (!rep.rep(kind).vector.equals(v0)) throw new Violation('liveness: identical vectors', `${kind}: ${rep.id} ${JSON.stringify(rep.rep(kind).vector)} vs region ${JSON.stringify(v0)}`);
      const r = renderCanonical(rep.rep(kind).store);
      if (r !== r0) throw new Violation('liveness: identical state', `${kind}: ${rep.id} ${r.slice(0, 300)} vs region ${r0.slice(0, 300)}`);
    }
    const expected = expectedRender(kind, ops.get(kind)!);
    if (expected !== undefined && expected !== r0) {
      throw new Violation('no acknowledged write lost (the type rule holds)', `${kind}: replicas ${r0.slice(0, 300)} vs reference ${expected.slice(0, 300)}`);
    }
  }
  for (const rep of reps) {
    const store = rep.rep('events').store as EventStore;
    for (const dev of devices) {
      const s = store.status(dev.id);
      if (s.completeness !== 1 || s.highest !== dev.next - 1) {
        throw new Violation('liveness: events complete', `${rep.id} holds ${s.held} of ${dev.next - 1} events of ${dev.id} (gaps ${JSON.stringify(s.gaps)})`);
      }
      for (const [seq, ev] of dev.payloads) {
        const held = store.get(dev.id, seq);
        if (held === undefined || !bytesEqual(held.payload, ev.payload)) throw new Violation('liveness: events complete', `${rep.id} lacks ${dev.id}#${seq}`);
      }
    }
  }
}
