// Terse constructors of register operations for hand-written test histories, on key "x"
// unless told: put(p, "a", call, ret), get(p, "a" | null, call, ret), cas(p, expected,
// value, "ok" | "fail", call, ret), del(p, call, ret); `.unknown()` / `.fail()` variants
// through withStatus.

import type { HistoryOp, OpStatus } from '../../history/op.js';

const base = { key: 'x', value: null, expected: null, output: null } as const;

export function put(process: number, value: string, call: number, ret: number, key = 'x'): HistoryOp {
  return { ...base, process, key, op: 'put', value, call, return: ret, status: 'ok' };
}

export function get(process: number, output: string | null, call: number, ret: number, key = 'x'): HistoryOp {
  return { ...base, process, key, op: 'get', output, call, return: ret, status: 'ok' };
}

export function cas(
  process: number, expected: string | null, value: string, output: 'ok' | 'fail', call: number, ret: number, key = 'x',
): HistoryOp {
  return { ...base, process, key, op: 'cas', expected, value, output, call, return: ret, status: 'ok' };
}

export function del(process: number, call: number, ret: number, key = 'x'): HistoryOp {
  return { ...base, process, key, op: 'delete', call, return: ret, status: 'ok' };
}

/** The same operation with another status; its output is cleared (nothing was observed). */
export function withStatus(op: HistoryOp, status: Exclude<OpStatus, 'ok'>): HistoryOp {
  return { ...op, status, output: null };
}
