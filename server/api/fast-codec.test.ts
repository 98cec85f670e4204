// The hand-written Range/Put codecs against proto-loader's: for any request bytes the
// generic encoder can produce, the same decoded object; for any response object kv.ts
// can build, bytes that the generic decoder reads back as the generic encoding's; and
// everything odd handed to the generic codec.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { MethodDefinition } from '@grpc/grpc-js';
import { decodePutRequest, decodeRangeRequest, encodePutResponse, encodeRangeResponse, withFastKvCodecs } from './fast-codec.js';
import { loadEtcdServices } from './proto.js';

type AnyMethod = MethodDefinition<any, any>;
const kv = loadEtcdServices().KV as unknown as Record<'Range' | 'Put', AnyMethod>;
const fast = withFastKvCodecs(loadEtcdServices().KV) as unknown as Record<'Range' | 'Put', AnyMethod>;

const int64 = fc.oneof(fc.constant('0'), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), fc.integer({ min: 0, max: 1_000_000 }).map(String));
const bytes = fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)));
const uint = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 31 }), fc.maxSafeNat());

const rangeRequest = fc.record({
  key: bytes, rangeEnd: bytes, limit: int64, revision: int64, sortOrder: fc.integer({ min: -3, max: 5 }), sortTarget: fc.integer({ min: 0, max: 7 }),
  serializable: fc.boolean(), keysOnly: fc.boolean(), countOnly: fc.boolean(),
  minModRevision: int64, maxModRevision: int64, minCreateRevision: int64, maxCreateRevision: int64,
}, { requiredKeys: [] });
const putRequest = fc.record({ key: bytes, value: bytes, lease: int64, prevKv: fc.boolean(), ignoreValue: fc.boolean(), ignoreLease: fc.boolean() }, { requiredKeys: [] });
const keyValue = fc.record({ key: bytes, createRevision: uint, modRevision: uint, version: uint, value: bytes, lease: uint });
const header = fc.record({
  clusterId: fc.oneof(uint, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String)), memberId: uint, revision: uint, raftTerm: uint,
});

/** What a deserializer makes of `b`: its object, or its error's text. */
function outcome(f: (b: Buffer) => unknown, b: Buffer): unknown {
  try {
    return { ok: f(b) };
  } catch (err) {
    return { err: String(err) };
  }
}

describe('fast KV codecs', () => {
  test('Range and Put requests decode as proto-loader decodes them', () => {
    // The common case takes the fast path itself (a negative enum, 10 varint bytes, falls back).
    const common = kv.Range.requestSerialize({ key: Buffer.from('k'), rangeEnd: Buffer.from('z'), limit: '10', serializable: true, sortOrder: 2 });
    assert.deepEqual(decodeRangeRequest(common), kv.Range.requestDeserialize(common));
    const put = kv.Put.requestSerialize({ key: Buffer.from('k'), value: Buffer.from('v'), lease: '123456789012', prevKv: true });
    assert.deepEqual(decodePutRequest(put), kv.Put.requestDeserialize(put));
    fc.assert(fc.property(rangeRequest, (req) => {
      const wire = kv.Range.requestSerialize(req);
      assert.deepEqual(fast.Range.requestDeserialize(wire), kv.Range.requestDeserialize(wire));
    }), { numRuns: 500 });
    fc.assert(fc.property(putRequest, (req) => {
      const wire = kv.Put.requestSerialize(req);
      assert.deepEqual(fast.Put.requestDeserialize(wire), kv.Put.requestDeserialize(wire));
    }), { numRuns: 500 });
  });

  test('unknown fields are skipped; odd input goes to the generic codec', () => {
    const known = kv.Put.requestSerialize({ key: Buffer.from('k'), value: Buffer.from('v') });
    const unknown = Buffer.from([0x78, 0x05, 0x82, 0x01, 0x02, 0x61, 0x62, 0x8d, 0x01, 1, 2, 3, 4]); // fields 15 (varint), 16 (bytes), 17 (fixed32)
    const both = Buffer.concat([known, unknown]);
    assert.deepEqual(decodePutRequest(both), kv.Put.requestDeserialize(both));
    for (const bad of [Buffer.from([0x0a, 0x05, 0x61]), Buffer.from([0x08]), Buffer.from([0x0b, 0x0c]), Buffer.from([0x00, 0x01])]) {
      assert.deepEqual(outcome(fast.Range.requestDeserialize, bad), outcome(kv.Range.requestDeserialize, bad), `input ${bad.toString('hex')}`);
    }
  });

  test('any bytes: the same object or the same failure as the generic codec', () => {
    const prefix = kv.Range.requestSerialize({ key: Buffer.from('key'), limit: '5', serializable: true });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), fc.boolean(), (tail, withPrefix) => {
      const b = Buffer.concat([withPrefix ? prefix : Buffer.alloc(0), Buffer.from(tail)]);
      assert.deepEqual(outcome(fast.Range.requestDeserialize, b), outcome(kv.Range.requestDeserialize, b));
      assert.deepEqual(outcome(fast.Put.requestDeserialize, b), outcome(kv.Put.requestDeserialize, b));
    }), { numRuns: 2000 });
  });

  test('Range and Put responses read back as the generic encoding does', () => {
    fc.assert(fc.property(header, fc.array(keyValue, { maxLength: 5 }), fc.boolean(), uint, (h, kvs, more, count) => {
      const res = { header: h, kvs, more, count };
      const ours = encodeRangeResponse(res);
      assert.ok(ours !== undefined);
      assert.deepEqual(kv.Range.responseDeserialize(ours), kv.Range.responseDeserialize(kv.Range.responseSerialize(res)));
    }), { numRuns: 300 });
    fc.assert(fc.property(header, fc.option(keyValue, { nil: null }), (h, prevKv) => {
      const res = { header: h, prevKv };
      const ours = encodePutResponse(res);
      assert.ok(ours !== undefined);
      assert.deepEqual(kv.Put.responseDeserialize(ours), kv.Put.responseDeserialize(kv.Put.responseSerialize(res)));
    }), { numRuns: 300 });
  });

  test('a response that is not the plain shape is encoded by the generic codec', () => {
    const h = { clusterId: 1, memberId: 2, revision: 3, raftTerm: 4 };
    const odd = { header: { ...h, revision: '3' }, kvs: [], more: false, count: 0 };
    assert.equal(encodeRangeResponse(odd as never), undefined);
    assert.deepEqual(fast.Range.responseSerialize(odd), kv.Range.responseSerialize(odd));
    assert.equal(encodePutResponse({ header: h, prevKv: { key: 'k' } }), undefined);
  });
});
