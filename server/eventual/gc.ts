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
//
// The GC frontier: per namespace and origin, the highest seq of a set remove this region has
// dropped (kept under the meta range, outside the hashed data range). Stable covered every
// replica the region knew of then, but not a copy restored later from an old backup (DESIGN
// §6 incarnations: it comes back as a new replica id whose vector predates the remove). Such
// a peer can hold an add whose remove no delta carries any more, so the region's admission
// (edge-host/host.ts) sends a peer whose vector does not reach the frontier to a resync of
// the namespace (resync.ts) instead of a delta. Tracking only dropped removes (not the whole
// stable vector) keeps the rule exact: a vector lacks a dropped remove iff it is below the
// frontier for that remove's origin, and superseded lww losers need no such rule (the
// winner stays in the index and reaches any peer that lacks it).

import { VersionVector } from '../crdt/index.js';
import { BinReader, BinWriter } from '../mvcc/index.js';
import type { Engine } from '../storage/index.js';
import { decodeIndex, decodeSuperseded, readVector, writeVector } from './codec.js';
import { EvError, type EvAnswer, type EvGcBody } from './entry.js';
import { indexKey, metaKey, supersededKey } from './layout.js';
import type { ApplyEnv } from './apply.js';
import type { Work } from './work.js';

/** Items one GC entry names at most (superseded losers plus set removes). */
export const GC_ITEMS_MAX = 1000;

const GC_FRONTIER = 'gc-frontier/';

export function gcFrontierKey(ns: string): Uint8Array {
  return metaKey(GC_FRONTIER + ns);
}

function encodeFrontier(f: ReadonlyMap<string, number>): Uint8Array {
  const w = new BinWriter();
  writeVector(w, f);
  return w.finish();
}

function decodeFrontier(b: Uint8Array): Map<string, number> {
  return new Map(readVector(new BinReader(b)));
}

/** The namespace's GC frontier as the engine holds it (empty: nothing collected). */
export async function readGcFrontier(engine: Engine, ns: string): Promise<Map<string, number>> {
  const b = await engine.get(gcFrontierKey(ns));
  return b === undefined ? new Map() : decodeFrontier(b);
}

/**
 * The first origin whose collected removes `held` (a peer's vector) lacks, or undefined when
 * the peer holds every remove GC dropped (or holds nothing at all: an empty replica gets
 * neither the removed adds nor their removes, so a delta from zero is exact).
 */
export function lacksCollected(frontier: ReadonlyMap<string, number>, held: ReadonlyMap<string, number>): string | undefined {
  if (held.size === 0 || [...held.values()].every((s) => s === 0)) return undefined;
  for (const [origin, seq] of frontier) if ((held.get(origin) ?? 0) < seq) return origin;
  return undefined;
}

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
  const frontier = new Map((await work.get(gcFrontierKey(def.name), decodeFrontier)) ?? []);
  let moved = false;
  for (const d of body.removes) {
    if (!stable.covers(d)) continue;
    const k = indexKey(def.name, d.origin, d.seq);
    const e = await work.get(k, decodeIndex);
    if (e === null || e.where !== 'record' || e.record.kind !== 'set' || e.record.op !== 'remove') continue;
    work.delIndex(def.name, d.origin, d.seq);
    dropped++;
    if (d.seq > (frontier.get(d.origin) ?? 0)) {
      frontier.set(d.origin, d.seq);
      moved = true;
    }
  }
  if (moved) work.set(gcFrontierKey(def.name), frontier, encodeFrontier, false);
  return { kind: 'gc', namespace: def.name, dropped };
}
