// The plan of a local cluster: names, ports and token, persisted in <data>/cluster.json
// so a second `npm start` restarts the same members on the same addresses (their peers
// and their stored membership know them by those URLs), plus the `serve` flags per node.
//
// Restarts pass exactly the same flags as the first start, --initial-* included: the
// server ignores --initial-* when its data dir already holds a member (as etcd does), so
// the launcher needs no "first run or not" logic and a half-created cluster (one data dir
// missing) still comes up.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pickFreePorts } from './ports.js';

export const CLUSTER_FILE = 'cluster.json';
export const CLUSTER_FILE_VERSION = 1;
export const NODES_DEFAULT = 3;
/** Raft needs a majority; more than 7 local members only slows a laptop down. */
export const NODES_MAX = 7;
export const HOST_DEFAULT = '127.0.0.1';

export interface PlannedNode {
  name: string;
  clientPort: number;
  peerPort: number;
  metricsPort: number;
  /** The running process, when one was started detached (`cluster up`) or by `npm start`. */
  pid?: number;
}

export interface ClusterFile {
  version: number;
  /** --initial-cluster-token: member and cluster ids derive from it, so it never changes. */
  token: string;
  host: string;
  nodes: PlannedNode[];
}

export function nodeName(index: number): string {
  return `n${index + 1}`;
}

export function clusterFilePath(dataDir: string): string {
  return join(dataDir, CLUSTER_FILE);
}

/** A fresh plan with OS-chosen ports (client, peer, metrics per node). */
export async function newPlan(nodes: number, host = HOST_DEFAULT): Promise<ClusterFile> {
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > NODES_MAX) {
    throw new Error(`--nodes must be a whole number from 1 to ${NODES_MAX}, not ${nodes}`);
  }
  const ports = await pickFreePorts(nodes * 3, host);
  const at = (i: number): number => ports[i] as number;
  return {
    version: CLUSTER_FILE_VERSION,
    token: `regionstore-local-${randomBytes(4).toString('hex')}`,
    host,
    nodes: Array.from({ length: nodes }, (_, i) => ({
      name: nodeName(i), clientPort: at(3 * i), peerPort: at(3 * i + 1), metricsPort: at(3 * i + 2),
    })),
  };
}

function isPort(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 65_536;
}

/** Checks a parsed cluster.json; throws a message naming the file and the bad field. */
export function validateClusterFile(value: unknown, where: string): ClusterFile {
  const bad = (what: string): never => {
    throw new Error(`${where}: ${what}; fix it or remove the data directory to start a fresh cluster`);
  };
  if (typeof value !== 'object' || value === null) return bad('not a JSON object');
  const f = value as Partial<ClusterFile>;
  if (f.version !== CLUSTER_FILE_VERSION) bad(`version is ${String(f.version)}, expected ${CLUSTER_FILE_VERSION}`);
  if (typeof f.token !== 'string' || f.token === '') bad('token is missing');
  if (typeof f.host !== 'string' || f.host === '') bad('host is missing');
  if (!Array.isArray(f.nodes) || f.nodes.length === 0) return bad('nodes is missing or empty');
  for (const n of f.nodes) {
    if (typeof n.name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(n.name)) bad(`node name ${JSON.stringify(n.name)} is invalid`);
    if (!isPort(n.clientPort) || !isPort(n.peerPort) || !isPort(n.metricsPort)) bad(`node ${n.name} has an invalid port`);
    if (n.pid !== undefined && !(Number.isInteger(n.pid) && n.pid > 0)) bad(`node ${n.name} has an invalid pid`);
  }
  return f as ClusterFile;
}

/** The plan stored in `dataDir`, or undefined when there is none yet. */
export function readClusterFile(dataDir: string): ClusterFile | undefined {
  const path = clusterFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message}); fix it or remove the data directory`, { cause: err });
  }
  return validateClusterFile(parsed, path);
}

/** Writes atomically (temp file + rename) so a crash never leaves half a file. */
export function writeClusterFile(dataDir: string, file: ClusterFile): void {
  mkdirSync(dataDir, { recursive: true });
  const path = clusterFilePath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(file, null, 2) + '\n');
  renameSync(tmp, path);
}

export interface NodeUrls {
  clientUrl: string;
  peerUrl: string;
  metricsUrl: string;
  dataDir: string;
}

export function nodeUrls(file: ClusterFile, node: PlannedNode, dataDir: string): NodeUrls {
  const h = file.host.includes(':') ? `[${file.host}]` : file.host;
  return {
    clientUrl: `http://${h}:${node.clientPort}`,
    peerUrl: `http://${h}:${node.peerPort}`,
    metricsUrl: `http://${h}:${node.metricsPort}`,
    dataDir: resolve(dataDir, node.name),
  };
}

/**
 * Serve flags with every repeated flag reduced to its last occurrence (the one serve would
 * use), in order. Flags are `--name value` or `--name=value`; the launcher appends per-node
 * overrides after the plan's flags, and serve warns about each flag given twice.
 */
export function lastFlagWins(args: readonly string[]): string[] {
  const units: Array<{ name: string | undefined; tokens: string[] }> = [];
  for (let i = 0; i < args.length; i++) {
    const t = args[i]!;
    if (!t.startsWith('--')) {
      units.push({ name: undefined, tokens: [t] });
    } else if (t.includes('=')) {
      units.push({ name: t.slice(0, t.indexOf('=')), tokens: [t] });
    } else if (i + 1 < args.length && !args[i + 1]!.startsWith('--')) {
      units.push({ name: t, tokens: [t, args[i + 1]!] });
      i++;
    } else {
      units.push({ name: t, tokens: [t] });
    }
  }
  const lastIndex = new Map<string, number>();
  units.forEach((u, i) => u.name !== undefined && lastIndex.set(u.name, i));
  return units.filter((u, i) => u.name === undefined || lastIndex.get(u.name) === i).flatMap((u) => u.tokens);
}

/** The `regionstore serve` flags of one node (the same on every start; see the top). */
export function serveArgs(file: ClusterFile, node: PlannedNode, dataDir: string): string[] {
  const urls = nodeUrls(file, node, dataDir);
  const h = file.host.includes(':') ? `[${file.host}]` : file.host;
  const initialCluster = file.nodes.map((n) => `${n.name}=${nodeUrls(file, n, dataDir).peerUrl}`).join(',');
  return [
    '--name', node.name,
    '--data-dir', urls.dataDir,
    '--listen-client-urls', urls.clientUrl,
    '--advertise-client-urls', urls.clientUrl,
    '--listen-peer-urls', urls.peerUrl,
    '--initial-advertise-peer-urls', urls.peerUrl,
    '--initial-cluster', initialCluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', file.token,
    '--metrics-addr', `${h}:${node.metricsPort}`,
  ];
}

/** What a person pastes to try the cluster. */
export function etcdctlLine(file: ClusterFile, dataDir: string): string {
  // host:port, not http://host:port: etcdctl 3.4 sends the scheme in :authority for
  // per-endpoint commands (endpoint status), which Node's HTTP/2 server refuses.
  const endpoints = file.nodes.map((n) => nodeUrls(file, n, dataDir).clientUrl.replace(/^http:\/\//, '')).join(',');
  return `ETCDCTL_API=3 etcdctl --endpoints=${endpoints} put foo bar`;
}
