// A run record made up for tests and for looking at the report: a generated register
// history with a stale read injected, two faults, and real checker verdicts.

import { checkBank } from '../checker/bank.js';
import { checkLinearizability } from '../checker/linearizability.js';
import { summarizeBank, summarizeLinearizability, summarizeWatch } from '../checker/summary.js';
import { linearizableHistory, withAnomaly } from '../checker/testing/generate.js';
import { checkWatch } from '../checker/watch.js';
import type { RunRecord } from './record.js';

const MS = 1_000_000;

export function sampleRecord(seed: number, opts: { anomaly: boolean } = { anomaly: true }): RunRecord {
  const clean = linearizableHistory({
    seed, processes: 6, opsPerProcess: 120, keys: 3, unknownChance: 0.03, failChance: 0.03,
    gapNsMax: 40 * MS, latencyNsMax: 30 * MS,
  });
  const history = opts.anomaly ? withAnomaly(clean, seed, 'stale-read') : clean;
  const lin = checkLinearizability(history, { timeLimitMs: 20_000 });
  const bankReads = [{ process: 90, call: 0, return: 5 * MS, balances: { a: 50, b: 50 } }];
  const bank = checkBank(bankReads, { accounts: ['a', 'b'], total: 100 });
  const watch = checkWatch([{ revision: 2, key: 'w/a', value: '1' }], [
    { watcher: 'w0', prefix: 'w/', sessions: [{ startRevision: 1, events: [{ revision: 2, key: 'w/a', value: '1' }] }] },
  ]);
  return {
    title: `sample run (seed ${seed})`,
    seed,
    nodes: 3,
    replay: `npm run chaos -- --nodes 3 --time 5 --seed ${seed}`,
    startedAt: '2026-01-01T00:00:00.000Z',
    history,
    faults: [
      { start: 1000 * MS, end: 2200 * MS, kind: 'partition', detail: '[1] | [2 3]' },
      { start: 2000 * MS, end: 2600 * MS, kind: 'slow', detail: '2->3 50ms±20' },
      { start: 3200 * MS, end: 3700 * MS, kind: 'kill', detail: 'node 2 (leader)' },
    ],
    results: [summarizeLinearizability(history, lin), summarizeBank(bankReads, bank), summarizeWatch(watch)],
  };
}
