// The shipped alert rules and Grafana dashboard (issue 17), without a cluster: promtool's own
// check and unit tests of docker/prometheus (skipped loudly without promtool), the rules the
// issue names with its thresholds, a unit test for every rule, and the dashboard's shape.
// test/observability.test.ts checks their metric names against a real member's /metrics.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { haveTool, run } from './helpers/cluster.js';
import { DASHBOARD_FILE, RULES_FILE, RULES_TEST_FILE, alertRules, dashboardQueries } from './helpers/deploy-files.js';

const PROMTOOL_TIMEOUT_MS = 120_000;

test('promtool: the rules check and every rule unit test passes', async (t) => {
  if (!haveTool('promtool', 'prometheus')) {
    t.skip('promtool not installed: apt-get install prometheus (docker/prometheus/rules.test.yaml not run)');
    return;
  }
  const check = await run('promtool', ['check', 'rules', RULES_FILE], undefined, PROMTOOL_TIMEOUT_MS);
  assert.equal(check.code, 0, `promtool check rules:\n${check.stdout}${check.stderr}`);
  const unit = await run('promtool', ['test', 'rules', RULES_TEST_FILE], undefined, PROMTOOL_TIMEOUT_MS);
  assert.equal(unit.code, 0, `promtool test rules:\n${unit.stdout}${unit.stderr}`);
  console.log(`  ${check.stdout.trim().split('\n').pop()}; promtool test rules: ${unit.stdout.trim().split('\n').pop()}`);
});

test('the sync rules of the issue, with its thresholds, and the etcd operator rules', () => {
  const rules = new Map(alertRules().map((r) => [r.alert, r]));
  const want = [
    { alert: 'SyncLagHigh', metric: 'regionstore_sync_lag_seconds', threshold: '> 300', for: '2m', severity: 'warning' },
    { alert: 'SyncFailure', metric: 'regionstore_sync_failures_total', threshold: '> 3', window: '[5m]', severity: 'critical' },
    { alert: 'ConflictResolutionBacklog', metric: 'regionstore_unresolved_conflicts', threshold: '> 10', for: '5m', severity: 'warning' },
  ];
  for (const w of want) {
    const r = rules.get(w.alert);
    assert.ok(r !== undefined, `${w.alert} missing`);
    assert.ok(r.expr.includes(w.metric) && r.expr.includes(w.threshold), `${w.alert}: ${r.expr}`);
    if (w.window !== undefined) assert.ok(r.expr.includes(w.window), `${w.alert}: ${r.expr}`);
    assert.equal(r.for, w.for, `${w.alert} for`);
    assert.equal(r.labels.severity, w.severity, `${w.alert} severity`);
  }
  for (const a of ['RegionstoreNoLeader', 'RegionstoreFrequentLeaderChanges', 'RegionstoreHighFsyncDurations', 'RegionstoreHighProposalFailures', 'RegionstoreDatabaseQuotaLowSpace', 'RegionstoreMemberDown']) {
    assert.ok(rules.has(a), `${a} missing`);
  }
  for (const r of rules.values()) {
    assert.ok(['warning', 'critical'].includes(r.labels.severity ?? ''), `${r.alert}: severity warning or critical`);
    assert.ok((r.annotations.summary ?? '') !== '' && (r.annotations.description ?? '') !== '', `${r.alert}: summary and description`);
  }
});

test('every alert rule has a promtool unit test that expects it to fire', () => {
  const tests = parse(readFileSync(RULES_TEST_FILE, 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }> };
  const firing = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname)));
  const quiet = new Set(tests.tests.flatMap((t) => (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length === 0).map((a) => a.alertname)));
  for (const r of alertRules()) {
    assert.ok(firing.has(r.alert), `${r.alert}: no unit test expects it to fire`);
    assert.ok(quiet.has(r.alert), `${r.alert}: no unit test expects it to stay quiet`);
  }
});

test('the Grafana dashboard: region health, Raft, requests and the edge fleet, every panel on a data source', () => {
  const dash = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { uid: string; panels: Array<{ id: number; type: string; title: string; datasource?: unknown; targets?: unknown[] }> };
  assert.equal(dash.uid, 'regionstore');
  const rows = dash.panels.filter((p) => p.type === 'row').map((p) => p.title);
  assert.deepEqual(rows, ['Region health', 'Raft', 'Requests', 'Edge fleet']);
  const ids = dash.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids unique');
  for (const p of dash.panels.filter((x) => x.type !== 'row')) {
    assert.ok(p.datasource !== undefined && (p.targets ?? []).length > 0, `${p.title}: a data source and a query`);
  }
  const exprs = dashboardQueries(dash).map((q) => q.expr).join('\n');
  for (const m of ['regionstore_sync_lag_seconds', 'regionstore_sync_bytes_total', 'regionstore_sync_failures_total', 'regionstore_unresolved_conflicts', 'regionstore_events_completeness_ratio', 'regionstore_raft_has_leader', 'regionstore_grpc_request_duration_seconds_bucket']) {
    assert.ok(exprs.includes(m), `the dashboard shows ${m}`);
  }
});
