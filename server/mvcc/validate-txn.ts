// Pure checks of a TxnRequest the API layer runs before proposing (and the store runs
// again on apply, so a bad entry in the log is answered, not applied): a txn may not
// write one key twice on any path through it, counting puts inside delete ranges and
// puts in nested txns. Success and failure branches are alternatives, so they may overlap.

import { MvccError } from './errors.js';
import { keyString } from './kv-layout.js';
import type { RequestOp, TxnRequest } from './types.js';

/** etcd's default --max-txn-ops: operations per branch (and compares). */
export const TXN_OPS_MAX = 128;

interface Interval {
  from: string;
  /** undefined: no upper bound; equal to `from` + "\0": the single key. */
  to: string | undefined;
}

export function validateTxn(txn: TxnRequest, opsMax = TXN_OPS_MAX): void {
  checkSizes(txn, opsMax);
  checkIntervals(txn.success);
  checkIntervals(txn.failure);
}

function checkSizes(txn: TxnRequest, opsMax: number): void {
  if (txn.compare.length > opsMax || txn.success.length > opsMax || txn.failure.length > opsMax) {
    throw new MvccError('too-many-ops');
  }
  for (const op of [...txn.success, ...txn.failure]) if (op.type === 'txn') checkSizes(op.txn, opsMax);
}

function deleteInterval(key: Uint8Array, rangeEnd: Uint8Array | undefined): Interval {
  const from = keyString(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { from, to: `${from}\0` };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { from, to: undefined };
  return { from, to: keyString(rangeEnd) };
}

function intersects(dels: Interval[], key: string): boolean {
  return dels.some((d) => key >= d.from && (d.to === undefined || key < d.to));
}

function checkIntervals(reqs: RequestOp[]): { puts: Set<string>; dels: Interval[] } {
  const dels: Interval[] = [];
  for (const op of reqs) {
    if (op.type === 'deleteRange') dels.push(deleteInterval(op.deleteRange.key, op.deleteRange.rangeEnd));
  }
  const puts = new Set<string>();
  for (const op of reqs) {
    if (op.type !== 'txn') continue;
    const then = checkIntervals(op.txn.success);
    const other = checkIntervals(op.txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || intersects(dels, k)) throw new MvccError('duplicate-key');
      puts.add(k);
    }
    for (const k of other.puts) {
      // A key put in both branches of the nested txn is fine: only one branch runs.
      if ((puts.has(k) && !then.puts.has(k)) || intersects(dels, k)) throw new MvccError('duplicate-key');
      puts.add(k);
    }
    dels.push(...then.dels, ...other.dels);
  }
  for (const op of reqs) {
    if (op.type !== 'put') continue;
    const k = keyString(op.put.key);
    if (puts.has(k) || intersects(dels, k)) throw new MvccError('duplicate-key');
    puts.add(k);
  }
  return { puts, dels };
}
