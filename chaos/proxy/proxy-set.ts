// One FaultProxy per target, handled as one link: how an edge reaches its region in the
// edge tests and bench:edge (the edge dials the proxies, one per region member). cut() and
// heal() act on all of them; bytes() sums them.

import type { SeededRandom } from '../../server/util/random.js';
import { PASS } from './policy.js';
import { FaultProxy, type ProxyTarget } from './proxy.js';

export class ProxySet {
  private constructor(readonly proxies: FaultProxy[]) {}

  static async start(targets: readonly ProxyTarget[], random: SeededRandom, name: string): Promise<ProxySet> {
    const proxies: FaultProxy[] = [];
    for (const [i, target] of targets.entries()) {
      proxies.push(await FaultProxy.start({ random: random.fork(), target, name: `${name}:${i}` }));
    }
    return new ProxySet(proxies);
  }

  /** host:port of each proxy, in target order (what the edge's --region gets). */
  get addresses(): string[] {
    return this.proxies.map((p) => `${p.address.host}:${p.address.port}`);
  }

  /** Refuses new connections and resets the open ones: the edge is offline. */
  cut(): void {
    for (const p of this.proxies) {
      p.setPolicy({ ...PASS, refusePct: 100 });
      p.cut();
    }
  }

  /** Resets the open connections only (a network blip: the edge may reconnect at once). */
  reset(): void {
    for (const p of this.proxies) p.cut();
  }

  heal(): void {
    for (const p of this.proxies) p.setPolicy({ ...PASS });
  }

  /** Where the proxy of target `i` forwards new connections (a restarted member may move). */
  setTarget(i: number, target: ProxyTarget): void {
    this.proxies[i]?.setTarget(target);
  }

  bytes(): { up: number; down: number } {
    let up = 0;
    let down = 0;
    for (const p of this.proxies) {
      const s = p.stats();
      up += s.bytesUp;
      down += s.bytesDown;
    }
    return { up, down };
  }

  /** Connections accepted and passed on (not refused): all proxies, or the proxy of target `i`. */
  accepted(i?: number): number {
    const of = i === undefined ? this.proxies : this.proxies.slice(i, i + 1);
    return of.reduce((n, p) => n + p.stats().accepted - p.stats().refused, 0);
  }

  open(): number {
    return this.proxies.reduce((n, p) => n + p.stats().open, 0);
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((p) => p.close()));
  }
}
