// The acknowledged-writes check of the watch workload: the writers' outcomes against the
// store's own history of the prefix read after the heal (a watch from the first revision).
//
//  - lost:               a put answered "ok" whose value is nowhere in the history (an
//                        acknowledged write the store lost), or an acknowledged delete
//                        with no delete at its revision;
//  - wrong-revision:     an acknowledged put found at another revision than its answer said;
//  - failed-but-applied: a put the client was told certainly failed, yet in the history;
//  - applied-twice:      one put's value at two revisions (a retry applied twice);
//  - phantom:            a put or delete in the history that no writer attempted.
// Every value is written at most once (writer and sequence number in it), so a value in
// the history names the attempt it came from.

import type { Verdict } from '../checker/linearizability.js';
import type { CheckerSummary } from '../checker/summary.js';
import type { WatchEvent } from '../checker/watch.js';

export interface WriteAttempt {
  key: string;
  /** null for a delete. */
  value: string | null;
  status: 'ok' | 'fail' | 'unknown';
  /** The revision the answer gave (status ok). */
  revision?: number;
  /** Keys a delete removed (status ok). */
  deleted?: number;
}

export const DURABILITY_ANOMALY_KINDS = ['lost', 'wrong-revision', 'failed-but-applied', 'applied-twice', 'phantom'] as const;
export type DurabilityAnomalyKind = (typeof DURABILITY_ANOMALY_KINDS)[number];

export interface DurabilityAnomaly {
  kind: DurabilityAnomalyKind;
  detail: string;
}

export interface DurabilityResult {
  verdict: Verdict;
  acknowledged: number;
  anomalies: DurabilityAnomaly[];
  anomalyCount: number;
  /** Anomalies of each kind, all counted. */
  byKind: Partial<Record<DurabilityAnomalyKind, number>>;
}

export const ANOMALIES_SHOWN_MAX = 50;

function byValue(truth: readonly WatchEvent[]): Map<string, WatchEvent[]> {
  const out = new Map<string, WatchEvent[]>();
  for (const e of truth) {
    if (e.value === null) continue;
    const list = out.get(e.value) ?? [];
    list.push(e);
    out.set(e.value, list);
  }
  return out;
}

function putAnomaly(w: WriteAttempt, found: readonly WatchEvent[] | undefined): DurabilityAnomaly | undefined {
  const what = `put ${JSON.stringify(w.key)}=${JSON.stringify(w.value)}`;
  if (w.status === 'ok' && found === undefined) {
    return { kind: 'lost', detail: `${what} was acknowledged at revision ${w.revision} but is not in the store's history` };
  }
  if (w.status === 'ok' && (found![0]!.revision !== w.revision || found![0]!.key !== w.key)) {
    return { kind: 'wrong-revision', detail: `${what} was acknowledged at revision ${w.revision} but applied at ${found![0]!.revision}` };
  }
  if (w.status === 'fail' && found !== undefined) {
    return { kind: 'failed-but-applied', detail: `${what} failed with maybeApplied=false but was applied at revision ${found[0]!.revision}` };
  }
  return undefined;
}

/**
 * Checks the writers' outcomes against the store's history (see the module comment), read
 * up to revision `truthUpTo`: an acknowledged write past it is neither lost nor checked.
 */
export function checkDurability(writes: readonly WriteAttempt[], truth: readonly WatchEvent[], truthUpTo = Infinity): DurabilityResult {
  const anomalies: DurabilityAnomaly[] = [];
  const values = byValue(truth);
  const attempted = new Set(writes.filter((w) => w.value !== null).map((w) => w.value));
  const deletedKeys = new Set(writes.filter((w) => w.value === null && w.status !== 'fail').map((w) => w.key));
  const deletesAt = new Set(truth.filter((e) => e.value === null).map((e) => `${e.revision} ${e.key}`));
  const beyond = writes.filter((w) => w.status === 'ok' && (w.revision ?? 0) > truthUpTo);
  for (const w of writes) {
    if (w.status === 'ok' && (w.revision ?? 0) > truthUpTo) continue;
    if (w.value !== null) {
      const a = putAnomaly(w, values.get(w.value));
      if (a !== undefined) anomalies.push(a);
    } else if (w.status === 'ok' && (w.deleted ?? 0) > 0 && !deletesAt.has(`${w.revision} ${w.key}`)) {
      anomalies.push({ kind: 'lost', detail: `delete ${JSON.stringify(w.key)} was acknowledged at revision ${w.revision} but is not in the store's history` });
    }
  }
  for (const [value, events] of values) {
    if (!attempted.has(value)) anomalies.push({ kind: 'phantom', detail: `${JSON.stringify(value)} at revision ${events[0]!.revision} was never written` });
    if (events.length > 1) {
      anomalies.push({ kind: 'applied-twice', detail: `${JSON.stringify(value)} is at revisions ${events.map((e) => e.revision).join(', ')}` });
    }
  }
  for (const e of truth) {
    if (e.value === null && !deletedKeys.has(e.key)) {
      anomalies.push({ kind: 'phantom', detail: `delete of ${JSON.stringify(e.key)} at revision ${e.revision} was never asked for` });
    }
  }
  const acknowledged = writes.filter((w) => w.status === 'ok').length;
  const verdict: Verdict = anomalies.length > 0 ? 'violation' : beyond.length === 0 ? 'ok' : 'unknown';
  const byKind: DurabilityResult['byKind'] = {};
  for (const a of anomalies) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  // The lost writes first: they are what a reader looks for.
  anomalies.sort((a, b) => Number(b.kind === 'lost') - Number(a.kind === 'lost'));
  return { verdict, acknowledged, anomalies: anomalies.slice(0, ANOMALIES_SHOWN_MAX), anomalyCount: anomalies.length, byKind };
}

export function summarizeDurability(result: DurabilityResult): CheckerSummary {
  const kinds = Object.entries(result.byKind).map(([k, n]) => `${n} ${k}`).join(', ');
  const head = `acknowledged writes: ${result.verdict === 'violation' ? 'VIOLATION' : result.verdict} ` +
    `(${result.acknowledged} acknowledged, ${result.anomalyCount} anomalies${kinds === '' ? '' : `: ${kinds}`})`;
  const lines = result.anomalies.map((a) => `  ${a.kind}: ${a.detail}`);
  if (result.anomalyCount > result.anomalies.length) lines.push(`  … and ${result.anomalyCount - result.anomalies.length} more`);
  return {
    checker: 'acknowledged-writes',
    verdict: result.verdict,
    summary: `${result.acknowledged} acknowledged writes, ${result.anomalyCount} anomalies${kinds === '' ? '' : ` (${kinds})`}`,
    details: [head, ...lines].join('\n'),
    highlight: [],
  };
}
