// A test network of RawNodes backed by MemoryStorage. Each node handles its Ready the
// way a driver must: queue the messages, persist, apply, advance. Messages wait in a
// queue until delivered, so tests can drop, cut links, or deliver them one by one.

import { SeededRandom } from '../../util/random.js';
import { silentLogger } from '../../util/logger.js';
import type { RaftConfig } from '../config.js';
import { decodeConfChange } from '../conf-change.js';
import { MemoryStorage } from '../memory-storage.js';
import { RawNode } from '../raw-node.js';
import { EntryType, StateRole, type Entry, type Message, type NodeId, type ReadState } from '../types.js';

export interface TestNode {
  id: NodeId;
  storage: MemoryStorage;
  node: RawNode;
  /** Every committed entry applied, in order. */
  applied: Entry[];
  appliedIndex: number;
  readStates: ReadState[];
}

export type ConfigOverrides = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random' | 'logger'>>;

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent and not yet delivered. */
  queue: Message[] = [];
  /** Directed links that drop everything: "from->to". */
  private readonly cut = new Set<string>();
  /** Extra filter: return false to drop. */
  filter: (m: Message) => boolean = () => true;
  /** Every message ever sent, for assertions. */
  readonly sent: Message[] = [];
  private readonly random: SeededRandom;

  constructor(ids: NodeId[] = [], readonly overrides: ConfigOverrides = {}, seed = 1) {
    this.random = new SeededRandom(seed);
    for (const id of ids) this.add(id, true, ids);
    this.stabilize(); // persist and apply the bootstrap entries
  }

  add(id: NodeId, bootstrap: boolean, voters: NodeId[] = []): TestNode {
    const storage = new MemoryStorage();
    const node = new RawNode(this.config(id, storage));
    if (bootstrap) node.bootstrap(voters);
    const t: TestNode = { id, storage, node, applied: [], appliedIndex: 0, readStates: [] };
    this.nodes.set(id, t);
    return t;
  }

  /** Adds a node over an existing storage (a given log and membership). */
  attach(id: NodeId, storage: MemoryStorage, extra: ConfigOverrides = {}): TestNode {
    const node = new RawNode(this.config(id, storage, extra));
    const applied = extra.applied ?? storage.firstIndex() - 1;
    const t: TestNode = { id, storage, node, applied: [], appliedIndex: applied, readStates: [] };
    this.nodes.set(id, t);
    return t;
  }

  config(id: NodeId, storage: MemoryStorage, extra: ConfigOverrides = {}): RaftConfig {
    return { id, storage, random: this.random.fork(), logger: silentLogger, ...this.overrides, ...extra } as RaftConfig;
  }

  /** Crash and restart: only what was persisted survives. */
  restart(id: NodeId): TestNode {
    const t = this.get(id);
    const node = new RawNode(this.config(id, t.storage, { applied: t.appliedIndex }));
    const fresh: TestNode = { ...t, node };
    this.nodes.set(id, fresh);
    return fresh;
  }

  get(id: NodeId): TestNode {
    const t = this.nodes.get(id);
    if (t === undefined) throw new Error(`no node ${id}`);
    return t;
  }

  raw(id: NodeId): RawNode {
    return this.get(id).node;
  }

  /** Handles one Ready of node `id`, if it has one; returns whether it did. */
  processReady(id: NodeId): boolean {
    const t = this.get(id);
    if (!t.node.hasReady()) return false;
    const rd = t.node.ready();
    for (const m of rd.messages) this.send(m);
    if (rd.snapshot !== undefined) t.storage.applySnapshot(rd.snapshot);
    t.storage.append(rd.entries);
    if (rd.hardState !== undefined) t.storage.setHardState(rd.hardState);
    if (rd.snapshot !== undefined) t.appliedIndex = rd.snapshot.metadata.index;
    for (const e of rd.committedEntries) this.apply(t, e);
    t.readStates.push(...rd.readStates);
    t.node.advance(rd);
    return true;
  }

  private apply(t: TestNode, e: Entry): void {
    if (e.index !== t.appliedIndex + 1) throw new Error(`node ${t.id} applies ${e.index} after ${t.appliedIndex}`);
    t.appliedIndex = e.index;
    t.applied.push(e);
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      if (cc === undefined) throw new Error(`bad conf change at ${e.index}`);
      t.storage.setConfState(t.node.applyConfChange(cc));
    }
  }

  send(m: Message): void {
    this.sent.push(m);
    if (this.cut.has(`${m.from}->${m.to}`) || !this.filter(m)) return;
    this.queue.push(m);
  }

  /** Delivers every queued message once (new ones wait for the next call). */
  deliverAll(): number {
    const batch = this.queue;
    this.queue = [];
    for (const m of batch) this.deliver(m);
    return batch.length;
  }

  deliver(m: Message): void {
    const t = this.nodes.get(m.to);
    if (t === undefined) return;
    t.node.step(m);
  }

  /** Processes Readies and delivers messages until the network is quiet. */
  stabilize(maxRounds = 10_000): void {
    for (let i = 0; i < maxRounds; i++) {
      let busy = false;
      for (const id of this.nodes.keys()) busy = this.processReady(id) || busy;
      busy = this.deliverAll() > 0 || busy;
      if (!busy) return;
    }
    throw new Error('network did not stabilize');
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.raw(id).tick();
  }

  /** Ticks every node `n` times, stabilizing after each round. */
  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const id of this.nodes.keys()) this.raw(id).tick();
      this.stabilize();
    }
  }

  campaign(id: NodeId): void {
    this.stabilize();
    this.raw(id).campaign();
    this.stabilize();
  }

  /** Cuts both directions between a and b. */
  cutLink(a: NodeId, b: NodeId): void {
    this.cut.add(`${a}->${b}`);
    this.cut.add(`${b}->${a}`);
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cutLink(id, other);
  }

  heal(): void {
    this.cut.clear();
    this.filter = () => true;
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((t) => t.node.status().role === StateRole.Leader).map((t) => t.id);
  }

  /** The leader of the highest term, if any. */
  leader(): NodeId | undefined {
    let best: { id: NodeId; term: number } | undefined;
    for (const t of this.nodes.values()) {
      const s = t.node.status();
      if (s.role === StateRole.Leader && (best === undefined || s.term > best.term)) best = { id: t.id, term: s.term };
    }
    return best?.id;
  }

  dataOf(id: NodeId): string[] {
    return this.get(id).applied.filter((e) => e.type === EntryType.Normal && e.data.length > 0).map((e) => new TextDecoder().decode(e.data));
  }
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
