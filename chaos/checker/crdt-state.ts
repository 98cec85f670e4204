// What the crdt workload reads from every member after the heal-and-quiesce phase, and the
// first half of the convergence check: every member that could be read holds the same
// state (CrdtHash per namespace, and the typed reads compared value by value).

import type { CrdtEventBody } from '../history/crdt-op.js';

export interface CrdtHashState {
  hash: number;
  appliedIndex: number;
  revision: number;
}

export interface CrdtCounterState {
  value: number;
  /** The PN-counter's halves: the sum of the positive adds and of the negative ones' magnitudes. */
  p: number;
  n: number;
}

export interface CrdtDeviceState {
  contiguous: number;
  highest: number;
  held: number;
  completeness: number;
}

/** One member's final state, read from it alone (serializable: its applied state). */
export interface CrdtMemberFinal {
  /** The member's name (n1, n2, ...). */
  node: string;
  /** Why this member could not be read (then the rest is empty and unchecked). */
  error: string | null;
  /** Per namespace. */
  hashes: Record<string, CrdtHashState>;
  /** Every counter key the workload used (0/0/0 when the member holds none). */
  counters: Record<string, CrdtCounterState>;
  /** Every set key the workload used: its members, sorted. */
  sets: Record<string, string[]>;
  /** Every event of the events namespace, by device then seq. */
  events: CrdtEventBody[];
  /** Per device of the events namespace. */
  completeness: Record<string, CrdtDeviceState>;
}

export interface Divergence {
  /** The members compared (the first readable one is the reference). */
  reference: string;
  other: string;
  /** e.g. 'hash of namespace "chaos-counter"', 'counter "ctr/3"'. */
  what: string;
  referenceValue: string;
  otherValue: string;
}

function show(v: unknown): string {
  return v === undefined ? 'absent' : JSON.stringify(v);
}

/** Differences of one section (a record keyed by name) between two members. */
function sectionDiffs<T>(label: string, a: Record<string, T>, b: Record<string, T>, project: (v: T) => unknown = (v) => v): Array<Omit<Divergence, 'reference' | 'other'>> {
  const out: Array<Omit<Divergence, 'reference' | 'other'>> = [];
  for (const name of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[name] === undefined ? undefined : project(a[name]);
    const y = b[name] === undefined ? undefined : project(b[name]);
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ what: `${label} ${JSON.stringify(name)}`, referenceValue: show(x), otherValue: show(y) });
  }
  return out;
}

function eventsByKey(events: readonly CrdtEventBody[]): Record<string, CrdtEventBody> {
  const out: Record<string, CrdtEventBody> = {};
  for (const e of events) out[`${e.device}/${e.seq}`] = e;
  return out;
}

/**
 * Every difference between the readable members, each against the first readable one.
 * The hash is compared with the applied index it was taken at: equal hashes at different
 * indexes are fine (the entries between touched no CRDT state), different hashes never.
 */
export function compareMembers(members: readonly CrdtMemberFinal[]): Divergence[] {
  const readable = members.filter((m) => m.error === null);
  const ref = readable[0];
  if (ref === undefined) return [];
  const out: Divergence[] = [];
  for (const other of readable.slice(1)) {
    const diffs = [
      ...sectionDiffs('hash of namespace', ref.hashes, other.hashes, (h) => h.hash),
      ...sectionDiffs('counter', ref.counters, other.counters),
      ...sectionDiffs('set', ref.sets, other.sets),
      ...sectionDiffs('event', eventsByKey(ref.events), eventsByKey(other.events)),
      ...sectionDiffs('completeness of device', ref.completeness, other.completeness),
    ];
    for (const d of diffs) out.push({ reference: ref.node, other: other.node, ...d });
  }
  return out;
}
