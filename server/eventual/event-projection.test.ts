// The etcd keys of new events are put without reading them (Work.projectNew, ExternalTx.putNew)
// only while nothing but projections can write under the namespace's prefix: each kv is then
// a creation (version 1) all the same, and with a strong namespace nested inside the events
// prefix, an event projected onto a key a client put there is an ordinary put (version 2).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventRecord } from '../crdt/index.js';
import { EvHarness, b } from './testing.js';

const EDGE = 'edge:e1:1';

function events(device: string, n: number, firstSeq = 1): EventRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: 'events' as const, origin: EDGE, seq: firstSeq + i, hlc: { wall: 1_000 + i, logical: 0 },
    deviceId: device, deviceSeq: firstSeq + i, ts: 5, type: 't', payload: b(`p${i}`),
  }));
}

/** The engine keys read while `fn` runs (get and getMany), as scripts/engine-io.ts counts them. */
async function readsDuring(h: EvHarness, fn: () => Promise<unknown>): Promise<number> {
  let reads = 0;
  const { get, getMany } = h.engine;
  h.engine.get = (key) => (reads++, get.call(h.engine, key));
  h.engine.getMany = (keys) => ((reads += keys.length), getMany.call(h.engine, keys));
  try {
    await fn();
  } finally {
    h.engine.get = get;
    h.engine.getMany = getMany;
  }
  return reads;
}

test('new events of a namespace nothing nests in: no read of their etcd keys, each kv created at its revision', async () => {
  const h = await EvHarness.open([{ name: 'ev', prefix: 'ev/', level: 'eventual', crdtType: 'events' }]);
  try {
    const first = events('d1', 3);
    await h.page('ev', [{ origin: EDGE, from: 1, to: 3 }], first); // the device summary is cached from here on
    const more = events('d1', 50, 4);
    const reads = await readsDuring(h, () => h.page('ev', [{ origin: EDGE, from: 4, to: 53 }], more));
    assert.equal(reads, 0, 'the device summary is cached and the events are past its highest seq: nothing to read');
    const kvs = (await h.mvcc.range({ key: b('ev/'), rangeEnd: b('ev0') })).kvs;
    assert.equal(kvs.length, 53);
    for (const kv of kvs) {
      assert.equal(kv.version, 1);
      assert.equal(kv.createRevision, kv.modRevision);
    }
    assert.equal(h.mvcc.keyCount, 53, 'the live key count counts each once');
    // A page sent again (a resend after a lost ACK) changes nothing.
    await h.page('ev', [{ origin: EDGE, from: 4, to: 53 }], more);
    assert.equal(h.mvcc.keyCount, 53);
    assert.equal((await h.mvcc.range({ key: b('ev/'), rangeEnd: b('ev0') })).kvs.every((kv) => kv.version === 1), true);
  } finally {
    await h.close();
  }
});

test('a strong namespace nested in an events prefix: an event onto a key a client put there is an ordinary put', async () => {
  const h = await EvHarness.open([
    { name: 'ev', prefix: 'ev/', level: 'eventual', crdtType: 'events' },
    { name: 'strong', prefix: 'ev/d1/', level: 'strong' },
  ]);
  try {
    const key = `ev/d1/${String(2).padStart(20, '0')}`;
    await h.mvcc.apply(++h.index, { type: 'put', put: { key: b(key), value: b('client') } });
    const put = (await h.mvcc.range({ key: b(key) })).kvs[0]!;
    await h.reopen(); // nothing of the put in memory: only the engine knows the key is live
    const [e1, e2] = events('d1', 2);
    await h.page('ev', [{ origin: EDGE, from: 1, to: 1 }], [e1!]); // d1's summary is cached from here on (highest 1)
    await h.page('ev', [{ origin: EDGE, from: 2, to: 2 }], [e2!]);
    const [k1, k2] = (await h.mvcc.range({ key: b('ev/d1/'), rangeEnd: b('ev/d10') })).kvs;
    assert.equal(k1!.version, 1);
    assert.equal(k2!.version, 2, 'the client key was live: the projection is its second version');
    assert.equal(k2!.createRevision, put.createRevision);
    assert.equal(h.mvcc.keyCount, 2);
  } finally {
    await h.close();
  }
});
