// The hand-written delta-page codec must agree with crdt.proto as protobufjs reads it, round
// trip every type's records, and keep its byte layout (pinned below: changing it breaks
// every edge in the field, so it needs a new field or message, never an edit).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import {
  CRDT_KINDS, HybridClock, VersionVector, counterAdd, createReplica, eventAppend, lwwDelete, lwwPut, mvPut, setAdd, setRemove, utf8,
  type CrdtKind, type CrdtReplica, type MvStore,
} from '../server/crdt/index.js';
import { SeededRandom } from '../server/util/random.js';
import { decodeDeltaPage, encodeDeltaPage } from './crdt-codec.js';

const root = protobuf.loadSync(fileURLToPath(new URL('./regionstore/v1/crdt.proto', import.meta.url)));
const PageProto = root.lookupType('regionstore.v1.DeltaPage');
const T0 = 1_765_000_000_000;
// Values are bytes: every fourth is not UTF-8 (and one is empty), so a string codec would
// mangle them and the round trip would fail.
const value = (i: number): Uint8Array => (i % 4 === 0 ? Uint8Array.of(0xff, 0x00, i & 0xff) : i % 7 === 0 ? new Uint8Array(0) : utf8(`v${i}`));
const elem = (n: number): Uint8Array => (n === 2 ? Uint8Array.of(0xc3, 0x28) : utf8(`e${n}`));

function workload(kind: CrdtKind, seed: number): CrdtReplica[] {
  const rng = new SeededRandom(seed);
  const reps = ['a', 'bb', 'c'].map((id) => createReplica(kind, id, new HybridClock(id)));
  for (let i = 0; i < 60; i++) {
    const r = rng.pick(reps);
    const now = T0 + rng.int(0, 100) * 7;
    const k = rng.int(0, 3);
    const key = k === 3 ? Uint8Array.of(0x6b, 0xff) : utf8(`k${k}`); // keys are bytes too
    if (kind === 'lww') {
      if (rng.chance(0.2)) lwwDelete(r, key, now);
      else lwwPut(r, key, value(i), now);
    }
    else if (kind === 'mv') mvPut(r, key, value(i), rng.chance(0.5) ? (r.store as MvStore).read(key).token : {}, now);
    else if (kind === 'counter') counterAdd(r, key, rng.int(-5, 9), now);
    else if (kind === 'set') {
      if (rng.chance(0.4)) setRemove(r, key, elem(rng.int(0, 2)), now);
      else setAdd(r, key, elem(rng.int(0, 2)), now);
    }
    else eventAppend(r, { deviceId: `dev-${r.replicaId}`, deviceSeq: i + 1, ts: now - rng.int(0, 5000), type: rng.pick(['temp', 'door']), payload: value(i) }, now);
    if (rng.chance(0.3)) {
      const [x, y] = [rng.pick(reps), rng.pick(reps)];
      if (x !== y) for (const p of x.extract(y.vector)) y.applyPage(p, now);
    }
  }
  return reps;
}

test('crdt codec: every type round-trips, page by page, and protobufjs reads the same fields', () => {
  const seed = Number(process.env.SEED ?? 1);
  console.log(`# seed=${seed}`);
  for (const kind of CRDT_KINDS) {
    for (const r of workload(kind, seed)) {
      for (const page of r.extract(new VersionVector(), 300)) {
        const bytes = encodeDeltaPage(kind, page);
        const back = decodeDeltaPage(bytes);
        assert.equal(back.kind, kind);
        assert.deepEqual(back.page, { ranges: [...page.ranges], records: page.records.map((x) => ({ ...x })) });
        const obj = PageProto.toObject(PageProto.decode(bytes), { longs: Number, defaults: true, enums: Number }) as { runs: Array<{ origin: string; records: unknown[] }> };
        assert.deepEqual(obj.runs.map((g) => g.origin), page.ranges.map((g) => g.origin));
        assert.equal(obj.runs.reduce((n, g) => n + g.records.length, 0), page.records.length);
      }
    }
  }
});

// Pinned again on purpose when values became bytes (string → bytes is the same wire type 2,
// so a UTF-8 payload keeps its bytes): the second payload is now 0xff 0x00, which a string
// field could not carry, so the run, the record and the event grow by one byte each.
test('crdt codec: the byte layout of a small event page is pinned', () => {
  const page = {
    ranges: [{ origin: 'e1', from: 1, to: 2 }],
    records: [
      { kind: 'events' as const, origin: 'e1', seq: 1, hlc: { wall: 1000, logical: 0 }, deviceId: 'd', deviceSeq: 7, ts: 990, type: 't', payload: utf8('x') },
      { kind: 'events' as const, origin: 'e1', seq: 2, hlc: { wall: 1003, logical: 2 }, deviceId: 'd', deviceSeq: 8, ts: 1003, type: 't', payload: Uint8Array.of(0xff, 0x00) },
    ],
  };
  const hex = Buffer.from(encodeDeltaPage('events', page)).toString('hex');
  assert.equal(hex, [
    '0805', '10e807', '1a0164', '1a0174', // kind 5 (events), base_wall 1000, dictionary ["d", "t"]
    '2229', '0a026531', '1001', '1802', // run (41 bytes): origin "e1", from 1, to 2
    '220d', '0801', // record (13 bytes): seq +1, wall +0 (absent), logical 0 (absent)
    '4209', '1007', '1813', '2001', '2a0178', // event: device 0 (absent), seq 7, ts -10 (zigzag 19), type 1, payload "x"
    '2210', '0801', '1006', '1802', // record (16 bytes): seq +1, wall +3 (zigzag 6), logical 2
    '4208', '1008', '2001', '2a02ff00', // event: device 0, seq 8, ts +0 (absent), type 1, payload bytes ff 00
  ].join(''));
  assert.deepEqual(decodeDeltaPage(Buffer.from(hex, 'hex')).page, page);
});

// EventWrite.schema_version (field 6, added for issue 14): an event keeps its schema version
// across sync; an event without one (or 0) is encoded exactly as before the field existed.
const versionedEvent = (schemaVersion?: number) => ({
  kind: 'events' as const, origin: 'e1', seq: 1, hlc: { wall: 1000, logical: 0 }, deviceId: 'd', deviceSeq: 7, ts: 990, type: 't',
  ...(schemaVersion !== undefined ? { schemaVersion } : {}), payload: utf8('x'),
});
test('crdt codec: an event keeps its schema version; version 0 adds no bytes', () => {
  const rec = versionedEvent;
  const page = (schemaVersion?: number) => ({ ranges: [{ origin: 'e1', from: 1, to: 1 }], records: [rec(schemaVersion)] });
  const v3 = decodeDeltaPage(encodeDeltaPage('events', page(3)));
  assert.equal((v3.page.records[0] as { schemaVersion?: number }).schemaVersion, 3);
  assert.deepEqual(encodeDeltaPage('events', page(0)), encodeDeltaPage('events', page()));
  assert.equal(encodeDeltaPage('events', page(3)).length, encodeDeltaPage('events', page()).length + 2);
  const obj = PageProto.toObject(PageProto.decode(encodeDeltaPage('events', page(3))), { defaults: true }) as { runs: Array<{ records: Array<{ event: { schemaVersion: number } }> }> };
  assert.equal(obj.runs[0]!.records[0]!.event.schemaVersion, 3);
});
