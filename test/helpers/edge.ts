// Real `regionstore edge` processes for integration tests: started the way the cluster's
// members are (dist/ when fresh, else tsx), on OS-chosen loopback ports, each with its own
// data dir; kill (SIGKILL by default) and restart keep the dir, ports and flags.

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { pickFreePorts } from '../../cluster/ports.js';
import type { ServeCommand } from '../../cluster/launcher.js';

export interface EdgeProcess {
  name: string;
  dataDir: string;
  /** host:port of its client API. */
  endpoint: string;
  metricsUrl: string;
  /** Output lines so far (JSON log lines). */
  lines: string[];
  child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  /** GET /status.json from its metrics port (its own view). */
  status(): Promise<Record<string, any>>;
}

export interface StartEdgeOptions {
  name: string;
  dataDir: string;
  region: readonly string[];
  namespaces?: readonly string[];
  extraArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/** `serve` → `edge`: the same executable and way of running as the cluster's members. */
export function edgeCommand(serve: ServeCommand): ServeCommand {
  const args = [...serve.args];
  if (args[args.length - 1] === 'serve') args[args.length - 1] = 'edge';
  return { ...serve, args };
}

const READY_TIMEOUT_MS = 30_000;

export async function startEdge(serve: ServeCommand, o: StartEdgeOptions): Promise<EdgeProcess> {
  const [clientPort, metricsPort] = await pickFreePorts(2);
  const cmd = edgeCommand(serve);
  const args = [
    ...cmd.args, '--name', o.name, '--data-dir', o.dataDir, '--region', o.region.join(','),
    '--listen-client-urls', `http://127.0.0.1:${clientPort}`, '--metrics-addr', `127.0.0.1:${metricsPort}`,
    ...(o.namespaces ? ['--namespaces', o.namespaces.join(',')] : []), ...(o.extraArgs ?? []),
  ];
  const verbose = process.env.RS_TEST_VERBOSE !== undefined;
  const p: EdgeProcess = {
    name: o.name, dataDir: o.dataDir, endpoint: `127.0.0.1:${clientPort}`, metricsUrl: `http://127.0.0.1:${metricsPort}`,
    lines: [], child: undefined as unknown as ChildProcess,
    async kill(signal = 'SIGKILL') {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      const exited = once(p.child, 'exit');
      p.child.kill(signal);
      await exited;
    },
    async restart() {
      await p.kill();
      await launch();
    },
    async status() {
      const r = await fetch(`${p.metricsUrl}/status.json`);
      return (await r.json()) as Record<string, any>;
    },
  };
  const launch = async (): Promise<void> => {
    const child = spawn(cmd.executable, args, { cwd: cmd.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    p.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        p.lines.push(line);
        if (verbose) console.log(`[${o.name}] ${line}`);
      });
    }
    // Ready once its metrics port answers: it opens after the client port, at the end of start-up.
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`edge ${o.name} exited (${child.exitCode ?? child.signalCode}) before serving:\n${p.lines.slice(-20).join('\n')}`);
      if (Date.now() > deadline) throw new Error(`edge ${o.name} did not start in ${READY_TIMEOUT_MS} ms:\n${p.lines.slice(-20).join('\n')}`);
      const ok = await fetch(`${p.metricsUrl}/health`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  process.on('exit', () => p.child?.kill('SIGKILL'));
  await launch();
  return p;
}
