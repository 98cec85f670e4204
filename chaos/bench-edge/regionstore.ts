// regionstore in bench:edge: a 3-member region (real processes, RocksDB, fsync on) and one
// `regionstore edge` process per replica pair, the edge dialling the region through one
// counting proxy per member (chaos/proxy ProxySet). One event namespace per pair; events
// are written on the edge through its Crdt API (EVENTS_PER_WRITE per Write while offline,
// one per Write live) and seen in the region through Watch on the leader: the member that
// applies an upload first and answers it (a follower shows it about a commit message later,
// which is the region's replication lag, not the edge's; before session 8 the Watch went
// to whichever member the client's round robin gave, leader or not).
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { Client } from '../../client/index.js';
import { startEdge, type EdgeProcess } from '../../cluster/edge-launcher.js';
import { startCluster, type LocalCluster } from '../../cluster/launcher.js';
import { waitForLeader } from '../../cluster/wait-leader.js';
import { SeededRandom } from '../../server/util/random.js';
import { ProxySet } from '../proxy/index.js';
import type { BenchSystem, ReplicaPair, WireBytes } from './system.js';
import { benchEvent, type BenchEvent } from './workload.js';

/** The region's timings: etcd's defaults, as bench:compare. */
const HEARTBEAT_MS = 100;
const ELECTION_MS = 1_000;
const MEMBERS = 3;
/** How often convergence and reconnects are polled. */
const POLL_MS = 10;
/** A pair that has not converged in this long fails the run. */
const CONVERGE_TIMEOUT_MS = 600_000;
/** How long the edge gets to learn a new namespace from the region. */
const REGISTRY_TIMEOUT_MS = 30_000;
/** A live write not seen in the region within this fails the run. */
const LIVE_WRITE_TIMEOUT_MS = 30_000;
const SEQ_DIGITS = 20;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last === undefined ? '' : ` (${String(last)})`}`);
    await sleep(POLL_MS);
  }
}

/**
 * Where a convergence's seconds went, from the polls of the region's vector (the clock starts
 * when the leader's proxy accepts the edge): when the first of the `events` new events was
 * held, when half and all were, and what the polling itself cost (each poll is a
 * linearizable read, so a ReadIndex round on a busy region).
 */
function phaseLine(edge: string, events: number, base: number, polls: ReadonlyArray<{ at: number; readMs: number; holds: number }>, seconds: number): string {
  const when = (n: number): string => {
    const p = polls.find((x) => x.holds - base >= n);
    return p === undefined ? '?' : `${(p.at / 1000).toFixed(2)} s`;
  };
  const reads = polls.map((p) => p.readMs).sort((a, b) => a - b);
  const mid = reads[Math.floor(reads.length / 2)] ?? 0;
  return `edge ${edge}: of ${events} events the first was held at ${when(1)}, half at ${when(Math.ceil(events / 2))}, all at ${seconds.toFixed(2)} s; ` +
    `${polls.length} polls, read p50 ${mid.toFixed(1)} ms, max ${(reads.at(-1) ?? 0).toFixed(1)} ms`;
}

const toInput = (e: BenchEvent): { device: string; seq: number; type: string; payload: string } => ({ device: e.device, seq: e.seq, type: e.type, payload: e.payload });

class RegionstorePair implements ReplicaPair {
  private constructor(
    private readonly region: Client,
    private readonly regionEndpoints: readonly string[],
    private readonly edge: EdgeProcess,
    private readonly edgeClient: Client,
    private readonly link: ProxySet,
    private readonly namespace: string,
    private readonly prefix: string,
    /** The index (in --region order) of the member that leads now, if known. */
    private readonly leaderIndex: () => Promise<number | undefined>,
  ) {}

  /** The bench's log, for the phase line of each convergence (set by create). */
  private static log: (line: string) => void = () => undefined;

  static async create(
    dir: string, region: Client, regionEndpoints: string[], label: string, seed: number, log: (l: string) => void, leaderIndex: () => Promise<number | undefined>,
  ): Promise<RegionstorePair> {
    RegionstorePair.log = log;
    const namespace = `bench-edge-${label}`;
    const prefix = `${namespace}/`;
    await region.namespaces.create({ name: namespace, prefix, level: 'eventual', crdtType: 'events', description: 'bench:edge' });
    const link = await ProxySet.start(regionEndpoints.map((e) => {
      const [host, port] = e.split(':');
      return { host: host as string, port: Number(port) };
    }), new SeededRandom(seed), `edge-${label}`);
    const edgeLog: WriteStream = createWriteStream(join(dir, `edge-${label}.log`));
    const edge = await startEdge({
      name: `bench-${label}`, dataDir: join(dir, `edge-${label}`), region: link.addresses, namespaces: [namespace],
      extraArgs: ['--log-level', 'warn'], onLine: (_, line) => edgeLog.write(`${line}\n`),
    });
    const edgeClient = new Client({ endpoints: [edge.hostPort], timeoutMs: 30_000 });
    // The edge learns namespaces from the region's registry: wait for this one before going offline.
    await until(`edge ${edge.name} knows ${namespace}`, REGISTRY_TIMEOUT_MS, async () => (await edgeClient.namespaces.get(namespace)).name);
    link.cut();
    log(`edge ${edge.name} (pid ${edge.pid}) up on ${edge.hostPort}, dialling the region through ${link.addresses.join(',')}`);
    return new RegionstorePair(region, regionEndpoints, edge, edgeClient, link, namespace, prefix, leaderIndex);
  }

  async writeLocal(events: readonly BenchEvent[]): Promise<void> {
    await this.edgeClient.crdt.eventsAppend(this.namespace, events.map(toInput));
  }

  /**
   * Events the region holds in the namespace: its vector summed (only the edge writes there).
   * A serializable read (of the leader, where reads go): a member applies committed entries
   * only, so what it holds is the region's, and the poll costs no ReadIndex round (a
   * heartbeat to every member) each POLL_MS while the sync it measures runs.
   */
  private async regionHolds(): Promise<number> {
    const r = await this.region.crdt.read(this.namespace, { device: '', limit: 1 }, { readLevel: 'serializable' });
    return Object.values(r.vector).reduce((a, b) => a + b, 0);
  }

  async connectAndConverge(total: number): Promise<{ seconds: number; waitSeconds: number }> {
    // The clock starts when the edge dials the leader: the backoff still running and a
    // follower's not-leader answer (the edge dials proxies, so it cannot match the leader
    // URL the follower names and tries the next endpoint) are reported apart as the wait.
    const leader = await this.leaderIndex();
    const acceptedBefore = this.link.accepted(leader);
    const before = await this.regionHoldsSafe();
    const tHeal = performance.now();
    this.link.heal();
    await until(`edge ${this.edge.name} reconnects`, CONVERGE_TIMEOUT_MS, async () => (this.link.accepted(leader) > acceptedBefore ? true : undefined));
    const t0 = performance.now();
    // Each poll's answer, for the phase line below (what the clock counted, where).
    const polls: Array<{ at: number; readMs: number; holds: number }> = [];
    await until(`region holds ${total} events of ${this.namespace}`, CONVERGE_TIMEOUT_MS, async () => {
      const asked = performance.now();
      const holds = await this.regionHolds();
      polls.push({ at: asked - t0, readMs: performance.now() - asked, holds });
      return holds >= total ? true : undefined;
    });
    const seconds = (performance.now() - t0) / 1000;
    RegionstorePair.log(phaseLine(this.edge.name, total - before, before, polls, seconds));
    return { seconds, waitSeconds: (t0 - tHeal) / 1000 };
  }

  /** regionHolds, 0 when the read fails (the namespace unknown yet). */
  private async regionHoldsSafe(): Promise<number> {
    return this.regionHolds().catch(() => 0);
  }

  async disconnect(): Promise<void> {
    this.link.cut();
  }

  bytes(): WireBytes {
    return this.link.bytes();
  }

  async live(writes: number, firstIndex: number): Promise<number[]> {
    this.link.heal();
    const waiters = new Map<string, () => void>();
    const seen = new Set<string>();
    // The Watch on the leader (the top of this file); any member if none is known.
    const leader = await this.leaderIndex();
    const observer = leader === undefined ? this.region : new Client({ endpoints: [this.regionEndpoints[leader]!], timeoutMs: 30_000 });
    const watch = observer.watch(this.prefix, { prefix: true });
    await watch.ready();
    const reader = (async () => {
      for await (const batch of watch) {
        if (batch.type !== 'events') continue;
        for (const ev of batch.events) {
          const key = ev.kv.key.toString();
          const w = waiters.get(key);
          if (w === undefined) seen.add(key);
          else {
            waiters.delete(key);
            w();
          }
        }
      }
    })().catch(() => undefined);
    const out: number[] = [];
    try {
      for (let n = 0; n < writes; n++) {
        const e = benchEvent(firstIndex + n);
        const key = `${this.prefix}${e.device}/${String(e.seq).padStart(SEQ_DIGITS, '0')}`;
        const visible = seen.delete(key) ? Promise.resolve() : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`regionstore: ${key} not seen in the region within ${LIVE_WRITE_TIMEOUT_MS} ms`)), LIVE_WRITE_TIMEOUT_MS);
          waiters.set(key, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        const t = performance.now();
        await this.edgeClient.crdt.eventsAppend(this.namespace, [toInput(e)]);
        await visible;
        out.push(performance.now() - t);
      }
    } finally {
      watch.close();
      await reader;
      if (observer !== this.region) observer.close();
    }
    return out;
  }

  async close(): Promise<void> {
    this.edgeClient.close();
    await this.edge.stop();
    await this.link.close();
  }
}

export async function startRegionstoreSystem(dir: string, log: (line: string) => void, seed: number): Promise<BenchSystem> {
  mkdirSync(dir, { recursive: true });
  const regionLog: WriteStream = createWriteStream(join(dir, 'region.log'), { flags: 'a' });
  let cluster: LocalCluster;
  try {
    cluster = await startCluster({
      dataDir: join(dir, 'region'), nodes: MEMBERS, host: '127.0.0.1', ready: 'healthy',
      extraArgs: ['--heartbeat-ms', String(HEARTBEAT_MS), '--election-ms', String(ELECTION_MS), '--log-level', 'warn'],
      onLine: (name, line) => regionLog.write(`[${name}] ${line}\n`),
    });
  } catch (err) {
    regionLog.end();
    throw err;
  }
  const endpoints = cluster.nodes.map((n) => n.clientUrl.replace(/^http:\/\//, ''));
  await waitForLeader('regionstore', endpoints);
  const region = new Client({ endpoints, timeoutMs: 30_000 });
  log(`region of ${MEMBERS} members on ${endpoints.join(',')}`);
  let pairs = 0;
  return {
    id: 'regionstore',
    pair: (label) => RegionstorePair.create(dir, region, endpoints, label, seed + ++pairs, log, async () => {
      const name = await cluster.leader();
      const i = cluster.nodes.findIndex((n) => n.name === name);
      return i < 0 ? undefined : i;
    }),
    stop: async () => {
      region.close();
      await cluster.stop();
      regionLog.end();
    },
  };
}
