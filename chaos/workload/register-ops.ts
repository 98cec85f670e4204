// One register operation through the client, as a history line (chaos/history's format).
//
//  - get: a linearizable Range of the key; output the value, null when absent.
//  - put, delete: output null.
//  - cas: "if the key holds `expected` (null: is absent), write `value`"; output "ok"/"fail".
//    Two ways, both of which the issue asks for:
//      value:  one Txn comparing the value (or version 0 for "absent").
//      mod:    read the key, then a Txn comparing its mod_revision with the one read. A
//              changed mod_revision means some write came in between, and since the
//              workload never writes a value twice, the key no longer holds `expected`:
//              "fail" is then the truth at the time of the Txn.
//
// Status: ok when the answer came; otherwise see failureStatus (common.ts).

import { cmp, op, type Client } from '../../client/index.js';
import { CAS_FAIL, CAS_OK, type HistoryOp, type OpKind } from '../history/op.js';
import type { RunClock } from '../history/run-clock.js';
import { failureStatus } from './common.js';

export type CasMode = 'value' | 'mod';

export interface RegisterRequest {
  process: number;
  key: string;
  op: OpKind;
  /** Written by put and cas. */
  value: string | null;
  /** Compared by cas. */
  expected: string | null;
  casMode: CasMode;
}

async function get(client: Client, key: string): Promise<string | null> {
  const kv = await client.kv.get(key);
  return kv === undefined ? null : kv.value.toString();
}

async function casByValue(client: Client, key: string, expected: string | null, value: string): Promise<string> {
  const guard = expected === null ? cmp.version(key, '=', 0) : cmp.value(key, '=', expected);
  const r = await client.txn().when(guard).success(op.put(key, value)).commit();
  return r.succeeded ? CAS_OK : CAS_FAIL;
}

/** Resolves with the cas output; a failed read rejects with `read` set (nothing was written). */
async function casByModRevision(client: Client, key: string, expected: string | null, value: string): Promise<string> {
  let kv;
  try {
    kv = await client.kv.get(key);
  } catch (err) {
    throw Object.assign(new Error('cas read failed'), { cause: err, read: true });
  }
  if ((kv === undefined ? null : kv.value.toString()) !== expected) return CAS_FAIL;
  const r = await client.txn().when(cmp.modRevision(key, '=', kv?.modRevision ?? 0)).success(op.put(key, value)).commit();
  return r.succeeded ? CAS_OK : CAS_FAIL;
}

async function output(client: Client, r: RegisterRequest): Promise<string | null> {
  switch (r.op) {
    case 'get': return get(client, r.key);
    case 'put': await client.kv.put(r.key, r.value!); return null;
    case 'delete': await client.kv.delete(r.key); return null;
    case 'cas': return r.casMode === 'value'
      ? casByValue(client, r.key, r.expected, r.value!)
      : casByModRevision(client, r.key, r.expected, r.value!);
  }
}

/** Runs one operation and returns its history line (never throws). */
export async function runRegisterOp(client: Client, clock: RunClock, r: RegisterRequest): Promise<{ op: HistoryOp; error?: unknown }> {
  const base = { process: r.process, key: r.key, op: r.op, value: r.value, expected: r.expected };
  const call = clock.nowNs();
  try {
    const out = await output(client, r);
    return { op: { ...base, output: out, call, return: clock.nowNs(), status: 'ok' } };
  } catch (err) {
    const readOnly = r.op === 'get' || (err as { read?: boolean }).read === true;
    const cause = (err as { read?: boolean; cause?: unknown }).read === true ? (err as { cause: unknown }).cause : err;
    const status = failureStatus(cause, !readOnly);
    return { op: { ...base, output: null, call, return: clock.nowNs(), status }, error: cause };
  }
}
