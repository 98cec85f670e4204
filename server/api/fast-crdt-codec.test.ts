// The hand-written Crdt.Write codecs against proto-loader's: for any request bytes the
// generic encoder can produce from lww ops, the same decoded object; other ops, and any
// odd input, left to the generic codec (the same object or the same failure); for any
// response object writeToWire can build, bytes the generic decoder reads back as the
// generic encoding's.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadCrdtService } from './crdt-wire.js';
import { decodeWriteRequest, encodeWriteAnswer, encodeWriteResponse, withFastCrdtCodecs } from './fast-crdt-codec.js';
import { writeObject, writeToWire } from './crdt-response.js';
import type { CrdtWriteResult } from './crdt-backend.js';
import { decodeAnswer, encodeAnswer, type EvOpOutcome } from '../eventual/entry.js';

type AnyMethod = MethodDefinition<any, any>;
const generic = loadCrdtService()['Write'] as unknown as AnyMethod;
const fast = withFastCrdtCodecs(loadCrdtService())['Write'] as unknown as AnyMethod;

const bytes = fc.oneof(fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)));
const uint = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 31 }), fc.maxSafeNat());
const name = fc.oneof(fc.constant(''), fc.string({ maxLength: 12 }), fc.constantFrom('bench-lww', 'région'));
const lwwOp = fc.oneof(
  fc.record({ lwwPut: fc.record({ key: bytes, value: bytes }, { requiredKeys: [] }) }),
  fc.record({ lwwDelete: fc.record({ key: bytes }, { requiredKeys: [] }) }),
);
const otherOp = fc.oneof(
  fc.record({ counterAdd: fc.record({ key: bytes, delta: fc.integer().map(String) }) }),
  fc.record({ setAdd: fc.record({ key: bytes, member: bytes }) }),
  fc.constant({}),
);
const dot = fc.record({ origin: name, seq: uint });
const result = fc.record({
  dot: fc.option(dot, { nil: null }), hlc: fc.option(fc.record({ wallMs: uint, logical: fc.integer({ min: 0, max: 65535 }) }), { nil: null }),
  eventSeq: uint, duplicate: fc.boolean(),
});

/** Any origin or namespace, UTF-8 beyond ASCII included (the answer holds the origin's UTF-8 bytes). */
const anyName = fc.oneof(name, fc.string({ unit: 'binary', maxLength: 12 }));
/** An apply's per-op outcome (server/eventual/entry.ts), every field optional as it is there. */
const evOutcome = fc.record({
  dot: fc.record({ origin: anyName, seq: uint }),
  hlc: fc.record({ wall: uint, logical: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 65535 })) }),
  eventSeq: uint,
  duplicate: fc.constant(true),
}, { requiredKeys: [] });

/** The write's answer as a backend without the apply's bytes hands it over (the region's WriteResult.results). */
function resultOf(namespace: string, revision: number, vector: Array<{ origin: string; seq: number }>, answer: Uint8Array, memberId: number): CrdtWriteResult {
  const a = decodeAnswer(answer);
  if (a.kind !== 'write') throw new Error('not a write answer');
  const results = a.results.map((o) => ({
    ...(o.dot ? { dot: o.dot } : {}), ...(o.hlc ? { hlc: { wallMs: o.hlc.wall, logical: o.hlc.logical } } : {}),
    ...(o.eventSeq !== undefined ? { eventSeq: o.eventSeq } : {}), ...(o.duplicate ? { duplicate: true } : {}),
  }));
  return { namespace, revision, vector, memberId, results };
}

/** What a deserializer makes of `b`: its object, or its error's text. */
function outcome(f: (b: Buffer) => unknown, b: Buffer): unknown {
  try {
    return { ok: f(b) };
  } catch (err) {
    return { err: String(err) };
  }
}

describe('fast Crdt.Write codecs', () => {
  test('a Write of lww ops decodes as proto-loader decodes it; other ops go to the generic codec', () => {
    const common = generic.requestSerialize({ namespace: 'bench-lww', ops: [{ lwwPut: { key: Buffer.from('k'), value: Buffer.from('v') } }] });
    assert.deepEqual(decodeWriteRequest(common), generic.requestDeserialize(common));
    fc.assert(fc.property(fc.record({ namespace: name, ops: fc.array(lwwOp, { maxLength: 4 }) }, { requiredKeys: [] }), (req) => {
      const wire = generic.requestSerialize(req);
      assert.deepEqual(fast.requestDeserialize(wire), generic.requestDeserialize(wire));
    }), { numRuns: 500 });
    fc.assert(fc.property(name, fc.array(fc.oneof(lwwOp, otherOp), { maxLength: 4 }), (namespace, ops) => {
      const wire = generic.requestSerialize({ namespace, ops });
      assert.deepEqual(fast.requestDeserialize(wire), generic.requestDeserialize(wire));
    }), { numRuns: 500 });
    const counter = generic.requestSerialize({ ops: [{ counterAdd: { key: Buffer.from('c'), delta: '1' } }] });
    assert.equal(decodeWriteRequest(counter), undefined, 'a counter add is the generic codec\'s');
  });

  test('any bytes: the same object or the same failure as the generic codec', () => {
    const prefix = generic.requestSerialize({ namespace: 'ns', ops: [{ lwwPut: { key: Buffer.from('k'), value: Buffer.from('v') } }] });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), fc.boolean(), (tail, withPrefix) => {
      const b = Buffer.concat([withPrefix ? prefix : Buffer.alloc(0), Buffer.from(tail)]);
      assert.deepEqual(outcome(fast.requestDeserialize, b), outcome(generic.requestDeserialize, b));
    }), { numRuns: 2000 });
    // A CrdtOp with two members set, an unknown field inside an op and inside the request.
    for (const hex of ['12080a020a0012020a00', '12060a040a0078051a00', '78050a026e73']) {
      const b = Buffer.from(hex, 'hex');
      assert.deepEqual(outcome(fast.requestDeserialize, b), outcome(generic.requestDeserialize, b), `input ${hex}`);
    }
  });

  test('Write responses read back as the generic encoding does', () => {
    fc.assert(fc.property(name, uint, fc.array(dot, { maxLength: 3 }), fc.array(result, { maxLength: 4 }), uint, (namespace, revision, vector, results, memberId) => {
      const res = { namespace, revision, vector, results, memberId };
      const ours = fast.responseSerialize(res);
      assert.deepEqual(generic.responseDeserialize(ours), generic.responseDeserialize(generic.responseSerialize(res)));
    }), { numRuns: 500 });
    const plain = { namespace: 'bench-lww', revision: 7, vector: [{ origin: 'region:x', seq: 3 }], results: [{ dot: { origin: 'region:x', seq: 3 }, hlc: { wallMs: 1_765_000_000_000, logical: 2 }, eventSeq: 0, duplicate: false }], memberId: 9 };
    assert.ok(encodeWriteResponse(plain) !== undefined, 'the plain shape takes the fast path');
    assert.equal(encodeWriteResponse({ ...plain, revision: '7' }), undefined, 'a string revision is the generic codec\'s');
    assert.equal(encodeWriteResponse({ ...plain, namespace: 'région' }), undefined, 'a non-ASCII name is the generic codec\'s');
  });

  test('a Write answer encoded from the apply\'s bytes is byte for byte what proto-loader encodes of its object', () => {
    fc.assert(fc.property(
      anyName, uint, fc.array(fc.record({ origin: anyName, seq: uint }), { maxLength: 3 }), fc.array(evOutcome, { maxLength: 4 }), uint,
      (namespace, revision, vector, outcomes: EvOpOutcome[], memberId) => {
        const answer = encodeAnswer({ kind: 'write', namespace, results: outcomes });
        const object = resultOf(namespace, revision, vector, answer, memberId);
        const reference = generic.responseSerialize(writeObject(object));
        const ours = encodeWriteAnswer({ namespace, revision, vector, answer, memberId });
        assert.ok(ours !== undefined && ours.equals(reference), `ours ${ours?.toString('hex')}\nproto-loader ${reference.toString('hex')}`);
        // Through the handler's writeToWire and the installed serializer: the same bytes.
        const served = fast.responseSerialize(writeToWire({ ...object, answer }));
        assert.ok(Buffer.isBuffer(served) && served.equals(reference));
        // Twice with the same vector array (its bytes memoized): still the same.
        assert.ok(encodeWriteAnswer({ namespace, revision, vector, answer, memberId })!.equals(reference));
      }), { numRuns: 1000 });
  });

  test('a Write answer from the apply\'s bytes: the common lww answer, and what it refuses', () => {
    const origin = 'region:8a3f1c2d9e7b6a54';
    const vector = Object.freeze([Object.freeze({ origin, seq: 99_999 })]);
    const answer = encodeAnswer({ kind: 'write', namespace: 'bench-lww', results: [{ dot: { origin, seq: 99_999 }, hlc: { wall: 1_765_000_000_000, logical: 0 } }] });
    const object = resultOf('bench-lww', 123_456, [...vector], answer, 0x1f2e3d4c5b6a);
    const ours = encodeWriteAnswer({ namespace: 'bench-lww', revision: 123_456, vector, answer, memberId: 0x1f2e3d4c5b6a });
    assert.deepEqual(ours, generic.responseSerialize(writeObject(object)));
    assert.deepEqual(generic.responseDeserialize(ours!), generic.responseDeserialize(generic.responseSerialize(writeObject(object))));
    // A number the wire cannot carry as given: the object path answers (writeToWire falls back).
    assert.equal(encodeWriteAnswer({ namespace: 'n', revision: -1, vector, answer, memberId: 1 }), undefined);
    assert.ok(!Buffer.isBuffer(writeToWire({ ...object, revision: 2 ** 60, answer })), 'an unsafe revision takes the object path');
    // Not a write's answer, or truncated: an error (the handler answers INTERNAL), never bytes.
    assert.throws(() => encodeWriteAnswer({ namespace: 'n', revision: 1, vector, answer: encodeAnswer({ kind: 'edge' }), memberId: 1 }));
    assert.throws(() => encodeWriteAnswer({ namespace: 'n', revision: 1, vector, answer: answer.subarray(0, answer.length - 3), memberId: 1 }));
  });
});
