// The region's side of edge sessions (issue 14) on a real 3-member region: a session client
// driven from the test over grpc-js (SyncMessage bytes; the edge process comes later):
// download, upload ACKed once applied, resume without replay, not-leader from a follower,
// forged origin refused, a gap answered with resend-from, clock skew refused, a leader
// change mid-session with no ACKed write lost, the stable vector after every known replica
// acked, the tombstone_ttl resync, and the known-edge list.

import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Client as GrpcClient, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { encodeDeltaPage, decodeDeltaPage } from '../proto/crdt-codec.js';
import type { CrdtRecord, LwwRecord } from '../server/crdt/index.js';
import {
  decodeSyncMessage, encodeSyncMessage, vectorToWire, type DeltaMsg, type HelloMsg, type SyncMsg,
} from './helpers/sync-wire.js';
import { Client } from '../client/index.js';
import { rawCrdt, type RawCrdt } from '../server/api/testing/raw-crdt.js';
import { eventually, sleep, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { rsctl } from '../client/rsctl/testing/run.js';

const NS = 'cfg';
const TTL_NS = 'brief';
const b = (s: string): Buffer => Buffer.from(s);
const id = (x: Buffer): Buffer => x;

let cluster: TestCluster;
let client: Client;
let crdt: RawCrdt[];

before(async () => {
  cluster = await startTestCluster();
  client = new Client({ endpoints: cluster.hostPorts, timeoutMs: 15_000 });
  await client.namespaces.create({ name: NS, prefix: 'cfg/', level: 'eventual', crdtType: 'lww' });
  await client.namespaces.create({ name: TTL_NS, prefix: 'brief/', level: 'eventual', crdtType: 'lww', tombstoneTtlS: 1 });
  crdt = cluster.hostPorts.map((ep) => rawCrdt(ep));
});
after(async () => {
  for (const c of crdt ?? []) c.close();
  client?.close();
  await cluster?.cleanup();
});

/** A test-side edge session: raw SyncMessages over EdgeSync.Sync. */
class Peer {
  readonly got: SyncMsg[] = [];
  private readonly waiters: Array<() => void> = [];
  readonly call: ClientDuplexStream<Buffer, Buffer>;
  private readonly grpc: GrpcClient;
  ended = false;
  constructor(readonly endpoint: string) {
    this.grpc = new GrpcClient(endpoint, credentials.createInsecure());
    this.call = this.grpc.makeBidiStreamRequest('/regionstore.v1.EdgeSync/Sync', id, id);
    this.call.on('data', (buf: Buffer) => {
      this.got.push(decodeSyncMessage(buf));
      for (const w of this.waiters.splice(0)) w();
    });
    const end = (): void => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w();
    };
    this.call.on('end', end);
    this.call.on('error', end);
  }
  send(m: SyncMsg): void {
    this.call.write(Buffer.from(encodeSyncMessage(m)));
  }
  hello(replicaId: string, vectors: Record<string, Record<string, number>>, window = 8): void {
    const [, device, inc] = replicaId.split(':');
    const h: HelloMsg = {
      protocolVersion: 1, replicaId, deviceId: device!, incarnation: Number(inc), hlc: { wallMs: Date.now(), logical: 0 }, physicalMs: Date.now(),
      vectors: Object.entries(vectors).map(([namespace, v]) => ({ namespace, vector: vectorToWire(v) })),
      acceptEncodings: ['deflate', 'identity'], window, sessionId: `test-${Math.random()}`, registryRevision: 0, aheadOfYou: [], resync: [],
    };
    this.send({ hello: h });
  }
  /** Waits for the first message after index `from` that `pick` accepts. */
  async next<T>(pick: (m: SyncMsg) => T | undefined, from = 0, timeoutMs = 15_000): Promise<{ value: T; at: number }> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.got.length; i++) {
        const v = pick(this.got[i]!);
        if (v !== undefined) return { value: v, at: i };
      }
      if (this.ended) throw new Error(`stream ended before the message; got ${JSON.stringify(this.got.map((m) => Object.keys(m)[0]))}`);
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(this.got.map((m) => Object.keys(m)[0]))}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(200)]);
    }
  }
  /** ACKs every DELTA and collects records until the namespace's catch-up is done. */
  async catchUp(ns: string, from = 0): Promise<{ records: CrdtRecord[]; deltas: DeltaMsg[]; at: number }> {
    const records: CrdtRecord[] = [];
    const deltas: DeltaMsg[] = [];
    let at = from;
    for (;;) {
      const d = await this.next((m) => ('delta' in m && m.delta.namespace === ns ? m.delta : undefined), at);
      at = d.at + 1;
      deltas.push(d.value);
      const page = decodeDeltaPage(inflate(d.value)).page;
      records.push(...page.records);
      this.send({ ack: { pageId: d.value.pageId, namespace: ns, vector: [] } });
      if (d.value.caughtUp) return { records, deltas, at };
    }
  }
  close(): void {
    this.call.end();
    this.grpc.close();
  }
}

function inflate(d: DeltaMsg): Uint8Array {
  return d.encoding === 'deflate' ? inflateSync(d.page) : d.page;
}

function lww(origin: string, seq: number, key: string, value: string, wallMs = Date.now()): LwwRecord {
  return { kind: 'lww', key: b(key), value: b(value), origin, seq, hlc: { wall: wallMs, logical: 0 } };
}

function deltaOf(pageId: number, ns: string, origin: string, from: number, to: number, records: CrdtRecord[]): SyncMsg {
  const page = encodeDeltaPage('lww', { ranges: [{ origin, from, to }], records });
  return { delta: { pageId, namespace: ns, encoding: 'identity', page, viewIndex: 0, caughtUp: false, hlc: { wallMs: Date.now(), logical: 0 }, physicalMs: Date.now() } };
}

/** Opens a session on the leader: any member first; a follower's not-leader names the leader. */
async function openOnLeader(replicaId: string, vectors: Record<string, Record<string, number>>): Promise<{ peer: Peer; hello: HelloMsg; redirected: boolean }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    for (const ep of cluster.hostPorts) {
      const peer = new Peer(ep);
      peer.hello(replicaId, vectors);
      const first = await peer.next((m) => ('hello' in m ? m : 'error' in m ? m : undefined)).catch(() => undefined);
      if (first !== undefined && 'hello' in first.value) return { peer, hello: first.value.hello, redirected: false };
      peer.close();
      if (first !== undefined && 'error' in first.value && first.value.error.code === 'not-leader' && first.value.error.detail !== '') {
        const leader = new Peer(first.value.error.detail.replace(/^https?:\/\//, ''));
        leader.hello(replicaId, vectors);
        const h = await leader.next((m) => ('hello' in m ? m : 'error' in m ? m : undefined)).catch(() => undefined);
        if (h !== undefined && 'hello' in h.value) return { peer: leader, hello: h.value.hello, redirected: true };
        leader.close();
      }
    }
    await sleep(300);
  }
  throw new Error('no member hosted the session');
}

async function regionWrite(key: string, value: string): Promise<void> {
  await crdt[0]!.call('Write', { namespace: NS, ops: [{ lwwPut: { key: b(key), value: b(value) } }] });
}

async function readEverywhere(key: string): Promise<Array<string | undefined>> {
  return Promise.all(crdt.map(async (c) => {
    const r = await c.call('Read', { namespace: NS, key: b(key), serializable: true });
    const e = r.entries[0];
    return e === undefined ? undefined : Buffer.from(e.lww.value).toString();
  }));
}

const EDGE = 'edge:dev1:1';

describe('edge sessions on the region', () => {
  let regionOrigin = '';
  let held: Record<string, number> = {};

  test('not-leader from a follower names the leader; download of the region\'s writes', async () => {
    for (let i = 1; i <= 3; i++) await regionWrite(`cfg/r${i}`, `v${i}`);
    // A follower answers not-leader (fatal) with the leader's client URL.
    let sawNotLeader = false;
    for (const ep of cluster.hostPorts) {
      const p = new Peer(ep);
      p.hello(EDGE, { [NS]: {} });
      const m = await p.next((x) => ('hello' in x ? x : 'error' in x ? x : undefined));
      p.close();
      if ('error' in m.value) {
        assert.equal(m.value.error.code, 'not-leader');
        assert.equal(m.value.error.fatal, true);
        assert.match(m.value.error.detail, /^http:\/\/127\.0\.0\.1:\d+$/);
        sawNotLeader = true;
      }
    }
    assert.ok(sawNotLeader, 'two of three members are followers');
    const { peer, hello } = await openOnLeader(EDGE, { [NS]: {} });
    regionOrigin = hello.replicaId;
    assert.match(regionOrigin, /^region:/);
    const { records } = await peer.catchUp(NS);
    assert.deepEqual(records.map((r) => Buffer.from((r as LwwRecord).key).toString()).sort(), ['cfg/r1', 'cfg/r2', 'cfg/r3']);
    held = { [regionOrigin]: Math.max(...records.map((r) => r.seq)) };
    peer.close();
  });

  test('upload ACKed once applied (on every member); forged origin, gap and skew refused', async () => {
    const { peer } = await openOnLeader(EDGE, { [NS]: held });
    await peer.catchUp(NS);
    peer.send(deltaOf(1, NS, EDGE, 1, 3, [lww(EDGE, 1, 'cfg/e1', 'a'), lww(EDGE, 2, 'cfg/e2', 'b'), lww(EDGE, 3, 'cfg/e3', 'c')]));
    const ack = await peer.next((m) => ('ack' in m && m.ack.pageId === 1 ? m.ack : undefined));
    assert.deepEqual(ack.value.vector, [{ origin: EDGE, seq: 3 }]);
    await eventually('the upload on every member', async () => ((await readEverywhere('cfg/e3')).every((v) => v === 'c') ? true : undefined));

    peer.send(deltaOf(2, NS, 'edge:other:1', 1, 1, [lww('edge:other:1', 1, 'cfg/forged', 'x')]));
    const forged = await peer.next((m) => ('error' in m && m.error.pageId === 2 ? m.error : undefined));
    assert.equal(forged.value.code, 'forged-origin');
    assert.equal(forged.value.fatal, false);
    console.log(`  forged-origin: ${forged.value.message}`);

    peer.send(deltaOf(3, NS, EDGE, 10, 10, [lww(EDGE, 10, 'cfg/gap', 'x')]));
    const resend = await peer.next((m) => ('resendFrom' in m ? m.resendFrom : undefined));
    assert.deepEqual({ origin: resend.value.origin, seq: resend.value.seq }, { origin: EDGE, seq: 4 });

    peer.send(deltaOf(4, NS, EDGE, 4, 4, [lww(EDGE, 4, 'cfg/skewed', 'x', Date.now() + 3_600_000)]));
    const skew = await peer.next((m) => ('error' in m && m.error.pageId === 4 ? m.error : undefined));
    assert.equal(skew.value.code, 'clock-skew');
    console.log(`  clock-skew: ${skew.value.message}`);
    assert.deepEqual(await readEverywhere('cfg/forged'), [undefined, undefined, undefined]);
    assert.deepEqual(await readEverywhere('cfg/skewed'), [undefined, undefined, undefined]);
    held[EDGE] = 3;
    peer.close();
  });

  test('resume from vectors: no replay, then live pushes', async () => {
    await regionWrite('cfg/r4', 'v4');
    const { peer } = await openOnLeader(EDGE, { [NS]: held });
    const { records, at } = await peer.catchUp(NS);
    // Only what it lacks: r4 (its own uploads are not sent back).
    assert.deepEqual(records.map((r) => `${r.origin === regionOrigin ? 'region' : r.origin}:${Buffer.from((r as LwwRecord).key).toString()}`), ['region:cfg/r4']);
    held[regionOrigin] = records[0]!.seq;
    await regionWrite('cfg/r5', 'v5');
    const live = await peer.next((m) => ('delta' in m ? m.delta : undefined), at);
    const page = decodeDeltaPage(inflate(live.value)).page;
    assert.deepEqual(page.records.map((r) => Buffer.from((r as LwwRecord).key).toString()), ['cfg/r5']);
    peer.send({ ack: { pageId: live.value.pageId, namespace: NS, vector: vectorToWire({ ...held, [regionOrigin]: page.records[0]!.seq }) } });
    held[regionOrigin] = page.records[0]!.seq;
    peer.close();
  });

  test('leader change mid-session: every ACKed upload is kept', async () => {
    const { peer } = await openOnLeader(EDGE, { [NS]: held });
    await peer.catchUp(NS);
    let seq = held[EDGE]!;
    const acked: number[] = [];
    // Pages go on until the session ends (the hand-over).
    const sender = (async () => {
      for (let p = 10; p < 200 && !peer.ended; p++) {
        seq++;
        peer.send(deltaOf(p, NS, EDGE, seq, seq, [lww(EDGE, seq, `cfg/lc${seq}`, `v${seq}`)]));
        const r = await peer.next((m) => ('ack' in m && m.ack.pageId === p ? m : 'error' in m ? m : undefined)).catch(() => undefined);
        if (r === undefined || !('ack' in r.value)) break;
        acked.push(seq);
      }
    })();
    await sleep(500);
    const status = await Promise.all(cluster.hostPorts.map(async (ep) => {
      const c = new Client({ endpoints: [ep], timeoutMs: 5_000 });
      try {
        return await c.maintenance.status();
      } finally {
        c.close();
      }
    }));
    const leader = status.find((s) => s.isLeader)!;
    const other = status.find((s) => !s.isLeader)!;
    const c = new Client({ endpoints: cluster.hostPorts, timeoutMs: 10_000 });
    // Retried: a transfer can time out on a loaded machine (the session goes on meanwhile).
    for (let i = 0; i < 5 && !peer.ended; i++) {
      const moved = await c.maintenance.moveLeader(other.memberId).then(() => true, (e: unknown) => (console.log(`  moveLeader: ${String(e)}`), false));
      if (moved) break;
      await sleep(500);
    }
    c.close();
    await sender;
    const notLeader = await peer.next((m) => ('error' in m && m.error.code === 'not-leader' ? m.error : undefined)).catch(() => undefined);
    console.log(`  acked before the hand-over: ${acked.length}; not-leader: ${notLeader?.value.detail ?? '(stream ended)'}; old leader ${leader.memberId}`);
    assert.ok(acked.length > 0, 'some pages were ACKed before the hand-over');
    assert.ok(notLeader !== undefined, `the deposed leader ended the session with not-leader; got ${JSON.stringify(peer.got.filter((m) => 'error' in m))}`);
    assert.equal(notLeader.value.fatal, true);
    peer.close();
    const last = acked[acked.length - 1]!;
    await eventually('every ACKed upload on every member', async () => {
      const v = await Promise.all(crdt.map((x) => x.call('Hash', { namespace: NS })));
      return v.every((h) => Number(h.vector.find((e: { origin: string }) => e.origin === EDGE)?.seq ?? 0) >= last) ? true : undefined;
    });
    for (const s of [acked[0]!, last]) assert.deepEqual(await readEverywhere(`cfg/lc${s}`), [`v${s}`, `v${s}`, `v${s}`]);
    // Resume on the new leader: the edge holds everything it sent (the region may hold pages it
    // applied without ACKing them: not more than the edge has, so no new incarnation).
    held[EDGE] = seq;
    const again = await openOnLeader(EDGE, { [NS]: held });
    await again.peer.catchUp(NS);
    // As an edge does: what was not ACKed goes again (a page the region applied anyway is a duplicate).
    if (seq > last) {
      const recs = [];
      for (let s = last + 1; s <= seq; s++) recs.push(lww(EDGE, s, `cfg/lc${s}`, `v${s}`));
      again.peer.send(deltaOf(1, NS, EDGE, last + 1, seq, recs));
      const r = await again.peer.next((m) => ('ack' in m ? m.ack : 'error' in m || 'resendFrom' in m ? m : undefined));
      assert.ok('vector' in r.value, `the resent pages ACKed: ${JSON.stringify(r.value)}`);
    }
    again.peer.close();
  });

  test('the known-edge list and the stable vector once every known replica acked', async () => {
    const { peer } = await openOnLeader(EDGE, { [NS]: held });
    const { records, at } = await peer.catchUp(NS);
    assert.equal(records.length, 0, 'nothing new: no replay');
    // An lww loser of the edge's origin, kept (superseded) until causally stable.
    const seq = held[EDGE]! + 1;
    peer.send(deltaOf(500, NS, EDGE, seq, seq, [lww(EDGE, seq, 'cfg/gc', 'edge', Date.now() - 1000)]));
    await peer.next((m) => ('ack' in m && m.ack.pageId === 500 ? m : undefined));
    held[EDGE] = seq;
    await regionWrite('cfg/gc', 'region');
    const superseded = async (): Promise<number[]> => Promise.all(crdt.map(async (c) => Number((await c.call('Superseded', { namespace: NS, serializable: true })).total)));
    await eventually('the loser superseded on every member', async () => ((await superseded()).every((n) => n === 1) ? true : undefined));
    const live = await peer.next((m) => ('delta' in m ? m.delta : undefined), at);
    const hashes = await crdt[0]!.call('Hash', { namespace: NS });
    const regionVector = Object.fromEntries(hashes.vector.map((e: { origin: string; seq: string }) => [e.origin, Number(e.seq)]));
    // The edge, the only known replica of the namespace, acknowledges everything: stable.
    peer.send({ ack: { pageId: live.value.pageId, namespace: NS, vector: vectorToWire(regionVector) } });
    await eventually('GC dropped the stable loser on every member', async () => ((await superseded()).every((n) => n === 0) ? true : undefined), 15_000);
    await sleep(1_500); // the known-edge entry is rate-limited to one a second
    peer.close();
    const list = await eventually('the edge listed with its acked vector', async () => {
      const l = await listEdges(cluster.hostPorts[0]!);
      const e = l.edges.find((x) => x.replicaId === EDGE);
      const v = e?.acked.find((a) => a.namespace === NS)?.vector ?? [];
      return v.some((x) => x.origin === regionOrigin && Number(x.seq) >= regionVector[regionOrigin]) ? l : undefined;
    });
    const e = list.edges.find((x) => x.replicaId === EDGE)!;
    console.log(`  edge list: ${JSON.stringify(e)}`);
    assert.equal(e.deviceId, 'dev1');
    assert.ok(Number(e.bytesIn) > 0 && Number(e.bytesOut) > 0);
    const stable = list.stable.find((s) => s.namespace === NS)!.vector;
    assert.equal(Number(stable.find((x) => x.origin === regionOrigin)?.seq), regionVector[regionOrigin], 'stable up to what every replica acked');

    // rsctl edge list against the region, every output format.
    const eps = ['--endpoints', cluster.hostPorts.join(',')];
    const json = await rsctl([...eps, 'edge', 'list', '-w', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { edges: Array<{ replica_id: string; acked: Record<string, Record<string, number>> }>; stable: Record<string, Record<string, number>> };
    const mine = parsed.edges.find((x) => x.replica_id === EDGE)!;
    assert.ok(mine.acked[NS]![regionOrigin]! >= regionVector[regionOrigin]!);
    assert.equal(parsed.stable[NS]![regionOrigin], regionVector[regionOrigin]);
    const table = await rsctl([...eps, 'edge', 'list', '-w', 'table']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /REPLICA .*STATE .*LAG OPS/);
    const simple = await rsctl([...eps, 'edge', 'list']);
    assert.match(simple.stdout, new RegExp(`^${EDGE}, (connected|last seen)`, 'm'));
    console.log(`  rsctl edge list -w table:\n${table.stdout}`);

    // The sync metrics of the members (the leader hosted the sessions).
    const scraped = await Promise.all(cluster.nodes.map(async (n) => (await fetch(`${n.metricsUrl}/metrics`)).text()));
    const all = scraped.join('\n');
    // Labelled by direction, source → target; a peer that names no group is in the default one.
    for (const name of [
      'regionstore_sync_bytes_total{source="edge-group:default",target="region"}', 'regionstore_sync_ops_total{source="region",target="edge-group:default"}',
      'regionstore_sync_failures_total{source="edge-group:default",target="region",reason="forged-origin"}', 'regionstore_sync_edges_connected',
      'regionstore_edge_clock_skew_seconds', 'regionstore_sync_full_replays_total',
    ]) {
      assert.ok(all.includes(name), `${name} exported`);
    }
    const replays = scraped.flatMap((t) => [...t.matchAll(/^regionstore_sync_full_replays_total(?:\{[^}]*\})? (\d+)/gm)].map((m) => Number(m[1]))).reduce((x, y) => x + y, 0);
    assert.equal(replays, 0, 'no full replay');
  });

  test('an edge silent past tombstone_ttl is told to resync', async () => {
    const edge = 'edge:dev2:1';
    const first = await openOnLeader(edge, { [TTL_NS]: {} });
    assert.deepEqual(first.hello.resync, []);
    await first.peer.catchUp(TTL_NS);
    first.peer.close();
    await sleep(1_000);
    await eventually('dev2 known to the region', async () => ((await listEdges(cluster.hostPorts[0]!)).edges.some((x) => x.replicaId === edge) ? true : undefined));
    await sleep(2_500); // past the namespace's tombstone_ttl of 1 s
    const back = await openOnLeader(edge, { [TTL_NS]: {} });
    assert.deepEqual(back.hello.resync, [TTL_NS]);
    back.peer.close();
    const scraped = await Promise.all(cluster.nodes.map(async (n) => (await fetch(`${n.metricsUrl}/metrics`)).text()));
    assert.ok(scraped.some((t) => /^regionstore_sync_resyncs_total\{reason="tombstone_ttl"\} [1-9]/m.test(t)), 'the resync counted');
  });
});

interface EdgeList {
  edges: Array<{ replicaId: string; deviceId: string; bytesIn: string; bytesOut: string; acked: Array<{ namespace: string; vector: Array<{ origin: string; seq: string }> }> }>;
  stable: Array<{ namespace: string; vector: Array<{ origin: string; seq: string }> }>;
}

async function listEdges(ep: string): Promise<EdgeList> {
  const { loadSync } = await import('@grpc/proto-loader');
  const { loadPackageDefinition } = await import('@grpc/grpc-js');
  const { LOADER_OPTIONS } = await import('../server/api/proto.js');
  const def = loadSync('regionstore/v1/edge_admin.proto', { ...LOADER_OPTIONS, includeDirs: [new URL('../proto', import.meta.url).pathname] });
  const Ctor = (loadPackageDefinition(def) as any).regionstore.v1.EdgeAdmin;
  const c = new Ctor(ep, credentials.createInsecure());
  try {
    return await new Promise((res, rej) => c.ListEdges({}, (e: Error | null, r: EdgeList) => (e ? rej(e) : res(r))));
  } finally {
    c.close();
  }
}
