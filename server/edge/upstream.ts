// The edge's link to its region: one endpoint at a time (every --region endpoint tried in
// turn; a not-leader answer names the one to try next), reconnecting with jittered
// exponential backoff (server/sync's Backoff). While connected it runs, side by side:
//  - the registry pull (Namespaces.List at connect, then every REGISTRY_POLL_MS and whenever
//    the session says the registry changed), stored so an offline restart has it;
//  - the strong namespaces' feed (strong-feed.ts);
//  - the EdgeSync session (eventual namespaces, both ways), when a session runner is wired.
// The first of them to fail ends the connection; the others are stopped with it.
// It also forwards strong-namespace writes (Put, DeleteRange) while connected.

import { status, type ChannelCredentials } from '@grpc/grpc-js';
import { Backoff, SYNC_NOT_LEADER_RETRY_CAP_MS_DEFAULT } from '../sync/index.js';
import type { DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse } from '../mvcc/index.js';
import type { NamespaceDefinition } from '../namespace/index.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { Random } from '../util/random.js';
import type { RegionLink } from './backend.js';
import { kvFromWire, RegionClient } from './region-client.js';
import type { StrongFeed } from './strong-feed.js';
import { encodeRegistry, type EdgeStore } from './store.js';

/** How often the registry is pulled while connected (a change signal pulls it at once). */
export const REGISTRY_POLL_MS = 2_000;
/** Distinct unlisted leader URLs remembered for the log-once warning (a bound: leaders change). */
const UNLISTED_LEADERS_REMEMBERED = 64;

/** One EdgeSync session over `endpoint`; resolves when it ends (how, and where to go next). */
export type SessionRunner = (endpoint: string, hooks: SessionHooks) => Promise<SessionEnd>;

export interface SessionHooks {
  /** The session got through HELLO (the link is up: backoff resets). */
  established(): void;
  /** The region's registry changed (its HELLO's registry revision): pull it now. */
  registryChanged(): void;
  /** Registered by the runner: ends the session (the link went down elsewhere, or the edge stops). */
  onStop(stop: () => void): void;
}

export interface SessionEnd {
  /** A sentence for the logs. */
  message: string;
  /** The leader's client endpoint (host:port) when the member said not-leader. */
  leader?: string;
  /** False: reconnecting will not help (e.g. unsupported version); the link stays down. */
  retry: boolean;
  /** Reconnect to the same endpoint at once, without the backoff (nothing failed). */
  now?: boolean;
  /** The member answered not-leader (with or without naming the leader). */
  notLeader?: boolean;
}

export interface UpstreamOptions {
  endpoints: readonly string[];
  store: EdgeStore;
  feed: StrongFeed;
  clock: Clock;
  random: Random;
  logger: Logger;
  session?: SessionRunner;
  /** Backoff bounds (tests shorten them). */
  backoff?: { baseMs?: number; capMs?: number };
  /** How the region is dialled (TLS with the edge's certificate); absent: plaintext. */
  credentials?: () => ChannelCredentials;
  /**
   * The eventual namespaces a session carries, as one string. A session syncs the ones its
   * HELLO named; when the registry pull changes them (a namespace created in the region
   * after the session opened), the session is reopened at once so the new one syncs too.
   */
  syncedNamespaces?: () => string;
}

function sameRegistry(a: NamespaceDefinition[], b: NamespaceDefinition[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class Upstream implements RegionLink {
  connected = false;
  offlineSinceMs: number | undefined;
  /** The endpoint of the current (or last) connection. */
  endpoint: string | undefined;
  connects = 0;
  lastError: string | undefined;
  private client: RegionClient | undefined;
  private stopped = false;
  private next = 0;
  private readonly backoff: Backoff;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  /** Leader URLs named by the region that are not among --region, already logged. */
  private readonly unlistedLeaders = new Set<string>();

  constructor(private readonly o: UpstreamOptions) {
    this.backoff = new Backoff(o.random, o.backoff ?? {});
    this.offlineSinceMs = o.clock.nowMs();
  }

  start(): void {
    this.loopDone = this.loop();
  }

  strongStalenessMs(): number {
    return this.o.feed.stalenessMs();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const endpoint = this.o.endpoints[this.next % this.o.endpoints.length]!;
      let leader: string | undefined;
      let retry = true;
      let now = false;
      let unreachable = false;
      let notLeader = false;
      try {
        const end = await this.connectOnce(endpoint);
        leader = end.leader;
        retry = end.retry;
        now = end.now === true;
        notLeader = end.notLeader === true || end.leader !== undefined;
        this.lastError = end.message;
      } catch (e) {
        this.lastError = (e as Error).message;
        unreachable = isUnreachable(e);
      }
      this.down();
      if (this.stopped) break;
      if (now) {
        this.o.logger.info('reconnecting to the region at once', { endpoint, why: this.lastError });
        continue;
      }
      if (!retry) {
        this.o.logger.error('the region refused this edge for good; not reconnecting', { endpoint, error: this.lastError });
        break;
      }
      if (leader !== undefined) {
        const i = this.o.endpoints.indexOf(leader);
        this.next = i >= 0 ? i : this.next + 1;
        // Behind proxies (or NAT) the leader's own client URL is not one this edge dials: it
        // walks its --region endpoints instead, one per attempt with the backoff growing (a
        // member that redirects does not reset it: see connectOnce), until one reaches the
        // leader. Said once per leader URL, not on every hop.
        if (i < 0 && !this.unlistedLeaders.has(leader)) {
          if (this.unlistedLeaders.size >= UNLISTED_LEADERS_REMEMBERED) this.unlistedLeaders.clear();
          this.unlistedLeaders.add(leader);
          this.o.logger.warn('the region named a leader that is not among --region (behind a proxy?): trying the --region endpoints in turn until one reaches it', { leader, endpoints: this.o.endpoints });
        }
      } else this.next++;
      // No answer at all (the link or the region is down): probe at a steady short interval,
      // so the edge is back within SYNC_UNREACHABLE_PROBE_MS of the link returning.
      // A not-leader answer: hop on soon (SYNC_NOT_LEADER_RETRY_CAP_MS), the backoff still counting.
      const delay = unreachable ? this.backoff.probe() : notLeader ? Math.min(this.backoff.next(), SYNC_NOT_LEADER_RETRY_CAP_MS_DEFAULT) : this.backoff.next();
      this.o.logger.info('region link down; reconnecting', { endpoint, error: this.lastError, retryInMs: delay });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private down(): void {
    if (this.connected) this.offlineSinceMs = this.o.clock.nowMs();
    this.connected = false;
    this.o.feed.stop();
    this.client?.close();
    this.client = undefined;
  }

  private async pullRegistry(client: RegionClient): Promise<void> {
    const defs = await client.listNamespaces();
    if (!sameRegistry(defs, this.o.store.registry.list())) {
      await this.o.store.external(encodeRegistry(defs));
      this.o.logger.info('namespace registry synced from the region', { namespaces: defs.length });
    }
  }

  /** One connection: resolves (or rejects) when it ends. */
  private async connectOnce(endpoint: string): Promise<SessionEnd> {
    const client = new RegionClient(endpoint, this.o.credentials?.());
    this.client = client;
    this.endpoint = endpoint;
    const synced = this.o.syncedNamespaces;
    // The session opens at once, beside the first registry pull, when the stored registry
    // already names what it syncs (a returning edge: the pull is one region round trip less
    // before its first page); the pull reopens it if that changed. A new edge, which knows no
    // namespace yet, pulls first (its session would sync nothing).
    const early = this.o.session !== undefined && (synced?.() ?? '') !== '';
    const connected = (): void => {
      this.connected = true;
      this.offlineSinceMs = undefined;
      this.connects++;
      // With a session, the link counts as up once its HELLO went through (established): a
      // member that answers the registry pull and then redirects (not-leader) must not reset
      // the backoff, or an edge that cannot reach the leader would hop between members at once.
      if (this.o.session === undefined) this.backoff.reset();
      this.o.logger.info('connected to the region', { endpoint });
    };
    if (!early) {
      await this.pullRegistry(client);
      connected();
    }
    let stopSession: (() => void) | undefined;
    let poll: NodeJS.Timeout | undefined;
    let over = false;
    const openedWith = synced?.();
    const ended = new Promise<SessionEnd>((resolve, reject) => {
      const fail = (e: unknown): void => reject(e instanceof Error ? e : new Error(String(e)));
      const pull = async (): Promise<void> => {
        await this.pullRegistry(client);
        const now = synced?.();
        if (this.o.session !== undefined && now !== openedWith) {
          resolve({ message: `the synced namespaces changed (${openedWith ?? ''} -> ${now ?? ''}): reopening the session`, retry: true, now: true });
        }
      };
      const startFeed = (): void => {
        if (this.o.feed.holdsAny() || this.o.session === undefined) {
          this.o.feed.run(client).then(() => resolve({ message: 'the strong feed stopped', retry: true }), fail);
        }
      };
      poll = setInterval(() => void pull().catch(fail), REGISTRY_POLL_MS);
      // Early: the first pull's outcome (the session's end waits for it, below).
      let firstPull: Promise<void> = Promise.resolve();
      if (early) {
        // The link is up once the region answered the pull; the strong feed needs its registry.
        firstPull = pull().then(() => {
          if (over) return; // this connection ended meanwhile
          connected();
          startFeed();
        });
        firstPull.catch(fail);
      } else startFeed();
      if (this.o.session !== undefined) {
        this.o.session(endpoint, {
          established: () => this.backoff.reset(),
          registryChanged: () => void pull().catch(fail),
          onStop: (stop) => {
            stopSession = stop;
          },
          // A session that ends before the first pull answered (the region unreachable: its
          // stream failed first) ends the connection as the pull does: a failed pull is what
          // tells the loop "unreachable" (steady probing), not an answered end (the backoff).
        }).then((end) => firstPull.then(() => resolve(end), () => undefined), fail);
      }
    });
    try {
      return await ended;
    } finally {
      over = true;
      clearInterval(poll);
      stopSession?.();
      this.o.feed.stop();
    }
  }

  // ---- forwarding (strong namespaces)
  private get live(): RegionClient {
    if (this.client === undefined || !this.connected) throw Object.assign(new Error('edge: the region link is down'), { code: 'unavailable' });
    return this.client;
  }

  async forwardPut(req: PutRequest): Promise<PutResponse> {
    const r = await this.live.put(req).catch(regionError);
    return { revision: r.header.revision, ...(r.prevKv ? { prevKv: kvFromWire(r.prevKv) } : {}) };
  }

  async forwardDeleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    const r = await this.live.deleteRange(req).catch(regionError);
    return { revision: r.header.revision, deleted: r.deleted, prevKvs: r.prevKvs.map(kvFromWire) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.down();
    await this.loopDone;
  }
}

/** The region's answer to a forwarded write, passed on with its code and message. */
function regionError(e: { code?: number; details?: string; message?: string }): never {
  const codes: Record<number, string> = { 3: 'invalid-argument', 5: 'not-found', 8: 'resource-exhausted', 9: 'failed-precondition', 14: 'unavailable', 4: 'deadline-exceeded' };
  const code = codes[e.code ?? -1] ?? 'unavailable';
  throw Object.assign(new Error(`region: ${e.details ?? e.message ?? 'unknown error'}`), { code });
}

/** gRPC codes of a call that got no answer from the region (nothing refused it). */
const NO_ANSWER_CODES: ReadonlySet<number> = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);

/** The attempt failed without reaching the region: connection refused or reset, or a deadline. */
function isUnreachable(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' && NO_ANSWER_CODES.has(code);
}
