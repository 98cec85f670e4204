// The hand-written SyncMessage codec must agree with sync.proto as protobufjs reads it (both
// ways), and turn any garbage into SyncCodecError, never another exception or a hang.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { SeededRandom } from '../server/util/random.js';
import { SyncCodecError, decodeSyncMessage, encodeSyncMessage, type SyncMessage } from './sync-codec.js';

// sync.proto imports "regionstore/v1/crdt.proto" relative to proto/: resolve imports from there.
const protoDir = fileURLToPath(new URL('.', import.meta.url));
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : protoDir + target);
root.loadSync('regionstore/v1/sync.proto');
const Msg = root.lookupType('regionstore.v1.SyncMessage');
const ONEOF: Record<SyncMessage['kind'], string> = { hello: 'hello', delta: 'delta', ack: 'ack', 'resend-from': 'resendFrom', heartbeat: 'heartbeat', error: 'error' };

const samples: SyncMessage[] = [
  {
    kind: 'hello', protocolVersion: 1, replicaId: 'edge:gw-1:3', deviceId: 'gw-1', incarnation: 3,
    vectors: [{ namespace: 'ev', vector: [{ origin: 'edge:gw-1:3', seq: 10_000_000_001 }, { origin: 'region:t', seq: 4 }] }, { namespace: 'kv', vector: [] }],
    hlc: { wallMs: 1_765_000_000_123, logical: 7 }, physicalMs: 1_765_000_000_120, acceptEncodings: ['br', 'deflate', 'identity'], window: 8,
    sessionId: 'abc', registryRevision: 42, aheadOfYou: [{ origin: 'edge:gw-1:2', seq: 9 }], resync: ['kv'], group: 'site-a',
  },
  {
    kind: 'delta', pageId: 5, namespace: 'ev', encoding: 'br', page: Uint8Array.of(1, 2, 3, 0, 255), viewIndex: 991, caughtUp: true,
    hlc: { wallMs: 1_765_000_000_124, logical: 0 }, physicalMs: 1_765_000_000_125,
  },
  { kind: 'ack', pageId: 5, namespace: 'ev', vector: [{ origin: 'edge:gw-1:3', seq: 12 }] },
  { kind: 'resend-from', pageId: 6, namespace: 'ev', origin: 'edge:gw-1:3', seq: 13 },
  { kind: 'heartbeat', hlc: { wallMs: 1, logical: 2 }, physicalMs: 3 },
  { kind: 'error', code: 'clock-skew', message: 'ahead', pageId: 7, fatal: false, detail: '' },
  { kind: 'error', code: 'not-leader', message: 'no', pageId: 0, fatal: true, detail: 'http://127.0.0.1:2379' },
];

const plain = (m: SyncMessage): Record<string, unknown> => {
  const { kind: _k, ...rest } = m as SyncMessage & Record<string, unknown>;
  return rest;
};

test('sync codec: round trip, and protobufjs (reflection over sync.proto) reads and writes the same messages', () => {
  for (const m of samples) {
    const bytes = encodeSyncMessage(m);
    assert.deepEqual(decodeSyncMessage(bytes), m);
    const obj = Msg.toObject(Msg.decode(bytes), { longs: Number, defaults: true, oneofs: true, bytes: Array }) as Record<string, unknown>;
    assert.equal(obj.msg, ONEOF[m.kind]);
    const body = obj[ONEOF[m.kind]] as Record<string, unknown>;
    const want = JSON.parse(JSON.stringify(plain(m), (_k, v) => (v instanceof Uint8Array ? [...v] : v))) as Record<string, unknown>;
    assert.deepEqual(JSON.parse(JSON.stringify(body)), want, m.kind);
    // And what protobufjs writes, we read.
    const back = Msg.encode(Msg.fromObject({ [ONEOF[m.kind]]: plain(m) })).finish();
    assert.deepEqual(decodeSyncMessage(back), m);
  }
});

test('sync codec: garbage, truncations and wrong wire types are SyncCodecError', () => {
  const seed = Number(process.env.SEED ?? 1);
  console.log(`# seed=${seed}`);
  const rng = new SeededRandom(seed);
  let refused = 0;
  for (let i = 0; i < 5000; i++) {
    let bytes: Uint8Array;
    const base = encodeSyncMessage(rng.pick(samples));
    if (i % 3 === 0) bytes = Uint8Array.from({ length: rng.int(0, 64) }, () => rng.int(0, 256));
    else if (i % 3 === 1) bytes = base.slice(0, rng.int(0, base.length));
    else {
      bytes = base.slice();
      for (let k = 0; k < 3; k++) bytes[rng.int(0, bytes.length)] = rng.int(0, 256);
    }
    try {
      decodeSyncMessage(bytes);
    } catch (e) {
      assert.ok(e instanceof SyncCodecError, `seed=${seed} i=${i}: ${(e as Error).name}: ${(e as Error).message}`);
      refused++;
    }
  }
  assert.ok(refused > 1000);
  assert.throws(() => decodeSyncMessage(new Uint8Array(0)), SyncCodecError);
  // A oneof field with a varint wire type.
  assert.throws(() => decodeSyncMessage(Uint8Array.of(0x08, 0x01)), SyncCodecError);
});
