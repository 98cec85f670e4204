// Real clusters for integration tests: `regionstore serve` processes on OS-chosen loopback
// ports with data in a fresh temp dir, removed afterwards. Timings are shortened so a
// test does not wait a second per election.

import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveCommandFromEnv, startCluster, type LocalCluster, type ServeCommand, type StartClusterOptions } from '../../cluster/launcher.js';
import { pickFreePorts } from '../../cluster/ports.js';

/** Heartbeat and election timeout of test clusters (etcd's defaults are 100/1000 ms). */
export const TEST_HEARTBEAT_MS = 50;
export const TEST_ELECTION_MS = 500;

export interface TestCluster extends LocalCluster {
  /** How its members run (dist/ when fresh, else tsx); a joiner is started the same way. */
  serveCommand: ServeCommand;
  heartbeatMs: number;
  electionMs: number;
  /** host:port list (etcdctl takes http://host:port too: the client port's front door repairs the :authority). */
  hostPorts: string[];
  cleanup(): Promise<void>;
}

/** etcd's default heartbeat and election timeout, for tests that measure latency (check perf). */
export const ETCD_HEARTBEAT_MS = 100;
export const ETCD_ELECTION_MS = 1000;

/** Lines of each member's output kept to explain a start that failed. */
const START_FAILURE_LINES = 30;

/**
 * `timings: 'etcd'` runs the members with etcd's defaults instead of the short test
 * timings: a 500 ms election timeout can expire on a loaded 2-core machine, and a test
 * that counts the slowest request would then measure an election.
 */
export async function startTestCluster(
  opts: Partial<StartClusterOptions> & { extraArgs?: string[]; timings?: 'test' | 'etcd' } = {},
): Promise<TestCluster> {
  const { timings = 'test', extraArgs = [], ...launch } = opts;
  const [heartbeatMs, electionMs] = timings === 'etcd' ? [ETCD_HEARTBEAT_MS, ETCD_ELECTION_MS] : [TEST_HEARTBEAT_MS, TEST_ELECTION_MS];
  const quiet = process.env.RS_TEST_VERBOSE === undefined;
  // Chosen once, so that every member and joiner of this cluster runs the same code.
  const serveCommand = launch.command ?? serveCommandFromEnv();
  const start = async (): Promise<{ cluster: LocalCluster; dataDir: string }> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rs-test-'));
    // Quiet, but a start that fails says what each member printed last.
    const recent = new Map<string, string[]>();
    const keep = (name: string, line: string): void => {
      const lines = recent.get(name) ?? [];
      lines.push(line);
      if (lines.length > START_FAILURE_LINES) lines.shift();
      recent.set(name, lines);
    };
    try {
      const cluster = await startCluster({
        dataDir,
        nodes: 3,
        ready: 'healthy',
        readyTimeoutMs: 30_000,
        ...(quiet ? { onLine: keep } : {}),
        ...launch,
        command: serveCommand,
        extraArgs: ['--heartbeat-ms', String(heartbeatMs), '--election-ms', String(electionMs), '--log-level', 'warn', ...extraArgs],
      });
      return { cluster, dataDir };
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      const printed = [...recent].map(([name, lines]) => `--- ${name}:\n${lines.join('\n')}`).join('\n');
      throw new Error(`${(err as Error).message}${printed === '' ? '' : `\nwhat the members printed last:\n${printed}`}`, { cause: err });
    }
  };
  // A cluster that did not become healthy in time on a loaded machine gets one more start
  // (new directory and ports), said loudly; a second failure fails the test.
  const { cluster, dataDir } = await start().catch(async (err: unknown) => {
    console.log(`# startTestCluster: the cluster did not start; starting a new one once more. ${String((err as Error).message).replace(/\n/g, '\n# ')}`);
    return start();
  });
  return Object.assign(cluster, {
    serveCommand,
    heartbeatMs,
    electionMs,
    hostPorts: cluster.nodes.map((n) => n.clientUrl.replace(/^https?:\/\//, '')),
    cleanup: async () => {
      await cluster.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export interface Joiner {
  name: string;
  peerUrl: string;
  clientUrl: string;
  process: ChildProcess;
}

/** Free loopback ports for a member about to be added (MemberAdd needs its peer URL first). */
export async function planJoiner(name: string): Promise<{ name: string; peerUrl: string; clientUrl: string; metricsAddr: string }> {
  const [clientPort, peerPort, metricsPort] = await pickFreePorts(3);
  return { name, peerUrl: `http://127.0.0.1:${peerPort}`, clientUrl: `http://127.0.0.1:${clientPort}`, metricsAddr: `127.0.0.1:${metricsPort}` };
}

/**
 * Starts `regionstore serve` for a member already added with MemberAdd, joining the
 * running cluster `c` (--initial-cluster-state existing) with data under c.dataDir/NAME.
 * `initialCluster` is the NAME=URL list an operator would pass (etcdctl member add prints it).
 */
export function startJoiner(c: TestCluster, plan: Awaited<ReturnType<typeof planJoiner>>, initialCluster: string): Joiner {
  const quiet = process.env.RS_TEST_VERBOSE === undefined;
  const child = spawn(c.serveCommand.executable, [
    ...c.serveCommand.args, '--name', plan.name, '--data-dir', join(c.dataDir, plan.name),
    '--listen-client-urls', plan.clientUrl, '--advertise-client-urls', plan.clientUrl,
    '--listen-peer-urls', plan.peerUrl, '--initial-advertise-peer-urls', plan.peerUrl,
    '--initial-cluster', initialCluster, '--initial-cluster-state', 'existing',
    '--initial-cluster-token', c.file.token, '--metrics-addr', plan.metricsAddr,
    '--heartbeat-ms', String(c.heartbeatMs), '--election-ms', String(c.electionMs), '--log-level', 'warn',
  ], { cwd: c.serveCommand.cwd, stdio: quiet ? 'ignore' : 'inherit' });
  return { name: plan.name, peerUrl: plan.peerUrl, clientUrl: plan.clientUrl, process: child };
}

/** True when a Debian tool is installed; otherwise says so loudly (the test then skips that part). */
export function haveTool(name: string, debianPackage: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
  if (!found) {
    console.error(`\n!!! SKIPPING: '${name}' is not installed (Debian package ${debianPackage}; .ci/run installs it) !!!\n`);
  }
  return found;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs etcdctl (API v3) and returns its output; never throws on a non-zero exit. */
export function etcdctl(endpoints: string | string[], args: string[], input?: string, timeoutMs = 20_000): Promise<RunResult> {
  const ep = Array.isArray(endpoints) ? endpoints.join(',') : endpoints;
  return run('etcdctl', [`--endpoints=${ep}`, ...args], input, timeoutMs);
}

export function run(cmd: string, args: string[], input?: string, timeoutMs = 20_000, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ETCDCTL_API: '3', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    // A command that exits without reading its stdin (curl with the body in an argument)
    // makes the write fail with EPIPE: that is its answer, not an error of the test.
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

/** Runs a long-lived command (watch) for `ms`, then stops it and returns what it printed. */
export function runFor(cmd: string, args: string[], ms: number, onStart?: () => Promise<void>): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: { ...process.env, ETCDCTL_API: '3' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    void (async () => {
      await new Promise((r) => setTimeout(r, 300));
      await onStart?.();
      await new Promise((r) => setTimeout(r, ms));
      p.kill('SIGTERM');
    })();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `fn` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
}
