// Bad input on the region's EdgeSync (issue 14): a peer sending an unknown protocol
// version, garbage bytes (before and after HELLO), a malformed page, an oversized page, a
// seq gap and a forged origin. Each gets a clear answer (a SyncError with its code, or a
// gRPC status), the session ends or goes on as the code says, no member crashes, and what
// was acknowledged stays on every member. Real 3-member region; the peer is the test
// (test/helpers/sync-peer.ts), so it can send what no edge would.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '../client/index.js';
import { rawCrdt, type RawCrdt } from '../server/api/testing/raw-crdt.js';
import { SYNC_PAGE_BYTES_MAX, SYNC_PAGE_RECORDS_MAX } from '../server/sync/limits.js';
import { SeededRandom } from '../server/util/random.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { SyncPeer, bytesOf, lwwDelta, lwwRecord, openOnLeader } from './helpers/sync-peer.js';

const NS = 'bad';
const EDGE = 'edge:bad1:1';
const SEED = Number(process.env.RS_TEST_SEED ?? Date.now() % 1_000_000);

let cluster: TestCluster;
let client: Client;
let crdt: RawCrdt[];
/** What the region has ACKed of EDGE's origin. */
let acked = 0;

before(async () => {
  console.log(`  seed ${SEED} (replay: RS_TEST_SEED=${SEED})`);
  cluster = await startTestCluster();
  client = new Client({ endpoints: cluster.hostPorts, timeoutMs: 15_000 });
  await client.namespaces.create({ name: NS, prefix: 'bad/', level: 'eventual', crdtType: 'lww' });
  crdt = cluster.hostPorts.map((ep) => rawCrdt(ep));
});
after(async () => {
  for (const c of crdt ?? []) c.close();
  client?.close();
  await cluster?.cleanup();
});

async function leaderHostPort(): Promise<string> {
  return eventually('a leader', async () => client.findLeader());
}

/** Every member still runs and holds every acknowledged write of EDGE. */
async function regionIntact(what: string): Promise<void> {
  for (const n of cluster.nodes) assert.ok(n.running, `${n.name} is still running after ${what}`);
  await cluster.waitHealthy(15_000);
  for (let seq = 1; seq <= acked; seq++) {
    const values = await Promise.all(crdt.map(async (c) => {
      const r = await c.call('Read', { namespace: NS, key: bytesOf(`bad/k${seq}`), serializable: true });
      return r.entries[0] === undefined ? undefined : Buffer.from(r.entries[0].lww.value).toString();
    }));
    assert.deepEqual(values, values.map(() => `v${seq}`), `acknowledged bad/k${seq} on every member after ${what}`);
  }
}

/** A SyncError of the session, or the gRPC status it ended with: whichever came. */
async function refusal(peer: SyncPeer, from = 0): Promise<string> {
  try {
    const e = await peer.next((m) => ('error' in m ? m.error : undefined), from);
    return `${e.value.code}${e.value.fatal ? ' (fatal)' : ''}: ${e.value.message}`;
  } catch (err) {
    if (peer.status !== undefined) return `grpc ${peer.status.code}: ${peer.status.details}`;
    throw err;
  }
}

describe('EdgeSync bad input', () => {
  test('a good upload first: ACKed once applied', async () => {
    const { peer } = await openOnLeader(cluster.hostPorts, EDGE, { [NS]: {} });
    peer.send(lwwDelta(1, NS, EDGE, 1, 2, [lwwRecord(EDGE, 1, 'bad/k1', 'v1'), lwwRecord(EDGE, 2, 'bad/k2', 'v2')]));
    const ack = await peer.next((m) => ('ack' in m && m.ack.pageId === 1 ? m.ack : undefined));
    assert.deepEqual(ack.value.vector, [{ origin: EDGE, seq: 2 }]);
    acked = 2;
    peer.close();
    await regionIntact('the good upload');
  });

  test('unknown protocol version: unsupported-version, the stream ends', async () => {
    const peer = new SyncPeer(await leaderHostPort());
    peer.hello(EDGE, { [NS]: { [EDGE]: acked } }, { protocolVersion: 99 });
    const why = await refusal(peer);
    console.log(`  version 99 → ${why}`);
    assert.match(why, /unsupported-version/);
    assert.ok(await peer.endedWithin(10_000), 'the stream ends');
    peer.close();
    await regionIntact('an unknown version');
  });

  test('garbage bytes instead of HELLO, and after HELLO: malformed, the stream ends', async () => {
    const random = new SeededRandom(SEED);
    for (const afterHello of [false, true]) {
      const garbage = Uint8Array.from({ length: 64 + random.int(0, 512) }, () => random.int(0, 256));
      let peer: SyncPeer;
      if (afterHello) peer = (await openOnLeader(cluster.hostPorts, EDGE, { [NS]: { [EDGE]: acked } })).peer;
      else peer = new SyncPeer(await leaderHostPort());
      const from = peer.got.length;
      peer.sendRaw(garbage);
      const why = await refusal(peer, from);
      console.log(`  garbage ${afterHello ? 'after' : 'instead of'} HELLO (${garbage.length} B) → ${why}`);
      assert.match(why, /malformed|unsupported|grpc/);
      assert.ok(await peer.endedWithin(10_000), 'the stream ends');
      peer.close();
    }
    await regionIntact('garbage bytes');
  });

  test('a DELTA whose page is not a page: malformed, nothing applied', async () => {
    const { peer } = await openOnLeader(cluster.hostPorts, EDGE, { [NS]: { [EDGE]: acked } });
    const from = peer.got.length;
    peer.send({ delta: { pageId: 1, namespace: NS, encoding: 'identity', page: bytesOf('not a delta page at all'), viewIndex: 0, caughtUp: false, hlc: { wallMs: Date.now(), logical: 0 }, physicalMs: Date.now() } });
    const why = await refusal(peer, from);
    console.log(`  malformed page → ${why}`);
    assert.match(why, /malformed/);
    peer.close();
    await regionIntact('a malformed page');
  });

  test('an oversized page: page-too-large (or the gRPC size limit), nothing applied', async () => {
    const { peer } = await openOnLeader(cluster.hostPorts, EDGE, { [NS]: { [EDGE]: acked } });
    const from = peer.got.length;
    const big = 'x'.repeat(SYNC_PAGE_BYTES_MAX + 1024);
    peer.send(lwwDelta(1, NS, EDGE, acked + 1, acked + 1, [lwwRecord(EDGE, acked + 1, 'bad/huge', big)]));
    const why = await refusal(peer, from);
    console.log(`  page of ${SYNC_PAGE_BYTES_MAX + 1024} B → ${why}`);
    assert.match(why, /page-too-large|grpc 8/); // 8: RESOURCE_EXHAUSTED
    peer.close();
    const huge = await crdt[0]!.call('Read', { namespace: NS, key: bytesOf('bad/huge'), serializable: true });
    assert.equal(huge.entries.length, 0, 'nothing of the oversized page applied');
    await regionIntact('an oversized page');
  });

  test('a page of more records than a page may hold: page-too-large, nothing applied', async () => {
    const { peer } = await openOnLeader(cluster.hostPorts, EDGE, { [NS]: { [EDGE]: acked } });
    const from = peer.got.length;
    const n = SYNC_PAGE_RECORDS_MAX + 1;
    const records = Array.from({ length: n }, (_, i) => lwwRecord(EDGE, acked + 1 + i, `bad/many${i}`, 'x'));
    peer.send(lwwDelta(1, NS, EDGE, acked + 1, acked + n, records));
    const why = await refusal(peer, from);
    console.log(`  page of ${n} records → ${why}`);
    assert.match(why, /page-too-large/);
    peer.close();
    const one = await crdt[0]!.call('Read', { namespace: NS, key: bytesOf('bad/many0'), serializable: true });
    assert.equal(one.entries.length, 0, 'nothing of the page applied');
    await regionIntact('a page of too many records');
  });

  test('a seq gap: resend-from the next seq, the session goes on; a forged origin: refused, not applied', async () => {
    const { peer } = await openOnLeader(cluster.hostPorts, EDGE, { [NS]: { [EDGE]: acked } });
    const gapFrom = acked + 5;
    peer.send(lwwDelta(1, NS, EDGE, gapFrom, gapFrom, [lwwRecord(EDGE, gapFrom, 'bad/gap', 'x')]));
    const resend = await peer.next((m) => ('resendFrom' in m ? m.resendFrom : undefined));
    assert.deepEqual({ origin: resend.value.origin, seq: resend.value.seq }, { origin: EDGE, seq: acked + 1 });
    const forger = 'edge:someone-else:1';
    peer.send(lwwDelta(2, NS, forger, 1, 1, [lwwRecord(forger, 1, 'bad/forged', 'x')]));
    const forged = await peer.next((m) => ('error' in m && m.error.pageId === 2 ? m.error : undefined));
    console.log(`  forged origin → ${forged.value.code}: ${forged.value.message}`);
    assert.equal(forged.value.code, 'forged-origin');
    if (!forged.value.fatal) {
      // The session goes on: the resent page is taken.
      const seq = acked + 1;
      peer.send(lwwDelta(3, NS, EDGE, seq, seq, [lwwRecord(EDGE, seq, `bad/k${seq}`, `v${seq}`)]));
      const ack = await peer.next((m) => ('ack' in m && m.ack.pageId === 3 ? m.ack : undefined));
      assert.deepEqual(ack.value.vector, [{ origin: EDGE, seq }]);
      acked = seq;
    }
    peer.close();
    for (const key of ['bad/gap', 'bad/forged']) {
      const rs = await Promise.all(crdt.map((c) => c.call('Read', { namespace: NS, key: bytesOf(key), serializable: true })));
      assert.ok(rs.every((r) => r.entries.length === 0), `${key} applied nowhere`);
    }
    await regionIntact('a gap and a forged origin');
  });
});
