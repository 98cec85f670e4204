// Writes deploy/k8s/prometheus-rules.yaml from docker/prometheus/rules.yaml: the same rules as
// a PrometheusRule (Prometheus Operator) and as a ConfigMap (a Prometheus that mounts its
// rule files). Kustomize cannot read files outside deploy/k8s, so the copy is generated and
// test/k8s-manifests.test.ts fails when it differs from the source.
//   npx tsx scripts/k8s-rules.ts            write it
//   npx tsx scripts/k8s-rules.ts --check    exit 1 when it is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

const ROOT = new URL('..', import.meta.url).pathname;
export const RULES_SOURCE = join(ROOT, 'docker/prometheus/rules.yaml');
export const RULES_K8S = join(ROOT, 'deploy/k8s/prometheus-rules.yaml');
const LABELS = { 'app.kubernetes.io/name': 'regionstore' };

export function k8sRulesText(rules = readFileSync(RULES_SOURCE, 'utf8')): string {
  const groups = (parse(rules) as { groups: unknown[] }).groups;
  const header = '# Generated from docker/prometheus/rules.yaml by `npx tsx scripts/k8s-rules.ts`: edit that file, not this one.\n';
  const operator = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', metadata: { name: 'regionstore', labels: LABELS }, spec: { groups } };
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'regionstore-prometheus-rules', labels: LABELS }, data: { 'regionstore-rules.yaml': rules } };
  return `${header}${stringify(operator, { lineWidth: 0 })}---\n${stringify(configMap, { lineWidth: 0 })}`;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  const want = k8sRulesText();
  if (process.argv.includes('--check')) {
    const have = readFileSync(RULES_K8S, 'utf8');
    if (have !== want) {
      console.error(`${RULES_K8S} is stale: run npx tsx scripts/k8s-rules.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(RULES_K8S, want);
    console.log(`wrote ${RULES_K8S}`);
  }
}
