// The gateway's JSON reader and etcd-jsonpb codec, without a server.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayInputError, encodeFromJson, jsonFromEncoded, messageToJson } from './codec.js';
import { errorBody, httpStatusFromCode, streamErrorBody } from './errors.js';
import { JsonIncompleteError, JsonNumber, JsonSyntaxError, parseJsonValue } from './json-parse.js';
import { routeFor } from './routes.js';
import { etcdSchema, methodTypes } from './schema.js';

const type = (name: string) => etcdSchema().lookupType(name);
const b64foo = Buffer.from('foo').toString('base64');
const parse = (text: string) => parseJsonValue(text, 0).value;
const roundTrip = (name: string, json: string): Record<string, unknown> => {
  const t = type(name);
  return t.toObject(t.decode(encodeFromJson(t, parse(json))), { longs: String, bytes: String, enums: String }) as Record<string, unknown>;
};

/** The syntax error's text, or 'parsed'. */
function syntaxError(text: string): string {
  try {
    parseJsonValue(text, 0);
  } catch (err) {
    assert.ok(err instanceof JsonSyntaxError);
    return err.message;
  }
  return 'parsed';
}

/** Why encoding `json` as `name` is refused, or 'accepted'. */
function reason(name: string, json: string): string {
  try {
    encodeFromJson(type(name), parse(json));
  } catch (err) {
    assert.ok(err instanceof GatewayInputError, String(err));
    return err.message;
  }
  return 'accepted';
}

test('numbers keep their text, so an int64 near 2^63 sent as a bare JSON number is exact', () => {
  const v = parse('{"ID": 9223372036854775807, "TTL": "60"}') as Record<string, unknown>;
  assert.deepEqual(v.ID, new JsonNumber('9223372036854775807'));
  assert.deepEqual(roundTrip('etcdserverpb.LeaseGrantRequest', '{"ID": 9223372036854775807, "TTL": "60"}'), { ID: '9223372036854775807', TTL: '60' });
});

test('a sequence of values is read one at a time; a cut-off value asks for more text', () => {
  const text = '{"a":1} {"b":[true,null]}';
  const first = parseJsonValue(text, 0);
  assert.deepEqual(first.value, { a: new JsonNumber('1') });
  assert.deepEqual(parseJsonValue(text, first.end).value, { b: [true, null] });
  assert.throws(() => parseJsonValue('{"a":', 0), JsonIncompleteError);
  assert.throws(() => parseJsonValue('{"a":12', 0, false), JsonIncompleteError);
  assert.throws(() => parseJsonValue('tr', 0), JsonIncompleteError);
  assert.deepEqual(parseJsonValue('12', 0, true).value, new JsonNumber('12'));
});

test("syntax errors carry Go's encoding/json texts (etcd's gateway answers with them)", () => {
  assert.equal(syntaxError('garbage'), "invalid character 'g' looking for beginning of value");
  assert.equal(syntaxError('{bad'), "invalid character 'b' looking for beginning of object key string");
  assert.equal(syntaxError('{"a" 1}'), "invalid character '1' after object key");
  assert.equal(syntaxError('{"a":1 "b"}'), `invalid character '"' after object key:value pair`);
  assert.equal(syntaxError('[1 2]'), "invalid character '2' after array element");
  assert.equal(syntaxError('{"a":trux}'), "invalid character 'x' in literal true (expecting 'e')");
});

test('requests: .proto or lowerCamel names, enums by name or number, integers in strings, nulls and unknown fields ignored', () => {
  assert.deepEqual(
    roundTrip('etcdserverpb.RangeRequest', '{"key":"Zm9v","rangeEnd":"Zm9w","sort_order":"DESCEND","sortTarget":2,"limit":"5","bogus":{"x":1},"revision":null}'),
    { key: 'Zm9v', range_end: 'Zm9w', limit: '5', sort_order: 'DESCEND', sort_target: 'CREATE' },
  );
  assert.deepEqual(roundTrip('etcdserverpb.PutRequest', '{"key":[102,111,111]}'), { key: b64foo });
  assert.deepEqual(roundTrip('etcdserverpb.PutRequest', '{"key":"/+8=","lease":" 7 "}'), { key: Buffer.from([0xff, 0xef]).toString('base64'), lease: '7' });
  assert.deepEqual(
    roundTrip('etcdserverpb.TxnRequest', '{"compare":[{"key":"YQ==","target":"MOD","mod_revision":3}],"success":[{"request_put":{"key":"YQ=="}}]}'),
    { compare: [{ key: 'YQ==', target: 'MOD', mod_revision: '3' }], success: [{ request_put: { key: 'YQ==' } }] },
  );
});

test('bad requests are refused with a reason a person can act on', () => {
  // Each text below is what etcd 3.4's gateway answered to the same body (curl).
  assert.equal(reason('etcdserverpb.RangeRequest', '{"key":"not base64!"}'), 'illegal base64 data at input byte 3');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"key":"Zm9"}'), 'illegal base64 data at input byte 0');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"key":"Zm9vYQ"}'), 'illegal base64 data at input byte 4');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"key":"Zm9v-_"}'), 'illegal base64 data at input byte 4');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"sort_order":"SIDEWAYS"}'), 'unknown value "SIDEWAYS" for enum etcdserverpb.RangeRequest_SortOrder');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"sort_order":"1"}'), 'unknown value "1" for enum etcdserverpb.RangeRequest_SortOrder');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"limit":"0x10"}'), "invalid character 'x' after top-level value");
  assert.equal(reason('etcdserverpb.RangeRequest', '{"revision":1.0}'), 'json: cannot unmarshal number 1.0 into Go value of type int64');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"limit":9223372036854775808}'), 'json: cannot unmarshal number 9223372036854775808 into Go value of type int64');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"count_only":"true"}'), 'json: cannot unmarshal string into Go value of type bool');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"serializable":1}'), 'json: cannot unmarshal number into Go value of type bool');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"sort_order":true}'), 'json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder');
  assert.equal(reason('etcdserverpb.RangeRequest', '{"key":[1,256]}'), 'json: cannot unmarshal number 256 into Go value of type uint8');
  assert.equal(reason('etcdserverpb.RangeRequest', '[]'), 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage');
  assert.equal(reason('etcdserverpb.TxnRequest', '{"compare":{}}'), 'json: cannot unmarshal object into Go value of type []json.RawMessage');
});

test('answers as etcd writes them: .proto names, no defaults, int64 as strings, bytes as base64, enums by name', () => {
  const t = type('etcdserverpb.WatchResponse');
  const msg = t.fromObject({
    header: { cluster_id: '18446744073709551615', member_id: '1', revision: '7', raft_term: '0' },
    watch_id: '0',
    created: false,
    events: [
      { type: 1, kv: { key: Buffer.from('k'), mod_revision: '7', value: Buffer.alloc(0) } },
      { type: 0, kv: { key: Buffer.from('k'), version: '1', value: Buffer.from('v') } },
    ],
  });
  assert.equal(
    jsonFromEncoded(t, t.encode(msg).finish()),
    '{"header":{"cluster_id":"18446744073709551615","member_id":"1","revision":"7"},"events":[{"type":"DELETE","kv":{"key":"aw==","mod_revision":"7"}},{"kv":{"key":"aw==","version":"1","value":"dg=="}}]}',
  );
  // A present but empty sub-message is written (etcd's nested Txn header: "header":{}).
  const txn = type('etcdserverpb.ResponseOp');
  assert.deepEqual(messageToJson(txn, txn.decode(txn.encode(txn.fromObject({ response_txn: { header: {} } })).finish())), { response_txn: { header: {} } });
  // 32-bit integers stay numbers (Hash's hash).
  const hash = type('etcdserverpb.HashResponse');
  assert.equal(jsonFromEncoded(hash, hash.encode(hash.fromObject({ hash: 4000000000 })).finish()), '{"hash":4000000000}');
});

test("failures: grpc-gateway's HTTP statuses and bodies", () => {
  // Go's encoder is HTML-safe (etcd 3.4 answered an enum name "<x>&" so).
  assert.equal(errorBody({ code: 3, message: 'unknown value "<x>&"' }),
    '{"error":"unknown value \\"\\u003cx\\u003e\\u0026\\"","code":3,"message":"unknown value \\"\\u003cx\\u003e\\u0026\\""}');
  assert.equal(httpStatusFromCode(3), 400);
  assert.equal(httpStatusFromCode(5), 404);
  assert.equal(httpStatusFromCode(9), 400);
  assert.equal(httpStatusFromCode(11), 400);
  assert.equal(httpStatusFromCode(12), 501);
  assert.equal(httpStatusFromCode(14), 503);
  assert.equal(httpStatusFromCode(8), 429);
  assert.equal(httpStatusFromCode(1), 408);
  assert.equal(errorBody({ code: 5, message: 'etcdserver: requested lease not found' }),
    '{"error":"etcdserver: requested lease not found","code":5,"message":"etcdserver: requested lease not found"}');
  assert.equal(streamErrorBody({ code: 14, message: 'etcdserver: no leader' }),
    '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}');
});

test('routes: every path etcd 3.5 registers, with the 3.4 and 3.3 prefixes as aliases', () => {
  assert.deepEqual(routeFor('/v3/kv/range'), { service: 'etcdserverpb.KV', method: 'Range', kind: 'unary' });
  assert.deepEqual(routeFor('/v3beta/kv/lease/leases'), { service: 'etcdserverpb.Lease', method: 'LeaseLeases', kind: 'unary' });
  assert.equal(routeFor('/v3alpha/watch')?.kind, 'bidi-stream');
  assert.equal(routeFor('/v3/maintenance/hash')?.method, 'Hash');
  assert.equal(routeFor('/v3/kv/nothing'), undefined);
  assert.equal(routeFor('/v2/keys'), undefined);
  // Every etcdserverpb route but Downgrade's has its types in proto/etcd.
  assert.equal(typeof methodTypes('etcdserverpb.Watch', 'Watch'), 'object');
  assert.equal(typeof methodTypes('etcdserverpb.Auth', 'AuthStatus'), 'object');
  assert.equal(methodTypes('etcdserverpb.Maintenance', 'Downgrade'), 'unknown method Downgrade for service etcdserverpb.Maintenance');
});
