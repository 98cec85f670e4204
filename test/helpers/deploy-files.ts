// The shipped deployment files (docker/prometheus, docker/grafana, deploy/k8s) as data, for
// the tests that check them against the code.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const RULES_FILE = join(ROOT, 'docker/prometheus/rules.yaml');
export const RULES_TEST_FILE = join(ROOT, 'docker/prometheus/rules.test.yaml');
export const DASHBOARD_FILE = join(ROOT, 'docker/grafana/regionstore.json');
export const K8S_DIR = join(ROOT, 'deploy/k8s');

export interface AlertRule {
  group: string;
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function alertRules(text = readFileSync(RULES_FILE, 'utf8')): AlertRule[] {
  const doc = parse(text) as { groups: Array<{ name: string; rules: Array<Omit<AlertRule, 'group'>> }> };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r, labels: r.labels ?? {}, annotations: r.annotations ?? {} })));
}

export interface DashboardQuery {
  panel: string;
  expr: string;
}

interface Panel {
  title?: string;
  type?: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string }>;
}

/** Every PromQL expression of the dashboard's panels (rows' nested panels included) and of its variables. */
export function dashboardQueries(dash: unknown = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'))): DashboardQuery[] {
  const d = dash as { panels: Panel[]; templating?: { list?: Array<{ name: string; definition?: string }> } };
  const out: DashboardQuery[] = [];
  const walk = (ps: Panel[]): void => {
    for (const p of ps) {
      for (const t of p.targets ?? []) if (t.expr !== undefined) out.push({ panel: p.title ?? '?', expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  // A query variable's label_values(metric{...}, label): the metric is what it reads.
  for (const v of d.templating?.list ?? []) {
    const m = /label_values\(\s*([A-Za-z_:][\w:]*)/.exec(v.definition ?? '');
    if (m !== null) out.push({ panel: `variable ${v.name}`, expr: m[1] as string });
  }
  return out;
}

/** Every document of every YAML file under deploy/k8s (kustomization.yaml excluded), with its file. */
export function k8sDocuments(dir = K8S_DIR): Array<{ file: string; doc: Record<string, any> }> {
  const out: Array<{ file: string; doc: Record<string, any> }> = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, name.name);
      if (name.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name.name) && name.name !== 'kustomization.yaml') {
        for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
          if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
          const js = doc.toJS() as Record<string, any> | null;
          if (js !== null) out.push({ file: path.slice(ROOT.length), doc: js });
        }
      }
    }
  };
  walk(dir);
  return out;
}
