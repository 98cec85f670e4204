// Two sessions connected in memory over two in-memory ReplicaSides (server/crdt's
// CrdtReplica), on manual time: every run is deterministic; seeded ones print their seed
// (replay with SEED=n).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VersionVector, canonicalJson, counterAdd, utf8, type Body, type CrdtKind } from '../crdt/index.js';
import { SeededRandom } from '../util/random.js';
import { encodeSyncMessage, decodeSyncMessage, type SyncMessage } from '../../proto/sync-codec.js';
import { encodeDeltaPage } from '../../proto/crdt-codec.js';
import { SyncSession } from './session.js';
import { SYNC_PAGE_BYTES_MAX, SYNC_MESSAGE_BYTES_MAX, SYNC_PROTOCOL_VERSION } from './limits.js';
import type { PageCodec } from './channel.js';
import type { SyncOutcome, SyncSessionOptions } from './types.js';
import { ManualTime, MemoryReplica, memoryLink, settle, type MemoryLink } from './testing/memory.js';

const NAMESPACES = [
  { name: 'kv', kind: 'lww' as CrdtKind },
  { name: 'ev', kind: 'events' as CrdtKind },
  { name: 'ctr', kind: 'counter' as CrdtKind },
];
const SEED = Number(process.env.SEED ?? 7);

interface World {
  time: ManualTime;
  region: MemoryReplica;
  edge: MemoryReplica;
}

function world(opts: { maxSkewMs?: number; maxSkewMsOf?: Record<string, number> } = {}): World {
  const time = new ManualTime();
  const mk = (replicaId: string, deviceId = '', incarnation = 0): MemoryReplica =>
    new MemoryReplica({
      replicaId, namespaces: NAMESPACES, time, deviceId, incarnation,
      ...(opts.maxSkewMs !== undefined ? { maxSkewMs: opts.maxSkewMs } : {}), ...(opts.maxSkewMsOf !== undefined ? { maxSkewMsOf: opts.maxSkewMsOf } : {}),
    });
  return { time, region: mk('region:t'), edge: mk('edge:d1:1', 'd1', 1) };
}

interface Connected {
  link: MemoryLink;
  edgeS: SyncSession;
  regionS: SyncSession;
  edgeEnd: Promise<SyncOutcome>;
  regionEnd: Promise<SyncOutcome>;
}

function connect(w: World, extra: Partial<SyncSessionOptions> = {}, edgeExtra: Partial<SyncSessionOptions> = {}): Connected {
  const link = memoryLink();
  const base = { timers: w.time, codecs: [] as PageCodec[], sessionId: 's1', ...extra };
  const edgeS = new SyncSession({ ...base, role: 'initiator', replica: w.edge, channel: link.a, clock: w.edge.sessionClock(), ...edgeExtra });
  const regionS = new SyncSession({ ...base, role: 'acceptor', replica: w.region, channel: link.b, clock: w.region.sessionClock() });
  return { link, edgeS, regionS, edgeEnd: edgeS.run(), regionEnd: regionS.run() };
}

function body(kind: CrdtKind, i: number, rng: SeededRandom, device = 'sensor'): Body {
  const key = utf8(`k${rng.int(0, 20)}`);
  switch (kind) {
    case 'lww': return { kind, key, value: rng.chance(0.1) ? null : utf8(`v${i}`) };
    case 'counter': return { kind, key, p: rng.int(0, 5), n: 0 };
    default: return { kind: 'events', deviceId: device, deviceSeq: i + 1, ts: 1_765_000_000_000 + i, type: 'temp', payload: utf8(`{"t":${i % 40}}`) };
  }
}

/** Writes n records of every namespace on `r` (or only `only`). */
function writeMany(r: MemoryReplica, n: number, rng: SeededRandom, only?: string): void {
  for (let i = 0; i < n; i++) {
    for (const ns of NAMESPACES) {
      if (only !== undefined && ns.name !== only) continue;
      if (ns.kind === 'counter') {
        const key = utf8(`c${rng.int(0, 5)}`);
        r.mutate(ns.name, (rep, now) => counterAdd(rep, key, rng.int(-3, 7), now));
      } else r.write(ns.name, body(ns.kind, r.rep(ns.name).vector.get(r.replicaId), rng, `sensor-${r.replicaId}`));
    }
  }
}

function assertConverged(w: World): void {
  for (const ns of NAMESPACES) {
    const a = w.edge.rep(ns.name);
    const b = w.region.rep(ns.name);
    assert.deepEqual(a.vector.toJSON(), b.vector.toJSON(), `vectors of ${ns.name}`);
    const ra = a.liveRecords().map((r) => canonicalJson(strip(r)));
    const rb = b.liveRecords().map((r) => canonicalJson(strip(r)));
    const i = ra.findIndex((x, j) => x !== rb[j]);
    assert.ok(i === -1 && ra.length === rb.length, `records of ${ns.name} differ at ${i} (${ra.length} vs ${rb.length}): ${ra[i]?.slice(0, 200)} vs ${rb[i]?.slice(0, 200)}`);
  }
}
const strip = (r: object): object => ({ ...r });

test('catch-up both ways, then live pushes both ways', async () => {
  console.log(`# seed=${SEED}`);
  const rng = new SeededRandom(SEED);
  const w = world();
  writeMany(w.edge, 120, rng);
  writeMany(w.region, 80, rng);
  const c = connect(w, { pageBudgetBytes: 1024 });
  assert.equal(await c.edgeS.whenCaughtUp(), true);
  assert.equal(await c.regionS.whenCaughtUp(), true);
  assertConverged(w);
  assert.ok(c.edgeS.stats.pagesSent > 3, 'catch-up in several pages');
  // Dominated records (an lww key overwritten, a counter's older totals) are skipped, not sent.
  assert.equal(c.regionS.stats.opsApplied, c.edgeS.stats.opsSent);
  assert.equal(c.edgeS.stats.opsApplied, c.regionS.stats.opsSent);
  assert.ok(c.edgeS.stats.opsSent >= 120, 'every event at least');
  // Live: writes flow as they happen, nothing sent back.
  const sentBefore = c.regionS.stats.opsSent;
  const edgeSentBefore = c.edgeS.stats.opsSent;
  w.edge.write('kv', { kind: 'lww', key: utf8('live'), value: utf8('1') });
  w.region.write('ev', body('events', 999, rng));
  await settle();
  await settle();
  assertConverged(w);
  assert.equal(c.regionS.stats.opsSent, sentBefore + 1, 'the region sent only its own live write (no echo)');
  assert.equal(c.edgeS.stats.opsSent, edgeSentBefore + 1);
  // The region heard the edge's durable vectors (for causal-stability GC): its HELLO, its ACKs,
  // and its own writes it uploaded.
  assert.equal(w.region.peerVectors.get('edge:d1:1/kv')?.get('edge:d1:1'), 121);
  assert.equal((await c.regionS.lag()).ops, 0, 'the region owes the edge nothing (its own writes count as held)');
  assert.equal(w.region.peerVectors.get('edge:d1:1/ev')?.get('region:t'), w.region.rep('ev').vector.get('region:t'));
  c.edgeS.close();
  assert.equal((await c.edgeEnd).reason, 'closed');
  assert.equal((await c.regionEnd).reason, 'peer-closed');
});

test('pages marked last (ExtractedPage.last) go out without reading ahead; catch-up still ends caught-up both ways', async () => {
  const rng = new SeededRandom(SEED);
  for (const markLast of [false, true]) {
    const w = world();
    w.edge.markLast = markLast;
    w.region.markLast = markLast;
    writeMany(w.edge, 120, rng, 'ev');
    // When each page went out, how many pages the edge had taken from its extractions.
    const takenAtSend: number[] = [];
    const c = connect(w, { pageBudgetBytes: 1024 }, { observer: { pageSent: (ns) => (ns === 'ev' ? takenAtSend.push(w.edge.pagesExtracted) : undefined) } });
    assert.equal(await c.edgeS.whenCaughtUp(), true);
    assert.equal(await c.regionS.whenCaughtUp(), true);
    assertConverged(w);
    assert.ok(takenAtSend.length > 3, 'catch-up in several pages');
    // Unmarked: page k goes out once page k + 1 was read (to know whether k is the last); marked: at once.
    assert.deepEqual(takenAtSend.slice(0, 3), markLast ? [1, 2, 3] : [2, 3, 4], `markLast ${markLast}`);
    c.edgeS.close();
    await c.edgeEnd;
    await c.regionEnd;
  }
});

test('resume after a disconnect sends only what is new (no full replay; bytes counted)', async () => {
  console.log(`# seed=${SEED}`);
  const rng = new SeededRandom(SEED);
  const w = world();
  writeMany(w.edge, 1000, rng, 'ev');
  const c1 = connect(w);
  await c1.edgeS.whenCaughtUp();
  const firstBytes = c1.link.ab.bytes;
  c1.link.cut(new Error('network down'));
  assert.equal((await c1.edgeEnd).reason, 'stream-error');
  writeMany(w.edge, 100, rng, 'ev');
  const payload = w.edge.rep('ev').liveRecords().slice(-100).reduce((n, r) => n + (r.kind === 'events' ? r.payload.length : 0), 0);
  const c2 = connect(w);
  await c2.edgeS.whenCaughtUp();
  assertConverged(w);
  assert.equal(c2.edgeS.stats.opsSent, 100, 'only the 100 new events cross');
  console.log(`# first sync ${firstBytes} B for 1000 events; resume ${c2.link.ab.bytes} B up for 100 events (payload ${payload} B), ${c2.link.ba.bytes} B down`);
  // Uncompressed here (identity): the resume costs its records plus HELLO/ACK overhead, never a replay.
  assert.ok(c2.link.ab.bytes < firstBytes / 5, 'resume bytes are a fraction of the first sync');
  c2.edgeS.close();
});

test('a gap is answered with RESEND_FROM, duplicates are ignored, everything converges', async () => {
  const rng = new SeededRandom(SEED);
  const w = world();
  writeMany(w.edge, 200, rng, 'ev');
  const c = connect(w, { pageBudgetBytes: 512 });
  // Reorder: hold the 2nd DELTA back and deliver it after the 3rd (a gap, then a duplicate-ish resend).
  let deltas = 0;
  let heldBack: Uint8Array | undefined;
  c.link.tapAb = (m) => {
    const d = decodeSyncMessage(m);
    if (d.kind !== 'delta' || d.namespace !== 'ev') return [m];
    deltas++;
    if (deltas === 2) {
      heldBack = m;
      return [];
    }
    if (deltas === 3 && heldBack !== undefined) return [m, heldBack];
    return [m];
  };
  assert.equal(await c.edgeS.whenCaughtUp(), true);
  assertConverged(w);
  assert.ok(c.regionS.stats.resendsSent >= 1, 'the receiver asked to resend');
  assert.ok(c.edgeS.stats.resendsReceived >= 1);
  const seen = new Set<string>();
  for (const a of w.region.appliedLog) {
    const k = `${a.ns}/${a.origin}/${a.seq}`;
    assert.ok(!seen.has(k), `record ${k} applied twice`);
    seen.add(k);
  }
  assert.equal(seen.size, 200);
  c.edgeS.close();
});

test('the window bounds unacknowledged DELTAs', async () => {
  const rng = new SeededRandom(SEED);
  const w = world();
  writeMany(w.edge, 300, rng, 'ev');
  w.region.hold = true;
  const link = memoryLink();
  const edgeS = new SyncSession({ role: 'initiator', replica: w.edge, channel: link.a, clock: w.edge.sessionClock(), timers: w.time, codecs: [], sessionId: 'w', pageBudgetBytes: 256 });
  const regionS = new SyncSession({ role: 'acceptor', replica: w.region, channel: link.b, clock: w.region.sessionClock(), timers: w.time, codecs: [], sessionId: 'w', window: 3 });
  void edgeS.run();
  void regionS.run();
  for (let i = 0; i < 5; i++) await settle();
  assert.equal(w.region.heldCount, 3, 'exactly the window is in flight while the receiver is slow');
  assert.equal(edgeS.stats.pagesSent, 3);
  w.region.release();
  assert.equal(await edgeS.whenCaughtUp(), true);
  assert.ok(edgeS.stats.pagesSent > 10);
  assertConverged(w);
  edgeS.close();
});

test('clock skew past the bound: pages refused with clock-skew and counted, then accepted once time catches up', async () => {
  const w = world({ maxSkewMs: 5_000 });
  w.edge.skewMs = 20_000; // the edge's clock is 20 s ahead
  writeMany(w.edge, 10, new SeededRandom(SEED), 'kv');
  w.edge.skewMs = 0;
  const c = connect(w, { refusedRetryMs: 1_000, peerSilenceMs: 60_000, ackDeadlineMs: 60_000 });
  await settle();
  await settle();
  assert.ok(c.regionS.stats.refusedSent >= 1 && c.regionS.stats.skewRefusals >= 1, 'the region refused and counted');
  assert.ok(c.edgeS.stats.refusedReceived >= 1, 'the edge heard the refusal');
  assert.equal(w.region.rep('kv').vector.get('edge:d1:1'), 0, 'nothing of the page applied');
  await w.time.advance(17_000); // now the stamps are within 5 s of the region's clock
  assert.equal(w.region.rep('kv').vector.get('edge:d1:1'), 10);
  assertConverged(w);
  c.edgeS.close();
});

test('clock skew per namespace: a page is checked against its own namespace\'s bound only', async () => {
  // kv allows 5 s, ctr 500 ms (issue 15, chaos seed 31: an edge took the tightest bound for every page).
  const w = world({ maxSkewMs: 5_000, maxSkewMsOf: { kv: 5_000, ev: 5_000, ctr: 500 } });
  w.edge.skewMs = 1_000; // inside kv's bound, outside ctr's
  writeMany(w.edge, 5, new SeededRandom(SEED), 'kv');
  writeMany(w.edge, 5, new SeededRandom(SEED), 'ctr');
  w.edge.skewMs = 0;
  const c = connect(w, { refusedRetryMs: 1_000, peerSilenceMs: 60_000, ackDeadlineMs: 60_000 });
  await settle();
  await settle();
  assert.equal(w.region.rep('kv').vector.get('edge:d1:1'), 5, 'the 5 s namespace took the records 1 s ahead');
  assert.equal(w.region.rep('ctr').vector.get('edge:d1:1'), 0, 'the 500 ms namespace refused them');
  assert.ok(c.regionS.stats.skewRefusals >= 1);
  await w.time.advance(2_000); // now within 500 ms
  assert.equal(w.region.rep('ctr').vector.get('edge:d1:1'), 5);
  c.edgeS.close();
});

test('a silent peer ends the session with a deadline; heartbeats keep an idle one up', async () => {
  const w = world();
  const c = connect(w, { heartbeatMs: 1_000, peerSilenceMs: 3_000 });
  await c.edgeS.whenCaughtUp();
  await w.time.advance(10_000);
  assert.equal(c.edgeS.outcome, undefined, 'idle but heartbeating: still up');
  assert.ok(c.link.ab.messages > 8);
  c.link.tapBa = () => []; // the region goes silent (a black-holed link)
  await w.time.advance(5_000);
  const o = await c.edgeEnd;
  assert.equal(o.reason, 'deadline');
  assert.match(o.message, /sent nothing for \d+ ms/);
});

test('garbage bytes: malformed, the session ends on both sides, nothing thrown', async () => {
  const w = world();
  writeMany(w.edge, 5, new SeededRandom(SEED), 'kv');
  const c = connect(w);
  await c.edgeS.whenCaughtUp();
  const rng = new SeededRandom(SEED);
  c.link.tapAb = () => [Uint8Array.from({ length: 40 }, () => rng.int(0, 256))];
  w.edge.write('kv', { kind: 'lww', key: utf8('x'), value: utf8('y') });
  const r = await c.regionEnd;
  assert.equal(r.reason, 'protocol-error');
  assert.equal(r.code, 'malformed');
  const e = await c.edgeEnd;
  assert.ok(e.reason === 'peer-error' || e.reason === 'peer-closed', e.reason);
});

/** A hand-driven peer: the test writes raw messages to a session. */
function rawPeer(w: World, role: 'acceptor' | 'initiator' = 'acceptor'): { link: MemoryLink; s: SyncSession; end: Promise<SyncOutcome>; got: SyncMessage[]; send(m: SyncMessage): void } {
  const link = memoryLink();
  const s = new SyncSession({ role, replica: w.region, channel: link.b, clock: w.region.sessionClock(), timers: w.time, codecs: [], sessionId: 'raw' });
  const got: SyncMessage[] = [];
  void (async () => {
    for await (const m of link.a.incoming) got.push(decodeSyncMessage(m));
  })().catch(() => undefined);
  return { link, s, end: s.run(), got, send: (m) => void link.a.send(encodeSyncMessage(m)) };
}

function helloFrom(replicaId: string, extra: Partial<Extract<SyncMessage, { kind: 'hello' }>> = {}): SyncMessage {
  return {
    kind: 'hello', protocolVersion: SYNC_PROTOCOL_VERSION, replicaId, deviceId: '', incarnation: 1,
    vectors: [{ namespace: 'kv', vector: [] }], hlc: { wallMs: 0, logical: 0 }, physicalMs: 0, acceptEncodings: ['identity'], window: 4,
    sessionId: 'raw', registryRevision: 0, aheadOfYou: [], resync: [], ...extra,
  };
}

test('an unknown protocol version is refused with unsupported-version (no retry)', async () => {
  const w = world();
  const p = rawPeer(w);
  p.send(helloFrom('edge:x:1', { protocolVersion: 99 }));
  const o = await p.end;
  assert.equal(o.reason, 'protocol-error');
  assert.equal(o.code, 'unsupported-version');
  assert.equal(o.retry, false);
  await settle();
  const err = p.got.find((m) => m.kind === 'error');
  assert.ok(err !== undefined && err.kind === 'error' && err.fatal && /version 99/.test(err.message));
});

test('a peer sending a seq gap gets RESEND_FROM; a forged-size page gets page-too-large', async () => {
  const w = world();
  const p = rawPeer(w);
  p.send(helloFrom('edge:x:1'));
  await settle();
  const rec = (seq: number) => ({ kind: 'lww' as const, origin: 'edge:x:1', seq, hlc: { wall: w.time.nowMs(), logical: seq }, key: utf8(`k${seq}`), value: utf8('v') });
  const gapPage = encodeDeltaPage('lww', { ranges: [{ origin: 'edge:x:1', from: 5, to: 6 }], records: [rec(5), rec(6)] });
  p.send({ kind: 'delta', pageId: 1, namespace: 'kv', encoding: 'identity', page: gapPage, viewIndex: 0, caughtUp: false, hlc: { wallMs: 0, logical: 0 }, physicalMs: 0 });
  await settle();
  await settle();
  const resend = p.got.find((m) => m.kind === 'resend-from');
  assert.deepEqual(resend, { kind: 'resend-from', pageId: 1, namespace: 'kv', origin: 'edge:x:1', seq: 1 });
  assert.equal(w.region.rep('kv').vector.get('edge:x:1'), 0, 'nothing of the gap page applied');
  // A page that decompresses past the limit (identity: it is just that big).
  p.send({ kind: 'delta', pageId: 2, namespace: 'kv', encoding: 'identity', page: new Uint8Array(SYNC_PAGE_BYTES_MAX + 1), viewIndex: 0, caughtUp: false, hlc: { wallMs: 0, logical: 0 }, physicalMs: 0 });
  const o = await p.end;
  assert.equal(o.code, 'page-too-large');
});

test('a message over SYNC_MESSAGE_BYTES_MAX ends the session with page-too-large', async () => {
  const w = world();
  const p = rawPeer(w);
  p.send(helloFrom('edge:x:1'));
  await settle();
  void p.link.a.send(new Uint8Array(SYNC_MESSAGE_BYTES_MAX + 1));
  const o = await p.end;
  assert.equal(o.code, 'page-too-large');
});

test('a DELTA before HELLO, a second HELLO and an ACK of a page never sent are malformed', async () => {
  for (const bad of [
    [{ kind: 'heartbeat', hlc: { wallMs: 0, logical: 0 }, physicalMs: 0 }],
    [helloFrom('edge:x:1'), helloFrom('edge:x:1')],
    [helloFrom('edge:x:1'), { kind: 'ack', pageId: 77, namespace: 'kv', vector: [] }],
  ] as SyncMessage[][]) {
    const w = world();
    const p = rawPeer(w);
    for (const m of bad) p.send(m);
    const o = await p.end;
    assert.equal(o.code, 'malformed', JSON.stringify(bad.map((m) => m.kind)));
  }
});

test('an edge whose data directory lost writes is told to take a new incarnation', async () => {
  const w = world();
  writeMany(w.edge, 10, new SeededRandom(SEED), 'kv');
  const c1 = connect(w);
  await c1.edgeS.whenCaughtUp();
  c1.edgeS.close();
  // Restore an old copy: the edge now holds fewer of its own writes than the region.
  const restored = new MemoryReplica({ replicaId: 'edge:d1:1', namespaces: NAMESPACES, time: w.time, deviceId: 'd1', incarnation: 1 });
  writeMany(restored, 4, new SeededRandom(SEED), 'kv');
  const c2 = connect({ ...w, edge: restored });
  const o = await c2.edgeEnd;
  assert.equal(o.reason, 'new-incarnation');
  assert.deepEqual(o.aheadOfYou, [{ origin: 'edge:d1:1', seq: 10 }]);
  assert.equal(o.retry, false);
  const r = await c2.regionEnd;
  assert.equal(r.code, 'incarnation');
  assert.equal(w.region.rep('kv').vector.get('edge:d1:1'), 10, 'nothing of the restored copy uploaded');
});

test('admission: a refusal (not-leader with the leader URL) ends the session with the detail; resync sends a namespace in full', async () => {
  const w = world();
  w.region.admission = { refuse: { code: 'not-leader', message: 'this member is not the leader', detail: 'http://127.0.0.1:2379' } };
  const c = connect(w);
  const o = await c.edgeEnd;
  assert.equal(o.reason, 'peer-error');
  assert.equal(o.code, 'not-leader');
  assert.equal(o.detail, 'http://127.0.0.1:2379');

  const w2 = world();
  writeMany(w2.region, 20, new SeededRandom(SEED), 'kv');
  const live = w2.region.rep('kv').liveRecords().length;
  const c1 = connect(w2);
  await c1.edgeS.whenCaughtUp();
  c1.edgeS.close();
  w2.region.admission = { resync: ['kv'] };
  const c2 = connect(w2);
  assert.equal(await c2.edgeS.whenCaughtUp(), true);
  assert.deepEqual(w2.edge.resets, ['kv']);
  assert.equal(c2.regionS.stats.opsSent, live, 'the resynced namespace is sent in full');
  assertConverged(w2);
  c2.edgeS.close();
});

/** Advances manual time in small steps until `s` is caught up both ways (true) or `ms` passed. */
async function caughtUpWithin(s: SyncSession, time: ManualTime, ms: number): Promise<boolean> {
  const state: { done?: boolean } = {};
  void s.whenCaughtUp().then((ok) => (state.done = ok));
  for (let t = 0; t <= ms; t += 500) {
    if (state.done !== undefined) break;
    await time.advance(500);
  }
  return state.done === true;
}

test('randomized: writes, cuts and reconnects on both sides converge without full replays', async () => {
  const seeds = Number(process.env.SEEDS ?? 10);
  for (let seed = SEED; seed < SEED + seeds; seed++) {
    const rng = new SeededRandom(seed);
    const w = world();
    let totalOps = 0;
    let sentOps = 0;
    for (let round = 0; round < 4; round++) {
      writeMany(w.edge, rng.int(0, 30), rng);
      writeMany(w.region, rng.int(0, 30), rng);
      const c = connect(w, { pageBudgetBytes: rng.int(200, 4000), window: rng.int(1, 6) });
      // Swap neighbouring DELTAs now and then, both ways: gaps, RESEND_FROMs and duplicates.
      const swapper = (): ((m: Uint8Array) => Uint8Array[]) => {
        let held: Uint8Array | undefined;
        return (m) => {
          // A held DELTA goes right after the next message (a heartbeat at the latest).
          if (held !== undefined) {
            const out = [m, held];
            held = undefined;
            return out;
          }
          if (decodeSyncMessage(m).kind !== 'delta') return [m];
          if (rng.chance(0.2)) {
            held = m;
            return [];
          }
          return [m];
        };
      };
      c.link.tapAb = swapper();
      c.link.tapBa = swapper();
      await settle();
      writeMany(w.edge, rng.int(0, 10), rng);
      if (rng.chance(0.5)) {
        c.link.cut(new Error('cut'));
        await c.edgeEnd;
      } else {
        const caught = await caughtUpWithin(c.edgeS, w.time, 60_000);
        assert.equal(caught, true, `seed=${seed}: caught up (${c.edgeS.outcome?.message ?? 'no outcome'})`);
        await settle();
        c.edgeS.close();
      }
      sentOps += c.edgeS.stats.opsSent + c.regionS.stats.opsSent;
    }
    const c = connect(w);
    const caught = await caughtUpWithin(c.edgeS, w.time, 60_000);
    assert.equal(caught, true, `seed=${seed}: ${c.edgeS.outcome?.message ?? 'not caught up'}`);
    await settle();
    sentOps += c.edgeS.stats.opsSent + c.regionS.stats.opsSent;
    for (const ns of NAMESPACES) totalOps += w.edge.rep(ns.name).vector.get('edge:d1:1') + w.region.rep(ns.name).vector.get('region:t');
    try {
      assertConverged(w);
    } catch (e) {
      console.log(`# failed: replay with SEED=${seed} SEEDS=1`);
      throw e;
    }
    // Every record crosses once per cut at most: far from a replay per reconnect.
    assert.ok(sentOps <= totalOps * 2, `seed=${seed}: ${sentOps} ops sent for ${totalOps} written`);
    c.edgeS.close();
  }
});

test('stats count both ways and lag() reads the acknowledged vectors', async () => {
  const w = world();
  writeMany(w.edge, 50, new SeededRandom(SEED), 'ev');
  w.region.hold = true;
  const c = connect(w);
  await settle();
  const lag = await c.edgeS.lag();
  assert.equal(lag.ops, 50, 'nothing acknowledged yet');
  w.region.release();
  await c.edgeS.whenCaughtUp();
  assert.equal((await c.edgeS.lag()).ops, 0);
  assert.equal(c.edgeS.stats.bytesSent, c.link.ab.bytes);
  assert.equal(c.regionS.stats.bytesReceived, c.link.ab.bytes);
  assert.equal(c.regionS.stats.bytesSent, c.link.ba.bytes);
  assert.equal(c.regionS.stats.pagesReceived, c.edgeS.stats.pagesSent);
  assert.ok(c.edgeS.stats.pageBytesSent > 0 && c.edgeS.stats.pageBytesSent === c.regionS.stats.pageBytesReceived);
  void VersionVector;
  c.edgeS.close();
});

test('relay: a write on edge A reaches edge B through the region while both are connected', async () => {
  const w = world();
  const b = new MemoryReplica({ replicaId: 'edge:d2:1', namespaces: NAMESPACES, time: w.time, deviceId: 'd2', incarnation: 1 });
  const ca = connect(w);
  const cb = connect({ ...w, edge: b });
  await ca.edgeS.whenCaughtUp();
  await cb.edgeS.whenCaughtUp();
  w.edge.write('kv', { kind: 'lww', key: utf8('from-a'), value: utf8('1') });
  b.write('kv', { kind: 'lww', key: utf8('from-b'), value: utf8('2') });
  for (let i = 0; i < 5; i++) await settle();
  for (const r of [w.edge, w.region, b]) {
    assert.deepEqual(r.rep('kv').vector.toJSON(), { 'edge:d1:1': 1, 'edge:d2:1': 1 }, r.replicaId);
  }
  // A's record went A → region → B once, and nothing came back to A.
  assert.equal(ca.regionS.stats.opsSent, 1);
  assert.equal(cb.regionS.stats.opsSent, 1);
  ca.edgeS.close();
  cb.edgeS.close();
});

test('deadlines: a peer that heartbeats but never answers a DELTA; a local apply that never finishes', async () => {
  const w = world();
  writeMany(w.edge, 5, new SeededRandom(SEED), 'ev');
  w.region.hold = true; // the region's applies never finish: it neither ACKs nor goes silent
  const c = connect(w, { heartbeatMs: 1_000, peerSilenceMs: 3_000, ackDeadlineMs: 8_000 });
  await w.time.advance(7_000);
  assert.equal(c.edgeS.outcome, undefined, 'heartbeats keep it up before the deadline');
  await w.time.advance(3_000);
  const [e, r] = await Promise.all([c.edgeEnd, c.regionEnd]);
  assert.equal(e.reason === 'deadline' || r.reason === 'deadline', true, `${e.reason} ${r.reason}`);
  const msgs = [e.message, r.message].join(' | ');
  assert.match(msgs, /not answered a DELTA sent \d+ ms ago|applying page \d+ on this replica took more than/);
});

test('skew is measured per message, both signs, and inside the bound the HLC is merged', async () => {
  const w = world();
  w.edge.skewMs = 1_500; // the edge's clock is 1.5 s ahead, inside the default 60 s bound
  const c = connect(w);
  await c.edgeS.whenCaughtUp();
  assert.equal(c.regionS.stats.skewMs, 1_500);
  assert.equal(c.edgeS.stats.skewMs, -1_500);
  assert.equal(c.regionS.stats.skewRefusals, 0);
  assert.ok(w.region.clock.current.wall >= w.time.nowMs() + 1_500, 'the region merged the edge HLC');
  c.edgeS.close();
});

test('channelFromCallbacks carries a session over a callback stream (server/api EdgeSyncStream shape)', async () => {
  const { channelFromCallbacks } = await import('./stream-adapter.js');
  const w = world();
  writeMany(w.edge, 20, new SeededRandom(SEED), 'ev');
  const link = memoryLink();
  // The acceptor's end as push callbacks over link.b.
  const handlers: { msg?: (b: Uint8Array) => void; close?: (r: string) => void } = {};
  void (async () => {
    for await (const m of link.b.incoming) handlers.msg?.(m);
    handlers.close?.('ended');
  })();
  const channel = channelFromCallbacks({
    send: (bytes) => void link.b.send(bytes).catch(() => undefined),
    end: () => link.b.close(),
    onMessage: (fn) => (handlers.msg = fn),
    onClose: (fn) => (handlers.close = fn),
  });
  const regionS = new SyncSession({ role: 'acceptor', replica: w.region, channel, clock: w.region.sessionClock(), timers: w.time, codecs: [], sessionId: 'cb' });
  const edgeS = new SyncSession({ role: 'initiator', replica: w.edge, channel: link.a, clock: w.edge.sessionClock(), timers: w.time, codecs: [], sessionId: 'cb' });
  const ends = [regionS.run(), edgeS.run()];
  assert.equal(await edgeS.whenCaughtUp(), true);
  assertConverged(w);
  edgeS.close();
  assert.equal((await ends[0]!).reason, 'peer-closed');
});

test('abort: the peer gets the fatal SyncError with its detail; lagOps refreshes on its own', async () => {
  const w = world();
  writeMany(w.edge, 30, new SeededRandom(SEED), 'ev');
  w.region.hold = true;
  const c = connect(w, { heartbeatMs: 1_000 });
  await w.time.advance(2_000);
  assert.equal(c.edgeS.stats.lagOps, 30, 'refreshed by the tick, nobody called lag()');
  w.region.release();
  await settle();
  c.regionS.abort('not-leader', 'leadership moved', 'http://127.0.0.1:2379');
  const e = await c.edgeEnd;
  assert.deepEqual([e.reason, e.code, e.detail], ['peer-error', 'not-leader', 'http://127.0.0.1:2379']);
  assert.equal((await c.regionEnd).code, 'not-leader');
});
