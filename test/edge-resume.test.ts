// Resume bytes (issue 14): an edge holds 10k events synced with a 3-member region, is cut
// off, writes 1k more; after the heal those cross with at most 1.2 × their content plus a
// constant (HTTP/2 and gRPC set-up, HELLOs, the registry pull), counted by the TCP proxies
// between the edge and the region, not by time. No full replay on any member.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ProxySet } from '../chaos/proxy/index.js';
import { eventContentBytes } from '../chaos/bench-edge/workload.js';
import { Client } from '../client/index.js';
import { SeededRandom } from '../server/util/random.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { startEdge, type EdgeProcess } from './helpers/edge.js';
import { appendEvents, benchEvent, edgeConnected, eventsHeld, regionMetric } from './helpers/edge-region.js';

const NS = 'ev';
const SYNCED = 10_000;
const RESUMED = 1_000;
/** The bound's factor on the events' content, and its constant (connection set-up, HELLOs, registry pull, heartbeats). */
const RESUME_FACTOR = 1.2;
const RESUME_CONSTANT_BYTES = 16 * 1024;

let cluster: TestCluster;
let dir: string;
let link: ProxySet;
let edge: EdgeProcess;
let region: Client;
let local: Client;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-edge-resume-'));
  cluster = await startTestCluster({ timings: 'etcd' });
  region = new Client({ endpoints: cluster.hostPorts, timeoutMs: 30_000 });
  await region.namespaces.create({ name: NS, prefix: 'ev/', level: 'eventual', crdtType: 'events' });
  link = await ProxySet.start(cluster.hostPorts.map((hp) => ({ host: '127.0.0.1', port: Number(hp.split(':')[1]) })), new SeededRandom(14), 'resume');
  edge = await startEdge(cluster.serveCommand, { name: 'resume', dataDir: join(dir, 'edge'), region: link.addresses, namespaces: [NS], extraArgs: ['--log-level', 'warn'] });
  local = new Client({ endpoints: [edge.endpoint], timeoutMs: 30_000 });
});
after(async () => {
  local?.close();
  region?.close();
  await edge?.kill();
  await link?.close();
  await cluster?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('after 10k synced events and a disconnect, 1k new events cross within 1.2 × their content + a constant', async () => {
  await edgeConnected(edge, true);
  await appendEvents(local, NS, 0, SYNCED);
  await eventually(`the region holds ${SYNCED} events`, async () => ((await eventsHeld(region, NS)) >= SYNCED ? true : undefined), 120_000, 250);
  link.cut();
  await edgeConnected(edge, false);
  await appendEvents(local, NS, SYNCED, SYNCED + RESUMED);
  let content = 0;
  for (let i = SYNCED; i < SYNCED + RESUMED; i++) content += eventContentBytes(benchEvent(i));

  const start = link.bytes();
  link.heal();
  await eventually(`the region holds ${SYNCED + RESUMED} events`, async () => ((await eventsHeld(region, NS)) >= SYNCED + RESUMED ? true : undefined), 60_000, 50);
  const end = link.bytes();
  const up = end.up - start.up;
  const down = end.down - start.down;
  const bound = RESUME_FACTOR * content + RESUME_CONSTANT_BYTES;
  console.log(`  resume of ${RESUMED} events (content ${content} B): ${up} B up + ${down} B down = ${up + down} B ` +
    `(${((up + down) / RESUMED).toFixed(1)} B/event); bound ${Math.round(bound)} B`);
  assert.ok(up + down <= bound, `${up + down} B crossed for ${RESUMED} events of ${content} B content; the bound is ${RESUME_FACTOR} × content + ${RESUME_CONSTANT_BYTES}`);
  assert.equal(await regionMetric(cluster, 'regionstore_sync_full_replays_total'), 0, 'no full replay');
  assert.equal(await eventsHeld(local, NS), SYNCED + RESUMED, 'the edge holds its own events');
});
