// Edge faults on real processes (issue 14): kill -9 of an edge mid-upload and mid-download,
// kill -9 of the region leader mid-session, a restart of every region member, an edge's
// clock skewed inside and outside the namespace's bound. Each time: nothing acknowledged
// is lost (counts printed: acknowledged vs present), no full replay
// (regionstore_sync_full_replays_total stays 0). Each case has its own namespace and edge;
// every edge reaches the region through TCP proxies the test cuts and heals.
//
// Long (a minute or more each on a shared 2-core machine): run with `npm run test:edge-long`
// (RS_EDGE_LONG=1); the default suite skips them.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ProxySet } from '../chaos/proxy/index.js';
import { Client } from '../client/index.js';
import { SeededRandom } from '../server/util/random.js';
import { eventually, sleep, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { startEdge, type EdgeProcess } from './helpers/edge.js';
import { appendEvents, edgeConnected, eventsHeld, heldOnEveryMember, regionMetric } from './helpers/edge-region.js';

const LONG = process.env.RS_EDGE_LONG === '1';
/** Events an edge writes offline before the kill cases (enough that the kill lands mid-transfer). */
const EVENTS = Number(process.env.RS_EDGE_FAULT_EVENTS ?? 5_000);
/** How often a transfer's progress is polled, to kill mid-way. */
const PROGRESS_POLL_MS = 20;
const CONVERGE_MS = 180_000;
/** The skew case's bound, and the edge clock offsets inside and outside it. */
const SKEW_BOUND_MS = 5_000;
const SKEW_INSIDE_MS = 1_500;
const SKEW_OUTSIDE_MS = 120_000;
/** How long an edge beyond the bound is watched not to get its writes in. */
const SKEW_WATCH_MS = 8_000;

let cluster: TestCluster;
let dir: string;
let region: Client;
const edges: EdgeProcess[] = [];
const links: ProxySet[] = [];
const clients: Client[] = [];

async function newEdge(name: string, ns: string, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ edge: EdgeProcess; link: ProxySet; local: Client }> {
  await region.namespaces.get(ns).catch(() => region.namespaces.create({ name: ns, prefix: `${ns}/`, level: 'eventual', crdtType: 'events' }));
  const link = await ProxySet.start(cluster.hostPorts.map((hp) => ({ host: '127.0.0.1', port: Number(hp.split(':')[1]) })), new SeededRandom(edges.length + 1), name);
  links.push(link);
  const edge = await startEdge(cluster.serveCommand, { name, dataDir: join(dir, name), region: link.addresses, namespaces: [ns], extraArgs: ['--log-level', 'warn', ...extraArgs], env });
  edges.push(edge);
  const local = new Client({ endpoints: [edge.endpoint], timeoutMs: 30_000 });
  clients.push(local);
  return { edge, link, local };
}

/** Polls `held` until it is strictly between 0 and `total`, then runs `fault`; says whether it landed mid-way. */
async function midway(what: string, held: () => Promise<number>, total: number, fault: () => Promise<void>): Promise<boolean> {
  const deadline = Date.now() + CONVERGE_MS;
  for (;;) {
    const n = await held().catch(() => 0);
    if (n > 0 && n < total) {
      console.log(`  ${what}: fault with ${n} of ${total} across`);
      await fault();
      return true;
    }
    if (n >= total || Date.now() > deadline) {
      console.log(`  ${what}: the transfer finished before the fault could land (${n} of ${total}); fault anyway`);
      await fault();
      return false;
    }
    await sleep(PROGRESS_POLL_MS);
  }
}

async function regionHoldsEverywhere(ns: string, total: number): Promise<number[]> {
  return eventually(`every member holds ${total} events of ${ns}`, async () => {
    const held = await heldOnEveryMember(cluster, ns).catch(() => undefined);
    return held?.every((n) => n >= total) === true ? held : undefined;
  }, CONVERGE_MS, 250);
}

async function noFullReplay(): Promise<void> {
  assert.equal(await regionMetric(cluster, 'regionstore_sync_full_replays_total'), 0, 'regionstore_sync_full_replays_total stays 0');
}

describe('edge faults', { skip: LONG ? false : 'long: run with npm run test:edge-long (RS_EDGE_LONG=1)' }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rs-edge-faults-'));
    cluster = await startTestCluster({ timings: 'etcd' });
    region = new Client({ endpoints: cluster.hostPorts, timeoutMs: 30_000 });
  });
  after(async () => {
    for (const c of clients) c.close();
    region?.close();
    for (const e of edges) await e.kill().catch(() => undefined);
    for (const l of links) await l.close();
    await cluster?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kill -9 of an edge mid-upload: every event it acknowledged reaches the region', async () => {
    const ns = 'up';
    const { edge, link, local } = await newEdge('kill-up', ns);
    await edgeConnected(edge, true);
    link.cut();
    await edgeConnected(edge, false);
    await appendEvents(local, ns, 0, EVENTS); // every append acknowledged = durable on the edge
    link.heal();
    await midway('edge kill -9 mid-upload', () => eventsHeld(region, ns), EVENTS, () => edge.kill('SIGKILL'));
    await edge.restart();
    const held = await regionHoldsEverywhere(ns, EVENTS);
    const onEdge = await eventsHeld(local, ns);
    console.log(`  acknowledged by the edge ${EVENTS}; present on the members ${held.join('/')}; on the edge after restart ${onEdge}`);
    assert.equal(onEdge, EVENTS);
    assert.deepEqual(held, held.map(() => EVENTS));
    await noFullReplay();
  });

  test('kill -9 of an edge mid-download: it resumes and holds everything the region acknowledged', async () => {
    const ns = 'down';
    const { edge, link, local } = await newEdge('kill-down', ns);
    await edgeConnected(edge, true);
    link.cut();
    await edgeConnected(edge, false);
    await appendEvents(region, ns, 0, EVENTS); // acknowledged by the region
    const start = link.bytes();
    link.heal();
    await midway('edge kill -9 mid-download', () => eventsHeld(local, ns), EVENTS, () => edge.kill('SIGKILL'));
    await edge.restart();
    await eventually(`the edge holds ${EVENTS} events`, async () => ((await eventsHeld(local, ns).catch(() => 0)) >= EVENTS ? true : undefined), CONVERGE_MS, 250);
    const bytes = link.bytes();
    const down = bytes.down - start.down;
    console.log(`  acknowledged by the region ${EVENTS}; present on the edge ${await eventsHeld(local, ns)}; ${down} B down in all (${(down / EVENTS).toFixed(1)} B/event, the kill's lost page included)`);
    assert.equal(await eventsHeld(local, ns), EVENTS);
    await noFullReplay();
  });

  test('kill -9 of the region leader mid-session: nothing the edge acknowledged is lost', async () => {
    const ns = 'leader';
    const { edge, link, local } = await newEdge('kill-leader', ns);
    await edgeConnected(edge, true);
    link.cut();
    await edgeConnected(edge, false);
    await appendEvents(local, ns, 0, EVENTS);
    link.heal();
    const leader = await eventually('a leader', async () => cluster.leader());
    await midway(`kill -9 of leader ${leader} mid-upload`, () => eventsHeld(region, ns), EVENTS, () => cluster.kill(leader));
    await eventually('the edge reconnects to the new leader', async () => {
      const s = await edge.status();
      return s.connected === true ? true : undefined;
    }, CONVERGE_MS, 250);
    await cluster.restart(leader);
    const held = await regionHoldsEverywhere(ns, EVENTS);
    console.log(`  acknowledged by the edge ${EVENTS}; present on the members ${held.join('/')}`);
    assert.deepEqual(held, held.map(() => EVENTS));
    assert.equal(await eventsHeld(local, ns), EVENTS);
    await noFullReplay();
  });

  test('restart of every region member: the edge resumes from its vectors, nothing lost, no full replay', async () => {
    const ns = 'restart';
    const { edge, local } = await newEdge('restart-all', ns);
    await edgeConnected(edge, true);
    const first = 1_000;
    await appendEvents(local, ns, 0, first);
    await regionHoldsEverywhere(ns, first);
    // Down at once, up at once (a lone member never sees a leader); the edge writes meanwhile.
    await Promise.all(cluster.nodes.map((n) => cluster.stopNode(n.name)));
    await edgeConnected(edge, false);
    await appendEvents(local, ns, first, 2 * first);
    await Promise.all(cluster.nodes.map((n) => cluster.restart(n.name)));
    const held = await regionHoldsEverywhere(ns, 2 * first);
    console.log(`  acknowledged by the edge ${2 * first}; present on the members ${held.join('/')}`);
    assert.deepEqual(held, held.map(() => 2 * first));
    await edgeConnected(edge, true);
    await noFullReplay();
  });

  test('clock skew: an edge inside the bound syncs; one beyond it is refused, counted, and keeps its writes', async () => {
    const ns = 'skew';
    await region.namespaces.create({ name: ns, prefix: `${ns}/`, level: 'eventual', crdtType: 'events', maxClockSkewMs: SKEW_BOUND_MS });
    const inside = await newEdge('skew-in', ns, ['--unsafe-clock-offset-ms', String(SKEW_INSIDE_MS)], { REGIONSTORE_UNSAFE: '1' });
    await edgeConnected(inside.edge, true);
    await appendEvents(inside.local, ns, 0, 100);
    await regionHoldsEverywhere(ns, 100);
    console.log(`  offset +${SKEW_INSIDE_MS} ms (bound ${SKEW_BOUND_MS}): 100 events synced; edge status sync ${JSON.stringify((await inside.edge.status()).sync)}`);

    const failuresBefore = await regionMetric(cluster, 'regionstore_sync_failures_total', 'clock-skew');
    const outside = await newEdge('skew-out', ns, ['--unsafe-clock-offset-ms', String(SKEW_OUTSIDE_MS)], { REGIONSTORE_UNSAFE: '1' });
    await appendEvents(outside.local, ns, 100, 200);
    await sleep(SKEW_WATCH_MS);
    const held = await heldOnEveryMember(cluster, ns);
    const failures = await regionMetric(cluster, 'regionstore_sync_failures_total', 'clock-skew');
    const status = await outside.edge.status();
    console.log(`  offset +${SKEW_OUTSIDE_MS} ms: members hold ${held.join('/')}; clock-skew failures ${failuresBefore} → ${failures}; edge status ${JSON.stringify({ connected: status.connected, lastError: status.lastError, sync: status.sync })}`);
    assert.deepEqual(held, held.map(() => 100), 'nothing of the skewed edge applied');
    assert.ok(failures > failuresBefore, 'the refusal is counted (regionstore_sync_failures_total{reason="clock-skew"})');
    const own = Object.entries((await outside.local.crdt.read(ns, { device: '', limit: 1 }, { serializable: true })).vector)
      .filter(([origin]) => origin.startsWith('edge:skew-out:')).map(([, seq]) => seq);
    assert.deepEqual(own, [100], 'the skewed edge keeps its own writes');
    for (const n of cluster.nodes) assert.ok(n.running, `${n.name} still runs`);
  });
});
