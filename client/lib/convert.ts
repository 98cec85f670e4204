// Wire answers to the API's values (int64 strings → numbers or ids, nulls → undefined).

import { InvalidResponseError } from './errors.js';
import { toId, toNumber } from './int64.js';
import type { KeyValue, OpResult, ResponseHeader, TxnResult, WatchEvent } from './types.js';
import type {
  WireDeleteRangeResponse, WireEvent, WireHeader, WireKeyValue, WirePutResponse, WireRangeResponse, WireResponseOp,
  WireTxnResponse,
} from './wire.js';

export function header(h: WireHeader | null | undefined): ResponseHeader {
  if (h === null || h === undefined) return { clusterId: '0', memberId: '0', revision: 0, raftTerm: 0 };
  return {
    clusterId: toId(h.clusterId),
    memberId: toId(h.memberId),
    revision: toNumber(h.revision, 'header.revision'),
    raftTerm: toNumber(h.raftTerm, 'header.raftTerm'),
  };
}

export function keyValue(kv: WireKeyValue): KeyValue {
  return {
    key: kv.key,
    value: kv.value,
    createRevision: toNumber(kv.createRevision, 'createRevision'),
    modRevision: toNumber(kv.modRevision, 'modRevision'),
    version: toNumber(kv.version, 'version'),
    lease: toId(kv.lease),
  };
}

function optionalKeyValue(kv: WireKeyValue | null | undefined): KeyValue | undefined {
  return kv === null || kv === undefined ? undefined : keyValue(kv);
}

export function rangeResult(r: WireRangeResponse) {
  const h = header(r.header);
  return { header: h, revision: h.revision, kvs: r.kvs.map(keyValue), more: r.more, count: toNumber(r.count, 'count') };
}

export function putResult(r: WirePutResponse) {
  const h = header(r.header);
  return { header: h, revision: h.revision, prevKv: optionalKeyValue(r.prevKv) };
}

export function deleteResult(r: WireDeleteRangeResponse) {
  const h = header(r.header);
  return { header: h, revision: h.revision, deleted: toNumber(r.deleted, 'deleted'), prevKvs: r.prevKvs.map(keyValue) };
}

function opResult(op: WireResponseOp): OpResult {
  if (op.responseRange != null) return { type: 'range', ...rangeResult(op.responseRange) };
  if (op.responsePut != null) return { type: 'put', ...putResult(op.responsePut) };
  if (op.responseDeleteRange != null) return { type: 'delete', ...deleteResult(op.responseDeleteRange) };
  if (op.responseTxn != null) return { type: 'txn', ...txnResult(op.responseTxn) };
  throw new InvalidResponseError('a txn response op with no response set');
}

export function txnResult(r: WireTxnResponse): TxnResult {
  const h = header(r.header);
  return { header: h, revision: h.revision, succeeded: r.succeeded, responses: r.responses.map(opResult) };
}

export function watchEvent(ev: WireEvent): WatchEvent {
  if (ev.kv === null) throw new InvalidResponseError('a watch event without kv');
  return { type: ev.type === 1 ? 'delete' : 'put', kv: keyValue(ev.kv), prevKv: optionalKeyValue(ev.prevKv) };
}
