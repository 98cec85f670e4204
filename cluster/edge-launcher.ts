// Runs `regionstore edge` processes on loopback for the edge tests and bench:edge (issue
// 14), the way launcher.ts runs region members: the same executable (dist/ when fresh,
// else the sources through tsx), its own data dir, client and metrics ports chosen once
// (a restart keeps them), kill -9 and restart.
//
//   const edge = await startEdge({ name: 'a', dataDir, region: ['127.0.0.1:2379'] });
//   await edge.kill();      // SIGKILL, waits for the exit
//   await edge.restart();   // same flags, ports and data dir
//   await edge.stop();      // SIGTERM, SIGKILL after the stop timeout
import { mkdirSync } from 'node:fs';
import { serveCommandFromEnv, type ServeCommand } from './launcher.js';
import { pickFreePorts } from './ports.js';
import { READY_TIMEOUT_MS, STOP_TIMEOUT_MS, portListening, spawnNode, stopPid, waitUntil, type LineSink, type Spawned } from './processes.js';

export const EDGE_HOST = '127.0.0.1';
/** A status request to a live edge answers in milliseconds; a stopped one must not hang the caller. */
export const STATUS_TIMEOUT_MS = 3_000;

/** The `regionstore edge` command of the same executable a member runs (`serve` → `edge`). */
export function edgeCommand(serve: ServeCommand): ServeCommand {
  const args = [...serve.args];
  if (args.at(-1) === 'serve') args[args.length - 1] = 'edge';
  else args.push('edge');
  return { ...serve, args };
}

export interface EdgeSpec {
  /** The device id (--name). */
  name: string;
  dataDir: string;
  /** host:port of each region member the edge may dial (proxies in the tests). */
  region: readonly string[];
  /** Eventual namespaces to sync (--namespaces); absent: all. */
  namespaces?: readonly string[];
  /** Flags appended last (e.g. ['--unsafe-clock-offset-ms', '5000']). */
  extraArgs?: readonly string[];
  /** Environment (default: this process's, REGIONSTORE_UNSAFE=1 added when extraArgs has an --unsafe- flag). */
  env?: NodeJS.ProcessEnv;
  /** How to run `regionstore serve` (default: serveCommandFromEnv()); `serve` becomes `edge`. */
  command?: ServeCommand;
  /** Output lines (default: dropped unless RS_TEST_VERBOSE is set). */
  onLine?: LineSink;
  readyTimeoutMs?: number;
  /** Ports to listen on (a process started again where clients already point); default: picked. */
  ports?: { client: number; metrics: number };
}

export interface EdgeProcess {
  name: string;
  dataDir: string;
  /** host:port of the edge's client API. */
  hostPort: string;
  clientUrl: string;
  metricsUrl: string;
  clientPort: number;
  metricsPort: number;
  readonly pid: number;
  readonly running: boolean;
  /** The last lines it printed. */
  tail(): string[];
  /** GET /status.json from its metrics port (the edge's own view). */
  status(): Promise<Record<string, unknown>>;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
  /** Stops it if it runs, then starts it again with the same flags, ports and data dir. */
  restart(): Promise<void>;
}

function verboseSink(name: string, line: string, stream: 'stdout' | 'stderr'): void {
  (stream === 'stdout' ? process.stdout : process.stderr).write(`[edge ${name}] ${line}\n`);
}

export async function startEdge(spec: EdgeSpec): Promise<EdgeProcess> {
  const [clientPort, metricsPort] = spec.ports === undefined ? await pickFreePorts(2, EDGE_HOST) : [spec.ports.client, spec.ports.metrics];
  const command = edgeCommand(spec.command ?? serveCommandFromEnv());
  const clientUrl = `http://${EDGE_HOST}:${String(clientPort)}`;
  const metricsAddr = `${EDGE_HOST}:${String(metricsPort)}`;
  const unsafe = (spec.extraArgs ?? []).some((a) => a.startsWith('--unsafe-'));
  const env = spec.env ?? { ...process.env, ...(unsafe ? { REGIONSTORE_UNSAFE: '1' } : {}) };
  const sink: LineSink = spec.onLine ?? (process.env.RS_TEST_VERBOSE === undefined ? () => {} : verboseSink);
  mkdirSync(spec.dataDir, { recursive: true });
  const args = [
    ...command.args, '--name', spec.name, '--data-dir', spec.dataDir, '--region', spec.region.join(','),
    '--listen-client-urls', clientUrl, '--metrics-addr', metricsAddr,
    ...(spec.namespaces === undefined ? [] : ['--namespaces', spec.namespaces.join(',')]),
    ...(spec.extraArgs ?? []),
  ];
  let spawned: Spawned | undefined;
  let running = false;
  const killOnExit = (): void => {
    if (running && spawned?.child.pid !== undefined) try { process.kill(spawned.child.pid, 'SIGKILL'); } catch { /* gone */ }
  };
  process.on('exit', killOnExit);

  const launch = async (): Promise<void> => {
    const s = spawnNode({ name: spec.name, executable: command.executable, args, cwd: command.cwd, env, output: { kind: 'lines', sink } });
    spawned = s;
    running = true;
    void s.exited.then(() => {
      if (spawned === s) running = false;
    });
    try {
      await waitUntil(`edge ${spec.name}`, s, portListening(clientPort as number, EDGE_HOST), spec.readyTimeoutMs ?? READY_TIMEOUT_MS, '');
    } catch (err) {
      if (s.child.pid !== undefined) await stopPid(s.child.pid, s.exited, STOP_TIMEOUT_MS);
      throw err;
    }
  };
  const stop = async (): Promise<void> => {
    if (running && spawned?.child.pid !== undefined) await stopPid(spawned.child.pid, spawned.exited, STOP_TIMEOUT_MS);
    running = false;
  };

  await launch();
  return {
    name: spec.name,
    dataDir: spec.dataDir,
    hostPort: `${EDGE_HOST}:${String(clientPort)}`,
    clientUrl,
    metricsUrl: `http://${metricsAddr}`,
    clientPort: clientPort as number,
    metricsPort: metricsPort as number,
    get pid() {
      return spawned?.child.pid ?? 0;
    },
    get running() {
      return running;
    },
    tail: () => [...(spawned?.tail ?? [])],
    async status() {
      const r = await fetch(`http://${metricsAddr}/status.json`, { signal: AbortSignal.timeout(STATUS_TIMEOUT_MS) });
      return (await r.json()) as Record<string, unknown>;
    },
    async kill(signal = 'SIGKILL') {
      if (!running || spawned === undefined) return;
      try {
        process.kill(spawned.child.pid ?? 0, signal);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
      await spawned.exited;
      running = false;
    },
    async stop() {
      await stop();
      process.off('exit', killOnExit);
    },
    async restart() {
      await stop();
      await launch();
    },
  };
}
