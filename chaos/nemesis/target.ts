// What the nemesis acts on: real node processes, the proxy mesh between them, and an
// admin client. The runner implements it over the launcher and a ProxyMesh; the nemesis
// knows only node numbers (the mesh's ids, 1..n).

import type { Client } from '../../client/index.js';
import type { Link } from '../proxy/index.js';
import type { DamageKind } from './schedule.js';

/** The network shapes of chaos/proxy's ProxyMesh that the nemesis uses. */
export interface NemesisNetwork {
  partition(groups: ReadonlyArray<readonly number[]>): void;
  isolate(node: number): void;
  bridge(left: readonly number[], middle: number, right: readonly number[]): void;
  oneWay(from: number, to: number): void;
  flaky(link: Link, pct: number): void;
  slow(link: Link, ms: number, jitterMs?: number): void;
  cut(link?: Link): number;
  heal(): void;
}

export interface NemesisTarget {
  readonly nodes: readonly number[];
  /** The member name of a node (n1, n2, ...). */
  name(node: number): string;
  /** The node that says it leads with the highest term, if any answers. */
  leader(): Promise<number | undefined>;
  /** Whether the node's process runs (a paused one runs). */
  running(node: number): boolean;
  /** SIGKILL waits for the exit; SIGSTOP/SIGCONT return at once. */
  signal(node: number, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): Promise<void>;
  /**
   * Damages the data dir of a stopped node (DamageKind says how); returns what it did, for
   * the report. Optional: a target without data dirs plans no `damage` fault.
   */
  damage?(node: number, kind: DamageKind): Promise<string>;
  /**
   * Runs `regionstore member reseed` for a stopped node whose raft/ was refused (its peers
   * must be up); returns what it said, for the report. Optional, like damage().
   */
  reseed?(node: number): Promise<string>;
  /** Resolves once every running node answers /health (sees a leader, repairs nothing); rejects after timeoutMs. */
  waitHealthy?(timeoutMs: number): Promise<void>;
  /** Starts a stopped node again (same data dir and flags); resolves once it listens. */
  restart(node: number): Promise<void>;
  readonly network: NemesisNetwork;
  /** A client over every member, for membership and leadership calls. */
  readonly admin: Client;
  /**
   * For a member removed from the cluster (its process stopped): an empty data dir and a
   * new peer URL, which the mesh now forwards to. Returns the URL.
   */
  reset(node: number): Promise<string>;
  /** Starts a reset node as a new member of the cluster whose peers are `initialCluster` (name=url,...). */
  join(node: number, initialCluster: string): Promise<void>;
}
