// The KV service: Range, Put, DeleteRange, Txn, Compact. Each handler converts the
// wire request, validates it, passes it to the backend with the writer's identity, and
// shapes the answer with a response header.

import type { Metadata, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { deadlineMsOf, readAskFromMetadata, readTrailers } from './read-level.js';
import type {
  DeleteRangeResponse,
  PutResponse,
  RangeResponse,
  ResponseOp,
  TxnResponse,
} from '../mvcc/index.js';
import type { Backend, HeaderInfo } from './backend.js';
import {
  compactionFromWire,
  deleteRangeFromWire,
  putFromWire,
  rangeFromWire,
  txnFromWire,
} from './convert.js';
import { identityFromMetadata } from './identity.js';
import { checkedCaller } from './auth-gate.js';
import type { ApiLimits } from './limits.js';
import { answer, answerPending, header } from './respond.js';
import { toApiError } from './errors.js';
import { validateDeleteRange, validatePut, validateRange, validateTxn } from './validate.js';
import type {
  WireCompactionRequest,
  WireDeleteRangeRequest,
  WirePutRequest,
  WireRangeRequest,
  WireTxnRequest,
} from './wire.js';

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

export function rangeToWire(h: HeaderInfo, r: RangeResponse): unknown {
  return { header: header(h, r.revision), kvs: r.kvs, more: r.more, count: r.count };
}

export function putToWire(h: HeaderInfo, r: PutResponse): unknown {
  return { header: header(h, r.revision), prevKv: r.prevKv ?? null };
}

export function deleteRangeToWire(h: HeaderInfo, r: DeleteRangeResponse): unknown {
  return { header: header(h, r.revision), deleted: r.deleted, prevKvs: r.prevKvs };
}

/**
 * etcd fills only the outer response's header: the responses inside a Txn carry one with
 * only `revision` set (cluster_id, member_id and raft_term zero), and a nested Txn's own
 * header is all zeros (etcd's newTxnResp creates it empty and nothing fills it).
 */
const NESTED: HeaderInfo = { clusterId: 0, memberId: 0, raftTerm: 0, revision: 0 };

function responseOpToWire(op: ResponseOp): unknown {
  switch (op.type) {
    case 'range':
      return { responseRange: rangeToWire(NESTED, op.range) };
    case 'put':
      return { responsePut: putToWire(NESTED, op.put) };
    case 'deleteRange':
      return { responseDeleteRange: deleteRangeToWire(NESTED, op.deleteRange) };
    case 'txn':
      return { responseTxn: { header: header(NESTED, 0), succeeded: op.txn.succeeded, responses: nestedToWire(op.txn) } };
  }
}

function nestedToWire(r: TxnResponse): unknown[] {
  const responses: unknown[] = [];
  for (const op of r.responses) responses.push(responseOpToWire(op));
  return responses;
}

export function txnToWire(h: HeaderInfo, r: TxnResponse): unknown {
  return { header: header(h, r.revision), succeeded: r.succeeded, responses: nestedToWire(r) };
}

export function kvService(backend: Backend, limits: ApiLimits): UntypedServiceImplementation {
  const plainRange: Unary<WireRangeRequest> = (call, cb) =>
    answer(
      cb,
      () => {
        const req = rangeFromWire(call.request);
        validateRange(req, limits);
        return backend.range(req);
      },
      (r) => rangeToWire(backend.headerInfo(), r),
    );

  // With read levels: the answer's trailing metadata says what was served (read-level.ts).
  const leveledRange: Unary<WireRangeRequest> = (call, cb) => {
    let trailers: Metadata | undefined;
    const done: sendUnaryData<unknown> = (err, value) => (err === null ? cb(null, value, trailers) : cb(err));
    answer(
      done,
      () => {
        const req = rangeFromWire(call.request);
        validateRange(req, limits);
        return backend.rangeLeveled!(req, readAskFromMetadata(call.metadata), deadlineMsOf(call.getDeadline()));
      },
      (r) => {
        trailers = readTrailers(r);
        return rangeToWire(backend.headerInfo(), r.response);
      },
    );
  };
  const Range = backend.rangeLeveled === undefined ? plainRange : leveledRange;

  // The hottest call: its request run inline and one answer function per service (answer()'s
  // two closures per call are held for the whole round trip).
  const putWire = (r: PutResponse): unknown => putToWire(backend.headerInfo(), r);
  const Put: Unary<WirePutRequest> = (call, cb) => {
    let pending: Promise<PutResponse>;
    try {
      const req = putFromWire(call.request);
      validatePut(req, limits);
      pending = backend.put(req, identityFromMetadata(call.metadata), checkedCaller(call));
    } catch (err) {
      cb(toApiError(err));
      return;
    }
    answerPending(cb, pending, putWire);
  };

  const DeleteRange: Unary<WireDeleteRangeRequest> = (call, cb) =>
    answer(
      cb,
      () => {
        const req = deleteRangeFromWire(call.request);
        validateDeleteRange(req, limits);
        return backend.deleteRange(req, identityFromMetadata(call.metadata), checkedCaller(call));
      },
      (r) => deleteRangeToWire(backend.headerInfo(), r),
    );

  const Txn: Unary<WireTxnRequest> = (call, cb) =>
    answer(
      cb,
      () => {
        const req = txnFromWire(call.request);
        validateTxn(req, limits);
        return backend.txn(req, identityFromMetadata(call.metadata), checkedCaller(call));
      },
      (r) => txnToWire(backend.headerInfo(), r),
    );

  const Compact: Unary<WireCompactionRequest> = (call, cb) =>
    answer(
      cb,
      () => backend.compact(compactionFromWire(call.request), identityFromMetadata(call.metadata)),
      (r) => ({ header: header(backend.headerInfo(), r.revision) }),
    );

  return { Range, Put, DeleteRange, Txn, Compact };
}
