// A check the embedder (the region) runs at apply on the etcd writes of its log: Put,
// DeleteRange and Txn (its compares and every op, nested txns included). The region refuses
// there the keys of eventual namespaces: a member routes an etcd write by its registry at
// the time it receives it, which may be a moment behind a namespace create already in the
// log; at apply every member holds the registry as of that entry, so the refusal is the
// same everywhere and such a write can never put a plain key (no CRDT state) into an
// eventual prefix. The eventual store's own projection writes through the external command
// path, not through these commands, so the guard never sees it.

import type { Bytes } from '../storage/engine.js';
import type { Command, RequestOp, TxnRequest } from './types.js';

export interface WriteGuard {
  /** Why a command may not touch this key (rangeEnd as etcd's: undefined, one key); undefined: it may. */
  refuse(key: Bytes, rangeEnd: Bytes | undefined): string | undefined;
}

/** The first refusal among the keys a Put, DeleteRange or Txn touches; undefined for the others. */
export function guardRefusal(guard: WriteGuard, cmd: Command): string | undefined {
  switch (cmd.type) {
    case 'put': return guard.refuse(cmd.put.key, undefined);
    case 'deleteRange': return guard.refuse(cmd.deleteRange.key, cmd.deleteRange.rangeEnd);
    case 'txn': return txnRefusal(guard, cmd.txn);
    default: return undefined;
  }
}

function txnRefusal(guard: WriteGuard, txn: TxnRequest): string | undefined {
  for (const c of txn.compare) {
    const r = guard.refuse(c.key, c.rangeEnd);
    if (r !== undefined) return r;
  }
  return opsRefusal(guard, txn.success) ?? opsRefusal(guard, txn.failure);
}

function opsRefusal(guard: WriteGuard, ops: RequestOp[]): string | undefined {
  for (const op of ops) {
    let r: string | undefined;
    switch (op.type) {
      case 'range': r = guard.refuse(op.range.key, op.range.rangeEnd); break;
      case 'put': r = guard.refuse(op.put.key, undefined); break;
      case 'deleteRange': r = guard.refuse(op.deleteRange.key, op.deleteRange.rangeEnd); break;
      case 'txn': r = txnRefusal(guard, op.txn); break;
    }
    if (r !== undefined) return r;
  }
  return undefined;
}
