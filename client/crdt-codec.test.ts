// The client's hand-written Crdt.Write codec (client/lib/crdt-codec.ts) against proto-loader's:
// for seeded random writes of every op type, the same request bytes as the generic path from
// opToWire's objects (or the generic path itself where the fast one cannot be exact); for any
// answer the server may send (canonical or with explicit defaults, non-ASCII names, integers
// past 2^53, member ids past 2^63), the same result as writeResult(proto-loader's object), or
// the generic path where that one refuses; any bytes: the same result or the generic path.
//
// Replay a run with RS_SEED=<the printed seed>.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { decodeOpWriteResult, decodeWriteResult, encodeWriteRequest } from './lib/crdt-codec.js';
import { opToWire, writeResult, type CrdtOp, type WireWriteResponse } from './lib/crdt-types.js';
import { LOADER_OPTIONS, type Method } from './lib/proto.js';

const SEED = Number(process.env['RS_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
console.log(`# crdt-codec: seed ${SEED} (replay with RS_SEED=${SEED})`);
const RUNS = 1000;
const opts = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns });

const dir = fileURLToPath(new URL('../proto', import.meta.url));
const write = (loadSync('regionstore/v1/crdt_service.proto', { ...LOADER_OPTIONS, includeDirs: [dir] })['regionstore.v1.Crdt'] as unknown as Record<string, Method>)['Write']!;

/** What the generic path makes of a request: its bytes or its error. */
function genericRequest(namespace: string, ops: readonly CrdtOp[]): { ok: Buffer } | { err: string } {
  try {
    return { ok: write.requestSerialize({ namespace, ops: ops.map(opToWire) }) };
  } catch (err) {
    return { err: String(err) };
  }
}

// ---- arbitraries ----

/** Strings with non-ASCII characters, astral ones and (rarely) lone surrogates. */
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom('', 'bench-lww', 'région', 'データ/キー', '😀/x') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('\ud800', 'a\udc00b', 'x'.repeat(45) + '\ud83d') },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 40, maxLength: 60 }) },
);
const bytesLike = fc.oneof(
  text,
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  fc.uint8Array({ maxLength: 40 }).map((u) => new Uint8Array([9, ...u, 9]).subarray(1, u.length + 1)), // a view at an offset
);
const bigInt = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1000 }), fc.maxSafeNat(), fc.constantFrom(2 ** 32 - 1, 2 ** 32, 2 ** 52, 2 ** 53 - 1));
const delta = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(2 ** 52 - 1, -(2 ** 52) + 1, 2 ** 52, -(2 ** 52), 2 ** 53 - 1, -(2 ** 53) + 1));
const payload = fc.oneof(fc.constant(undefined), bytesLike, fc.jsonValue({ maxDepth: 2 }));

const op: fc.Arbitrary<CrdtOp> = fc.oneof(
  fc.record({ op: fc.constant('lwwPut' as const), key: bytesLike, value: bytesLike }),
  fc.record({ op: fc.constant('lwwDelete' as const), key: bytesLike }),
  fc.record({ op: fc.constant('mvPut' as const), key: bytesLike, value: bytesLike, context: text }, { requiredKeys: ['op', 'key', 'value'] }),
  fc.record({ op: fc.constant('counterAdd' as const), key: bytesLike, delta }),
  fc.record({ op: fc.constant('setAdd' as const), key: bytesLike, member: bytesLike }),
  fc.record({ op: fc.constant('setRemove' as const), key: bytesLike, member: bytesLike }),
  fc.record({
    op: fc.constant('eventAppend' as const), device: text, type: text, payload,
    seq: bigInt, schemaVersion: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(2 ** 32 - 1, 2 ** 32)), tsMs: bigInt,
  }, { requiredKeys: ['op', 'device', 'type'] }),
);

const wellFormed = (s: unknown): boolean => typeof s !== 'string' || (s as string & { isWellFormed(): boolean }).isWellFormed();

/** Where the fast encoder is expected to leave the op to the generic path. */
function fallsBack(o: CrdtOp): boolean {
  switch (o.op) {
    case 'mvPut': return !wellFormed(o.context);
    case 'counterAdd': return !Number.isSafeInteger(o.delta) || Math.abs(o.delta) >= 2 ** 52;
    case 'eventAppend': return !wellFormed(o.device) || !wellFormed(o.type) || (o.schemaVersion ?? 0) > 2 ** 32 - 1;
    default: return false;
  }
}

// ---- answers ----

const uint64 = fc.oneof(fc.constant('0'), fc.integer({ min: 0, max: 2 ** 31 }).map(String), fc.maxSafeNat().map(String),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), fc.constantFrom(String(2 ** 53), '18446744073709551615', '9223372036854775808'));
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 3 });
const dot = fc.record({ origin: maybe(fc.oneof(text, fc.constantFrom('region:8a3f1c2d9e7b6a54', '__proto__'))), seq: maybe(uint64) }, { requiredKeys: [] });
const result = fc.record({
  dot: maybe(dot), hlc: maybe(fc.record({ wallMs: maybe(uint64), logical: maybe(fc.integer({ min: 0, max: 2 ** 32 - 1 })) }, { requiredKeys: [] })),
  eventSeq: maybe(uint64), duplicate: maybe(fc.boolean()),
}, { requiredKeys: [] });
const answer = fc.record({
  namespace: maybe(text), revision: maybe(uint64), vector: maybe(fc.array(dot, { maxLength: 4 })), results: maybe(fc.array(result, { maxLength: 4 })), memberId: maybe(uint64),
}, { requiredKeys: [] });

/** What the generic path makes of an answer: Crdt.write's result, or its error. */
function genericAnswer(b: Buffer, one: boolean): { ok: unknown } | { err: string } {
  try {
    const w = writeResult(write.responseDeserialize(b) as WireWriteResponse);
    return { ok: one ? { ...w, dot: w.results[0]?.dot, hlc: w.results[0]?.hlc } : w };
  } catch (err) {
    return { err: String(err) };
  }
}

/** Drops undefined members (fast-check's `nil`) so proto-loader sees absent fields. */
function defined(o: unknown): unknown {
  if (Array.isArray(o)) return o.map(defined);
  if (o === null || typeof o !== 'object') return o;
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined).map(([k, v]) => [k, defined(v)]));
}

describe('client Crdt.Write codec', () => {
  test('requests of every op type: the generic path\'s bytes, or that path where it cannot be exact', () => {
    let fast = 0;
    fc.assert(fc.property(text, fc.array(op, { minLength: 1, maxLength: 4 }), (namespace, ops) => {
      const mine = encodeWriteRequest(namespace, ops);
      const theirs = genericRequest(namespace, ops);
      if (mine !== undefined) {
        fast++;
        assert.ok('ok' in theirs, `the generic path refused what the fast one encoded: ${'err' in theirs ? theirs.err : ''}`);
        assert.equal(mine.toString('hex'), theirs.ok.toString('hex'));
      } else {
        assert.ok(!wellFormed(namespace) || ops.some(fallsBack) || 'err' in theirs, 'a request the fast path should have encoded');
      }
    }), opts(RUNS));
    assert.ok(fast > RUNS / 2, `most requests take the fast path (${fast} of ${RUNS})`);
  });

  test('the hot request, and what opToWire refuses stays refused', () => {
    const ops: CrdtOp[] = [{ op: 'lwwPut', key: 'probe-lww/client/0', value: Buffer.from('xxxxx123') }];
    assert.deepEqual(encodeWriteRequest('', ops), write.requestSerialize({ namespace: '', ops: ops.map(opToWire) }));
    for (const bad of [
      { op: 'counterAdd', key: 'c', delta: 1.5 }, { op: 'counterAdd', key: 'c', delta: 2 ** 53 }, { op: 'eventAppend', device: 'd', type: 't', seq: -1 },
      { op: 'eventAppend', device: 'd', type: 't', tsMs: 0.5 }, { op: 'nope', key: 'k' }, { op: 'lwwPut', key: 7, value: 'v' },
    ] as unknown as CrdtOp[]) {
      assert.equal(encodeWriteRequest('ns', [bad]), undefined, JSON.stringify(bad));
      assert.throws(() => opToWire(bad), JSON.stringify(bad));
    }
  });

  test('answers: writeResult\'s result (and Crdt.one\'s), or the generic path where that refuses', () => {
    let fast = 0;
    fc.assert(fc.property(answer, (a) => {
      const b = write.responseSerialize(defined(a));
      for (const one of [false, true]) {
        const mine = one ? decodeOpWriteResult(b) : decodeWriteResult(b);
        const theirs = genericAnswer(b, one);
        if (mine === undefined) {
          assert.ok('err' in theirs, 'an answer the fast path should have decoded');
        } else {
          fast++;
          assert.ok('ok' in theirs, `the generic path refused what the fast one decoded: ${'err' in theirs ? theirs.err : ''}`);
          assert.deepStrictEqual(mine, theirs.ok);
        }
      }
    }), opts(RUNS));
    assert.ok(fast > RUNS / 4, `many answers take the fast path (${fast} of ${2 * RUNS})`);
  });

  test('the canonical answer the server sends, repeated (cached strings and member id stay right)', () => {
    const base = { namespace: 'probe-lww', vector: [{ origin: 'region:a', seq: '5' }], memberId: '18446744073709551615' };
    for (const [i, memberId] of ['18446744073709551615', '18446744073709551615', '77', '9007199254740993', '77'].entries()) {
      const a = { ...base, memberId, revision: String(100 + i), namespace: i % 2 === 0 ? 'probe-lww' : 'probe-lwx', results: [{ dot: { origin: i < 3 ? 'region:a' : 'region:b', seq: String(i) }, hlc: { wallMs: '1765000000000', logical: i } }] };
      const b = write.responseSerialize(a);
      assert.deepStrictEqual(decodeOpWriteResult(b), (genericAnswer(b, true) as { ok: unknown }).ok);
    }
  });

  test('any bytes: the same result as the generic path, or that path', () => {
    const prefix = write.responseSerialize({ namespace: 'ns', revision: '9', vector: [{ origin: 'r', seq: '9' }], results: [{ dot: { origin: 'r', seq: '9' } }], memberId: '77' });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 32 }), fc.boolean(), (tail, withPrefix) => {
      const b = Buffer.concat([withPrefix ? prefix : Buffer.alloc(0), Buffer.from(tail)]);
      const mine = decodeWriteResult(b);
      if (mine !== undefined) assert.deepStrictEqual(mine, (genericAnswer(b, false) as { ok: unknown }).ok);
    }), opts(RUNS * 2));
    // A bool of 2, a bool in a 6-byte varint, a dot given twice (the last wins), an unknown
    // field in a result and in the answer, a namespace given twice, a group (wire type 3).
    for (const hex of ['22022002', '220620ffffffff0f', '22080a0210010a021002', '2204780520011001', 'f8010510010a01610a0162', '0a016123']) {
      const b = Buffer.from(hex, 'hex');
      const mine = decodeWriteResult(b);
      const theirs = genericAnswer(b, false);
      if (mine !== undefined) assert.deepStrictEqual(mine, (theirs as { ok: unknown }).ok, `input ${hex}`);
    }
    assert.equal(decodeWriteResult(Buffer.from('22022002', 'hex'))?.results[0]?.duplicate, true);
    assert.equal(decodeWriteResult(Buffer.from('22080a0210010a021002', 'hex'))?.results[0]?.dot?.seq, 2);
  });
});
