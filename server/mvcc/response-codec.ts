// CommandResponse ⇄ bytes, for the at-most-once table: a retried write is answered with
// the stored bytes of its first answer, which must survive restarts and snapshots.

import { unreachable } from '../util/assert.js';
import { BinReader, BinWriter } from './bin.js';
import type { AlarmMember, AlarmType, CommandResponse, KeyValue, MvccErrorCode, RangeResponse, ResponseOp, TxnResponse } from './types.js';

const Tag = {
  put: 1, deleteRange: 2, txn: 3, compact: 4, leaseGrant: 5, leaseRevoke: 6, leaseCheckpoint: 7, error: 8, range: 9, alarm: 10, external: 11,
} as const;

export function writeKv(w: BinWriter, kv: KeyValue): void {
  w.bytes(kv.key).uint(kv.createRevision).uint(kv.modRevision).uint(kv.version).bytes(kv.value).uint(kv.lease);
}

export function readKv(r: BinReader): KeyValue {
  return {
    key: r.bytes(), createRevision: r.uint(), modRevision: r.uint(), version: r.uint(), value: r.bytes(), lease: r.uint(),
  };
}

function writeKvs(w: BinWriter, kvs: KeyValue[]): void {
  w.uint(kvs.length);
  for (const kv of kvs) writeKv(w, kv);
}

function readKvs(r: BinReader): KeyValue[] {
  const n = r.uint();
  const out: KeyValue[] = [];
  for (let i = 0; i < n; i++) out.push(readKv(r));
  return out;
}

export function encodeResponse(res: CommandResponse): Uint8Array {
  const w = new BinWriter();
  writeResponse(w, res);
  return w.finish();
}

export function decodeResponse(bytes: Uint8Array): CommandResponse {
  return readResponse(new BinReader(bytes));
}

function writeResponse(w: BinWriter, res: CommandResponse): void {
  w.byte(Tag[res.type]);
  switch (res.type) {
    case 'put':
      w.uint(res.put.revision);
      if (res.put.prevKv !== undefined) writeKv(w.bool(true), res.put.prevKv);
      else w.bool(false);
      break;
    case 'deleteRange':
      w.uint(res.deleteRange.revision).uint(res.deleteRange.deleted);
      writeKvs(w, res.deleteRange.prevKvs);
      break;
    case 'txn': writeTxn(w, res.txn); break;
    case 'compact': w.uint(res.compact.revision); break;
    case 'leaseGrant': w.uint(res.leaseGrant.revision).uint(res.leaseGrant.id).uint(res.leaseGrant.ttl); break;
    case 'leaseRevoke': w.uint(res.leaseRevoke.revision); break;
    case 'leaseCheckpoint': w.uint(res.leaseCheckpoint.revision); break;
    case 'error': w.string(res.code).string(res.message); break;
    case 'alarm':
      w.uint(res.alarm.alarms.length);
      for (const a of res.alarm.alarms) w.uint(a.memberId).byte(a.alarm);
      break;
    case 'external': w.uint(res.external.revision).bytes(res.external.body); break;
    default: unreachable(res, 'response');
  }
}

function readResponse(r: BinReader): CommandResponse {
  const tag = r.byte();
  switch (tag) {
    case Tag.put: {
      const revision = r.uint();
      return { type: 'put', put: r.bool() ? { revision, prevKv: readKv(r) } : { revision } };
    }
    case Tag.deleteRange:
      return { type: 'deleteRange', deleteRange: { revision: r.uint(), deleted: r.uint(), prevKvs: readKvs(r) } };
    case Tag.txn: return { type: 'txn', txn: readTxn(r) };
    case Tag.compact: return { type: 'compact', compact: { revision: r.uint() } };
    case Tag.leaseGrant: return { type: 'leaseGrant', leaseGrant: { revision: r.uint(), id: r.uint(), ttl: r.uint() } };
    case Tag.leaseRevoke: return { type: 'leaseRevoke', leaseRevoke: { revision: r.uint() } };
    case Tag.leaseCheckpoint: return { type: 'leaseCheckpoint', leaseCheckpoint: { revision: r.uint() } };
    case Tag.error: return { type: 'error', code: r.string() as MvccErrorCode, message: r.string() };
    case Tag.alarm: {
      const alarms: AlarmMember[] = [];
      for (let n = r.uint(); n > 0; n--) alarms.push({ memberId: r.uint(), alarm: r.byte() as AlarmType });
      return { type: 'alarm', alarm: { alarms } };
    }
    case Tag.external: return { type: 'external', external: { revision: r.uint(), body: r.bytes().slice() } };
    default: throw new Error(`unknown response tag ${tag}`);
  }
}

function writeRange(w: BinWriter, res: RangeResponse): void {
  w.uint(res.revision).bool(res.more).uint(res.count);
  writeKvs(w, res.kvs);
}

function readRange(r: BinReader): RangeResponse {
  const revision = r.uint();
  const more = r.bool();
  const count = r.uint();
  return { revision, more, count, kvs: readKvs(r) };
}

function writeTxn(w: BinWriter, t: TxnResponse): void {
  w.uint(t.revision).bool(t.succeeded).uint(t.responses.length);
  for (const op of t.responses) {
    switch (op.type) {
      case 'range': writeRange(w.byte(Tag.range), op.range); break;
      case 'put': writeResponse(w, op); break;
      case 'deleteRange': writeResponse(w, op); break;
      case 'txn': writeTxn(w.byte(Tag.txn), op.txn); break;
      default: unreachable(op, 'response op');
    }
  }
}

function readTxn(r: BinReader): TxnResponse {
  const revision = r.uint();
  const succeeded = r.bool();
  const n = r.uint();
  const responses: ResponseOp[] = [];
  for (let i = 0; i < n; i++) {
    const tag = r.byte();
    if (tag === Tag.range) responses.push({ type: 'range', range: readRange(r) });
    else if (tag === Tag.txn) responses.push({ type: 'txn', txn: readTxn(r) });
    else if (tag === Tag.put) {
      const rev = r.uint();
      responses.push({ type: 'put', put: r.bool() ? { revision: rev, prevKv: readKv(r) } : { revision: rev } });
    } else if (tag === Tag.deleteRange) {
      responses.push({ type: 'deleteRange', deleteRange: { revision: r.uint(), deleted: r.uint(), prevKvs: readKvs(r) } });
    } else throw new Error(`unknown response op tag ${tag}`);
  }
  return { revision, succeeded, responses };
}
