// The same event under two dots (chaos seed 1 of issue 15): a device re-sent an append whose
// answer it never got after its edge's data dir was wiped, so the new data dir appended it
// again under its new incarnation while the region held it under the old one. Each replica
// kept whichever dot arrived first: equal events, different CrdtHash, for good. Now every
// replica keeps the smaller dot, in either order, and extraction sends it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventRecord } from '../crdt/index.js';
import { openExtraction } from './extract.js';
import { EvHarness, b } from './testing.js';

const SPECS = [{ name: 'ev', prefix: 'ev/', level: 'eventual' as const, crdtType: 'events' as const }];

function event(origin: string, seq: number): EventRecord {
  return { kind: 'events', origin, seq, hlc: { wall: 1_000 + seq, logical: 0 }, deviceId: 'dev', deviceSeq: 7, ts: 5, type: 't', payload: b('p') };
}

/** The dots a full extraction of 'ev' sends. */
async function sentDots(h: EvHarness): Promise<string[]> {
  const view = openExtraction(h.engine, 'ev', new Map(h.store.vector('ev').map((e) => [e.origin, e.seq])), new Map(), 64 * 1024);
  const records = [];
  for await (const p of view.pages()) records.push(...p.records);
  return records.map((r) => `${r.origin}:${r.seq}`);
}

async function dump(h: EvHarness): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of h.engine.iterate()) out.push(`${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
  return out;
}

function page(r: EventRecord) {
  return { body: { kind: 'page' as const, namespace: 'ev', physicalMs: 2_000, ranges: [{ origin: r.origin, from: 1, to: r.seq }], records: [r] } };
}

test('an event appended twice under two dots: every arrival order keeps the smaller dot, and the same hash', async () => {
  const old = event('edge:e1:100', 3);
  const again = event('edge:e1:200', 1);
  const [x, y] = await Promise.all([EvHarness.open(SPECS), EvHarness.open(SPECS)]);
  try {
    await x.applyBodies([page(old)]);
    await x.applyBodies([page(again)]);
    await y.applyBodies([page(again)]);
    await y.applyBodies([page(old)]);
    assert.equal(await x.store.hash('ev'), await y.store.hash('ev'), 'the same hash in either order');
    for (const h of [x, y]) assert.deepEqual(await sentDots(h), ['edge:e1:100:3'], 'the smaller dot is the one held and sent');
  } finally {
    await Promise.all([x.close(), y.close()]);
  }
});

test('the two dots of one event in the same apply batch: the same index, hash and extraction as in two batches', async () => {
  const old = event('edge:e1:100', 3);
  const again = event('edge:e1:200', 1);
  // The larger dot first, then the smaller one in the same batch: the larger one's fresh
  // index entry (held until the batch's flush) is rewritten whole when it loses.
  const [x, y] = await Promise.all([EvHarness.open(SPECS), EvHarness.open(SPECS)]);
  try {
    await x.applyBodies([page(again), page(old)]);
    await y.applyBodies([page(again)]);
    await y.applyBodies([page(old)]);
    assert.equal(await x.store.hash('ev'), await y.store.hash('ev'), 'the same hash in one batch or two');
    assert.deepEqual(await dump(x), await dump(y), 'the same engine pairs, index entries included');
    for (const h of [x, y]) assert.deepEqual(await sentDots(h), ['edge:e1:100:3'], 'the smaller dot is the one held and sent');
  } finally {
    await Promise.all([x.close(), y.close()]);
  }
});
