// The regionstore client: one object per application, shared by everything in it.
//
//   const client = new Client({ endpoints: ['127.0.0.1:2379', '127.0.0.1:22379'] });
//   await client.put('greeting', 'hello');
//   await client.getString('greeting');          // 'hello'
//   client.close();
//
// Services: client.kv, client.leases, client.cluster, client.maintenance, client.namespaces,
// client.crdt; the common KV calls, watch() and lease() are also on the client itself.

import type { ChannelOptions } from '@grpc/grpc-js';
import type { BytesLike } from './bytes.js';
import { Caller, type CallOptions, type RetryEvent } from './caller.js';
import { Cluster } from './cluster.js';
import { Crdt } from './crdt.js';
import { ClientClosedError } from './errors.js';
import { WriterIdentity } from './identity.js';
import type { IdLike } from './int64.js';
import { KV, type GetOptions } from './kv.js';
import { Leases } from './lease.js';
import type { KeptLease } from './lease-keeper.js';
import { Maintenance } from './maintenance.js';
import { Namespaces } from './namespaces.js';
import { Edges } from './edges.js';
import { SessionClock, type ReadLevelOptions } from './read-level.js';
import { ATTEMPT_TIMEOUT_MS_DEFAULT, CALL_TIMEOUT_MS_DEFAULT, RETRY_ATTEMPTS_MAX } from './policy.js';
import { EndpointPool, anyHttps, parseEndpoints, type Preference } from './pool.js';
import { tlsChannelCredentials, type ClientTlsFiles } from '../../server/util/tls-client.js';
import type { DeleteOptions, PutOptions, RangeOptions } from './requests.js';
import type { TxnBuilder } from './txn.js';
import type { DeleteResult, KeyValue, PutResult, RangeResult } from './types.js';
import { Watch, type WatchOptions } from './watch.js';

export interface ClientOptions {
  /** Members: "host:port", "http://host:port" or "https://host:port" (TLS), as a list or comma-separated. */
  endpoints: string | readonly string[];
  /**
   * TLS, etcdctl's --cacert / --cert / --key as file paths: the CA that signs the members'
   * certificates (else the system's), and a client certificate for --client-cert-auth.
   * Given, or an https:// endpoint: every endpoint is dialled over TLS.
   */
  tls?: ClientTlsFiles;
  /** Deadline of a whole call, retries included (default 15 s). */
  timeoutMs?: number;
  /** Deadline of one attempt before it is retried elsewhere (default 5 s). */
  attemptTimeoutMs?: number;
  /** Attempts per call, the first included (default 10; 1 disables retries). */
  attempts?: number;
  /** Where reads go: 'leader' (default) or 'any' member round-robin (spreads load). */
  readFrom?: Preference;
  /** TCP connections per member (default 1); calls are spread over them. */
  connectionsPerEndpoint?: number;
  /** Extra grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /** Called before each retry of a unary call (must not throw). */
  onRetry?: (e: RetryEvent) => void;
  /**
   * Session consistency for serializable reads (default true): the client sends the
   * highest revision it has seen as rs-min-revision, so it never reads older than its own
   * writes or earlier reads, even from a follower (DESIGN §2).
   */
  sessionReads?: boolean;
}

export class Client {
  readonly kv: KV;
  readonly leases: Leases;
  readonly cluster: Cluster;
  readonly maintenance: Maintenance;
  /** The namespace registry (regionstore.v1.Namespaces). */
  readonly namespaces: Namespaces;
  /** Typed writes and reads of eventual namespaces (regionstore.v1.Crdt). */
  readonly crdt: Crdt;
  /** The edges a region knows (regionstore.v1.EdgeAdmin). */
  readonly edges: Edges;
  /** The random id this client's writes carry (each in-flight write uses a sub-id of it). */
  readonly clientId: string;
  private readonly pool: EndpointPool;
  private readonly caller: Caller;
  private readonly watches = new Set<Watch>();

  constructor(opts: ClientOptions) {
    const attempts = opts.attempts ?? RETRY_ATTEMPTS_MAX;
    if (!Number.isSafeInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
    const tls = opts.tls ?? (anyHttps(opts.endpoints) ? {} : undefined);
    this.pool = new EndpointPool(parseEndpoints(opts.endpoints), {
      connectionsPerEndpoint: opts.connectionsPerEndpoint ?? 1,
      ...(tls === undefined ? {} : { credentials: tlsChannelCredentials(tls) }),
      ...(opts.channelOptions === undefined ? {} : { channelOptions: opts.channelOptions }),
    });
    const identity = new WriterIdentity();
    this.clientId = identity.clientId;
    this.caller = new Caller(this.pool, identity, {
      timeoutMs: opts.timeoutMs ?? CALL_TIMEOUT_MS_DEFAULT,
      attemptTimeoutMs: opts.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS_DEFAULT,
      attemptsMax: attempts,
      readPreference: opts.readFrom ?? 'leader',
      onRetry: opts.onRetry,
    });
    const session = new SessionClock();
    this.kv = new KV(this.caller, session, opts.sessionReads ?? true);
    this.crdt = new Crdt(this.caller, session, opts.sessionReads ?? true);
    this.leases = new Leases(this.caller);
    this.cluster = new Cluster(this.caller);
    this.maintenance = new Maintenance(this.caller);
    this.namespaces = new Namespaces(this.caller);
    this.edges = new Edges(this.caller);
  }

  /** host:port of every endpoint. */
  get endpoints(): string[] {
    return this.pool.endpoints.map((e) => e.address);
  }

  /** host:port of the leader, as last learned (undefined when unknown). */
  get leaderEndpoint(): string | undefined {
    return this.pool.leader?.address;
  }

  /** Asks every member who leads now; resolves with its host:port, if any. */
  async findLeader(): Promise<string | undefined> {
    await this.pool.refreshLeader();
    return this.pool.leader?.address;
  }

  /** The highest revision this client has seen (what its session reads ask for). */
  get sessionRevision(): number {
    return this.kv.session.revision;
  }

  range(key: BytesLike, opts?: RangeOptions & ReadLevelOptions & CallOptions): ReturnType<KV['range']> {
    return this.kv.range(key, opts);
  }

  get(key: BytesLike, opts?: GetOptions): Promise<KeyValue | undefined> {
    return this.kv.get(key, opts);
  }

  getString(key: BytesLike, opts?: GetOptions): Promise<string | undefined> {
    return this.kv.getString(key, opts);
  }

  getPrefix(prefix: BytesLike, opts?: Omit<RangeOptions, 'prefix' | 'fromKey' | 'rangeEnd'> & CallOptions): Promise<RangeResult> {
    return this.kv.getPrefix(prefix, opts);
  }

  put(key: BytesLike, value: BytesLike, opts?: PutOptions & CallOptions): Promise<PutResult> {
    return this.kv.put(key, value, opts);
  }

  delete(key: BytesLike, opts?: DeleteOptions & CallOptions): Promise<DeleteResult> {
    return this.kv.delete(key, opts);
  }

  txn(): TxnBuilder {
    return this.kv.txn();
  }

  /** Watches a key, range or prefix; resumes across member failures (see Watch). */
  watch(key: BytesLike, opts: WatchOptions = {}): Watch {
    this.throwIfClosed();
    const w = new Watch(this.pool, key, opts, (x) => this.watches.delete(x));
    this.watches.add(w);
    return w;
  }

  /** Grants a lease of `ttlSeconds` and keeps it alive until revoked, released or lost. */
  lease(ttlSeconds: number, opts: { id?: IdLike } & CallOptions = {}): Promise<KeptLease> {
    return this.leases.grantKept(ttlSeconds, opts);
  }

  /**
   * Releases everything: calls in flight fail with ClientClosedError, watches end, kept
   * leases stop being renewed (they expire on their own), connections close.
   */
  close(): void {
    if (this.caller.isClosed) return;
    this.caller.close();
    for (const w of this.watches) w.close();
    this.leases.releaseAll();
    this.pool.close();
  }

  private throwIfClosed(): void {
    if (this.caller.isClosed) throw new ClientClosedError();
  }
}
