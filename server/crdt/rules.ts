// The per-key merge rules of the five types, as pure functions over ONE key's state (or one
// event's slot). The in-memory stores (lww.ts, mv.ts, counter.ts, set.ts, events.ts) and the
// region's persistent store (server/eventual) both merge through these, so each rule
// exists once: what wins, what is superseded, which siblings a context replaces, which counter
// entry dominates, which add dots a remove takes, which event of a (device, seq) stays.

import { bytesEqual } from './bytes.js';
import { dotKey, VersionVector, type Dot } from './dots.js';
import { compareHlc, compareStamp } from './hlc.js';
import type { CounterRecord, EventBody, EventRecord, LwwRecord, MvRecord, SetRecord } from './records.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

// ---- lww

/** No unsafe switch on: one object, not one per call of a rule. */
const SAFE: UnsafeCrdtSwitches = {};

/** True when `a` beats `b`: the larger (HLC, replica id). Only the stamps count (a held winner without its value may be given). */
export function lwwWins(a: Pick<LwwRecord, 'hlc' | 'origin'>, b: Pick<LwwRecord, 'hlc' | 'origin'>, unsafe: UnsafeCrdtSwitches = SAFE): boolean {
  if (unsafe.lwwTieByArrival && compareHlc(a.hlc, b.hlc) === 0) return false;
  return compareStamp(a.hlc, a.origin, b.hlc, b.origin) > 0;
}

/** Merging `r` into a key whose winner is `winner`: the new winner and the record that lost (if any). */
export function lwwMerge(winner: LwwRecord | undefined, r: LwwRecord, unsafe: UnsafeCrdtSwitches = SAFE): { winner: LwwRecord; loser: LwwRecord | undefined } {
  if (winner === undefined) return { winner: r, loser: undefined };
  return lwwWins(r, winner, unsafe) ? { winner: r, loser: winner } : { winner, loser: r };
}

// ---- mv

/** One mv key: its live siblings and the join of every applied record's context. */
export interface MvKeyState {
  readonly siblings: readonly MvRecord[];
  readonly covered: VersionVector;
}

/** Siblings in dot order (origin, then seq): the order readers see. */
export function mvDotOrder(a: Dot, b: Dot): number {
  return a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.seq - b.seq;
}

/**
 * Merging `r`: its context joins the key's covered vector even when r itself was replaced
 * before it arrived (so covered is the join of every context whatever the order); siblings
 * the joined context covers leave. `replaced` lists them; `kept` says whether r is a sibling.
 */
export function mvMerge(state: MvKeyState | undefined, r: MvRecord): { state: MvKeyState; replaced: MvRecord[]; kept: boolean } {
  const covered = state === undefined ? new VersionVector() : state.covered.clone();
  covered.join(VersionVector.from(r.context));
  const siblings: MvRecord[] = [];
  const replaced: MvRecord[] = [];
  for (const s of state?.siblings ?? []) (covered.covers(s) ? replaced : siblings).push(s);
  const kept = !covered.covers(r);
  if (kept) siblings.push(r);
  siblings.sort(mvDotOrder);
  return { state: { siblings, covered }, replaced, kept };
}

/** The token a reader gets: the covered vector raised to every sibling's dot. */
export function mvToken(state: MvKeyState | undefined): Record<string, number> {
  if (state === undefined) return {};
  const token = state.covered.clone();
  for (const s of state.siblings) token.advance(s.origin, s.seq);
  return token.toJSON();
}

/** Siblings a write carrying `token` would leave (itself included). */
export function mvSiblingsAfterWrite(state: MvKeyState | undefined, token: Readonly<Record<string, number>>): number {
  const t = VersionVector.from(token);
  let left = 1;
  for (const s of state?.siblings ?? []) if (!t.covers(s)) left++;
  return left;
}

// ---- counter

/**
 * Merging `r` into a key where its origin's latest entry is `cur`: undefined when `r` is
 * older (nothing changes); else `r` replaces `cur`, which is then dominated.
 */
export function counterMerge(cur: CounterRecord | undefined, r: CounterRecord): { next: CounterRecord; dominated: CounterRecord | undefined } | undefined {
  if (cur !== undefined && cur.seq > r.seq) return undefined;
  return { next: r, dominated: cur };
}

/** The origin's running totals after adding `by` to its totals `cur`. */
export function counterTotalsAfter(cur: { p: number; n: number }, by: number): { p: number; n: number } {
  return by >= 0 ? { p: cur.p + by, n: cur.n } : { p: cur.p, n: cur.n - by };
}

/** A key's value: the sum over origins of p - n. */
export function counterValue(entries: Iterable<{ p: number; n: number }>): number {
  let v = 0;
  for (const r of entries) v += r.p - r.n;
  return v;
}

// ---- set

export type SetAddRecord = Extract<SetRecord, { op: 'add' }>;
export type SetRemoveRecord = Extract<SetRecord, { op: 'remove' }>;

/** A removed add dot not held yet, with the element (bytesKey) it removed. */
export interface SetCloudEntry {
  readonly elem: string;
  readonly dot: Dot;
}

/** An add whose dot a remove already claimed (for the same element) never becomes visible. */
export function setAddBlocked(cloud: SetCloudEntry | undefined, elem: string): boolean {
  return cloud !== undefined && cloud.elem === elem;
}

/**
 * A remove against the element's held add dots: the ones it takes away (held and listed),
 * and the listed dots not held yet (they wait in the cloud unless `held` covers them: then
 * the add was applied and removed before, or never of this element).
 */
export function setRemoveEffects(heldAdds: ReadonlySet<string>, r: SetRemoveRecord, held: VersionVector): { taken: Dot[]; cloud: Dot[] } {
  const taken: Dot[] = [];
  const cloud: Dot[] = [];
  for (const d of r.removed) {
    if (heldAdds.has(dotKey(d))) taken.push(d);
    else if (!held.covers(d)) cloud.push(d);
  }
  return { taken, cloud };
}

// ---- events

export function sameEvent(a: EventBody, b: EventBody): boolean {
  return a.ts === b.ts && a.type === b.type && (a.schemaVersion ?? 0) === (b.schemaVersion ?? 0) && bytesEqual(a.payload, b.payload);
}

/** The smaller dot keeps a contested (device, seq): every replica picks the same. */
export function eventDotBefore(a: Dot, b: Dot): boolean {
  return a.origin < b.origin || (a.origin === b.origin && a.seq < b.seq);
}

/**
 * Merging `r` into its (device, seq) slot holding `held`: new; the same event again (one
 * event); or a conflict, where the smaller dot stays and the other is listed (both stay live).
 */
export type EventMerge =
  | { readonly kind: 'new' }
  | { readonly kind: 'duplicate' }
  | { readonly kind: 'conflict'; readonly win: EventRecord; readonly lose: EventRecord };

export function eventMerge(held: EventRecord | undefined, r: EventRecord): EventMerge {
  if (held === undefined) return { kind: 'new' };
  if (sameEvent(held, r)) return { kind: 'duplicate' };
  return eventDotBefore(r, held) ? { kind: 'conflict', win: r, lose: held } : { kind: 'conflict', win: held, lose: r };
}

/** A local append against the held slot: write it, nothing to write (the same event), or refused. */
export function eventAppendCheck(held: EventBody | undefined, e: EventBody): 'write' | 'duplicate' | 'conflict' {
  if (held === undefined) return 'write';
  return sameEvent(held, e) ? 'duplicate' : 'conflict';
}
