// The container image and the compose file, built and run with podman (issue 17):
//   1. builds the local base (docker/base/make-base.sh) and the image (docker/build-image.sh),
//      and prints the image's size;
//   2. runs the image as one member and prints the start-up time to the first served
//      request; checks the entrypoint (flags alone mean `serve`; `edge --help`, `rsctl`),
//      the non-root user and the HEALTHCHECK;
//   3. brings up docker/compose.yaml (3 members, 2 edges, Prometheus) on free loopback
//      ports, writes through edge e1, reads through edge e2, stops member n3, and polls
//      Prometheus's /api/v1/alerts until an alert on n3's instance is pending or firing.
//
// Slow (image builds on 2 cores), so not part of `npm test`: `npm run test:containers`
// (RS_CONTAINERS=1) runs it, and .ci/run does after installing podman, podman-compose,
// runc, mmdebstrap and prometheus. Without them, or when podman cannot run a container
// here, it says so loudly and skips.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Client } from '../client/index.js';
import { pickFreePorts } from '../cluster/ports.js';
import { eventually, haveTool, sleep } from './helpers/cluster.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCKER = join(ROOT, 'docker');
const PODMAN = join(DOCKER, 'podman.sh');
const COMPOSE_FILE = join(DOCKER, 'compose.yaml');
/** podman for podman-compose 1.0.3 (Debian bookworm), whose `network_mode: host` is broken (see the file). */
const COMPOSE_PODMAN = join(DOCKER, 'podman-compose-podman.sh');
/** The run's own tag and compose project, so two runs (or a person's images) do not clash. */
const RUN_ID = `t${randomBytes(3).toString('hex')}`;
const BASE_IMAGE = process.env.REGIONSTORE_BASE_IMAGE ?? 'localhost/regionstore-base:bookworm';
const IMAGE = `localhost/regionstore:${RUN_ID}`;
const PROMETHEUS_IMAGE = `localhost/regionstore-prometheus:${RUN_ID}`;
const PROJECT = `rs-${RUN_ID}`;

/** Image builds on a busy 2-core machine: npm ci, tsc, npm ci again, then the copy. */
const BUILD_TIMEOUT_MS = 40 * 60_000;
/** A container's first served request: podman's start plus Node's. */
const START_TIMEOUT_MS = 120_000;
/** Edge to region to edge, with the region's election and the edges' first sync in it. */
const SYNC_TIMEOUT_MS = 120_000;
/** Prometheus scrapes and evaluates every COMPOSE_INTERVAL; `for:` may hold it pending. */
const ALERT_TIMEOUT_MS = 180_000;
/** Scrape and rule evaluation interval of the test's Prometheus (compose's default is 15s). */
const COMPOSE_INTERVAL = '5s';
/** How long a container's HEALTHCHECK may take to pass. */
const HEALTHY_TIMEOUT_MS = 90_000;
/** Start-ups measured (the median is reported: the first after a build is often slower). */
const STARTUP_RUNS = 3;
/** How long to wait beyond "pending" for the alert to fire (its `for:`, 3m in the shipped rules), not asserted. */
const FIRING_WAIT_MS = 240_000;

const enabled = process.env.RS_CONTAINERS === '1';
const tools = enabled && ['podman', 'podman-compose', 'mmdebstrap', 'runc'].every((t) => haveTool(t, t));

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; its output goes to the test's stderr as it comes (`label` prefixed) when `echo`. */
function sh(cmd: string, args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; echo?: string } = {}): Promise<Out> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const echo = (d: Buffer): void => {
      if (opts.echo !== undefined) for (const line of d.toString().split('\n')) if (line !== '') process.stderr.write(`[${opts.echo}] ${line}\n`);
    };
    p.stdout.on('data', (d: Buffer) => ((stdout += d.toString()), echo(d)));
    p.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), echo(d)));
    const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function mustSh(cmd: string, args: string[], opts: Parameters<typeof sh>[2] = {}): Promise<string> {
  const r = await sh(cmd, args, opts);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

const podman = (args: string[], opts: Parameters<typeof sh>[2] = {}): Promise<string> => mustSh(PODMAN, args, opts);

/** rsctl inside the image (the same commands and flags as etcdctl). */
function rsctl(endpoint: string, args: string[]): Promise<Out> {
  return sh(PODMAN, ['run', '--rm', '--network', 'host', IMAGE, 'rsctl', '--endpoints', endpoint, '--command-timeout', '10s', ...args], { timeoutMs: 60_000 });
}

/** A one-off container of the image (its entrypoint given `args`). */
const runImage = (args: string[]): Promise<Out> => sh(PODMAN, ['run', '--rm', '--network', 'host', IMAGE, ...args], { timeoutMs: 60_000 });

/** Waits for `podman healthcheck run` to pass (a check can time out on a loaded machine; tried again). */
async function healthy(container: string): Promise<void> {
  let last = '';
  await eventually(`the HEALTHCHECK of ${container}`, async () => {
    const r = await sh(PODMAN, ['healthcheck', 'run', container], { timeoutMs: 60_000 });
    last = `exit ${r.code}: ${r.stdout} ${r.stderr}`.trim();
    return r.code === 0 ? true : undefined;
  }, HEALTHY_TIMEOUT_MS, 2_000).catch((err: unknown) => assert.fail(`${String(err)}; last: ${last}`));
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** The reason in a failed tool's stderr: its last lines that are not progress ("I: ..."). */
function why(stderr: string): string {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('I: ')).slice(-3).join(' | ').slice(0, 500);
}

/** Why podman cannot run a container here, or undefined when it can. */
let blocked: string | undefined;

before(async () => {
  if (!tools) return;
  // The base first: it is the cheapest container to try podman with.
  const base = await sh(join(DOCKER, 'base', 'make-base.sh'), ['--tag', BASE_IMAGE], { timeoutMs: BUILD_TIMEOUT_MS, echo: 'base' });
  if (base.code !== 0) {
    blocked = `docker/base/make-base.sh failed (exit ${base.code}): ${why(base.stderr)}`;
    return;
  }
  const probe = await sh(PODMAN, ['run', '--rm', '--network', 'host', BASE_IMAGE, 'node', '-e', 'console.log("ok")'], { timeoutMs: 120_000 });
  if (probe.code !== 0 || probe.stdout.trim() !== 'ok') blocked = `podman cannot run a container here (exit ${probe.code}): ${why(probe.stderr)}`;
});

describe('container image and compose (podman)', { skip: !enabled ? 'run by `npm run test:containers` (RS_CONTAINERS=1), not by npm test' : !tools ? 'podman, podman-compose, mmdebstrap or runc not installed: apt-get install podman podman-compose runc mmdebstrap' : false }, () => {
  let imageSize = 0;

  before(() => {
    if (blocked !== undefined) console.error(`\n!!! SKIPPING the container tests: ${blocked} !!!\n`);
  });
  after(async () => {
    if (!tools) return;
    await sh(PODMAN, ['rmi', '--force', IMAGE, PROMETHEUS_IMAGE], { timeoutMs: 120_000 });
  });

  test('builds the image and the Prometheus image from the local base', { timeout: BUILD_TIMEOUT_MS }, async (t) => {
    if (blocked !== undefined) return t.skip(blocked);
    const started = Date.now();
    await mustSh(join(DOCKER, 'build-image.sh'), ['--tag', IMAGE], { timeoutMs: BUILD_TIMEOUT_MS, echo: 'image', env: { REGIONSTORE_BASE_IMAGE: BASE_IMAGE } });
    const buildS = (Date.now() - started) / 1000;
    imageSize = Number((await podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE])).trim());
    const baseSize = Number((await podman(['image', 'inspect', '--format', '{{.Size}}', BASE_IMAGE])).trim());
    console.log(`IMAGE ${IMAGE}: size ${mb(imageSize)} (${imageSize} bytes; the base alone ${mb(baseSize)}), built in ${buildS.toFixed(0)} s`);
    assert.ok(imageSize > baseSize, 'the image is larger than its base');
    await podman(['build', '--network', 'host', '--format', 'docker', '-f', join(DOCKER, 'prometheus', 'Containerfile'),
      '--build-arg', `BASE_IMAGE=${BASE_IMAGE}`, '-t', PROMETHEUS_IMAGE, join(DOCKER, 'prometheus')], { timeoutMs: BUILD_TIMEOUT_MS, echo: 'prometheus' });
  });

  test('the entrypoint: regionstore, serve implied by flags; non-root; rsctl and edge inside', { timeout: 5 * 60_000 }, async (t) => {
    if (blocked !== undefined || imageSize === 0) return t.skip(blocked ?? 'no image');
    const version = await runImage(['--version']);
    assert.match(version.stdout, /^regionstore Version: /m, version.stderr);
    const serveHelp = await runImage(['--name', 'x', '--help']);
    assert.match(serveHelp.stdout, /Usage: regionstore serve/, serveHelp.stderr);
    const edgeHelp = await runImage(['edge', '--help']);
    assert.match(edgeHelp.stdout, /REGIONSTORE_EDGE_/, edgeHelp.stderr);
    const rsctlHelp = await runImage(['rsctl', '--help']);
    assert.match(rsctlHelp.stdout, /rsctl/, rsctlHelp.stderr);
    const bad = await runImage(['--no-such-flag', '1']);
    assert.equal(bad.code, 2, 'a bad flag exits 2');
    assert.match(bad.stderr, /unknown flag --no-such-flag/);
    const id = await runImage(['id', '-u']);
    assert.equal(id.stdout.trim(), '1000', 'runs as the non-root user');
    const devDeps = await runImage(['sh', '-c', 'test ! -e node_modules/typescript && test ! -e node_modules/tsx && echo prod-only']);
    assert.equal(devDeps.stdout.trim(), 'prod-only', 'no dev dependencies in the runtime image');
  });

  test('start-up time to the first served request, and the HEALTHCHECK', { timeout: 10 * 60_000 }, async (t) => {
    if (blocked !== undefined || imageSize === 0) return t.skip(blocked ?? 'no image');
    const timesMs: number[] = [];
    for (let i = 0; i < STARTUP_RUNS; i++) {
      const [client, peer, metrics] = await pickFreePorts(3);
      const name = `${PROJECT}-single${i}`;
      const volume = `${name}-data`;
      try {
        const started = Date.now();
        // Everything from the environment except the name: flags and variables together.
        await podman(['run', '-d', '--name', name, '--network', 'host', '-v', `${volume}:/data`,
          '-e', `REGIONSTORE_LISTEN_CLIENT_URLS=http://127.0.0.1:${client}`,
          '-e', `REGIONSTORE_LISTEN_PEER_URLS=http://127.0.0.1:${peer}`,
          '-e', `REGIONSTORE_METRICS_ADDR=127.0.0.1:${metrics}`,
          IMAGE, '--name', 'single']);
        const c = new Client({ endpoints: [`127.0.0.1:${client}`], attempts: 1, timeoutMs: 2_000 });
        try {
          await eventually('the first put', async () => ((await c.put('started', 'yes').catch(() => undefined)) === undefined ? undefined : true), START_TIMEOUT_MS, 50);
          timesMs.push(Date.now() - started);
          const got = await c.range('started');
          assert.equal(got.kvs[0]?.value.toString(), 'yes');
        } finally {
          c.close();
        }
        if (i === 0) {
          await healthy(name);
          const owner = await podman(['exec', name, 'stat', '-c', '%u', '/data/member.json']);
          assert.equal(owner.trim(), '1000', 'the data volume is written by the non-root user');
        }
      } finally {
        await sh(PODMAN, ['rm', '--force', '--time', '5', name], { timeoutMs: 60_000 });
        await sh(PODMAN, ['volume', 'rm', '--force', volume], { timeoutMs: 60_000 });
      }
    }
    const sorted = [...timesMs].sort((x, y) => x - y);
    console.log(`STARTUP: first served request (a put) after \`podman run -d\` of a new one-member region (container create + start, ` +
      `Node, RocksDB open, election): median ${sorted[Math.floor(sorted.length / 2)]} ms of ${timesMs.join(', ')} ms`);
  });

  describe('compose: 3 members, 2 edges, Prometheus', () => {
    const ports: Record<string, number> = {};
    const env: NodeJS.ProcessEnv = {};
    const compose = (args: string[], timeoutMs = 5 * 60_000): Promise<Out> =>
      sh('podman-compose', ['--podman-path', COMPOSE_PODMAN, '-p', PROJECT, '-f', COMPOSE_FILE, ...args], { timeoutMs, env, echo: 'compose' });
    let composeUp = false;

    before(async () => {
      if (blocked !== undefined || imageSize === 0) return;
      const names = ['N1_CLIENT', 'N1_PEER', 'N1_METRICS', 'N2_CLIENT', 'N2_PEER', 'N2_METRICS', 'N3_CLIENT', 'N3_PEER', 'N3_METRICS',
        'E1_CLIENT', 'E1_METRICS', 'E2_CLIENT', 'E2_METRICS', 'PROMETHEUS'];
      const picked = await pickFreePorts(names.length);
      names.forEach((n, i) => {
        ports[n] = picked[i]!;
        env[`RS_${n}_PORT`] = String(picked[i]);
      });
      Object.assign(env, {
        RS_IMAGE: IMAGE, RS_PROMETHEUS_IMAGE: PROMETHEUS_IMAGE, RS_LOG_LEVEL: 'warn',
        RS_SCRAPE_INTERVAL: COMPOSE_INTERVAL, RS_EVALUATION_INTERVAL: COMPOSE_INTERVAL,
        // podman-compose calls podman itself: the same settings as docker/podman.sh.
        CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(DOCKER, 'podman', 'containers.conf'),
      });
      console.log(`compose project ${PROJECT} on ports ${JSON.stringify(ports)}`);
    });
    after(async () => {
      if (!composeUp) return;
      const logs = await sh(PODMAN, ['ps', '-a', '--filter', `label=io.podman.compose.project=${PROJECT}`, '--format', '{{.Names}} {{.Status}}'], { timeoutMs: 60_000 });
      console.log(`containers before teardown:\n${logs.stdout}`);
      await compose(['down', '-v', '-t', '5']);
    });

    test('brings it up; a write through edge e1 is read through edge e2', { timeout: 10 * 60_000 }, async (t) => {
      if (blocked !== undefined || imageSize === 0) return t.skip(blocked ?? 'no image');
      composeUp = true;
      const upStarted = Date.now();
      // The region and Prometheus first, then the edges once the declared namespaces exist: an
      // edge's sync session carries the eventual namespaces that existed when it opened (one
      // created later reaches an edge only after its next reconnect).
      const r = await compose(['up', '-d', 'n1', 'n2', 'n3', 'prometheus']);
      assert.equal(r.code, 0, `podman-compose up: ${r.stderr.slice(-3000)}`);
      const members = [ports.N1_CLIENT, ports.N2_CLIENT, ports.N3_CLIENT].map((p) => `127.0.0.1:${p}`);
      const region = new Client({ endpoints: members, timeoutMs: 5_000 });
      try {
        await eventually('the region serves a put', async () => ((await region.put('compose/up', '1').catch(() => undefined)) === undefined ? undefined : true), START_TIMEOUT_MS, 200);
      } finally {
        region.close();
      }
      console.log(`COMPOSE: region serving ${Date.now() - upStarted} ms after podman-compose up`);
      // The eventual namespace the edges take writes for, declared in docker/namespaces.json
      // (--namespaces-file): the leader creates it at start. Seen with the image's rsctl.
      const declared = await eventually('namespace cfg created from docker/namespaces.json', async () => {
        const got = await rsctl(members[0]!, ['ns', 'get', 'cfg']);
        return got.code === 0 && /level: eventual/.test(got.stdout) ? got.stdout : undefined;
      }, START_TIMEOUT_MS, 1_000);
      assert.match(declared, /crdt_type: lww/);
      const edges = await compose(['up', '-d', 'e1', 'e2']);
      assert.equal(edges.code, 0, `podman-compose up e1 e2: ${edges.stderr.slice(-3000)}`);
      // podman-compose 1.0.3 exits 0 when a container failed to start: count the running ones.
      const running = await podman(['ps', '--filter', `label=io.podman.compose.project=${PROJECT}`, '--format', '{{.Names}}']);
      assert.equal(running.trim().split('\n').filter((l) => l !== '').length, 6, `all six containers running: ${running}\n${edges.stdout.slice(-3000)}`);

      const e1 = `127.0.0.1:${ports.E1_CLIENT}`;
      const e2 = `127.0.0.1:${ports.E2_CLIENT}`;
      const writeStarted = Date.now();
      // e1 learns of the namespace from the region's registry first; until then it refuses.
      await eventually('a put through edge e1', async () => {
        const put = await rsctl(e1, ['put', 'cfg/greeting', 'hello from e1']);
        return put.code === 0 ? true : undefined;
      }, SYNC_TIMEOUT_MS, 1_000);
      const read = await eventually('the value through edge e2', async () => {
        const get = await rsctl(e2, ['get', 'cfg/greeting', '--print-value-only']);
        return get.code === 0 && get.stdout.trim() === 'hello from e1' ? get.stdout.trim() : undefined;
      }, SYNC_TIMEOUT_MS, 1_000);
      // The image's HEALTHCHECK on a member and on an edge (podman runs it on request here:
      // its periodic runs need systemd, see docker/README.md).
      for (const service of ['n1', 'e1']) await healthy(`${PROJECT}_${service}_1`);
      console.log(`COMPOSE: put through e1 (${e1}), read "${read}" through e2 (${e2}) ${Date.now() - writeStarted} ms after the first put attempt`);
    });

    test('stopping member n3 raises a member-down alert in Prometheus', { timeout: 15 * 60_000 }, async (t) => {
      if (blocked !== undefined || imageSize === 0 || !composeUp) return t.skip(blocked ?? 'compose is not up');
      const prom = `http://127.0.0.1:${ports.PROMETHEUS}`;
      const n3 = `127.0.0.1:${ports.N3_METRICS}`;
      interface Alert { labels: Record<string, string>; state: string; activeAt?: string }
      const alerts = async (): Promise<Alert[]> => {
        const res = await fetch(`${prom}/api/v1/alerts`, { signal: AbortSignal.timeout(5_000) });
        return ((await res.json()) as { data: { alerts: Alert[] } }).data.alerts;
      };
      const upSeries = async (): Promise<Record<string, string>> => {
        const res = await fetch(`${prom}/api/v1/query?query=up`, { signal: AbortSignal.timeout(5_000) });
        const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
        return Object.fromEntries(body.data.result.map((s) => [`${s.metric.job}/${s.metric.instance}`, s.value[1]]));
      };
      // Every process scraped (up == 1) before anything is stopped.
      const scraped = await eventually('Prometheus scraping all six targets', async () => {
        const u = await upSeries();
        return Object.keys(u).length >= 6 && Object.values(u).every((v) => v === '1') ? u : undefined;
      }, ALERT_TIMEOUT_MS, 2_000);
      console.log(`PROMETHEUS: up before stopping n3: ${JSON.stringify(scraped)}`);
      // Found by name and instance: other alerts may be active on n3 too (on a loaded machine,
      // RegionstoreHighFsyncDurations is: they are printed, not failed on).
      const memberDown = (a: Alert): boolean => a.labels.instance === n3 && /Down/i.test(a.labels.alertname ?? '');
      const already = await alerts();
      if (already.length > 0) console.log(`PROMETHEUS: alerts before stopping n3: ${already.map((a) => `${a.labels.alertname}{instance=${a.labels.instance}} ${a.state}`).join(', ')}`);
      assert.deepEqual(already.filter(memberDown), [], 'no member-down alert on n3 yet');

      const stopped = Date.now();
      const s = await compose(['stop', 'n3'], 120_000);
      assert.equal(s.code, 0, `podman-compose stop n3: ${s.stderr}`);
      // The member-down alert (RegionstoreMemberDown in the shipped rules) on n3's instance.
      const pending = await eventually('a member-down alert on n3 pending or firing', async () =>
        (await alerts()).find((x) => memberDown(x) && (x.state === 'pending' || x.state === 'firing')), ALERT_TIMEOUT_MS, 2_000);
      console.log(`ALERT: ${pending.labels.alertname} ${pending.state} on ${n3} ${Date.now() - stopped} ms after stopping n3: ${JSON.stringify(pending.labels)}`);
      // The region keeps serving with two of three members; an edge still takes writes.
      const region = new Client({ endpoints: [ports.N1_CLIENT, ports.N2_CLIENT].map((p) => `127.0.0.1:${p}`), timeoutMs: 10_000 });
      try {
        await eventually('a put with n3 down', async () => ((await region.put('compose/n3-down', '1').catch(() => undefined)) === undefined ? undefined : true), 60_000, 500);
      } finally {
        region.close();
      }
      // Firing needs the rule's `for:`; reported, not asserted (it depends on the shipped rules).
      if (pending.state !== 'firing') {
        const deadline = Date.now() + FIRING_WAIT_MS;
        let state = pending.state;
        while (Date.now() < deadline && state !== 'firing') {
          await sleep(5_000);
          state = (await alerts()).find((x) => x.labels.instance === n3 && x.labels.alertname === pending.labels.alertname)?.state ?? 'gone';
        }
        console.log(`ALERT: ${pending.labels.alertname} on ${n3} is ${state} ${Date.now() - stopped} ms after stopping n3`);
      }
      const all = await alerts();
      console.log(`PROMETHEUS: alerts at the end: ${all.map((a) => `${a.labels.alertname}{${Object.entries(a.labels).filter(([k]) => k !== 'alertname' && k !== 'severity').map(([k, v]) => `${k}=${v}`).join(',')}} ${a.state}`).join('; ')}`);
    });
  });
});
