// `npm run chaos -- ...` (cli.ts runs it): parses the command line, runs the harness,
// prints every checker's verdict (with its details when not ok), where the report is,
// and the line that replays the run. Exit status: 0 ok, 1 a violation, 2 unknown or the
// run could not be made.

import { randomInt } from 'node:crypto';
import type { CheckerSummary } from '../checker/summary.js';
import { parseRunArgs, USAGE, type RunConfig } from './args.js';
import { runChaos, type RunOutcome } from './run.js';
import { kpiText } from '../edge/kpi.js';

export const EXIT_USAGE = 2;

function verdictLine(r: CheckerSummary): string {
  const mark = r.verdict === 'ok' ? 'ok     ' : r.verdict === 'violation' ? 'FAILED ' : 'UNKNOWN';
  return `  ${mark} ${r.checker}: ${r.summary}`;
}

/** What a person reads at the end of a run. */
export function formatOutcome(o: RunOutcome): string {
  const lines = ['', 'verdicts:', ...o.results.map(verdictLine)];
  for (const r of o.results.filter((x) => x.verdict !== 'ok')) lines.push('', r.details);
  const kinds = new Map<string, number>();
  for (const f of o.faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  lines.push('', `faults: ${o.faults.length} (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ') || 'none'})`);
  if (o.register !== undefined) {
    const r = o.register;
    lines.push(`register: ${r.ops} operations (${r.ok} ok, ${r.fail} fail, ${r.unknown} unknown) on ${r.keys} keys by ${r.processes} processes`);
  }
  if (o.bank !== undefined) {
    const t = o.bank.transfers;
    lines.push(`bank: ${o.bank.reads} reads, transfers ${t.ok} ok, ${t.conflict} conflicted, ${t.fail} failed, ${t.unknown} unknown`);
  }
  if (o.crdt !== undefined) {
    const c = o.crdt;
    lines.push(`crdt: ${c.ops} operations by ${c.processes} processes, ${c.writes} write attempts (${c.ok} ok, ${c.fail} fail, ${c.unknown} unknown), ${c.resends} re-sends`);
  }
  if (o.edges !== undefined) {
    const e = o.edges;
    lines.push(`edges: ${e.edges} edges + region, ${e.writes} writes (${e.ok} ok, ${e.fail} fail, ${e.unknown} unknown), ${e.events} events acknowledged, ${e.faults} edge faults`);
  }
  if (o.kpi !== undefined) lines.push('', 'edge field KPIs:', kpiText(o.kpi), '');
  if (o.watch !== undefined) lines.push(`watch: ${o.watch.writes} writes (${o.watch.acknowledged} acknowledged), ${o.watch.events} events seen by the watchers`);
  lines.push(`report: ${o.files.html}`, `history: ${o.files.history}`, `node logs: ${o.files.logs}/`);
  if (o.crdt !== undefined) lines.push(`crdt history: ${o.files.crdtHistory}`, `crdt final reads: ${o.files.crdtFinal}`);
  if (o.edges !== undefined) lines.push(`edge history: ${o.files.edgeHistory}`, `edge final reads: ${o.files.edgeFinal}`);
  if (o.kpi !== undefined) lines.push(`kpi: ${o.files.kpi}`);
  lines.push(`verdict: ${o.verdict.toUpperCase()}`, `replay: ${o.replay}`);
  return lines.join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  let config: RunConfig;
  try {
    config = parseRunArgs(argv, () => randomInt(1, 1_000_000));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    const outcome = await runChaos(config);
    console.log(formatOutcome(outcome));
    return outcome.exitCode;
  } catch (err) {
    console.error(`chaos: the run could not be made: ${(err as Error).stack ?? String(err)}`);
    return EXIT_USAGE;
  }
}
