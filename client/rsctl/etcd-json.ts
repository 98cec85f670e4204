// The client's results as etcd's JSON (what `etcdctl -w json` prints, so scripts written
// against etcdctl read rsctl's output unchanged): snake_case names, keys and values in
// base64, ids as exact numbers, zero-valued fields left out (Go's omitempty).

import type { DeleteResult, KeyValue, Member, OpResult, PutResult, RangeResult, ResponseHeader, TxnResult, WatchEvent } from '../index.js';
import { RawNumber } from './output.js';

type Json = Record<string, unknown>;

/** Drops undefined, 0, false, '' and [] values: etcd's JSON omits them. */
function omitEmpty(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === 0 || v === false || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    if (v instanceof RawNumber && v.digits === '0') continue;
    out[k] = v;
  }
  return out;
}

export function headerJson(h: ResponseHeader): Json {
  return omitEmpty({
    cluster_id: new RawNumber(h.clusterId),
    member_id: new RawNumber(h.memberId),
    revision: h.revision,
    raft_term: h.raftTerm,
  });
}

export function kvJson(kv: KeyValue): Json {
  return omitEmpty({
    key: kv.key.toString('base64'),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: kv.value.toString('base64'),
    lease: new RawNumber(kv.lease),
  });
}

export function rangeJson(r: RangeResult): Json {
  return omitEmpty({ header: headerJson(r.header), kvs: r.kvs.map(kvJson), more: r.more, count: r.count });
}

export function putJson(r: PutResult): Json {
  return omitEmpty({ header: headerJson(r.header), prev_kv: r.prevKv === undefined ? undefined : kvJson(r.prevKv) });
}

export function deleteJson(r: DeleteResult): Json {
  return omitEmpty({ header: headerJson(r.header), deleted: r.deleted, prev_kvs: r.prevKvs.map(kvJson) });
}

function opJson(op: OpResult): Json {
  switch (op.type) {
    case 'range':
      return { response_range: rangeJson(op) };
    case 'put':
      return { response_put: putJson(op) };
    case 'delete':
      return { response_delete_range: deleteJson(op) };
    case 'txn':
      return { response_txn: txnJson(op) };
  }
}

export function txnJson(r: TxnResult): Json {
  return omitEmpty({ header: headerJson(r.header), succeeded: r.succeeded, responses: r.responses.map(opJson) });
}

export function eventJson(e: WatchEvent): Json {
  return omitEmpty({
    type: e.type === 'delete' ? 'DELETE' : 'PUT',
    kv: kvJson(e.kv),
    prev_kv: e.prevKv === undefined ? undefined : kvJson(e.prevKv),
  });
}

export function memberJson(m: Member): Json {
  return omitEmpty({
    ID: new RawNumber(m.id),
    name: m.name,
    peerURLs: m.peerUrls,
    clientURLs: m.clientUrls,
    isLearner: m.isLearner,
  });
}
