// The two systems the differential compares: a fresh 3-member etcd (Debian's etcd-server,
// the reference) and a fresh 3-member regionstore cluster (the project's launcher), both
// on loopback with OS-chosen ports, data in temp dirs, etcd's default timings, members
// named n1..n3 on both so that normalized member ids line up.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultServeCommand, startCluster } from '../../cluster/launcher.js';
import { pickFreePorts } from '../../cluster/ports.js';
import { spawnNode, stopPid, type Spawned } from '../../cluster/processes.js';
import { rawClient } from '../../server/api/testing/raw-client.js';

/** etcd's default heartbeat and election timeout; both systems get them. */
export const HEARTBEAT_MS = 100;
export const ELECTION_MS = 1_000;
export const MEMBERS = 3;
export const HOST = '127.0.0.1';
const ETCD_TOKEN = 'differential';
/**
 * The progress_notify interval both systems get (the same etcd flag); their default is
 * 10 minutes, too long for a test.
 */
export const PROGRESS_NOTIFY_INTERVAL = '5s';
/** How long a fresh cluster gets to elect a leader and answer MemberList. */
export const LEADER_WAIT_MS = 60_000;
const POLL_MS = 100;

export interface Member {
  name: string;
  /** Decimal string, as proto-loader gives uint64. */
  id: string;
  clientPort: number;
  peerPort: number;
}

export interface Target {
  system: 'etcd' | 'regionstore';
  members: Member[];
  clusterId: string;
  /** host:port of each member, in name order. */
  hostPorts: string[];
  /** Where the steps may write files (snapshots). */
  workDir: string;
  /**
   * Starts one more member, already added with MemberAdd, joining the running cluster
   * (--initial-cluster-state existing); stop() stops it with the rest.
   */
  startMember(m: JoinPlan): Promise<void>;
  stop(): Promise<void>;
}

export interface JoinPlan {
  name: string;
  peerUrl: string;
  clientPort: number;
  /** NAME=URL,... as etcdctl member add prints it. */
  initialCluster: string;
}

interface MemberListReply {
  header: { clusterId: string; memberId: string };
  members: Array<{ ID: string; name: string; peerURLs: string[]; clientURLs: string[] }>;
}

interface StatusReply {
  header: { memberId: string };
  leader: string;
}

/** Waits until a member answers MemberList with every member named and a leader exists. */
async function discover(system: Target['system'], hostPorts: string[]): Promise<{ members: MemberListReply; leader: string }> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  let last: unknown = 'no answer';
  while (Date.now() < deadline) {
    const c = rawClient(hostPorts[0]!);
    try {
      const members = (await c.unary('Cluster', 'MemberList', {})) as MemberListReply;
      const status = (await c.unary('Maintenance', 'Status', {})) as StatusReply;
      const named = members.members.length === MEMBERS && members.members.every((m) => m.name !== '');
      if (named && status.leader !== '0') return { members, leader: status.leader };
      last = `members ${JSON.stringify(members.members.map((m) => m.name))}, leader ${status.leader}`;
    } catch (err) {
      last = err;
    } finally {
      c.close();
    }
    await sleep(POLL_MS);
  }
  throw new Error(`${system} did not elect a leader with ${MEMBERS} named members within ${LEADER_WAIT_MS} ms: ${String(last)}`);
}

/**
 * Moves leadership to n1, so that "which member leads" (endpoint status, IS LEADER) is
 * the same on both systems; an election's winner is chance, not behaviour.
 */
async function leaderToFirst(system: Target['system'], hostPorts: string[], members: Member[], leader: string): Promise<void> {
  const first = members[0]!;
  if (leader === first.id) return;
  const from = members.find((m) => m.id === leader);
  if (from === undefined) throw new Error(`${system}: leader ${leader} is not a member`);
  const c = rawClient(`${HOST}:${from.clientPort}`);
  try {
    await c.unary('Maintenance', 'MoveLeader', { targetID: first.id });
  } finally {
    c.close();
  }
  const deadline = Date.now() + LEADER_WAIT_MS;
  while (Date.now() < deadline) {
    const { leader: now } = await discover(system, hostPorts);
    if (now === first.id) return;
    await sleep(POLL_MS);
  }
  throw new Error(`${system}: leadership did not move to n1`);
}

async function finish(system: Target['system'], hostPorts: string[], ports: Array<{ name: string; clientPort: number; peerPort: number }>,
  workDir: string, startMember: (m: JoinPlan) => Promise<void>, stop: () => Promise<void>): Promise<Target> {
  try {
    const { members: list, leader } = await discover(system, hostPorts);
    const members = ports.map((p) => {
      const m = list.members.find((x) => x.name === p.name);
      if (m === undefined) throw new Error(`${system}: member ${p.name} missing from MemberList`);
      return { ...p, id: m.ID };
    });
    await leaderToFirst(system, hostPorts, members, leader);
    mkdirSync(workDir, { recursive: true });
    return { system, members, clusterId: list.header.clusterId, hostPorts, workDir, startMember, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Members run in their own process group: if this process dies, they must not outlive it. */
function killSync(spawned: Spawned[]): void {
  for (const s of spawned) {
    if (s.child.exitCode === null && s.child.pid !== undefined) {
      try {
        process.kill(s.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

export async function startEtcd(dir: string, onLine: (name: string, line: string) => void): Promise<Target> {
  const ports = await pickFreePorts(2 * MEMBERS, HOST);
  const plan = Array.from({ length: MEMBERS }, (_, i) => ({ name: `n${i + 1}`, clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]! }));
  const initial = plan.map((p) => `${p.name}=http://${HOST}:${p.peerPort}`).join(',');
  const etcdMember = (name: string, client: string, peer: string, initialCluster: string, state: 'new' | 'existing'): Spawned =>
    spawnNode({
      name, executable: 'etcd', cwd: dir, env: process.env, output: { kind: 'lines', sink: (n, l) => onLine(n, l) },
      args: [
        '--name', name, '--data-dir', join(dir, 'etcd', name),
        '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
        '--initial-cluster', initialCluster, '--initial-cluster-token', ETCD_TOKEN, '--initial-cluster-state', state,
        '--heartbeat-interval', String(HEARTBEAT_MS), '--election-timeout', String(ELECTION_MS),
        '--experimental-watch-progress-notify-interval', PROGRESS_NOTIFY_INTERVAL,
        '--logger', 'zap', '--log-level', 'warn',
      ],
    });
  const spawned: Spawned[] = plan.map((p) => etcdMember(p.name, `http://${HOST}:${p.clientPort}`, `http://${HOST}:${p.peerPort}`, initial, 'new'));
  const killAllSync = (): void => killSync(spawned);
  process.on('exit', killAllSync);
  const stop = async (): Promise<void> => {
    await Promise.all(spawned.map((s) => (s.child.pid === undefined ? undefined : stopPid(s.child.pid, s.exited))));
    process.off('exit', killAllSync);
  };
  const hostPorts = plan.map((p) => `${HOST}:${p.clientPort}`);
  const startMember = async (m: JoinPlan): Promise<void> => {
    spawned.push(etcdMember(m.name, `http://${HOST}:${m.clientPort}`, m.peerUrl, m.initialCluster, 'existing'));
  };
  return finish('etcd', hostPorts, plan, join(dir, 'etcd-work'), startMember, stop);
}

export async function startRegionstore(dir: string, onLine: (name: string, line: string) => void): Promise<Target> {
  const cluster = await startCluster({
    dataDir: join(dir, 'rs'), nodes: MEMBERS, host: HOST, ready: 'healthy', readyTimeoutMs: LEADER_WAIT_MS,
    extraArgs: [
      '--heartbeat-ms', String(HEARTBEAT_MS), '--election-ms', String(ELECTION_MS), '--log-level', 'warn',
      '--experimental-watch-progress-notify-interval', PROGRESS_NOTIFY_INTERVAL,
    ],
    onLine: (n, l) => onLine(n, l),
  });
  const plan = cluster.file.nodes.map((n) => ({ name: n.name, clientPort: n.clientPort, peerPort: n.peerPort }));
  const hostPorts = plan.map((p) => `${HOST}:${p.clientPort}`);
  const joined: Spawned[] = [];
  const serveCommand = defaultServeCommand();
  const startMember = async (m: JoinPlan): Promise<void> => {
    const client = `http://${HOST}:${m.clientPort}`;
    const [metricsPort] = await pickFreePorts(1, HOST);
    joined.push(spawnNode({
      name: m.name, executable: serveCommand.executable, cwd: serveCommand.cwd, env: process.env,
      output: { kind: 'lines', sink: (n, l) => onLine(n, l) },
      args: [
        ...serveCommand.args, '--name', m.name, '--data-dir', join(dir, 'rs', m.name),
        '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', m.initialCluster, '--initial-cluster-state', 'existing', '--initial-cluster-token', cluster.file.token,
        '--metrics-addr', `${HOST}:${metricsPort!}`,
        '--heartbeat-ms', String(HEARTBEAT_MS), '--election-ms', String(ELECTION_MS), '--log-level', 'warn',
      ],
    }));
  };
  const killJoinedSync = (): void => killSync(joined);
  process.on('exit', killJoinedSync);
  const stop = async (): Promise<void> => {
    await Promise.all(joined.map((s) => (s.child.pid === undefined ? undefined : stopPid(s.child.pid, s.exited))));
    process.off('exit', killJoinedSync);
    await cluster.stop();
  };
  return finish('regionstore', hostPorts, plan, join(dir, 'rs-work'), startMember, stop);
}
