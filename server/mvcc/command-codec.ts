// Commands ⇄ bytes for Raft entries. One tag byte per command, fields in a fixed order,
// absent optional fields written as their zero value. Hand-rolled (bin.ts) because this
// runs once per proposal on the hot path and must not go through JSON.

import { assert, unreachable } from '../util/assert.js';
import { BinReader, BinWriter } from './bin.js';
import type {
  AlarmAction,
  AlarmType,
  ClientSeq,
  Command,
  Compare,
  CompareResult,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  SortOrder,
  SortTarget,
  TxnRequest,
} from './types.js';
import { CompareTarget } from './types.js';

/** Codec version byte, first in every encoded command, so the format can evolve. */
const COMMAND_FORMAT_VERSION = 1;
/** Nesting bound for txns inside txns (etcd's default --max-txn-ops does not bound depth). */
export const TXN_DEPTH_MAX = 16;

const CommandTag = {
  put: 1,
  deleteRange: 2,
  txn: 3,
  compact: 4,
  leaseGrant: 5,
  leaseRevoke: 6,
  leaseCheckpoint: 7,
  alarm: 8,
  external: 9,
} as const;
const OpTag = { range: 1, put: 2, deleteRange: 3, txn: 4 } as const;
const EMPTY = new Uint8Array(0);

/**
 * A command's bytes. `headBytes`: that many zero bytes before them, for an envelope the caller
 * writes in place (a Raft entry's payload header: region-node proposes every put this way, one
 * array per proposal instead of the command's and then the payload's).
 */
export function encodeCommand(cmd: Command, headBytes = 0): Uint8Array {
  const w = new BinWriter();
  if (headBytes > 0) w.zeros(headBytes);
  w.byte(COMMAND_FORMAT_VERSION).byte(CommandTag[cmd.type]);
  if (cmd.client !== undefined) w.bool(true).string(cmd.client.clientId).uint(cmd.client.seq);
  else w.bool(false);
  switch (cmd.type) {
    case 'put': writePut(w, cmd.put); break;
    case 'deleteRange': writeDelete(w, cmd.deleteRange); break;
    case 'txn': writeTxn(w, cmd.txn, 0); break;
    case 'compact': w.uint(cmd.compact.revision).bool(cmd.compact.physical); break;
    case 'leaseGrant': w.int(cmd.leaseGrant.ttl).uint(cmd.leaseGrant.id); break;
    case 'leaseRevoke': w.uint(cmd.leaseRevoke.id); break;
    case 'leaseCheckpoint':
      w.uint(cmd.leaseCheckpoint.checkpoints.length);
      for (const c of cmd.leaseCheckpoint.checkpoints) w.uint(c.id).uint(c.remainingTtl);
      break;
    case 'alarm': w.byte(cmd.alarm.action).uint(cmd.alarm.memberId).byte(cmd.alarm.alarm); break;
    case 'external': w.bytes(cmd.external.body); break;
    default: unreachable(cmd, 'command');
  }
  return w.finish();
}

/**
 * encodeCommand of an external command whose body `writeBody` writes: the same bytes as
 * encodeCommand({ type: 'external', external: { body }, client }) of that body, with the body
 * written once into the command's own bytes rather than finished on its own and copied in
 * (a leader proposing an eventual write, every write).
 */
export function encodeExternalCommand(client: ClientSeq | undefined, writeBody: (w: BinWriter) => void): Uint8Array {
  const w = new BinWriter();
  writeBody(w);
  return w.finishWithHead((h, bodyBytes) => {
    h.byte(COMMAND_FORMAT_VERSION).byte(CommandTag.external);
    if (client !== undefined) h.bool(true).string(client.clientId).uint(client.seq);
    else h.bool(false);
    h.uint(bodyBytes);
  });
}

export function decodeCommand(bytes: Uint8Array): Command {
  const r = new BinReader(bytes);
  const version = r.byte();
  assert(version === COMMAND_FORMAT_VERSION, () => `unknown command format version ${version}`);
  const tag = r.byte();
  const client = r.bool() ? { clientId: r.string(), seq: r.uint() } : undefined;
  const cmd = readBody(r, tag);
  assert(r.done, 'trailing bytes after command');
  return client === undefined ? cmd : { ...cmd, client };
}

function readBody(r: BinReader, tag: number): Command {
  switch (tag) {
    case CommandTag.put: return { type: 'put', put: readPut(r) };
    case CommandTag.deleteRange: return { type: 'deleteRange', deleteRange: readDelete(r) };
    case CommandTag.txn: return { type: 'txn', txn: readTxn(r, 0) };
    case CommandTag.compact: return { type: 'compact', compact: { revision: r.uint(), physical: r.bool() } };
    case CommandTag.leaseGrant: return { type: 'leaseGrant', leaseGrant: { ttl: r.int(), id: r.uint() } };
    case CommandTag.leaseRevoke: return { type: 'leaseRevoke', leaseRevoke: { id: r.uint() } };
    case CommandTag.leaseCheckpoint: {
      const n = r.uint();
      const checkpoints: Array<{ id: number; remainingTtl: number }> = [];
      for (let i = 0; i < n; i++) checkpoints.push({ id: r.uint(), remainingTtl: r.uint() });
      return { type: 'leaseCheckpoint', leaseCheckpoint: { checkpoints } };
    }
    case CommandTag.alarm:
      return { type: 'alarm', alarm: { action: r.byte() as AlarmAction, memberId: r.uint(), alarm: r.byte() as AlarmType } };
    // A view into the entry's bytes: the applier decodes it before the entry is released.
    case CommandTag.external: return { type: 'external', external: { body: r.bytes() } };
    default: throw new Error(`unknown command tag ${tag}`);
  }
}

function writePut(w: BinWriter, p: PutRequest): void {
  w.bytes(p.key).bytes(p.value).uint(p.lease ?? 0);
  w.byte((p.prevKv === true ? 1 : 0) | (p.ignoreValue === true ? 2 : 0) | (p.ignoreLease === true ? 4 : 0));
}

function readPut(r: BinReader): PutRequest {
  const key = r.bytes();
  const value = r.bytes();
  const lease = r.uint();
  const flags = r.byte();
  return { key, value, lease, prevKv: (flags & 1) !== 0, ignoreValue: (flags & 2) !== 0, ignoreLease: (flags & 4) !== 0 };
}

function writeDelete(w: BinWriter, d: DeleteRangeRequest): void {
  w.bytes(d.key).bytes(d.rangeEnd ?? EMPTY).bool(d.prevKv);
}

function readDelete(r: BinReader): DeleteRangeRequest {
  return { key: r.bytes(), rangeEnd: r.bytes(), prevKv: r.bool() };
}

export function writeRange(w: BinWriter, q: RangeRequest): void {
  w.bytes(q.key).bytes(q.rangeEnd ?? EMPTY).uint(q.limit ?? 0).uint(q.revision ?? 0);
  w.byte(q.sortOrder ?? 0).byte(q.sortTarget ?? 0);
  w.byte((q.serializable === true ? 1 : 0) | (q.keysOnly === true ? 2 : 0) | (q.countOnly === true ? 4 : 0));
  w.uint(q.minModRevision ?? 0).uint(q.maxModRevision ?? 0);
  w.uint(q.minCreateRevision ?? 0).uint(q.maxCreateRevision ?? 0);
}

export function readRange(r: BinReader): RangeRequest {
  const key = r.bytes();
  const rangeEnd = r.bytes();
  const limit = r.uint();
  const revision = r.uint();
  const sortOrder = r.byte() as SortOrder;
  const sortTarget = r.byte() as SortTarget;
  const flags = r.byte();
  return {
    key, rangeEnd, limit, revision, sortOrder, sortTarget,
    serializable: (flags & 1) !== 0, keysOnly: (flags & 2) !== 0, countOnly: (flags & 4) !== 0,
    minModRevision: r.uint(), maxModRevision: r.uint(),
    minCreateRevision: r.uint(), maxCreateRevision: r.uint(),
  };
}

function writeCompare(w: BinWriter, c: Compare): void {
  w.byte(c.result).byte(c.target).bytes(c.key).bytes(c.rangeEnd ?? EMPTY);
  switch (c.target) {
    case CompareTarget.VERSION: w.int(c.version); break;
    case CompareTarget.CREATE: w.int(c.createRevision); break;
    case CompareTarget.MOD: w.int(c.modRevision); break;
    case CompareTarget.VALUE: w.bytes(c.value); break;
    case CompareTarget.LEASE: w.int(c.lease); break;
    default: unreachable(c, 'compare target');
  }
}

function readCompare(r: BinReader): Compare {
  const result = r.byte() as CompareResult;
  const target = r.byte();
  const key = r.bytes();
  const rangeEnd = r.bytes();
  switch (target) {
    case CompareTarget.VERSION: return { result, key, rangeEnd, target, version: r.int() };
    case CompareTarget.CREATE: return { result, key, rangeEnd, target, createRevision: r.int() };
    case CompareTarget.MOD: return { result, key, rangeEnd, target, modRevision: r.int() };
    case CompareTarget.VALUE: return { result, key, rangeEnd, target, value: r.bytes() };
    case CompareTarget.LEASE: return { result, key, rangeEnd, target, lease: r.int() };
    default: throw new Error(`unknown compare target ${target}`);
  }
}

function writeTxn(w: BinWriter, t: TxnRequest, depth: number): void {
  assert(depth < TXN_DEPTH_MAX, 'txn nested too deeply');
  w.uint(t.compare.length);
  for (const c of t.compare) writeCompare(w, c);
  writeOps(w, t.success, depth);
  writeOps(w, t.failure, depth);
}

function readTxn(r: BinReader, depth: number): TxnRequest {
  assert(depth < TXN_DEPTH_MAX, 'txn nested too deeply');
  const n = r.uint();
  const compare: Compare[] = [];
  for (let i = 0; i < n; i++) compare.push(readCompare(r));
  const success = readOps(r, depth);
  const failure = readOps(r, depth);
  return { compare, success, failure };
}

function writeOps(w: BinWriter, ops: RequestOp[], depth: number): void {
  w.uint(ops.length);
  for (const op of ops) {
    w.byte(OpTag[op.type]);
    switch (op.type) {
      case 'range': writeRange(w, op.range); break;
      case 'put': writePut(w, op.put); break;
      case 'deleteRange': writeDelete(w, op.deleteRange); break;
      case 'txn': writeTxn(w, op.txn, depth + 1); break;
      default: unreachable(op, 'request op');
    }
  }
}

function readOps(r: BinReader, depth: number): RequestOp[] {
  const n = r.uint();
  const ops: RequestOp[] = [];
  for (let i = 0; i < n; i++) {
    const tag = r.byte();
    switch (tag) {
      case OpTag.range: ops.push({ type: 'range', range: readRange(r) }); break;
      case OpTag.put: ops.push({ type: 'put', put: readPut(r) }); break;
      case OpTag.deleteRange: ops.push({ type: 'deleteRange', deleteRange: readDelete(r) }); break;
      case OpTag.txn: ops.push({ type: 'txn', txn: readTxn(r, depth + 1) }); break;
      default: throw new Error(`unknown request op tag ${tag}`);
    }
  }
  return ops;
}
