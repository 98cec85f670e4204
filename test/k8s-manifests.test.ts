// The Kubernetes manifests of deploy/k8s (issue 17), validated without a cluster: every object
// against the Kubernetes API's schemas (kubernetes-models: ajv validators generated from the
// API's OpenAPI document; the ServiceMonitor and PrometheusRule against the Prometheus
// Operator's CRDs), then against the code: each container's arguments, with the variables
// Kubernetes would substitute, must parse as `regionstore serve` / `regionstore edge` flags;
// peer discovery by the pods' stable names; probes, volumes, the disruption budget and the
// ServiceMonitors must point at things that exist; the namespaces ConfigMap must be a valid
// --namespaces-file; the rules copy must equal docker/prometheus/rules.yaml.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { parseEdgeFlags } from '../server/config/edge-flags.js';
import { parseServeFlags } from '../server/config/serve-flags.js';
import { parseNamespacesFile } from '../server/region/declared-namespaces.js';
import { RULES_K8S, k8sRulesText } from '../scripts/k8s-rules.js';
import { k8sDocuments } from './helpers/deploy-files.js';

type Obj = Record<string, any>;
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Service': Service, 'v1/ConfigMap': ConfigMap, 'apps/v1/StatefulSet': StatefulSet, 'apps/v1/DaemonSet': DaemonSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget, 'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};
/** What Kubernetes would put in for $(VAR) in a pod of namespace "prod" on node "node-a". */
const NAMESPACE = 'prod';

const docs = k8sDocuments();
const all = (kind: string): Obj[] => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const one = (kind: string, name: string): Obj => {
  const found = all(kind).find((o) => o.metadata?.name === name);
  assert.ok(found !== undefined, `${kind} ${name} missing from deploy/k8s`);
  return found;
};
const matches = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The container's args with $(VAR) replaced as the kubelet does, every VAR declared in env. */
function expandedArgs(container: Obj, values: Record<string, string>): string[] {
  const env = new Map<string, Obj>((container.env ?? []).map((e: Obj) => [e.name, e]));
  return (container.args as string[]).map((a) => a.replace(/\$\(([A-Z_]+)\)/g, (_m, name: string) => {
    const e = env.get(name);
    assert.ok(e !== undefined, `${container.name}: $(${name}) used in args but not in env`);
    const v = e.value ?? values[name];
    assert.ok(v !== undefined, `${container.name}: no sample value for ${name}`);
    return v;
  }));
}

function checkProbesAndResources(podSpec: Obj, where: string): void {
  for (const c of [...(podSpec.initContainers ?? []), ...podSpec.containers]) {
    assert.ok(c.resources?.requests?.cpu !== undefined && c.resources?.requests?.memory !== undefined, `${where}/${c.name}: cpu and memory requests`);
  }
  for (const c of podSpec.containers) {
    const ports = new Set((c.ports ?? []).map((p: Obj) => p.name));
    for (const probe of ['readinessProbe', 'livenessProbe']) {
      const get = c[probe]?.httpGet;
      assert.ok(get !== undefined, `${where}/${c.name}: ${probe}`);
      assert.ok(ports.has(get.port), `${where}/${c.name}: ${probe} port ${get.port} is a named container port`);
    }
  }
}

test('every object validates against the Kubernetes API schemas (and the Prometheus Operator CRDs)', () => {
  assert.ok(docs.length >= 10, `${docs.length} objects`);
  const kinds = new Set<string>();
  for (const { file, doc } of docs) {
    const key = `${doc.apiVersion}/${doc.kind}`;
    const Model = MODELS[key];
    assert.ok(Model !== undefined, `${file}: ${key} has no validator here; add it to MODELS`);
    try {
      new Model(doc).validate();
    } catch (e) {
      assert.fail(`${file}: ${doc.kind} ${doc.metadata?.name}: ${(e as Error).message}`);
    }
    kinds.add(doc.kind);
  }
  for (const k of ['StatefulSet', 'Service', 'PodDisruptionBudget', 'DaemonSet', 'ConfigMap', 'ServiceMonitor', 'PrometheusRule']) assert.ok(kinds.has(k), `a ${k}`);
  // The validators are the schemas' own: a wrong type is refused (so they really run).
  assert.throws(() => new Service({ metadata: { name: 'x' }, spec: { ports: [{ port: 'not a number' as unknown as number }] } }).validate());
  // Kustomize lists every file.
  const kustomization = readFileSync(new URL('../deploy/k8s/kustomization.yaml', import.meta.url), 'utf8');
  for (const f of new Set(docs.map((d) => d.file.split('/').pop()!))) assert.ok(kustomization.includes(`- ${f}`), `kustomization.yaml lists ${f}`);
});

test('region: a StatefulSet whose members find each other by their stable names under a headless Service', () => {
  const sts = one('StatefulSet', 'regionstore');
  const svc = one('Service', sts.spec.serviceName);
  assert.equal(svc.spec.clusterIP, 'None', 'the StatefulSet\'s Service is headless');
  assert.equal(svc.spec.publishNotReadyAddresses, true, 'not-ready members resolve (no leader yet)');
  const podLabels = sts.spec.template.metadata.labels as Record<string, string>;
  assert.ok(matches(sts.spec.selector.matchLabels, podLabels) && matches(svc.spec.selector, podLabels));
  assert.equal(sts.spec.podManagementPolicy, 'Parallel');
  const replicas = sts.spec.replicas as number;
  const podSpec = sts.spec.template.spec;
  const c = podSpec.containers[0];
  for (let i = 0; i < replicas; i++) {
    const pod = `regionstore-${i}`;
    const args = expandedArgs(c, { POD_NAME: pod, POD_NAMESPACE: NAMESPACE });
    assert.equal(args[0], 'serve');
    const parsed = parseServeFlags(args.slice(1), {});
    assert.equal(parsed.kind, 'config', parsed.kind === 'error' ? parsed.errors.join('\n') : '');
    if (parsed.kind !== 'config') return;
    const cfg = parsed.config;
    assert.deepEqual(parsed.warnings, []);
    assert.equal(cfg.name, pod);
    const dns = (p: string): string => `${p}.${svc.metadata.name}.${NAMESPACE}.svc`;
    const initial = cfg.initialCluster ?? [];
    assert.deepEqual(initial.map((m) => m.name), Array.from({ length: replicas }, (_x, k) => `regionstore-${k}`), '--initial-cluster names every replica');
    for (const m of initial) assert.deepEqual(m.peerUrls.map((u) => u.host), [dns(m.name)], `${m.name}'s peer URL is its stable DNS name`);
    assert.deepEqual(cfg.initialAdvertisePeerUrls.map((u) => u.host), [dns(pod)]);
    assert.deepEqual(cfg.advertiseClientUrls.map((u) => u.host), [dns(pod)]);
    const ports = Object.fromEntries(c.ports.map((p: Obj) => [p.name, p.containerPort]));
    assert.equal(cfg.listenClientUrls[0]!.port, ports.client);
    assert.equal(cfg.listenPeerUrls[0]!.port, ports.peer);
    assert.equal(cfg.metricsAddr.port, ports.metrics);
    // The data dir on the claim, the namespaces file from the ConfigMap.
    const mounts = c.volumeMounts as Obj[];
    const dataMount = mounts.find((m) => m.name === sts.spec.volumeClaimTemplates[0].metadata.name);
    assert.ok(dataMount !== undefined && cfg.dataDir.startsWith(`${dataMount.mountPath}/`), `data dir ${cfg.dataDir} on the PVC`);
    const nsMount = mounts.find((m) => cfg.namespacesFile.startsWith(`${m.mountPath}/`));
    assert.ok(nsMount !== undefined, `--namespaces-file ${cfg.namespacesFile} is mounted`);
    const vol = (podSpec.volumes as Obj[]).find((v) => v.name === nsMount.name);
    assert.ok(vol?.configMap?.name !== undefined, `volume ${nsMount.name} is a ConfigMap`);
    const cm = one('ConfigMap', vol.configMap.name);
    const text = cm.data[cfg.namespacesFile.slice(nsMount.mountPath.length + 1)];
    assert.ok(typeof text === 'string', 'the ConfigMap holds the file');
    const specs = parseNamespacesFile(text, 'namespaces.json');
    assert.ok(specs.some((s) => s.level === 'eventual') && specs.some((s) => (s.level ?? 'strong') === 'strong'));
  }
  assert.equal(c.readinessProbe.httpGet.path, '/health', 'ready: /health (a leader, no alarm)');
  checkProbesAndResources(podSpec, 'regionstore');
  assert.ok(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, 'a PVC per member');
  const pdb = one('PodDisruptionBudget', 'regionstore');
  assert.ok(matches(pdb.spec.selector.matchLabels, podLabels), 'the PDB selects the members');
  assert.equal(pdb.spec.maxUnavailable, 1, 'one member at a time: a region of 3 keeps its quorum');
});

test('edges: a DaemonSet named after its node, data on a hostPath, pointed at the region members', () => {
  const ds = one('DaemonSet', 'regionstore-edge');
  const sts = one('StatefulSet', 'regionstore');
  const podSpec = ds.spec.template.spec;
  const c = podSpec.containers.find((x: Obj) => x.name === 'edge');
  const nodeEnv = (c.env as Obj[]).find((e) => e.name === 'NODE_NAME');
  assert.equal(nodeEnv?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
  const args = expandedArgs(c, { NODE_NAME: 'node-a', POD_NAMESPACE: NAMESPACE });
  assert.equal(args[0], 'edge');
  const env = Object.fromEntries((c.env as Obj[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
  const parsed = parseEdgeFlags(args.slice(1), env);
  assert.equal(parsed.kind, 'config', parsed.kind === 'error' ? parsed.errors.join('\n') : '');
  if (parsed.kind !== 'config') return;
  assert.deepEqual(parsed.warnings, []);
  assert.equal(parsed.config.name, 'node-a', 'the node name is the edge name');
  assert.equal(parsed.config.group, 'default');
  const members = Array.from({ length: sts.spec.replicas as number }, (_x, i) => `regionstore-${i}.${sts.spec.serviceName}.${NAMESPACE}.svc:2379`);
  assert.deepEqual(parsed.config.region, members);
  const mount = (c.volumeMounts as Obj[]).find((m) => parsed.config.dataDir === m.mountPath || parsed.config.dataDir.startsWith(`${m.mountPath}/`));
  const vol = (podSpec.volumes as Obj[]).find((v) => v.name === mount?.name);
  assert.ok(vol?.hostPath?.path, 'the data dir is a hostPath');
  checkProbesAndResources(podSpec, 'regionstore-edge');
  const svc = one('Service', 'regionstore-edge');
  assert.equal(svc.spec.internalTrafficPolicy, 'Local', 'applications reach their own node\'s edge');
});

test('monitoring: ServiceMonitors scrape the Services the rules\' job names come from; the rules copy is fresh', () => {
  for (const [monitor, job] of [['regionstore', 'regionstore'], ['regionstore-edge', 'regionstore-edge']] as const) {
    const sm = one('ServiceMonitor', monitor);
    const services = all('Service').filter((s) => matches(sm.spec.selector.matchLabels, s.metadata.labels ?? {}));
    assert.deepEqual(services.map((s) => s.metadata.name), [job], `${monitor} selects Service ${job} (job="${job}")`);
    for (const ep of sm.spec.endpoints) assert.ok(services[0]!.spec.ports.some((p: Obj) => p.name === ep.port), `${monitor}: port ${ep.port}`);
  }
  assert.equal(readFileSync(RULES_K8S, 'utf8'), k8sRulesText(), 'deploy/k8s/prometheus-rules.yaml is stale: run npx tsx scripts/k8s-rules.ts');
  const rules = one('ConfigMap', 'regionstore-prometheus-rules');
  assert.equal(rules.data['regionstore-rules.yaml'], readFileSync(new URL('../docker/prometheus/rules.yaml', import.meta.url), 'utf8'));
});
