// Causal-stability GC (DESIGN §6, issue 14): what every known replica holds durably (the
// pointwise minimum of their acknowledged vectors and the region's own: the stable vector)
// can no longer be contradicted by a record still in flight, so
//  - an lww loser kept as superseded whose winner is stable is dropped (every replica has the
//    winner: nobody can still need the loser to decide the key);
//  - a set remove record whose own dot is stable leaves the per-origin index (every replica
//    applied it: no delta needs to carry it again, and the adds it removed are gone).
// The proposer (the region leader) names the items it found stable in its state; apply
// checks each against the state as this entry sees it (a batch's earlier entries included),
// so every member drops exactly the same records.

import { VersionVector } from '../crdt/index.js';
import { decodeIndex, decodeSuperseded } from './codec.js';
import { EvError, type EvAnswer, type EvGcBody } from './entry.js';
import { indexKey, supersededKey } from './layout.js';
import type { ApplyEnv } from './apply.js';
import type { Work } from './work.js';

/** Items one GC entry names at most (superseded losers plus set removes). */
export const GC_ITEMS_MAX = 1000;

export async function applyGc(env: ApplyEnv, work: Work, body: EvGcBody): Promise<EvAnswer> {
  const def = env.registry.get(body.namespace);
  if (def === undefined || def.level !== 'eventual') throw new EvError('not-found', `namespace ${JSON.stringify(body.namespace)} is not an eventual namespace`);
  if (body.superseded.length + body.removes.length > GC_ITEMS_MAX) throw new EvError('invalid-argument', `a GC entry names at most ${GC_ITEMS_MAX} items`);
  const stable = VersionVector.from(body.stable.map((e) => [e.origin, e.seq] as const));
  for (const e of body.stable) {
    // Stable means held by every replica, this region first.
    if (e.seq > work.vectorOf(def.name, e.origin)) throw new EvError('invalid-argument', `a stable vector past what the region holds (${e.origin}:${e.seq})`);
  }
  let dropped = 0;
  const counts = work.counts(def.name);
  for (const s of body.superseded) {
    const k = supersededKey(def.name, s.key, s.origin, s.seq);
    const held = await work.get(k, decodeSuperseded);
    if (held === null || !stable.covers(held.winner)) continue;
    work.del(k);
    counts.superseded--;
    dropped++;
  }
  for (const d of body.removes) {
    if (!stable.covers(d)) continue;
    const k = indexKey(def.name, d.origin, d.seq);
    const e = await work.get(k, decodeIndex);
    if (e === null || e.where !== 'record' || e.record.kind !== 'set' || e.record.op !== 'remove') continue;
    work.del(k);
    dropped++;
  }
  return { kind: 'gc', namespace: def.name, dropped };
}
