// The session checker: read-your-writes and monotonic reads per process over the session
// workload's operations (chaos/workload/session.ts). Each process runs one operation at a
// time, so its operations in call order are its program order. Only acknowledged ("ok")
// operations constrain: a failed read says nothing, and a process whose write ended
// "unknown" never runs again.

import type { SessionOp } from '../workload/session.js';
import type { CheckerSummary } from './summary.js';

export interface SessionAnomaly {
  kind: 'read-your-writes' | 'monotonic-reads' | 'monotonic-key';
  process: number;
  /** The operation that saw too old a state, and the one it should not be older than. */
  op: SessionOp;
  after: SessionOp;
}

export interface SessionResult {
  ok: boolean;
  processes: number;
  reads: number;
  /** Every anomaly found; `anomalies` keeps the first SESSION_ANOMALIES_MAX. */
  count: number;
  anomalies: SessionAnomaly[];
}

/** Anomalies kept in the result (the count is exact). */
export const SESSION_ANOMALIES_MAX = 20;

export function checkSession(ops: readonly SessionOp[]): SessionResult {
  const byProcess = new Map<number, SessionOp[]>();
  for (const op of ops) {
    if (op.status !== 'ok') continue;
    const list = byProcess.get(op.process) ?? [];
    list.push(op);
    byProcess.set(op.process, list);
  }
  const anomalies: SessionAnomaly[] = [];
  let count = 0;
  let reads = 0;
  const note = (a: SessionAnomaly): void => {
    count++;
    if (anomalies.length < SESSION_ANOMALIES_MAX) anomalies.push(a);
  };
  for (const [process, list] of byProcess) {
    list.sort((a, b) => a.call - b.call);
    let newest: SessionOp | undefined; // the op with the highest answer revision so far
    const lastWrite = new Map<string, SessionOp>();
    const lastSeen = new Map<string, SessionOp>(); // per key: the op that showed the newest modification
    for (const op of list) {
      if (op.op === 'get') {
        reads++;
        const w = lastWrite.get(op.key);
        if (w !== undefined && (op.modRevision < w.modRevision || op.value !== w.value)) note({ kind: 'read-your-writes', process, op, after: w });
        if (newest !== undefined && op.revision < newest.revision) note({ kind: 'monotonic-reads', process, op, after: newest });
        const seen = lastSeen.get(op.key);
        if (seen !== undefined && op.modRevision < seen.modRevision) note({ kind: 'monotonic-key', process, op, after: seen });
      } else {
        lastWrite.set(op.key, op);
      }
      if (newest === undefined || op.revision > newest.revision) newest = op;
      const seen = lastSeen.get(op.key);
      if (seen === undefined || op.modRevision > seen.modRevision) lastSeen.set(op.key, op);
    }
  }
  return { ok: count === 0, processes: byProcess.size, reads, count, anomalies };
}

function describe(op: SessionOp): string {
  const what = op.op === 'put' ? `put ${op.key}=${op.value}` : `get ${op.key} -> ${op.value ?? 'absent'}`;
  return `${what} (revision ${op.revision}, mod ${op.modRevision}, at ${(op.call / 1e6).toFixed(1)} ms)`;
}

export function summarizeSession(r: SessionResult): CheckerSummary {
  const summary = r.ok
    ? `read-your-writes and monotonic reads hold: ${r.reads} session reads by ${r.processes} processes`
    : `${r.count} session anomal${r.count === 1 ? 'y' : 'ies'} (first: ${r.anomalies[0]!.kind} in process ${r.anomalies[0]!.process})`;
  const lines = r.anomalies.map((a) => `  ${a.kind}, process ${a.process}: ${describe(a.op)} is older than ${describe(a.after)}`);
  return { checker: 'session', verdict: r.ok ? 'ok' : 'violation', summary, details: ['session:', summary, ...lines].join('\n'), highlight: [] };
}
