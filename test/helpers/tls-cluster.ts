// A region cluster whose client and peer ports speak TLS, for test/tls*.test.ts: members
// are `regionstore serve` processes (dist/ when fresh, else tsx, as test/helpers/cluster.ts)
// with https:// URLs on ports from pickFreePorts and etcd's TLS flags; ready once every
// member's /health (on the plaintext metrics port) says true.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveCommandFromEnv } from '../../cluster/launcher.js';
import { pickFreePorts } from '../../cluster/ports.js';
import { probeHealth } from '../../cluster/probe.js';
import { TEST_ELECTION_MS, TEST_HEARTBEAT_MS } from './cluster.js';

export interface TlsMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  metricsUrl: string;
  hostPort: string;
  dataDir: string;
  args: string[];
  process: ChildProcess | undefined;
  output: string[];
}

export interface TlsCluster {
  members: TlsMember[];
  dir: string;
  /** host:port of every member. */
  hostPorts: string[];
  start(m: TlsMember, extraArgs?: string[]): ChildProcess;
  stop(m: TlsMember): Promise<void>;
  waitHealthy(members?: TlsMember[], timeoutMs?: number): Promise<void>;
  cleanup(): Promise<void>;
}

const READY_MS = 60_000;

export async function startTlsCluster(opts: {
  n?: number;
  /** Flags of member i (TLS files etc.). */
  flags: (i: number, name: string) => string[];
  peerScheme?: 'http' | 'https';
  clientScheme?: 'http' | 'https';
  wait?: boolean;
}): Promise<TlsCluster> {
  const n = opts.n ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'rs-tls-'));
  const ports = await pickFreePorts(n * 3);
  const cs = opts.clientScheme ?? 'https';
  const ps = opts.peerScheme ?? 'https';
  const command = serveCommandFromEnv();
  const members: TlsMember[] = [];
  for (let i = 0; i < n; i++) {
    const [c, p, m] = [ports[i * 3]!, ports[i * 3 + 1]!, ports[i * 3 + 2]!];
    const name = `t${i + 1}`;
    members.push({
      name, clientUrl: `${cs}://127.0.0.1:${c}`, peerUrl: `${ps}://127.0.0.1:${p}`, metricsUrl: `http://127.0.0.1:${m}`,
      hostPort: `127.0.0.1:${c}`, dataDir: join(dir, name), args: [], process: undefined, output: [],
    });
  }
  const initial = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  members.forEach((m, i) => {
    m.args = [
      '--name', m.name, '--data-dir', m.dataDir, '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl, '--initial-cluster', initial,
      '--initial-cluster-token', 'tls-test', '--metrics-addr', m.metricsUrl.replace('http://', ''),
      '--heartbeat-ms', String(TEST_HEARTBEAT_MS), '--election-ms', String(TEST_ELECTION_MS * 2), '--log-level', 'info',
      ...opts.flags(i, m.name),
    ];
  });
  const start = (m: TlsMember, extraArgs: string[] = []): ChildProcess => {
    const child = spawn(command.executable, [...command.args, ...m.args, ...extraArgs], { cwd: command.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer): void => {
      m.output.push(b.toString());
      if (m.output.length > 400) m.output.shift();
      if (process.env.RS_TEST_VERBOSE !== undefined) process.stderr.write(`[${m.name}] ${b.toString()}`);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    m.process = child;
    return child;
  };
  const stop = async (m: TlsMember): Promise<void> => {
    const p = m.process;
    m.process = undefined;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  const waitHealthy = async (which = members, timeoutMs = READY_MS): Promise<void> => {
    const until = Date.now() + timeoutMs;
    for (const m of which) {
      for (;;) {
        if (m.process !== undefined && m.process.exitCode !== null) throw new Error(`${m.name} exited ${m.process.exitCode}:\n${m.output.join('')}`);
        if ((await probeHealth(m.metricsUrl)).healthy) break;
        if (Date.now() > until) throw new Error(`${m.name} not healthy within ${timeoutMs} ms:\n${m.output.join('').slice(-4000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  for (const m of members) start(m);
  const cluster: TlsCluster = {
    members, dir, hostPorts: members.map((m) => m.hostPort), start, stop, waitHealthy,
    cleanup: async () => {
      await Promise.all(members.map(stop));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (opts.wait !== false) {
    try {
      await waitHealthy();
    } catch (err) {
      await cluster.cleanup();
      throw err;
    }
  }
  return cluster;
}
