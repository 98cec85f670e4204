// The bank checker. The workload moves money between accounts in transactions; a read of
// all accounts in one snapshot must see the same total every time (money is neither made
// nor lost by a transfer that half-applied or a read that saw half of one), and, unless
// the workload allows overdrafts, no negative balance.

import type { Verdict } from './linearizability.js';

export interface BankRead {
  process: number;
  /** ns since run start. */
  call: number;
  return: number;
  /** Account → balance, from one snapshot read of every account. */
  balances: Record<string, number>;
}

export interface BankOptions {
  /** Every account the workload created. */
  accounts: readonly string[];
  /** The sum of the balances, fixed at setup. */
  total: number;
  /** The workload lets a transfer overdraw an account. */
  allowNegative?: boolean;
}

export const BANK_ANOMALY_KINDS = ['wrong-total', 'negative-balance', 'missing-account', 'unexpected-account', 'not-an-integer'] as const;
export type BankAnomalyKind = (typeof BANK_ANOMALY_KINDS)[number];

export interface BankAnomaly {
  /** Index of the read in the input. */
  read: number;
  kind: BankAnomalyKind;
  detail: string;
}

export interface BankResult {
  /** "unknown" when there was no read to check. */
  verdict: Verdict;
  reads: number;
  /** The first ANOMALIES_SHOWN_MAX anomalies; anomalyCount counts them all. */
  anomalies: BankAnomaly[];
  anomalyCount: number;
  /** Lowest and highest total seen. */
  totals: { min: number; max: number } | undefined;
}

/** Anomalies kept in a result (a broken store can produce one per read). */
export const ANOMALIES_SHOWN_MAX = 100;

function readAnomalies(read: BankRead, index: number, o: BankOptions): BankAnomaly[] {
  const out: BankAnomaly[] = [];
  const add = (kind: BankAnomalyKind, detail: string): void => void out.push({ read: index, kind, detail });
  for (const account of o.accounts) {
    if (!Object.hasOwn(read.balances, account)) add('missing-account', `account ${JSON.stringify(account)} is missing`);
  }
  let total = 0;
  for (const [account, balance] of Object.entries(read.balances)) {
    if (!o.accounts.includes(account)) add('unexpected-account', `account ${JSON.stringify(account)} was never created`);
    if (!Number.isSafeInteger(balance)) add('not-an-integer', `account ${JSON.stringify(account)} holds ${String(balance)}`);
    else if (balance < 0 && o.allowNegative !== true) add('negative-balance', `account ${JSON.stringify(account)} holds ${balance}`);
    total += balance;
  }
  if (total !== o.total) add('wrong-total', `total ${total}, expected ${o.total}`);
  return out;
}

export function checkBank(reads: readonly BankRead[], options: BankOptions): BankResult {
  const anomalies: BankAnomaly[] = [];
  let anomalyCount = 0;
  let totals: BankResult['totals'];
  reads.forEach((read, i) => {
    const found = readAnomalies(read, i, options);
    anomalyCount += found.length;
    anomalies.push(...found.slice(0, Math.max(0, ANOMALIES_SHOWN_MAX - anomalies.length)));
    const total = Object.values(read.balances).reduce((a, b) => a + b, 0);
    totals = totals === undefined ? { min: total, max: total } : { min: Math.min(totals.min, total), max: Math.max(totals.max, total) };
  });
  const verdict: Verdict = anomalyCount > 0 ? 'violation' : reads.length === 0 ? 'unknown' : 'ok';
  return { verdict, reads: reads.length, anomalies, anomalyCount, totals };
}

/** A few lines for a person: the verdict, then each anomaly with its read. */
export function renderBank(reads: readonly BankRead[], result: BankResult): string {
  const head = `bank: ${result.verdict === 'violation' ? 'VIOLATION' : result.verdict} (${result.reads} reads` +
    (result.totals === undefined ? '' : `, totals ${result.totals.min}..${result.totals.max}`) +
    `, ${result.anomalyCount} anomalies)`;
  const lines = result.anomalies.map((a) => {
    const r = reads[a.read]!;
    return `  read #${a.read} by p${r.process} [${r.call} … ${r.return} ns]: ${a.kind}: ${a.detail} ` +
      `(saw ${JSON.stringify(r.balances)})`;
  });
  if (result.anomalyCount > result.anomalies.length) {
    lines.push(`  … and ${result.anomalyCount - result.anomalies.length} more`);
  }
  return [head, ...lines].join('\n');
}
