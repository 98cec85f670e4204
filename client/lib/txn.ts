// Transactions: compares (all must hold) choose between a success and a failure branch
// of operations, applied atomically at one revision.
//
//   const r = await client.txn()
//     .when(cmp.modRevision('k', '=', seen))
//     .success(op.put('k', 'new'))
//     .failure(op.get('k'))
//     .commit();
//
// (No `.then()`: a builder with a then method would be mistaken for a promise by await.)

import { toBuffer, type BytesLike } from './bytes.js';
import type { CallOptions } from './caller.js';
import { idToWire, type IdLike } from './int64.js';
import {
  deleteRequest, putRequest, rangeEndOf, rangeRequest, type DeleteOptions, type KeyRange, type PutOptions, type RangeOptions,
} from './requests.js';
import type { TxnResult } from './types.js';

export const CompareOp = { '=': 0, '>': 1, '<': 2, '!=': 3 } as const;
export type CompareOp = keyof typeof CompareOp;
const CompareTarget = { version: 0, create: 1, mod: 2, value: 3, lease: 4 } as const;

/** One compare, as the wire takes it. Build with `cmp`. */
export interface Compare {
  readonly wire: object;
}

/** One operation of a branch. Build with `op`. */
export interface TxnOp {
  readonly wire: object;
}

function compare(key: BytesLike, o: CompareOp, target: keyof typeof CompareTarget, field: string, value: unknown, r: KeyRange): Compare {
  const result = CompareOp[o];
  if (result === undefined) throw new RangeError(`compare operator must be one of = != > <, got ${String(o)}`);
  return {
    wire: { key: toBuffer(key), rangeEnd: rangeEndOf(key, r), result, target: CompareTarget[target], [field]: value },
  };
}

function revision(n: number, what: string): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
  return String(n);
}

/** Compares; `range` applies the compare to every key of a range (etcd 3.5's range compares). */
export const cmp = {
  /** Version 0 means "the key does not exist". */
  version: (key: BytesLike, o: CompareOp, version: number, range: KeyRange = {}): Compare =>
    compare(key, o, 'version', 'version', revision(version, 'version'), range),
  createRevision: (key: BytesLike, o: CompareOp, rev: number, range: KeyRange = {}): Compare =>
    compare(key, o, 'create', 'createRevision', revision(rev, 'createRevision'), range),
  modRevision: (key: BytesLike, o: CompareOp, rev: number, range: KeyRange = {}): Compare =>
    compare(key, o, 'mod', 'modRevision', revision(rev, 'modRevision'), range),
  value: (key: BytesLike, o: CompareOp, value: BytesLike, range: KeyRange = {}): Compare =>
    compare(key, o, 'value', 'value', toBuffer(value), range),
  lease: (key: BytesLike, o: CompareOp, lease: IdLike, range: KeyRange = {}): Compare =>
    compare(key, o, 'lease', 'lease', idToWire(lease, 'lease'), range),
  /** The key does not exist (version = 0). */
  absent: (key: BytesLike): Compare => compare(key, '=', 'version', 'version', '0', {}),
};

export const op = {
  get: (key: BytesLike, o?: RangeOptions): TxnOp => ({ wire: { requestRange: rangeRequest(key, o) } }),
  put: (key: BytesLike, value: BytesLike, o?: PutOptions): TxnOp => ({ wire: { requestPut: putRequest(key, value, o) } }),
  delete: (key: BytesLike, o?: DeleteOptions): TxnOp => ({ wire: { requestDeleteRange: deleteRequest(key, o) } }),
  /** A nested transaction. */
  txn: (t: TxnBuilder): TxnOp => ({ wire: { requestTxn: t.request() } }),
};

export class TxnBuilder {
  private readonly compares: Compare[] = [];
  private readonly onSuccess: TxnOp[] = [];
  private readonly onFailure: TxnOp[] = [];

  /** `commit` runs the transaction; without one the builder only describes it (for op.txn). */
  constructor(private readonly commitFn?: (req: object, opts: CallOptions) => Promise<TxnResult>) {}

  /** Adds compares; all must hold for the success branch. */
  when(...compares: Compare[]): this {
    this.compares.push(...compares);
    return this;
  }

  success(...ops: TxnOp[]): this {
    this.onSuccess.push(...ops);
    return this;
  }

  failure(...ops: TxnOp[]): this {
    this.onFailure.push(...ops);
    return this;
  }

  request(): object {
    return {
      compare: this.compares.map((c) => c.wire),
      success: this.onSuccess.map((o) => o.wire),
      failure: this.onFailure.map((o) => o.wire),
    };
  }

  commit(opts: CallOptions = {}): Promise<TxnResult> {
    if (this.commitFn === undefined) return Promise.reject(new Error('this transaction is nested (op.txn); commit the outer one'));
    return this.commitFn(this.request(), opts);
  }
}
