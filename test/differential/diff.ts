// Line-by-line comparison of the two normalized runs, step by step (both ran the same
// steps in the same order), as a unified diff: etcd's lines "-", regionstore's "+",
// every line tagged with its step.

import { KNOWN_DIFFERENCES, type KnownDifference } from './known.js';

export interface StepLines {
  step: string;
  lines: string[];
}

export interface StepDiff {
  step: string;
  /** Unified-diff lines: " ", "-" or "+" then "[step] line". */
  lines: string[];
  removed: number;
  added: number;
}

export interface Comparison {
  /** Steps that differ and are not on the known list: these fail the test. */
  differing: StepDiff[];
  /** Steps on the known list that differ, with the entry. */
  known: Array<StepDiff & { entry: KnownDifference }>;
  /** Known-list steps that no longer differ: they should leave the list. */
  fixed: Array<{ step: string; entry: KnownDifference }>;
  /** Differing lines (removed + added) outside the known list. */
  count: number;
  steps: number;
}

/** Longest-common-subsequence diff; a step's output is tens of lines, so O(n·m) is fine. */
export function diffLines(a: string[], b: string[]): Array<[' ' | '-' | '+', string]> {
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: Array<[' ' | '-' | '+', string]> = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      out.push([' ', a[i]!]);
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) {
      out.push(['+', b[j]!]);
      j++;
    } else {
      out.push(['-', a[i]!]);
      i++;
    }
  }
  return out;
}

/** Context lines kept around a change, as `diff -u` does. */
export const CONTEXT_LINES = 2;

export function diffStep(step: string, a: string[], b: string[]): StepDiff {
  const d = diffLines(a, b);
  const changed = d.map(([op]) => op !== ' ');
  const keep = d.map((_, k) => changed.slice(Math.max(0, k - CONTEXT_LINES), k + CONTEXT_LINES + 1).some(Boolean));
  const lines: string[] = [];
  d.forEach(([op, line], k) => {
    if (keep[k]) lines.push(`${op}[${step}] ${line}`);
    else if (k > 0 && keep[k - 1]) lines.push(`  [${step}] ...`);
  });
  return { step, lines, removed: d.filter(([op]) => op === '-').length, added: d.filter(([op]) => op === '+').length };
}

export function compare(reference: StepLines[], candidate: StepLines[], known: readonly KnownDifference[] = KNOWN_DIFFERENCES): Comparison {
  if (reference.length !== candidate.length || reference.some((r, i) => r.step !== candidate[i]!.step)) {
    throw new Error('the two runs did not run the same steps');
  }
  const result: Comparison = { differing: [], known: [], fixed: [], count: 0, steps: reference.length };
  reference.forEach((r, i) => {
    const d = diffStep(r.step, r.lines, candidate[i]!.lines);
    const entry = known.find((k) => k.steps.includes(r.step));
    const differs = d.removed + d.added > 0;
    if (differs && entry !== undefined) result.known.push({ ...d, entry });
    else if (differs) {
      result.differing.push(d);
      result.count += d.removed + d.added;
    } else if (entry !== undefined) result.fixed.push({ step: r.step, entry });
  });
  return result;
}

const RULE = '!'.repeat(78);

/** The report: the known differences loudly, then the diff and the count. */
export function renderComparison(c: Comparison, referenceName: string, candidateName: string): string {
  const out: string[] = [];
  if (c.known.length > 0) {
    out.push(RULE, `!!! KNOWN DIFFERENCES (${c.known.length}), not counted; each is fixed by the issue named:`);
    for (const k of c.known) out.push(`!!!   ${k.step}: ${k.entry.why} (fixed by ${k.entry.fixedBy})`);
    out.push(RULE);
    for (const k of c.known) out.push(...k.lines);
    out.push(RULE);
  }
  for (const f of c.fixed) {
    out.push(`!!! step "${f.step}" (known difference fixed by ${f.entry.fixedBy}) no longer differs: remove it from test/differential/known.ts`);
  }
  out.push(`--- ${referenceName} (the reference)`, `+++ ${candidateName}`);
  for (const d of c.differing) out.push(`@@ ${d.step}: -${d.removed} +${d.added} @@`, ...d.lines);
  const lines = c.differing.reduce((s, d) => s + d.removed + d.added, 0);
  out.push(`${c.differing.length} of ${c.steps} steps differ, ${lines} differing lines` +
    ` (${c.known.length} more steps differ as known, listed above)`);
  return out.join('\n');
}
