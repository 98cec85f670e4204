// The change-feed value of an event is canonicalJson of its fields (DESIGN §2); eventValue
// writes it out by hand for speed: pinned here to the generic rendering, for UTF-8 and
// non-UTF-8 payloads, escapes in device and type, negative and large numbers. Seeded.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, renderBytes, type EventRecord } from '../crdt/index.js';
import { SeededRandom } from '../util/random.js';
import { eventEtcdKey, eventValue } from './project.js';

const dec = new TextDecoder();

test('eventValue is canonicalJson of the event fields', () => {
  const seed = Number(process.env.RS_TEST_SEED ?? 14);
  console.log(`  seed ${seed} (RS_TEST_SEED replays)`);
  const rng = new SeededRandom(seed);
  const texts = ['d', 'sensor-001', 'a"b\\c', 'tab\there', 'ünï', String.fromCharCode(1), '{"c":21.3}', ''];
  for (let i = 0; i < 500; i++) {
    const payload = rng.int(0, 4) === 0 ? Uint8Array.from({ length: rng.int(0, 8) }, () => rng.int(0, 256)) : new TextEncoder().encode(texts[rng.int(0, texts.length)]!);
    const e: EventRecord = {
      kind: 'events', origin: 'edge:x:1', seq: i + 1, hlc: { wall: 1, logical: 0 }, deviceId: texts[rng.int(0, texts.length)]!,
      deviceSeq: rng.int(1, 2 ** 40), ts: rng.int(0, 2) === 0 ? -rng.int(0, 1000) : rng.int(0, 2 ** 50), type: texts[rng.int(0, texts.length)]!,
      ...(rng.int(0, 2) === 0 ? {} : { schemaVersion: rng.int(0, 5) }), payload,
    };
    const generic = canonicalJson({
      device: e.deviceId, seq: e.deviceSeq, ts: e.ts, type: e.type, schema_version: e.schemaVersion ?? 0, payload: renderBytes(e.payload),
    });
    assert.equal(dec.decode(eventValue(e)), generic, `seed ${seed}, event ${i}`);
  }
});

test('eventEtcdKey is <prefix><device>/<seq in 20 decimal digits>, whatever the device and seq', () => {
  const seed = Number(process.env.RS_TEST_SEED ?? 14);
  console.log(`  seed ${seed} (RS_TEST_SEED replays)`);
  const rng = new SeededRandom(seed);
  const devices = ['d', 'sensor-001', 'ünï', 'a/b', ''];
  for (let i = 0; i < 500; i++) {
    const prefix = ['ev/', 'é/', 'x'][rng.int(0, 3)]!;
    const device = devices[rng.int(0, devices.length)]!;
    const seq = [1, 9, 10, rng.int(1, 2 ** 40), Number.MAX_SAFE_INTEGER][rng.int(0, 5)]!;
    assert.equal(dec.decode(eventEtcdKey(prefix, device, seq)), `${prefix}${device}/${String(seq).padStart(20, '0')}`, `seed ${seed}, key ${i}`);
  }
});
