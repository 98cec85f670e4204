// A fault-injecting TCP proxy for one directed link: listens on an OS-chosen port of
// 127.0.0.1 and forwards every connection to a target, through the link's policy
// (policy.ts). Controlled in-process: setPolicy(), cut(), setTarget().
//
// The target can be set (and changed) after start: nodes learn their peers' URLs (the
// proxies) before they start, and a restarted node may listen elsewhere. A connection
// arriving with no target is held silent, like a blackhole.

import { createServer, type Server, type Socket } from 'node:net';
import type { SeededRandom } from '../../server/util/random.js';
import { Connection, type ConnectionHost } from './connection.js';
import { PASS, validatePolicy, type LinkPolicy } from './policy.js';

export const LISTEN_HOST = '127.0.0.1';

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface ProxyStats {
  accepted: number;
  refused: number;
  /** Connections cut by cut(), a heal after a blackhole, or flaky(). */
  cut: number;
  open: number;
  /** Both directions. */
  bytesForwarded: number;
  /** Of bytesForwarded: from the dialling side to the target (an edge's upload). */
  bytesUp: number;
  /** Of bytesForwarded: from the target back to the dialling side (an edge's download). */
  bytesDown: number;
  bytesDropped: number;
}

export interface FaultProxyOptions {
  /** Jitter and refusals draw from it; give each proxy its own fork. */
  random: SeededRandom;
  target?: ProxyTarget;
  /** For messages. */
  name?: string;
}

export class FaultProxy {
  readonly name: string;
  private current: LinkPolicy = { ...PASS };
  private targetAddr: ProxyTarget | undefined;
  private readonly connections = new Set<Connection>();
  private readonly counters: Omit<ProxyStats, 'open'> = { accepted: 0, refused: 0, cut: 0, bytesForwarded: 0, bytesUp: 0, bytesDown: 0, bytesDropped: 0 };
  private readonly host: ConnectionHost;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly random: SeededRandom,
    opts: FaultProxyOptions,
  ) {
    this.name = opts.name ?? `proxy:${port}`;
    this.targetAddr = opts.target;
    this.host = {
      policy: () => this.current,
      delayMs: () => this.current.delayMs + (this.current.jitterMs > 0 ? this.random.next() * this.current.jitterMs : 0),
      poison: (bytes) => void (this.counters.bytesDropped += bytes),
      forwarded: (bytes, direction) => {
        this.counters.bytesForwarded += bytes;
        if (direction === 'up') this.counters.bytesUp += bytes;
        else this.counters.bytesDown += bytes;
      },
      target: () => this.targetAddr,
      closed: (c) => void this.connections.delete(c),
    };
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on an OS-chosen port of 127.0.0.1. */
  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, LISTEN_HOST, () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy: no TCP address after listen');
    return new FaultProxy(server, address.port, opts.random, opts);
  }

  /** The address nodes dial. */
  get address(): ProxyTarget {
    return { host: LISTEN_HOST, port: this.port };
  }

  get target(): ProxyTarget | undefined {
    return this.targetAddr;
  }

  /** Where new connections go; open ones keep their upstream. */
  setTarget(target: ProxyTarget | undefined): void {
    this.targetAddr = target;
  }

  get policy(): Readonly<LinkPolicy> {
    return this.current;
  }

  /**
   * Replaces the policy. Leaving a blackhole cuts every connection that lost bytes or a
   * close while it was dark: the streams they carry have holes, and the nodes reconnect.
   */
  setPolicy(policy: LinkPolicy): void {
    validatePolicy(policy);
    const healing = this.current.blackhole && !policy.blackhole;
    this.current = { ...policy };
    if (healing) {
      // Deleting from a Set while iterating it is safe: cut connections drop out.
      for (const c of this.connections) {
        if (c.poisoned) this.cutOne(c);
      }
    }
  }

  /** Cuts (resets) every open connection; returns how many. */
  cut(): number {
    const open = [...this.connections];
    for (const c of open) this.cutOne(c);
    return open.length;
  }

  stats(): ProxyStats {
    return { ...this.counters, open: this.connections.size };
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private cutOne(c: Connection): void {
    this.counters.cut++;
    c.cut();
  }

  private accept(socket: Socket): void {
    this.counters.accepted++;
    if (this.current.refusePct > 0 && this.random.next() * 100 < this.current.refusePct) {
      this.counters.refused++;
      socket.on('error', () => {});
      socket.resetAndDestroy();
      return;
    }
    const connection = new Connection(socket, this.host, this.current.blackhole);
    if (!socket.destroyed) this.connections.add(connection);
  }
}
