// The dashboard page on the metrics port (issue 17), against real processes: a 3-member
// region with two `regionstore edge` processes and eventual namespaces written through the
// edges and the region. /dashboard.json is read from a follower (a member learns its peers'
// figures by asking them, so any member shows the whole region), then the page is rendered
// in Debian's headless Chromium (--dump-dom for the rows, --screenshot for a person) and
// its rows are checked: 3 members, 2 edges, every namespace, no key or value anywhere.
// Also the metrics port's listeners (issue 16): --listen-metrics-urls with several URLs,
// beside --metrics-addr, and loopback only unless a URL says otherwise.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rawCrdt, type RawCrdt } from '../server/api/testing/raw-crdt.js';
import { pickFreePorts } from '../cluster/ports.js';
import { eventually, run, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { b, CRDT_NAMESPACES, createCrdtNamespaces } from './helpers/crdt-cluster.js';
import { startEdge, type EdgeProcess } from './helpers/edge.js';

/** Where Debian's headless Chromium lands; the page test's browser part runs only where it is. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-headless-shell', '/usr/lib/chromium/chromium-headless-shell'].find((p) => existsSync(p));
if (CHROMIUM === undefined) {
  console.error('\n!!! SKIPPING the dashboard rendering: Chromium is not installed (apt-get install chromium; .ci/run installs it) !!!\n');
}
/** Chromium's flags as chaos/report runs it, plus no network beyond what the page asks. */
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-extensions', '--no-first-run', '--hide-scrollbars'];
/** Virtual time for the page's first fetches and render (it polls every 2 s). */
const VIRTUAL_TIME_MS = 6_000;
/** A cold Chromium start on a busy 2-core machine. */
const CHROMIUM_TIMEOUT_MS = 120_000;
/** Where the screenshot is kept (RS_TEST_OUTPUT overrides; .tmp/ is not committed). */
const OUTPUT_DIR = resolve(process.env.RS_TEST_OUTPUT ?? join(import.meta.dirname, '..', '.tmp', 'test-output'), 'dashboard');
/** Written through an edge; must never appear on the page or in its data. */
const SECRET = 'dashboard-must-not-show-this-value';

type Json = Record<string, any>;

async function getJson(url: string): Promise<Json> {
  const r = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  assert.equal(r.status, 200, `${url} answered ${r.status}`);
  return (await r.json()) as Json;
}

describe('the dashboard of a region with two edges', () => {
  let cluster: TestCluster;
  let dir: string;
  const edges: EdgeProcess[] = [];
  const clients: RawCrdt[] = [];
  let edgeMetricsPort = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rs-dashboard-'));
    cluster = await startTestCluster();
    await createCrdtNamespaces(cluster);
    edgeMetricsPort = (await pickFreePorts(1))[0]!;
    for (const name of ['edge-a', 'edge-b']) {
      // edge-a also serves its metrics on [::1] (--listen-metrics-urls beside --metrics-addr).
      const more = name === 'edge-a' ? ['--listen-metrics-urls', `http://[::1]:${edgeMetricsPort}`] : [];
      edges.push(await startEdge(cluster.serveCommand, { name, dataDir: join(dir, name), region: cluster.hostPorts, extraArgs: ['--log-level', 'warn', ...more] }));
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const e of edges) await e.kill();
    await cluster?.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('a follower shows every member, both edges and the namespaces, and the page renders them', { timeout: 300_000 }, async () => {
    const [a, bEdge] = edges.map((e) => rawCrdt(e.endpoint));
    const region = rawCrdt(cluster.hostPorts[0]!);
    clients.push(a!, bEdge!, region);
    await eventually('both edges in session', async () => {
      const st = await Promise.all(edges.map((e) => e.status()));
      return st.every((s) => s.connected === true && (s.sync?.sessions ?? 0) > 0) ? true : undefined;
    }, 60_000, 250);
    await a!.call('Write', { ops: [{ lwwPut: { key: b('cfg/secret'), value: b(SECRET) } }] });
    await a!.call('Write', { ops: [{ mvPut: { key: b('docs/x'), value: b('from-a') } }] });
    await bEdge!.call('Write', { ops: [{ mvPut: { key: b('docs/x'), value: b('from-b') } }] });
    await bEdge!.call('Write', { ops: [{ counterAdd: { key: b('counters/hits'), delta: '3' } }] });
    // A strong key through etcd's JSON gateway: the default namespace counts it, no page shows its value.
    const put = await fetch(`${cluster.nodes[0]!.clientUrl}/v3/kv/put`, {
      method: 'POST', body: JSON.stringify({ key: b('plain/k').toString('base64'), value: b(SECRET).toString('base64') }),
    });
    assert.equal(put.status, 200, await put.text());
    await region.call('Write', { namespace: 'ev', ops: [{ eventAppend: { device: 'd1', seq: '1', type: 'reading', payload: b('p'), schemaVersion: 1 } }] });

    const leader = await cluster.leader();
    const follower = cluster.nodes.find((n) => n.name !== leader)!;
    console.log(`  reading the dashboard of follower ${follower.name} (leader ${leader})`);
    const data = await eventually('the follower sees 3 healthy members and 2 connected edges with their writes synced', async () => {
      const d = await getJson(`${follower.metricsUrl}/dashboard.json`);
      const ok = d.members.length === 3 && d.members.every((m: Json) => m.healthy && m.term > 0 && m.appliedIndex > 0)
        && d.edges.length === 2 && d.edges.every((e: Json) => e.connected && e.bytesIn > 0)
        && d.namespaces.find((n: Json) => n.name === 'cfg')?.keys === 1 && d.namespaces.find((n: Json) => n.name === 'default')?.keys === 1;
      return ok ? d : undefined;
    }, 60_000, 500);
    assert.equal(data.self.name, follower.name);
    assert.equal(data.self.role, 'follower');
    assert.deepEqual(data.members.map((m: Json) => m.role).sort(), ['follower', 'follower', 'leader']);
    assert.equal(data.members.find((m: Json) => m.role === 'leader').name, leader);
    assert.deepEqual(data.members.filter((m: Json) => m.self).map((m: Json) => m.name), [follower.name]);
    assert.deepEqual(data.edges.map((e: Json) => e.device).sort(), ['edge-a', 'edge-b']);
    const ns = new Map<string, Json>(data.namespaces.map((n: Json) => [n.name, n]));
    for (const [type, { name }] of Object.entries(CRDT_NAMESPACES)) {
      assert.equal(ns.get(name)?.level, 'eventual', name);
      assert.equal(ns.get(name)?.crdtType, type, name);
    }
    assert.equal(ns.get('default')?.level, 'strong');
    assert.equal(ns.get('ev')?.completeness, 1);
    assert.equal(typeof ns.get('docs')?.unresolvedConflicts, 'number');
    assert.ok(data.leaderChanges.length >= 1, 'the follower saw the first leader arrive');
    assert.deepEqual(data.alerts, [], 'no alert condition holds in a healthy region');
    assert.ok(!JSON.stringify(data).includes(SECRET), 'dashboard.json shows no values');

    // An edge's metrics port: its own figures and the page, but no region view.
    const edgeMetrics = `http://[::1]:${edgeMetricsPort}`;
    assert.equal((await getJson(`${edgeMetrics}/status.json`)).name, 'edge-a');
    assert.equal((await fetch(`${edgeMetrics}/dashboard.json`)).status, 404);

    if (CHROMIUM === undefined) return;
    const url = `${follower.metricsUrl}/`;
    const dom = await run(CHROMIUM, [...CHROMIUM_FLAGS, `--virtual-time-budget=${VIRTUAL_TIME_MS}`, '--dump-dom', url], undefined, CHROMIUM_TIMEOUT_MS);
    assert.match(dom.stdout, /<\/html>/, `chromium printed no page (exit ${dom.code}): ${dom.stderr.slice(-2000)}`);
    mkdirSync(OUTPUT_DIR, { recursive: true });
    writeFileSync(join(OUTPUT_DIR, 'dashboard.html'), dom.stdout);
    const rows = (kind: string): number => dom.stdout.split(`class="${kind}-row"`).length - 1;
    assert.equal(rows('member'), 3, 'member rows');
    assert.equal(rows('edge'), 2, 'edge rows');
    assert.equal(rows('namespace'), data.namespaces.length, 'namespace rows');
    assert.ok(rows('leader') >= 1, 'leader change rows');
    assert.match(dom.stdout, /no active alerts/);
    for (const name of ['edge-a', 'edge-b', ...cluster.nodes.map((n) => n.name), ...Object.values(CRDT_NAMESPACES).map((n) => n.name)]) {
      assert.ok(dom.stdout.includes(`>${name}`), `the page names ${name}`);
    }
    assert.ok(!dom.stdout.includes(SECRET), 'the page shows no values');

    const png = join(OUTPUT_DIR, 'dashboard.png');
    rmSync(png, { force: true });
    const shot = await run(CHROMIUM, [...CHROMIUM_FLAGS, `--virtual-time-budget=${VIRTUAL_TIME_MS}`, '--window-size=1400,1300', `--screenshot=${png}`, url], undefined, CHROMIUM_TIMEOUT_MS);
    assert.ok(existsSync(png) && statSync(png).size > 10_000, `no screenshot (exit ${shot.code}): ${shot.stderr.slice(-2000)}`);
    console.log(`  dashboard screenshot: ${png}`);
  });

  test('a stopped member and a stopped edge show up as an alert and an offline edge', { timeout: 300_000 }, async () => {
    const leader = await cluster.leader();
    const [viewer, stopped] = cluster.nodes.filter((n) => n.name !== leader);
    await cluster.kill(stopped!.name);
    await edges[1]!.kill();
    const data = await eventually(`${viewer!.name} alerts on ${stopped!.name} and sees edge-b offline`, async () => {
      const d = await getJson(`${viewer!.metricsUrl}/dashboard.json`);
      const down = d.alerts.find((a: Json) => a.name === 'MemberDown');
      const edgeB = d.edges.find((e: Json) => e.device === 'edge-b');
      return down !== undefined && edgeB?.connected === false ? d : undefined;
    }, 60_000, 500);
    const row = data.members.find((m: Json) => m.name === stopped!.name);
    assert.equal(row.role, 'unknown');
    assert.equal(row.healthy, false);
    assert.match(row.reason, /unreachable/);
    assert.deepEqual(data.alerts.map((a: Json) => a.name), ['MemberDown'], JSON.stringify(data.alerts));
    assert.match(data.alerts[0].summary, new RegExp(stopped!.name));
    assert.equal(data.edges.find((e: Json) => e.device === 'edge-a').connected, true);

    if (CHROMIUM === undefined) return;
    const url = `${viewer!.metricsUrl}/`;
    const dom = await run(CHROMIUM, [...CHROMIUM_FLAGS, `--virtual-time-budget=${VIRTUAL_TIME_MS}`, '--dump-dom', url], undefined, CHROMIUM_TIMEOUT_MS);
    assert.match(dom.stdout, /<\/html>/, `chromium printed no page (exit ${dom.code}): ${dom.stderr.slice(-2000)}`);
    assert.equal(dom.stdout.split('class="critical alert-row"').length - 1, 1, 'one alert row');
    assert.match(dom.stdout, /MemberDown/);
    assert.match(dom.stdout, />offline</);
    const png = join(OUTPUT_DIR, 'dashboard-member-down.png');
    rmSync(png, { force: true });
    await run(CHROMIUM, [...CHROMIUM_FLAGS, `--virtual-time-budget=${VIRTUAL_TIME_MS}`, '--window-size=1400,1300', `--screenshot=${png}`, url], undefined, CHROMIUM_TIMEOUT_MS);
    if (existsSync(png)) console.log(`  dashboard screenshot with an alert: ${png}`);
  });
});

describe('the metrics port listeners', () => {
  let cluster: TestCluster | undefined;
  after(async () => {
    await cluster?.cleanup();
  });

  test('--listen-metrics-urls serves on every URL beside --metrics-addr, and --metrics-addr binds loopback only', { timeout: 120_000 }, async () => {
    const [p1, p2] = await pickFreePorts(2);
    cluster = await startTestCluster({ nodes: 1, extraArgs: ['--listen-metrics-urls', `http://127.0.0.1:${p1},http://[::1]:${p2}`] });
    const node = cluster.nodes[0]!;
    for (const base of [node.metricsUrl, `http://127.0.0.1:${p1}`, `http://[::1]:${p2}`]) {
      assert.equal((await getJson(`${base}/health`)).health, 'true', base);
      const d = await getJson(`${base}/dashboard.json`);
      assert.equal(d.members.length, 1, base);
      const page = await fetch(`${base}/`);
      assert.match(await page.text(), /regionstore/, base);
    }
    // --metrics-addr 127.0.0.1:P binds that address, not every interface: [::1]:P is refused.
    const port = new URL(node.metricsUrl).port;
    await assert.rejects(fetch(`http://[::1]:${port}/health`, { signal: AbortSignal.timeout(5_000) }), `[::1]:${port} must not answer`);
  });
});
