// The crdt convergence checker's result as a CheckerSummary for the runner and the report:
// one line with the verdict and the counts, the anomalies (and what left it undecided).

import type { CrdtResult } from './crdt.js';
import type { CheckerSummary } from './summary.js';

export const CRDT_CHECKER = 'crdt-convergence';

function countsLine(r: CrdtResult): string {
  const c = r.counts;
  return `${c.writes} writes (${c.ok} ok, ${c.fail} failed, ${c.unknown} indeterminate; ${c.resends} re-sends, ` +
    `${c.resendsAfterOk} of acknowledged writes), ${c.reads} reads; ${c.membersRead}/${c.members} members read: ` +
    `${c.counters} counters, ${c.setMembers} set members, ${c.events} events from ${c.devices} devices ` +
    `(completeness ${(c.completeness * 100).toFixed(1)} %, ${c.completeDevices} devices fully acknowledged)`;
}

export function summarizeCrdt(r: CrdtResult): CheckerSummary {
  const kinds = Object.entries(r.byKind).map(([k, n]) => `${k} ${n}`).join(', ');
  const summary = r.verdict === 'ok'
    ? `converged: ${countsLine(r)}`
    : r.verdict === 'violation'
      ? `${r.anomalyCount} anomal${r.anomalyCount === 1 ? 'y' : 'ies'} (${kinds}); ${countsLine(r)}`
      : `undecided: ${r.undecided[0] ?? '?'}; ${countsLine(r)}`;
  const lines = [`${CRDT_CHECKER}:`, `  ${summary}`];
  for (const a of r.anomalies) lines.push(`  ${a.kind}: ${a.detail}`);
  if (r.anomalyCount > r.anomalies.length) lines.push(`  ... and ${r.anomalyCount - r.anomalies.length} more`);
  for (const u of r.undecided) lines.push(`  undecided: ${u}`);
  return { checker: CRDT_CHECKER, verdict: r.verdict, summary, details: lines.join('\n'), highlight: [] };
}
