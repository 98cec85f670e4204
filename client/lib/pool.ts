// The members this client talks to: one or more gRPC connections per endpoint, which
// endpoint leads (asked with Maintenance.Status), and which endpoints to avoid for a
// while after a connection failure. Followers accept writes (they forward proposals
// through Raft), so the leader is only a preference: it saves the forwarding hop.

import { setTimeout as sleep } from 'node:timers/promises';
import { Client as GrpcClient, connectivityState, credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { header } from './convert.js';
import { toId } from './int64.js';
import { isConnectionFailure, isMemberFailure, type AttemptFailure } from './policy.js';
import { etcdMethods } from './proto.js';
import { unaryAttempt } from './rpc.js';
import type { WireStatusResponse } from './wire.js';

/** One Status probe of the leader discovery waits this long per member. */
export const STATUS_PROBE_TIMEOUT_MS = 1_000;
/** After a connection failure an endpoint is picked only when no other is usable, for this long. */
export const ENDPOINT_DOWN_MS = 1_000;
/** While calls are made, the leader is looked up again this often (a transfer fails nothing). */
export const LEADER_REFRESH_INTERVAL_MS = 5_000;
/**
 * After the leader failed, a leader-preferring call waits up to this long for members
 * to name a new one before it tries a follower anyway: a write sent to a follower
 * before the election would be forwarded to the dead leader and wait out its deadline.
 */
export const LEADER_WAIT_MS_MAX = 3_000;
/** How often the members are asked while waiting for a leader. */
export const LEADER_POLL_MS = 100;
/** gRPC keepalive pings on idle connections, so a frozen member is noticed under a watch. */
export const KEEPALIVE_TIME_MS = 10_000;
export const KEEPALIVE_TIMEOUT_MS = 5_000;
/** grpc-js reconnects after up to 120 s by default; a restarted member should be used again soon. */
export const RECONNECT_BACKOFF_INITIAL_MS = 100;
export const RECONNECT_BACKOFF_MAX_MS = 2_000;

export const CHANNEL_OPTIONS: ChannelOptions = {
  'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS,
  'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
  'grpc.initial_reconnect_backoff_ms': RECONNECT_BACKOFF_INITIAL_MS,
  'grpc.max_reconnect_backoff_ms': RECONNECT_BACKOFF_MAX_MS,
  // A Range answer may be large; the server bounds what it sends.
  'grpc.max_receive_message_length': -1,
};

/**
 * "http://host:port", "https://host:port" or "host:port" → "host:port". Node's HTTP/2
 * server refuses an :authority with a scheme, so the scheme is dropped; whether the
 * channel is TLS is the credentials' business (anyHttps, ClientOptions.tls).
 */
export function normalizeEndpoint(url: string): string {
  const s = url.trim();
  const hostPort = s.replace(/^https?:\/\//i, '').replace(/\/+$/, '');
  if (!/^[^/\s]+:\d{1,5}$/.test(hostPort)) throw new RangeError(`endpoint ${JSON.stringify(url)} is not host:port, http://host:port or https://host:port`);
  return hostPort;
}

/** True when an endpoint is written https:// (the client then speaks TLS to every endpoint). */
export function anyHttps(endpoints: string | readonly string[]): boolean {
  return (typeof endpoints === 'string' ? endpoints.split(',') : [...endpoints]).some((e) => /^\s*https:\/\//i.test(e));
}

export function parseEndpoints(endpoints: string | readonly string[]): string[] {
  const list = (typeof endpoints === 'string' ? endpoints.split(',') : [...endpoints]).filter((e) => e.trim() !== '');
  if (list.length === 0) throw new RangeError('at least one endpoint is needed');
  return [...new Set(list.map(normalizeEndpoint))];
}

export class Endpoint {
  /** The member id this endpoint answered with, once known. */
  memberId: string | undefined;
  downUntilMs = 0;
  private next = 0;

  constructor(
    readonly address: string,
    private readonly conns: GrpcClient[],
  ) {}

  /** A connection, round-robin over this endpoint's connections. */
  conn(): GrpcClient {
    const c = this.conns[this.next % this.conns.length] as GrpcClient;
    this.next = (this.next + 1) % this.conns.length;
    return c;
  }

  usable(nowMs: number): boolean {
    if (this.downUntilMs > nowMs) return false;
    // A channel in TRANSIENT_FAILURE would fail the call at once; skip it while others work.
    return this.conns.some((c) => c.getChannel().getConnectivityState(false) !== connectivityState.TRANSIENT_FAILURE);
  }

  close(): void {
    for (const c of this.conns) c.close();
  }
}

export interface PoolOptions {
  connectionsPerEndpoint: number;
  channelOptions?: ChannelOptions;
  /** TLS (etcdctl's --cacert/--cert/--key); absent: plaintext. */
  credentials?: ChannelCredentials;
}

export type Preference = 'leader' | 'any';

export class EndpointPool {
  readonly endpoints: Endpoint[];
  private leaderEp: Endpoint | undefined;
  /** The members name a leader that is none of our endpoints: waiting will not find it. */
  private leaderElsewhere = false;
  private refreshing: Promise<void> | undefined;
  private cursor = 0;
  private usedSinceRefresh = false;
  private readonly timer: NodeJS.Timeout;

  constructor(addresses: readonly string[], opts: PoolOptions) {
    const channelOptions = { ...CHANNEL_OPTIONS, ...opts.channelOptions };
    this.endpoints = addresses.map((address) => {
      const conns: GrpcClient[] = [];
      for (let i = 0; i < Math.max(1, opts.connectionsPerEndpoint); i++) {
        // A local subchannel pool (and a distinct option) gives each channel its own TCP connection.
        const o = opts.connectionsPerEndpoint > 1
          ? { ...channelOptions, 'grpc.use_local_subchannel_pool': 1, 'regionstore.conn': i }
          : channelOptions;
        conns.push(new GrpcClient(address, opts.credentials ?? credentials.createInsecure(), o));
      }
      return new Endpoint(address, conns);
    });
    this.timer = setInterval(() => {
      if (!this.usedSinceRefresh) return;
      this.usedSinceRefresh = false;
      void this.refreshLeader();
    }, LEADER_REFRESH_INTERVAL_MS);
    this.timer.unref();
  }

  get leader(): Endpoint | undefined {
    return this.leaderEp;
  }

  byAddress(address: string): Endpoint {
    const hostPort = normalizeEndpoint(address);
    const ep = this.endpoints.find((e) => e.address === hostPort);
    if (ep === undefined) throw new RangeError(`endpoint ${address} is not one of ${this.endpoints.map((e) => e.address).join(', ')}`);
    return ep;
  }

  /**
   * The endpoint for the next attempt: the leader when preferred, known and usable, else
   * the next usable endpoint round-robin, `avoid` (the one that just failed) last.
   */
  pick(prefer: Preference, avoid?: Endpoint): Endpoint {
    this.usedSinceRefresh = true;
    const now = Date.now();
    const leader = this.leaderEp;
    if (prefer === 'leader' && leader !== undefined && leader !== avoid && leader.usable(now)) return leader;
    const n = this.endpoints.length;
    for (const acceptable of [(e: Endpoint) => e !== avoid && e.usable(now), (e: Endpoint) => e !== avoid, () => true]) {
      for (let i = 0; i < n; i++) {
        const ep = this.endpoints[(this.cursor + i) % n] as Endpoint;
        if (acceptable(ep)) {
          this.cursor = (this.cursor + i + 1) % n;
          return ep;
        }
      }
    }
    return this.endpoints[0] as Endpoint;
  }

  /** Learns from a failed attempt: a dead connection is avoided, the leader may have moved. */
  reportFailure(ep: Endpoint, f: AttemptFailure): void {
    if (!isMemberFailure(f)) return; // the request's own error: the member is fine
    if (isConnectionFailure(f) || f.notSent) ep.downUntilMs = Date.now() + ENDPOINT_DOWN_MS;
    if (this.leaderEp === ep || f.details.startsWith('etcdserver:')) this.leaderEp = undefined;
  }

  /**
   * Until a usable leader is known (or named outside our endpoints), asks the members
   * again every LEADER_POLL_MS, for at most `budgetMs`.
   */
  async awaitLeader(budgetMs: number, signal?: AbortSignal): Promise<void> {
    const until = Date.now() + budgetMs;
    for (;;) {
      await this.refreshLeader();
      if (this.leaderEp !== undefined || this.leaderElsewhere || signal?.aborted === true) return;
      if (Date.now() + LEADER_POLL_MS >= until) return;
      await sleep(LEADER_POLL_MS, undefined, signal === undefined ? {} : { signal }).catch(() => undefined);
    }
  }

  /** Asks every endpoint for its Status; the leader named with the highest term wins. One at a time. */
  refreshLeader(): Promise<void> {
    this.refreshing ??= this.probe().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async probe(): Promise<void> {
    const method = etcdMethods().status;
    const deadlineMs = Date.now() + STATUS_PROBE_TIMEOUT_MS;
    const answers = await Promise.all(this.endpoints.map(async (ep) => {
      try {
        const s = await unaryAttempt<WireStatusResponse>(ep.conn(), method, {}, { deadlineMs });
        ep.memberId = header(s.header).memberId;
        ep.downUntilMs = 0;
        return { leader: toId(s.leader), term: BigInt(s.raftTerm || '0') };
      } catch {
        return undefined;
      }
    }));
    let best: { leader: string; term: bigint } | undefined;
    for (const a of answers) if (a !== undefined && a.leader !== '0' && (best === undefined || a.term > best.term)) best = a;
    const named = best === undefined ? undefined : this.endpoints.find((e) => e.memberId === best.leader);
    // A leader we cannot reach (just killed; the others have not noticed yet) is no leader.
    this.leaderEp = named !== undefined && named.usable(Date.now()) ? named : undefined;
    this.leaderElsewhere = best !== undefined && named === undefined && this.endpoints.every((e) => e.memberId !== undefined);
  }

  close(): void {
    clearInterval(this.timer);
    for (const ep of this.endpoints) ep.close();
  }
}
