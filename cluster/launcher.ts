// Runs a region cluster as real processes on loopback: `npm start`, `npm run cluster`,
// the etcdctl and kill -9 tests and the chaos harness all start nodes through here.
//
//   const cluster = await startCluster({ nodes: 3, dataDir: tmp, ready: 'healthy' });
//   await cluster.kill('n1');            // SIGKILL, waits for the exit
//   await cluster.restart('n1');         // same name, ports, flags and data dir
//   await cluster.stop();                // SIGTERM all, SIGKILL whoever outlives the timeout
//
// Each node is `node --max-semi-space-size=N --min-semi-space-size=N dist/server/main.js serve <flags>` (N from
// server/util/heap-flags.ts) when dist/ is fresh (built after the
// last change to the sources; cluster/dist-build.ts), else `node --import tsx server/main.ts
// serve <flags>` (see plan.ts for the flags); tests can substitute any executable that takes
// the same flags.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import {
  HOST_DEFAULT, NODES_DEFAULT, lastFlagWins, newPlan, nodeUrls, readClusterFile, serveArgs, writeClusterFile,
  type ClusterFile, type PlannedNode,
} from './plan.js';
import { BIN_SCRIPTS, distFreshness, readBuildInfo } from './dist-build.js';
import { isPortFree } from './ports.js';
import { probeHealth, probeStatus } from './probe.js';
import { memberNodeFlags } from '../server/util/heap-flags.js';
import {
  READY_TIMEOUT_MS, STOP_TIMEOUT_MS, isAlive, pidIsNode, portListening, spawnNode, stopPid, waitUntil,
  type LineSink, type Spawned,
} from './processes.js';

/** True when this module is itself the compiled dist/cluster/launcher.js. */
const RUNNING_COMPILED = import.meta.url.endsWith('.js');
export const REPO_ROOT = fileURLToPath(new URL(RUNNING_COMPILED ? '../..' : '..', import.meta.url));

/** How to run `regionstore serve`; the node's flags are appended to `args`. */
export interface ServeCommand {
  executable: string;
  args: string[];
  cwd: string;
}

/**
 * Node flags of every member (the young generation size, server/util/heap-flags.ts), left
 * out when this process's NODE_OPTIONS sets them: the members inherit those, and a flag on
 * the command line would override them.
 */
const MEMBER_NODE_FLAGS = memberNodeFlags((process.env.NODE_OPTIONS ?? '').split(/\s+/));

/** The sources through tsx: always current, but each start compiles the server first. */
export const TSX_SERVE_COMMAND: ServeCommand = {
  executable: process.execPath,
  // --import tsx is resolved from cwd, which is the repository root.
  args: [...MEMBER_NODE_FLAGS, '--import', 'tsx', join(REPO_ROOT, 'server', 'main.ts'), 'serve'],
  cwd: REPO_ROOT,
};

/** The compiled server (`npm run build`); what the installed `regionstore` command runs. */
export const DIST_SERVE_COMMAND: ServeCommand = {
  executable: process.execPath,
  args: [...MEMBER_NODE_FLAGS, join(REPO_ROOT, BIN_SCRIPTS.regionstore), 'serve'],
  cwd: REPO_ROOT,
};

/**
 * Set to a script path to run it instead of `server/main.ts serve` (it gets the same
 * flags): the launcher's own tests use a stand-in node, and it can point at a build.
 * Not REGIONSTORE_-prefixed, because `serve` warns about REGIONSTORE_* names it lacks.
 */
export const SERVE_SCRIPT_ENV = 'RS_CLUSTER_SERVE_SCRIPT';
/**
 * `tsx` or `dist` forces how members run (to compare start-up times, or to test the
 * sources while a build exists); unset, dist/ is used when it is fresh.
 */
export const SERVE_FROM_ENV = 'RS_CLUSTER_SERVE_FROM';

/**
 * How members start by default: from dist/ when it is fresh (checked now, so an edit made
 * after the last build falls back to the sources), else through tsx.
 */
export function defaultServeCommand(env: NodeJS.ProcessEnv = process.env): ServeCommand {
  const from = env[SERVE_FROM_ENV];
  if (from === 'tsx') return TSX_SERVE_COMMAND;
  if (from === 'dist') {
    if (readBuildInfo(REPO_ROOT) === undefined) throw new Error(`${SERVE_FROM_ENV}=dist, but ${REPO_ROOT} has no complete build: run npm run build`);
    return DIST_SERVE_COMMAND;
  }
  if (from !== undefined && from !== '') throw new Error(`${SERVE_FROM_ENV} must be tsx or dist, got ${JSON.stringify(from)}`);
  // Compiled code has no sources beside it to be stale against (an installed package).
  return RUNNING_COMPILED || distFreshness(REPO_ROOT).fresh ? DIST_SERVE_COMMAND : TSX_SERVE_COMMAND;
}

/**
 * How `serve` runs members, for a benchmark's log. tsx is named loudly: members run through
 * it use ~90 MiB more RSS each and start slower, and the default falls back to it silently
 * when a source file is newer than dist/.
 */
export function describeServeCommand(serve: ServeCommand): string {
  if (serve === DIST_SERVE_COMMAND) return 'regionstore members run from dist/ (the build is fresh)';
  if (serve === TSX_SERVE_COMMAND) {
    const fresh = distFreshness(REPO_ROOT);
    return `regionstore members run from the sources through tsx (${fresh.fresh ? `${SERVE_FROM_ENV}=tsx` : fresh.why}): RSS and start-up figures include tsx`;
  }
  return `regionstore members run as ${serve.args.join(' ')}`;
}

export function serveCommandFromEnv(env: NodeJS.ProcessEnv = process.env): ServeCommand {
  const script = env[SERVE_SCRIPT_ENV];
  if (script === undefined || script === '') return defaultServeCommand(env);
  return { executable: process.execPath, args: [...MEMBER_NODE_FLAGS, '--import', 'tsx', resolve(script)], cwd: REPO_ROOT };
}

export type ReadyWhen = 'spawned' | 'listening' | 'healthy';

export interface StartClusterOptions {
  /** Where cluster.json and one directory per node live. */
  dataDir: string;
  /** Node count of a new cluster (default 3); must match cluster.json when one exists. */
  nodes?: number;
  host?: string;
  /** How to run `regionstore serve` (default: serveCommandFromEnv(), i.e. server/main.ts). */
  command?: ServeCommand;
  /** Flags appended to every node's (e.g. ['--election-ms', '300']). */
  extraArgs?: readonly string[];
  /**
   * Flags appended after extraArgs for one node, asked again at every start and restart
   * (the chaos harness gives each node its own proxy dial map, and a re-added member its
   * new peer URL). A flag given twice is passed once, with its last value.
   */
  perNodeArgs?: (name: string) => readonly string[];
  /** Environment of the nodes (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Where output lines go (default: this process's stdout/stderr, prefixed "[n1] "). */
  onLine?: LineSink;
  /** Keep the nodes running after this process exits; output goes to <dataDir>/<name>.log. */
  detached?: boolean;
  /** What start() and restart() wait for (default 'listening': the client port accepts). */
  ready?: ReadyWhen;
  readyTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface ClusterNode {
  name: string;
  clientUrl: string;
  peerUrl: string;
  metricsUrl: string;
  dataDir: string;
  /** Updated in place by restart(). */
  pid: number;
  process: ChildProcess;
  running: boolean;
}

export interface LocalCluster {
  dataDir: string;
  file: ClusterFile;
  nodes: ClusterNode[];
  /** Comma-separated client URLs, for --endpoints. */
  endpoints: string;
  node(name: string): ClusterNode;
  /** Stops every node: SIGTERM, then SIGKILL after the stop timeout. */
  stop(): Promise<void>;
  stopNode(name: string): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL). For SIGKILL, SIGTERM and SIGINT, resolves once the
   * process has exited; for others (SIGSTOP, SIGCONT) at once.
   */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Stops the node if it runs, then starts it again with the same flags and data dir. */
  restart(name: string): Promise<ClusterNode>;
  /** Waits until every running node answers /health with "true". */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** The name of the node whose /status.json says it leads, if any. */
  leader(): Promise<string | undefined>;
}

const EXITING_SIGNALS = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT']);

function defaultSink(name: string, line: string, stream: 'stdout' | 'stderr'): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[${name}] ${line}\n`);
}

async function loadPlan(dataDir: string, nodes: number | undefined, host: string): Promise<ClusterFile> {
  const existing = readClusterFile(dataDir);
  if (existing === undefined) {
    const plan = await newPlan(nodes ?? NODES_DEFAULT, host);
    writeClusterFile(dataDir, plan);
    return plan;
  }
  if (nodes !== undefined && nodes !== existing.nodes.length) {
    throw new Error(`${dataDir} holds a ${existing.nodes.length}-node cluster, not ${nodes}; drop --nodes to restart it ` +
      `or remove ${dataDir} to start a fresh ${nodes}-node cluster`);
  }
  const running = existing.nodes.filter((n) => n.pid !== undefined && pidIsNode(n.pid, resolve(dataDir, n.name)));
  if (running.length > 0) {
    throw new Error(`the cluster in ${dataDir} is already running (${running.map((n) => `${n.name} pid ${n.pid}`).join(', ')}); ` +
      'stop it first with `npm run cluster -- down`');
  }
  for (const n of existing.nodes) {
    for (const port of [n.clientPort, n.peerPort, n.metricsPort]) {
      if (!(await isPortFree(port, existing.host))) {
        throw new Error(`port ${port} of ${n.name} is in use by another process; stop that process, ` +
          `or remove ${dataDir} to start a fresh cluster on new ports`);
      }
    }
  }
  return existing;
}

export async function startCluster(options: StartClusterOptions): Promise<LocalCluster> {
  const dataDir = resolve(options.dataDir);
  const file = await loadPlan(dataDir, options.nodes, options.host ?? HOST_DEFAULT);
  const command = options.command ?? serveCommandFromEnv();
  const ready = options.ready ?? 'listening';
  const readyTimeoutMs = options.readyTimeoutMs ?? READY_TIMEOUT_MS;
  const stopTimeoutMs = options.stopTimeoutMs ?? STOP_TIMEOUT_MS;
  const spawned = new Map<string, Spawned>();
  const nodes: ClusterNode[] = [];

  const planOf = (name: string): PlannedNode => {
    const p = file.nodes.find((n) => n.name === name);
    if (p === undefined) throw new Error(`no node named ${name}; the cluster has ${file.nodes.map((n) => n.name).join(', ')}`);
    return p;
  };
  const node = (name: string): ClusterNode => {
    planOf(name);
    return nodes.find((n) => n.name === name) as ClusterNode;
  };
  const savePids = (): void => {
    for (const p of file.nodes) {
      const n = nodes.find((x) => x.name === p.name);
      if (n?.running === true) p.pid = n.pid;
      else delete p.pid;
    }
    writeClusterFile(dataDir, file);
  };

  const launch = (plan: PlannedNode): ClusterNode => {
    const urls = nodeUrls(file, plan, dataDir);
    mkdirSync(urls.dataDir, { recursive: true });
    const s = spawnNode({
      name: plan.name,
      executable: command.executable,
      args: [...command.args, ...lastFlagWins([...serveArgs(file, plan, dataDir), ...(options.extraArgs ?? []), ...(options.perNodeArgs?.(plan.name) ?? [])])],
      cwd: command.cwd,
      env: options.env ?? process.env,
      output: options.detached === true
        ? { kind: 'file', path: join(dataDir, `${plan.name}.log`) }
        : { kind: 'lines', sink: options.onLine ?? defaultSink },
    });
    spawned.set(plan.name, s);
    const existing = nodes.find((n) => n.name === plan.name);
    const n: ClusterNode = existing ?? { name: plan.name, ...urls, pid: 0, process: s.child, running: true };
    Object.assign(n, { pid: s.child.pid ?? 0, process: s.child, running: true });
    void s.exited.then(() => {
      if (n.process === s.child) n.running = false;
    });
    if (existing === undefined) nodes.push(n);
    return n;
  };

  const waitReady = async (n: ClusterNode): Promise<void> => {
    const s = spawned.get(n.name) as Spawned;
    const plan = planOf(n.name);
    const hint = options.detached === true ? `see ${join(dataDir, `${n.name}.log`)}` : '';
    if (ready === 'listening') {
      await waitUntil(n.name, s, portListening(plan.clientPort, file.host), readyTimeoutMs, hint);
    } else if (ready === 'healthy') {
      await waitUntil(n.name, s, async () => (await probeHealth(n.metricsUrl)).healthy, readyTimeoutMs, hint);
    }
  };

  const stopNode = async (name: string): Promise<void> => {
    const n = node(name);
    const s = spawned.get(name);
    if (n.running) await stopPid(n.pid, s?.exited, stopTimeoutMs);
    n.running = false;
  };

  // A launcher that dies (a failed test calling process.exit) must not leave orphans
  // holding ports; foreground nodes die with it. Detached nodes are meant to outlive it.
  const killAllSync = (): void => {
    for (const n of nodes) if (n.running) try { process.kill(n.pid, 'SIGKILL'); } catch { /* already gone */ }
  };
  if (options.detached !== true) process.on('exit', killAllSync);

  const cluster: LocalCluster = {
    dataDir, file, nodes,
    endpoints: file.nodes.map((p) => nodeUrls(file, p, dataDir).clientUrl).join(','),
    node,
    async stop() {
      await Promise.all(nodes.map((n) => stopNode(n.name)));
      savePids();
      process.off('exit', killAllSync);
    },
    stopNode: async (name) => {
      await stopNode(name);
      savePids();
    },
    async kill(name, signal = 'SIGKILL') {
      const n = node(name);
      if (!n.running) return;
      try {
        process.kill(n.pid, signal);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // exited meanwhile: fine
      }
      if (EXITING_SIGNALS.has(signal)) await (spawned.get(name) as Spawned).exited;
      savePids();
    },
    async restart(name) {
      await stopNode(name);
      const n = launch(planOf(name));
      savePids();
      await waitReady(n);
      if (options.detached === true) n.process.unref();
      return n;
    },
    async waitHealthy(timeoutMs = readyTimeoutMs) {
      await Promise.all(nodes.filter((n) => n.running).map((n) =>
        waitUntil(n.name, spawned.get(n.name) as Spawned, async () => (await probeHealth(n.metricsUrl)).healthy, timeoutMs, '')));
    },
    async leader() {
      const statuses = await Promise.all(nodes.map(async (n) => ({ n, s: n.running ? await probeStatus(n.metricsUrl) : undefined })));
      return statuses.find((x) => x.s?.isLeader === true)?.n.name;
    },
  };

  // Start everyone before waiting: a lone member of a 3-node cluster never sees a leader.
  for (const p of file.nodes) launch(p);
  savePids();
  try {
    await Promise.all(nodes.map(waitReady));
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  if (options.detached === true) for (const n of nodes) n.process.unref();
  return cluster;
}

/** Whether a pid recorded in cluster.json is still that node (for `cluster down/status`). */
export function recordedPidAlive(dataDir: string, node: PlannedNode): boolean {
  return node.pid !== undefined && isAlive(node.pid) && pidIsNode(node.pid, resolve(dataDir, node.name));
}
