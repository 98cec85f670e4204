// The watch checker. Given every write (revision → key/value; a transaction writes several
// keys at one revision) and what each watcher on a prefix received, each watcher must see
// every matching write in revision order: no gap, no duplicate, no reordering, the values
// written, nothing that was not written.
//
// A watcher's log is a list of sessions: one stream each, the first from the revision it
// asked for, the others after a reconnect. A session is checked against the writes from
// its own start revision. A resumed session must start at or before the revision after
// the last one the watcher saw (from it, inclusive, re-delivers that revision: allowed,
// since the watcher asked for it; later is a "resume-gap"). Across sessions every matching
// write up to the last revision seen must have reached the watcher ("missing" otherwise,
// e.g. half a transaction); with caughtUpTo, every matching write up to that revision
// ("incomplete" otherwise).
// A late event shows as a gap where it was missing, then as a reorder where it arrived.

import { assert } from '../../server/util/assert.js';
import type { Verdict } from './linearizability.js';

export interface WatchWrite {
  revision: number;
  key: string;
  /** null for a delete. */
  value: string | null;
}

/** An event as the watcher received it; null value for a delete. */
export type WatchEvent = WatchWrite;

export interface WatchSession {
  /** The revision the watch was opened from (inclusive). */
  startRevision: number;
  events: WatchEvent[];
}

export interface WatcherLog {
  watcher: string;
  prefix: string;
  sessions: WatchSession[];
  /** The watcher is known to have been sent everything up to this revision (e.g. it was
   *  stopped only after a progress notification at or past it). */
  caughtUpTo?: number;
}

export const WATCH_ANOMALY_KINDS = [
  'gap', 'duplicate', 'reorder', 'value-mismatch', 'phantom', 'resume-gap', 'missing', 'incomplete',
] as const;
export type WatchAnomalyKind = (typeof WATCH_ANOMALY_KINDS)[number];

export interface WatchAnomaly {
  watcher: string;
  kind: WatchAnomalyKind;
  /** Session index, and event index within it, where it was seen (-1: not tied to one). */
  session: number;
  event: number;
  revision: number;
  detail: string;
}

export interface WatchResult {
  /** "unknown" when no watcher received an event though matching writes exist. */
  verdict: Verdict;
  watchers: number;
  events: number;
  /** The first ANOMALIES_SHOWN_MAX anomalies; anomalyCount counts them all. */
  anomalies: WatchAnomaly[];
  anomalyCount: number;
}

export const ANOMALIES_SHOWN_MAX = 100;

const slot = (revision: number, key: string): string => `${revision}\u0000${key}`;

/** Writes under a prefix from a revision, in revision order (input order within one). */
function expectedFor(writes: readonly WatchWrite[], prefix: string, from: number): WatchWrite[] {
  return writes
    .map((w, i) => ({ w, i }))
    .filter(({ w }) => w.key.startsWith(prefix) && w.revision >= from)
    .sort((a, b) => a.w.revision - b.w.revision || a.i - b.i)
    .map(({ w }) => w);
}

class Collector {
  readonly shown: WatchAnomaly[] = [];
  count = 0;
  add(a: WatchAnomaly): void {
    this.count++;
    if (this.shown.length < ANOMALIES_SHOWN_MAX) this.shown.push(a);
  }
}

function phantomDetail(all: ReadonlyMap<string, WatchWrite>, log: WatcherLog, session: WatchSession, e: WatchEvent): string {
  if (!all.has(slot(e.revision, e.key))) return `key ${JSON.stringify(e.key)} was not written at revision ${e.revision}`;
  if (!e.key.startsWith(log.prefix)) return `key ${JSON.stringify(e.key)} is not under the prefix ${JSON.stringify(log.prefix)}`;
  return `revision ${e.revision} is before the session's start revision ${session.startRevision}`;
}

/** Checks one session; returns the positions (in the session's expected list) it reported as gaps. */
function checkSession(
  all: ReadonlyMap<string, WatchWrite>, writes: readonly WatchWrite[], log: WatcherLog, s: number,
  seen: Set<string>, out: Collector,
): Set<string> {
  const session = log.sessions[s]!;
  const expected = expectedFor(writes, log.prefix, session.startRevision);
  const position = new Map(expected.map((w, i) => [slot(w.revision, w.key), i]));
  const delivered = new Set<number>();
  const gaps = new Set<string>();
  let next = 0;
  for (const [i, e] of session.events.entries()) {
    const at = { watcher: log.watcher, session: s, event: i, revision: e.revision };
    const q = position.get(slot(e.revision, e.key));
    if (q === undefined) {
      out.add({ ...at, kind: 'phantom', detail: phantomDetail(all, log, session, e) });
      continue;
    }
    if (delivered.has(q)) {
      out.add({ ...at, kind: 'duplicate', detail: `${JSON.stringify(e.key)}@${e.revision} again` });
      continue;
    }
    const w = expected[q]!;
    if (w.value !== e.value) {
      out.add({
        ...at, kind: 'value-mismatch',
        detail: `${JSON.stringify(e.key)}@${e.revision} is ${JSON.stringify(e.value)}, written ${JSON.stringify(w.value)}`,
      });
    }
    if (q > next) {
      const missing = expected.slice(next, q).filter((_, j) => !delivered.has(next + j));
      for (const m of missing) gaps.add(slot(m.revision, m.key));
      if (missing.length > 0) {
        const first = missing[0]!;
        out.add({ ...at, kind: 'gap', detail: `${missing.length} events skipped, from ${JSON.stringify(first.key)}@${first.revision}` });
      }
    } else if (q < next) {
      out.add({ ...at, kind: 'reorder', detail: `${JSON.stringify(e.key)}@${e.revision} arrived after later events` });
    }
    delivered.add(q);
    seen.add(slot(e.revision, e.key));
    next = Math.max(next, q + 1);
  }
  return gaps;
}

/** The highest revision among the slots seen (events that match a write), or -1. */
function lastRevisionSeen(seen: ReadonlySet<string>): number {
  let last = -1;
  for (const id of seen) last = Math.max(last, Number(id.slice(0, id.indexOf('\u0000'))));
  return last;
}

function checkWatcher(all: ReadonlyMap<string, WatchWrite>, writes: readonly WatchWrite[], log: WatcherLog, out: Collector): void {
  assert(log.sessions.length > 0, `watcher ${log.watcher}: no session`);
  const seen = new Set<string>();
  const gaps = new Set<string>();
  log.sessions.forEach((session, s) => {
    if (s > 0) {
      const last = lastRevisionSeen(seen);
      const resumeMax = last < 0 ? log.sessions[0]!.startRevision : last + 1;
      if (session.startRevision > resumeMax) {
        out.add({
          watcher: log.watcher, kind: 'resume-gap', session: s, event: -1, revision: session.startRevision,
          detail: `resumed from revision ${session.startRevision}, but had seen only up to ${last}`,
        });
      }
    }
    for (const g of checkSession(all, writes, log, s, seen, out)) gaps.add(g);
  });
  const first = log.sessions[0]!.startRevision;
  const last = lastRevisionSeen(seen);
  for (const w of expectedFor(writes, log.prefix, first)) {
    const id = slot(w.revision, w.key);
    if (seen.has(id) || gaps.has(id)) continue;
    if (w.revision <= last) {
      out.add({ watcher: log.watcher, kind: 'missing', session: -1, event: -1, revision: w.revision, detail: `${JSON.stringify(w.key)}@${w.revision} never arrived in any session` });
    } else if (log.caughtUpTo !== undefined && w.revision <= log.caughtUpTo) {
      out.add({ watcher: log.watcher, kind: 'incomplete', session: -1, event: -1, revision: w.revision, detail: `${JSON.stringify(w.key)}@${w.revision} never arrived, though caught up to ${log.caughtUpTo}` });
    }
  }
}

export function checkWatch(writes: readonly WatchWrite[], watchers: readonly WatcherLog[]): WatchResult {
  const all = new Map<string, WatchWrite>();
  for (const w of writes) {
    assert(Number.isSafeInteger(w.revision) && w.revision > 0, `watch write ${JSON.stringify(w)}: revision must be a positive integer`);
    assert(!all.has(slot(w.revision, w.key)), `watch writes: ${JSON.stringify(w.key)} written twice at revision ${w.revision}`);
    all.set(slot(w.revision, w.key), w);
  }
  const out = new Collector();
  for (const log of watchers) checkWatcher(all, writes, log, out);
  const events = watchers.reduce((n, log) => n + log.sessions.reduce((m, s) => m + s.events.length, 0), 0);
  const expectedAny = watchers.some((log) => writes.some((w) => w.key.startsWith(log.prefix)));
  const verdict: Verdict = out.count > 0 ? 'violation' : events === 0 && expectedAny ? 'unknown' : 'ok';
  return { verdict, watchers: watchers.length, events, anomalies: out.shown, anomalyCount: out.count };
}

export function renderWatch(result: WatchResult): string {
  const head = `watch: ${result.verdict === 'violation' ? 'VIOLATION' : result.verdict} (${result.watchers} watchers, ` +
    `${result.events} events, ${result.anomalyCount} anomalies)`;
  const lines = result.anomalies.map((a) => {
    const where = a.session < 0 ? '' : a.event < 0 ? ` session ${a.session}` : ` session ${a.session} event ${a.event}`;
    return `  watcher ${a.watcher}${where}: ${a.kind}: ${a.detail}`;
  });
  if (result.anomalyCount > result.anomalies.length) lines.push(`  … and ${result.anomalyCount - result.anomalies.length} more`);
  return [head, ...lines].join('\n');
}
