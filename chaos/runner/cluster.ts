// A real cluster behind a proxy mesh, as the nemesis sees it (NemesisTarget): the nodes are
// `regionstore serve` processes started by the launcher, and node i dials node j through
// the proxy of link i->j (--peer-dial-map), so the mesh decides what crosses each link.
// Clients talk to the nodes directly: a node cut off from its peers still answers them,
// which is what lets a stale read be seen.
//
// Node numbers are the mesh's ids 1..n; node i is member n<i>. The plan (ports, token) is
// written before the launcher starts, so the proxies know where to forward from the start.

import { execFile } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../../client/index.js';
import { serveCommandFromEnv, startCluster, type LocalCluster } from '../../cluster/launcher.js';
import { HOST_DEFAULT, newPlan, nodeName, writeClusterFile } from '../../cluster/plan.js';
import { pickFreePorts } from '../../cluster/ports.js';
import { probeStatus } from '../../cluster/probe.js';
import type { SeededRandom } from '../../server/util/random.js';
import { damageDataDir } from '../nemesis/damage.js';
import type { DamageKind } from '../nemesis/schedule.js';
import type { NemesisTarget } from '../nemesis/target.js';
import { ProxyMesh } from '../proxy/index.js';

const execFileP = promisify(execFile);
/** `member reseed` asks the peers for their term and applied index and moves files: quick. */
const RESEED_TIMEOUT_MS = 60_000;
import type { UnsafeMode } from './args.js';

/** Raft timings of the nodes: etcd's defaults, which a loaded 2-core machine keeps up with. */
export const HEARTBEAT_MS = 100;
export const ELECTION_MS = 1_000;
/** Small, so snapshots, log compaction and snapshot catch-up happen within a short run. */
export const SNAPSHOT_COUNT = 2_000;
export const SNAPSHOT_CATCHUP_ENTRIES = 500;
/** How long a (re)started node gets to listen (tsx compiles at start on a busy machine). */
export const NODE_READY_TIMEOUT_MS = 60_000;
/** Deadlines of the admin client (membership, leadership transfer). */
export const ADMIN_TIMEOUT_MS = 10_000;
export const ADMIN_ATTEMPT_TIMEOUT_MS = 3_000;

/** The member flag of each unsafe mode; undefined: a mode of the clients (the members run safe). */
const UNSAFE_FLAGS: Record<UnsafeMode, string | undefined> = {
  'local-reads': '--unsafe-local-reads',
  'ack-before-sync': '--unsafe-ack-before-sync',
  'no-session': undefined,
  'crdt-duplicates': '--unsafe-crdt-apply-duplicates',
  // Edge teeth reach the members through the environment (ChaosClusterOptions.env).
  'edge-drop-last-page': undefined,
  'edge-skip-fsync': undefined,
  'edge-early-gc': undefined,
  'edge-accept-skew': undefined,
};

export interface ChaosClusterOptions {
  nodes: number;
  /** Where the nodes' data directories go. */
  dataDir: string;
  /** Where each node's output goes (<name>.log). */
  logDir: string;
  random: SeededRandom;
  unsafe?: UnsafeMode | undefined;
  /**
   * false: nodes dial each other directly, not through the mesh (whose faults then do
   * nothing). To tell a finding of the store from one of the proxies.
   */
  viaProxies?: boolean;
  /** Added to the members' environment (the edge teeth: server/util/unsafe-edge.ts). */
  env?: Record<string, string>;
}

export interface NodeErrorLine {
  node: string;
  line: string;
}

/** pino's numeric levels: 50 error, 60 fatal. A member logs them only for bugs, never for faults. */
export function isErrorLine(line: string): boolean {
  return /^\{"level":(50|60),/.test(line);
}

export class ChaosCluster implements NemesisTarget {
  readonly nodes: readonly number[];
  readonly admin: Client;
  readonly endpoints: string[];
  private launcher!: LocalCluster;
  /** Flags of a node that left and came back: its new peer URL, and how it joins. */
  private readonly peerFlags = new Map<string, string[]>();
  private readonly joinFlags = new Map<string, string[]>();
  /** Reset but not yet told how to join: must not be restarted as it was. */
  private readonly awaitingJoin = new Set<number>();
  private readonly logs = new Map<string, WriteStream>();
  /** Every error-level line a member logged: each one means a bug (a member stopping on its own, an invariant broken). */
  readonly errorLines: NodeErrorLine[] = [];
  private stopped = false;
  private viaProxies = true;

  private constructor(readonly mesh: ProxyMesh, private readonly host: string, endpoints: string[]) {
    this.nodes = mesh.nodes;
    this.endpoints = endpoints;
    this.admin = new Client({ endpoints, timeoutMs: ADMIN_TIMEOUT_MS, attemptTimeoutMs: ADMIN_ATTEMPT_TIMEOUT_MS });
  }

  static async start(o: ChaosClusterOptions): Promise<ChaosCluster> {
    // The proxies listen first, so the ports chosen for the nodes cannot be theirs.
    const mesh = await ProxyMesh.start({ nodes: Array.from({ length: o.nodes }, (_, i) => i + 1), random: o.random });
    const plan = await newPlan(o.nodes, HOST_DEFAULT);
    writeClusterFile(o.dataDir, plan);
    plan.nodes.forEach((p, i) => mesh.setTarget(i + 1, { host: plan.host, port: p.peerPort }));
    const c = new ChaosCluster(mesh, plan.host, plan.nodes.map((p) => `http://${plan.host}:${p.clientPort}`));
    c.viaProxies = o.viaProxies ?? true;
    await mkdir(o.logDir, { recursive: true });
    for (const p of plan.nodes) c.logs.set(p.name, createWriteStream(join(o.logDir, `${p.name}.log`)));
    const unsafeFlag = o.unsafe === undefined ? undefined : UNSAFE_FLAGS[o.unsafe];
    const extraArgs = ['--heartbeat-ms', String(HEARTBEAT_MS), '--election-ms', String(ELECTION_MS),
      '--snapshot-count', String(SNAPSHOT_COUNT), '--snapshot-catchup-entries', String(SNAPSHOT_CATCHUP_ENTRIES),
      ...(unsafeFlag === undefined ? [] : [unsafeFlag, 'true'])];
    try {
      c.launcher = await startCluster({
        dataDir: o.dataDir, ready: 'listening', readyTimeoutMs: NODE_READY_TIMEOUT_MS, extraArgs,
        perNodeArgs: (name) => c.argsFor(name),
        env: { ...process.env, ...(unsafeFlag === undefined ? {} : { REGIONSTORE_UNSAFE: '1' }), ...o.env },
        onLine: (name, line) => {
          c.logs.get(name)?.write(`${line}\n`);
          if (isErrorLine(line)) c.errorLines.push({ node: name, line });
        },
      });
      await c.launcher.waitHealthy(NODE_READY_TIMEOUT_MS);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /** Node i dials every peer j through the proxy i->j. */
  private argsFor(name: string): string[] {
    const self = this.nodeOf(name);
    const dial = this.nodes.filter((j) => j !== self).map((j) => `${this.name(j)}=${this.mesh.peerUrl(self, j)}`);
    const dialFlags = this.viaProxies ? ['--peer-dial-map', dial.join(',')] : [];
    return [...dialFlags, ...(this.peerFlags.get(name) ?? []), ...(this.joinFlags.get(name) ?? [])];
  }

  name(node: number): string {
    return nodeName(node - 1);
  }

  private nodeOf(name: string): number {
    const node = Number(name.slice(1));
    if (!this.nodes.includes(node)) throw new RangeError(`no node ${name}`);
    return node;
  }

  async leader(): Promise<number | undefined> {
    const statuses = await Promise.all(this.launcher.nodes.map(async (n) => ({ n, s: n.running ? await probeStatus(n.metricsUrl) : undefined })));
    const leaders = statuses.filter((x) => x.s?.isLeader === true).sort((a, b) => (b.s?.term ?? 0) - (a.s?.term ?? 0));
    return leaders[0] === undefined ? undefined : this.nodeOf(leaders[0].n.name);
  }

  /** Every running member's metrics URL. */
  metricsUrls(): string[] {
    return this.launcher.nodes.filter((n) => n.running).map((n) => n.metricsUrl);
  }

  running(node: number): boolean {
    return this.launcher.node(this.name(node)).running;
  }

  signal(node: number, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    return this.launcher.kill(this.name(node), signal);
  }

  /** The storage nemesis: damage a stopped member's data dir (chaos/nemesis/damage.ts). */
  damage(node: number, kind: DamageKind): Promise<string> {
    return damageDataDir(this.launcher.node(this.name(node)).dataDir, kind);
  }

  /** `regionstore member reseed` for a stopped node, from the running ones (server/region/reseed.ts). */
  async reseed(node: number): Promise<string> {
    const name = this.name(node);
    if (this.running(node)) throw new Error(`reseed ${name}: it still runs`);
    const endpoints = this.launcher.nodes.filter((n) => n.name !== name && n.running).map((n) => n.clientUrl).join(',');
    const serve = serveCommandFromEnv();
    const args = [...serve.args.slice(0, serve.args[serve.args.length - 1] === 'serve' ? -1 : undefined), 'member', 'reseed',
      '--data-dir', this.launcher.node(name).dataDir, '--endpoints', endpoints];
    const { stdout } = await execFileP(serve.executable, args, { cwd: serve.cwd, timeout: RESEED_TIMEOUT_MS });
    return stdout.trim().split('\n')[0] ?? '';
  }

  async restart(node: number): Promise<void> {
    if (this.awaitingJoin.has(node)) throw new Error(`${this.name(node)} was reset for a membership change and must join, not restart`);
    await this.launcher.restart(this.name(node));
  }

  get network(): ProxyMesh {
    return this.mesh;
  }

  async reset(node: number): Promise<string> {
    const name = this.name(node);
    if (this.running(node)) throw new Error(`reset ${name}: it still runs`);
    this.awaitingJoin.add(node);
    await rm(this.launcher.node(name).dataDir, { recursive: true, force: true });
    const [port] = await pickFreePorts(1, this.host);
    const url = `http://${this.host}:${port!}`;
    this.mesh.setTarget(node, { host: this.host, port: port! });
    this.peerFlags.set(name, ['--listen-peer-urls', url, '--initial-advertise-peer-urls', url]);
    this.joinFlags.delete(name);
    return url;
  }

  async join(node: number, initialCluster: string): Promise<void> {
    const name = this.name(node);
    // Ignored by the server on later restarts, once the data dir holds the member.
    this.joinFlags.set(name, ['--initial-cluster', initialCluster, '--initial-cluster-state', 'existing']);
    this.awaitingJoin.delete(node);
    await this.launcher.restart(name);
  }

  /** Every running node answers /health (it sees a leader). */
  waitHealthy(timeoutMs: number): Promise<void> {
    return this.launcher.waitHealthy(timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.admin.close();
    // SIGCONT first: a stopped process ignores SIGTERM until resumed.
    for (const n of this.launcher?.nodes ?? []) if (n.running) await this.launcher.kill(n.name, 'SIGCONT');
    await this.launcher?.stop();
    await this.mesh.close();
    await Promise.all([...this.logs.values()].map((s) => new Promise<void>((resolve) => s.end(() => resolve()))));
  }
}
