// Operations (issue 17) against real processes: a 3-member region started with the Kubernetes
// ConfigMap's namespaces as --namespaces-file (created once, untouched by a restart), an edge
// of group "site-a" whose sync shows in the members' /metrics by direction and group (bytes,
// ops, lag; lag toward it once it is gone), mv siblings in regionstore_unresolved_conflicts, and
// every metric the alert rules and the Grafana dashboard read exported by a member or an edge.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from '../client/index.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { startEdge, type EdgeProcess } from './helpers/edge.js';
import { edgeConnected } from './helpers/edge-region.js';
import { alertRules, dashboardQueries, k8sDocuments } from './helpers/deploy-files.js';
import { PROMETHEUS_MADE, exportedMetricNames, promqlMetricNames } from './helpers/metric-names.js';

const GROUP = 'site-a';
const GROUP_LABEL = `edge-group:${GROUP}`;
const SYNC_TIMEOUT_MS = 60_000;

let cluster: TestCluster;
let dir: string;
let region: Client;
let edge: EdgeProcess | undefined;
let local: Client | undefined;
/** The edge's /metrics while it was connected (for the names check). */
let edgeText = '';

/** The samples of `name` in a /metrics text, with their labels. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name} `) || line.startsWith(`${name}{`))) continue;
    const labels: Record<string, string> = {};
    for (const m of line.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] as string] = m[2] as string;
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}
const valueOf = (text: string, name: string, labels: Record<string, string>): number | undefined =>
  samples(text, name).find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}
async function scrapeMembers(): Promise<string[]> {
  return Promise.all(cluster.nodes.filter((n) => n.running).map((n) => scrape(n.metricsUrl)));
}
/** The sum over every running member of one labelled series (0 where absent). */
async function memberSum(name: string, labels: Record<string, string>): Promise<number> {
  return (await scrapeMembers()).reduce((sum, t) => sum + (valueOf(t, name, labels) ?? 0), 0);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-observe-'));
  const cm = k8sDocuments().find((d) => d.doc.kind === 'ConfigMap' && d.doc.metadata.name === 'regionstore-namespaces');
  assert.ok(cm !== undefined, 'deploy/k8s has the namespaces ConfigMap');
  const file = join(dir, 'namespaces.json');
  writeFileSync(file, cm.doc.data['namespaces.json'] as string);
  cluster = await startTestCluster({ extraArgs: ['--namespaces-file', file] });
  region = new Client({ endpoints: cluster.hostPorts, timeoutMs: 30_000 });
});

after(async () => {
  local?.close();
  region?.close();
  await edge?.kill();
  await cluster?.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

test('--namespaces-file: the ConfigMap\'s namespaces are created at start, and a restart of the leader changes nothing', async () => {
  const want = { config: ['strong', 'none'], carts: ['eventual', 'mv'], telemetry: ['eventual', 'events'] };
  const declared = async (): Promise<string | undefined> => {
    const list = await region.namespaces.list().catch(() => []);
    const got = Object.fromEntries(list.map((n) => [n.name, [n.level, n.crdtType]]));
    return Object.entries(want).every(([name, lt]) => JSON.stringify(got[name]) === JSON.stringify(lt)) ? JSON.stringify(got) : undefined;
  };
  const first = await eventually('the declared namespaces exist', declared, 30_000, 200);
  const leader = await cluster.leader();
  assert.ok(leader !== undefined);
  await cluster.restart(leader);
  await cluster.waitHealthy(30_000);
  // The new leader (or the same one) finds every declared namespace and proposes nothing.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(await eventually('the namespaces after the restart', declared, 30_000, 200), first, 'the same registry after a restart');
});

test('an edge of group site-a: bytes, ops and lag by direction and group on the members, its own lag on the edge', async () => {
  edge = await startEdge(cluster.serveCommand, {
    name: 'truck-1', dataDir: join(dir, 'edge'), region: cluster.hostPorts, namespaces: ['carts'], extraArgs: ['--group', GROUP, '--log-level', 'warn'],
  });
  local = new Client({ endpoints: [edge.endpoint], timeoutMs: 30_000 });
  await edgeConnected(edge, true);
  await local.crdt.mvPut('carts/ann', 'from the edge');
  await eventually('the edge\'s write on the region', async () => ((await region.crdt.mvGet('carts/ann').catch(() => undefined))?.values.length === 1 ? true : undefined), SYNC_TIMEOUT_MS, 200);
  const up = { source: GROUP_LABEL, target: 'region' };
  const down = { source: 'region', target: GROUP_LABEL };
  await eventually('sync bytes and ops both ways, by group', async () => {
    const [bytesUp, bytesDown, opsUp] = await Promise.all([
      memberSum('regionstore_sync_bytes_total', up), memberSum('regionstore_sync_bytes_total', down), memberSum('regionstore_sync_ops_total', up),
    ]);
    return bytesUp > 0 && bytesDown > 0 && opsUp >= 1 ? true : undefined;
  }, SYNC_TIMEOUT_MS, 250);
  const texts = await scrapeMembers();
  assert.ok(texts.some((t) => valueOf(t, 'regionstore_sync_lag_seconds', down) !== undefined), 'the leader reports lag region → edge-group:site-a');
  assert.ok(texts.every((t) => samples(t, 'regionstore_sync_bytes_total').every((s) => !JSON.stringify(s.labels).includes('truck-1'))), 'no device in any label');
  edgeText = await eventually('the edge reports its lag toward the region', async () => {
    const t = await scrape(edge!.metricsUrl);
    return valueOf(t, 'regionstore_sync_lag_seconds', up) !== undefined ? t : undefined;
  }, SYNC_TIMEOUT_MS, 250);
  console.log(`  region→${GROUP_LABEL}: ${await memberSum('regionstore_sync_bytes_total', down)} B, ${GROUP_LABEL}→region: ${await memberSum('regionstore_sync_bytes_total', up)} B`);

  // Gone, with a change it lacks: every member reports the lag toward its group from the known-edge table.
  local.close();
  local = undefined;
  await edge.kill();
  await region.crdt.mvPut('carts/bob', 'from the region');
  const lags = await eventually('every member reports lag toward the gone edge\'s group', async () => {
    const t = await scrapeMembers();
    const v = t.map((x) => valueOf(x, 'regionstore_sync_lag_seconds', down) ?? 0);
    return v.length === 3 && v.every((s) => s > 0) ? v : undefined;
  }, SYNC_TIMEOUT_MS, 250);
  console.log(`  lag toward the gone edge's group on each member: ${lags.map((s) => s.toFixed(1)).join(', ')} s`);
});

test('mv siblings show in regionstore_unresolved_conflicts{namespace} on every member', async () => {
  await region.crdt.mvPut('carts/cy', 'one');
  await region.crdt.mvPut('carts/cy', 'two'); // no context: a sibling, not a replacement
  const seen = await eventually('the conflict counted on every member', async () => {
    const v = (await scrapeMembers()).map((t) => valueOf(t, 'regionstore_unresolved_conflicts', { namespace: 'carts' }) ?? 0);
    return v.length === 3 && v.every((x) => x >= 1) ? v : undefined;
  }, SYNC_TIMEOUT_MS, 250);
  assert.deepEqual(seen.map(() => true), [true, true, true]);
});

test('every metric the alert rules and the Grafana dashboard read is exported by a member or an edge', async () => {
  assert.ok(edgeText !== '', 'the edge was scraped in the sync test');
  const exported = new Set([...exportedMetricNames((await scrapeMembers())[0]!), ...exportedMetricNames(edgeText)]);
  const missing: string[] = [];
  const uses = [
    ...alertRules().map((r) => ({ where: `rule ${r.alert}`, expr: r.expr })),
    ...dashboardQueries().map((q) => ({ where: `dashboard panel "${q.panel}"`, expr: q.expr })),
  ];
  let names = 0;
  for (const u of uses) {
    for (const name of promqlMetricNames(u.expr)) {
      names++;
      if (!PROMETHEUS_MADE.has(name) && !exported.has(name)) missing.push(`${u.where}: ${name}`);
    }
  }
  assert.deepEqual(missing, [], `metrics no process exports:\n${missing.join('\n')}`);
  console.log(`  ${uses.length} expressions, ${names} metric references, all exported`);
});
