// One fault proxy per directed pair of nodes, and the network shapes of a nemesis.
//
// Link semantics. regionstore node i reaches node j over gRPC: one long-lived HTTP/2
// connection that i dials to j's peer URL, on which i sends its Raft messages and j
// answers (HTTP/2 acknowledgements, pings, call results). Node j's own messages to i go
// on the connection j dials to i. So the directed link i->j is "the connections i opens to
// j", both byte directions of them, and node i must dial j at peerAddress(i, j).
//  - blackhole(i->j): nothing i sends to j arrives, and nothing j answers on those
//    connections arrives either (a half-working stream would only confuse HTTP/2); what j
//    sends to i on its own link j->i is untouched. partition/isolate/bridge blackhole both
//    directed links of every cut pair; oneWay(i, j) only i->j.
//  - slow/flaky apply to the one directed link, both byte directions.
// Shapes: partition, isolate and bridge replace the set of blackholed links; oneWay adds
// one link to it; heal() returns every link to PASS (no blackhole, delay or refusal).
// All randomness (jitter, refusals) comes from the SeededRandom given, forked per link in
// a fixed order, so a run is reproducible from its seed as far as the OS's timing allows.

import type { SeededRandom } from '../../server/util/random.js';
import { PASS, type LinkPolicy } from './policy.js';
import { FaultProxy, type ProxyStats, type ProxyTarget } from './proxy.js';
import { bridgeLinks, isolateLinks, linkName, partitionLinks, type Link } from './topology.js';

export interface ProxyMeshOptions {
  /** Node ids (e.g. 1..n). */
  nodes: readonly number[];
  random: SeededRandom;
}

export class ProxyMesh {
  readonly nodes: readonly number[];
  private readonly proxies = new Map<string, FaultProxy>();

  private constructor(nodes: readonly number[]) {
    this.nodes = [...nodes];
  }

  /** Starts n·(n-1) proxies, all passing, with no target yet (see setTarget). */
  static async start(opts: ProxyMeshOptions): Promise<ProxyMesh> {
    if (new Set(opts.nodes).size !== opts.nodes.length || opts.nodes.length < 2) {
      throw new RangeError(`proxy mesh: needs at least two distinct nodes, got ${opts.nodes.join(', ')}`);
    }
    const mesh = new ProxyMesh(opts.nodes);
    for (const from of opts.nodes) {
      for (const to of opts.nodes) {
        if (from === to) continue;
        const proxy = await FaultProxy.start({ random: opts.random.fork(), name: linkName(from, to) });
        mesh.proxies.set(linkName(from, to), proxy);
      }
    }
    return mesh;
  }

  /** The proxy of link from->to. */
  link(from: number, to: number): FaultProxy {
    const proxy = this.proxies.get(linkName(from, to));
    if (proxy === undefined) throw new RangeError(`proxy mesh: no link ${linkName(from, to)} (nodes: ${this.nodes.join(', ')})`);
    return proxy;
  }

  /** Where node `from` must dial node `to`. */
  peerAddress(from: number, to: number): ProxyTarget {
    return this.link(from, to).address;
  }

  /** peerAddress as a URL, for a node's peer list. */
  peerUrl(from: number, to: number): string {
    const { host, port } = this.peerAddress(from, to);
    return `http://${host}:${port}`;
  }

  /** Node `node` listens for peers at `target`: every link into it forwards there. */
  setTarget(node: number, target: ProxyTarget | undefined): void {
    for (const from of this.nodes) if (from !== node) this.link(from, node).setTarget(target);
  }

  /** Cuts the groups apart: no link between two groups passes. Every node in one group. */
  partition(groups: ReadonlyArray<readonly number[]>): void {
    this.blackholeExactly(partitionLinks(this.nodes, groups));
  }

  isolate(node: number): void {
    this.blackholeExactly(isolateLinks(this.nodes, node));
  }

  /** Jepsen's bridge: left and right cannot talk; middle talks to both. */
  bridge(left: readonly number[], middle: number, right: readonly number[]): void {
    this.blackholeExactly(bridgeLinks(this.nodes, left, middle, right));
  }

  /** Also drops what `from` sends `to` (link from->to), leaving to->from alone. */
  oneWay(from: number, to: number): void {
    this.update([from, to], { blackhole: true });
  }

  /** Refuses pct% of new connections on a link, and cuts its open ones so that the
   *  reconnection draws too (a long-lived connection would never meet the fault). */
  flaky(link: Link, pct: number): void {
    this.update(link, { refusePct: pct });
    this.link(...link).cut();
  }

  /** Delays every chunk on a link by ms plus up to jitterMs. */
  slow(link: Link, ms: number, jitterMs = 0): void {
    this.update(link, { delayMs: ms, jitterMs });
  }

  /** Cuts the open connections of one link, or of all. Returns how many. */
  cut(link?: Link): number {
    if (link !== undefined) return this.link(...link).cut();
    let n = 0;
    for (const proxy of this.proxies.values()) n += proxy.cut();
    return n;
  }

  /** Every link passes again. Connections that lost bytes in a blackhole are cut. */
  heal(): void {
    for (const proxy of this.proxies.values()) proxy.setPolicy({ ...PASS });
  }

  /** Links currently blackholed, as "a->b". */
  blackholed(): string[] {
    return [...this.proxies].filter(([, p]) => p.policy.blackhole).map(([name]) => name);
  }

  stats(): Record<string, ProxyStats> {
    return Object.fromEntries([...this.proxies].map(([name, p]) => [name, p.stats()]));
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }

  private update(link: Link, change: Partial<LinkPolicy>): void {
    const proxy = this.link(...link);
    proxy.setPolicy({ ...proxy.policy, ...change });
  }

  /** Blackholes exactly these links; every other link stops being one. */
  private blackholeExactly(links: readonly Link[]): void {
    const dark = new Set(links.map(([a, b]) => linkName(a, b)));
    for (const [name, proxy] of this.proxies) proxy.setPolicy({ ...proxy.policy, blackhole: dark.has(name) });
  }
}
