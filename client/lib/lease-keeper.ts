// Keeps one lease alive in the background and says when it is lost.
//
//   const lease = await client.lease(10);          // granted, renewed every ttl/3
//   await client.put('svc/me', addr, { lease: lease.id });
//   lease.on('lost', (err) => ...);                 // or: const err = await lease.lost;
//   await lease.revoke();                           // or lease.release(): stop renewing
//
// Renewals go over a LeaseKeepAlive stream (to the leader when known; followers forward
// them). A broken stream is reopened on another member after a backoff. The lease is
// lost when the server answers TTL 0 (expired or revoked), or when no renewal got
// through for as long as the last answer's TTL, counted from when that renewal was sent
// (the lease may then have expired without this process hearing of it).

import { EventEmitter } from 'node:events';
import { Metadata, status, type ClientDuplexStream } from '@grpc/grpc-js';
import { LeaseLostError, LeaseNotFoundError } from './errors.js';
import { toNumber, type LeaseId } from './int64.js';
import { backoffMs } from './policy.js';
import type { Endpoint, EndpointPool } from './pool.js';
import { etcdMethods } from './proto.js';
import { attemptErrorOf } from './rpc.js';
import type { WireLeaseKeepAliveResponse } from './wire.js';

/** Renewals per TTL: a renewal can be lost twice before the lease is at risk. */
export const RENEWALS_PER_TTL = 3;
/** Never renew more often than this, whatever the TTL. */
export const RENEW_INTERVAL_MIN_MS = 200;
/**
 * A renewal unanswered for this long (or one renewal interval, if longer) means the
 * member is stuck (frozen, cut off): the stream is reopened elsewhere rather than
 * waiting for gRPC keepalive, which may take longer than the TTL.
 */
export const RENEW_ANSWER_TIMEOUT_MS_MIN = 1_000;

export interface LeaseEvents {
  /** A renewal was answered with this remaining TTL (seconds). */
  keepalive: [ttl: number];
  lost: [err: LeaseLostError];
}

export class KeptLease extends EventEmitter<LeaseEvents> {
  /** Resolves (never rejects) with the reason once the lease is lost; pending while it is kept. */
  readonly lost: Promise<LeaseLostError>;
  private resolveLost!: (e: LeaseLostError) => void;
  private lostError: LeaseLostError | undefined;
  private stopped = false;
  private expiresAtMs: number;
  private call: ClientDuplexStream<unknown, WireLeaseKeepAliveResponse> | undefined;
  private ep: Endpoint | undefined;
  private sentAt: number[] = [];
  private lastFailed: Endpoint | undefined;
  private failures = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly id: LeaseId,
    /** The TTL the lease was granted with (seconds). */
    readonly ttl: number,
    private readonly pool: EndpointPool,
    private readonly revokeFn: (id: LeaseId) => Promise<unknown>,
    private readonly onStop: (l: KeptLease) => void,
    /** When the grant (or last known renewal) was sent: the lease is safe until then + ttl. */
    sentAtMs = Date.now(),
  ) {
    super();
    this.lost = new Promise((resolve) => (this.resolveLost = resolve));
    this.expiresAtMs = sentAtMs + ttl * 1000;
    this.armExpiry();
    this.connect();
  }

  /** The latest time the lease is known to live until (local clock). */
  get safeUntilMs(): number {
    return this.expiresAtMs;
  }

  get isLost(): boolean {
    return this.lostError !== undefined;
  }

  /** Stops renewing and revokes the lease (its keys are deleted). An already expired lease is fine. */
  async revoke(): Promise<void> {
    this.stop();
    try {
      await this.revokeFn(this.id);
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
    }
  }

  /** Stops renewing; the lease expires after its TTL unless someone else renews it. */
  release(): void {
    this.stop();
  }

  private get renewIntervalMs(): number {
    return Math.max(RENEW_INTERVAL_MIN_MS, (this.ttl * 1000) / RENEWALS_PER_TTL);
  }

  private connect(): void {
    if (this.stopped) return;
    const ep = this.pool.pick('leader', this.lastFailed);
    const m = etcdMethods().leaseKeepAlive;
    const call = ep.conn().makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new Metadata(), {}) as
      ClientDuplexStream<unknown, WireLeaseKeepAliveResponse>;
    this.call = call;
    this.ep = ep;
    this.sentAt = [];
    call.on('data', (res: WireLeaseKeepAliveResponse) => {
      if (this.call === call) this.onRenewed(res);
    });
    call.on('error', (err: unknown) => this.onBroken(call, ep, err));
    call.on('end', () => this.onBroken(call, ep, { code: status.UNAVAILABLE, details: 'keep-alive stream ended by the server' }));
    this.renew();
    clearInterval(this.renewTimer);
    this.renewTimer = setInterval(() => this.renew(), this.renewIntervalMs);
  }

  private renew(): void {
    const call = this.call;
    if (call === undefined || this.ep === undefined) return;
    const now = Date.now();
    const oldest = this.sentAt[0];
    const answerTimeoutMs = Math.max(RENEW_ANSWER_TIMEOUT_MS_MIN, this.renewIntervalMs);
    if (oldest !== undefined && now - oldest >= answerTimeoutMs) {
      this.onBroken(call, this.ep, { code: status.DEADLINE_EXCEEDED, details: `keep-alive unanswered for ${now - oldest} ms` });
      return;
    }
    this.sentAt.push(now);
    call.write({ ID: this.id });
  }

  private onRenewed(res: WireLeaseKeepAliveResponse): void {
    const sentAt = this.sentAt.shift() ?? Date.now();
    const ttl = toNumber(res.TTL, 'TTL');
    if (ttl <= 0) {
      this.markLost(new LeaseLostError(this.id, 'expired', `regionstore client: lease ${this.id} expired or was revoked`));
      return;
    }
    this.failures = 0;
    this.expiresAtMs = Math.max(this.expiresAtMs, sentAt + ttl * 1000);
    this.armExpiry();
    this.emit('keepalive', ttl);
  }

  private onBroken(call: ClientDuplexStream<unknown, WireLeaseKeepAliveResponse>, ep: Endpoint, err: unknown): void {
    if (this.call !== call || this.stopped) return;
    this.dropStream();
    const f = attemptErrorOf(err);
    this.pool.reportFailure(ep, f);
    this.lastFailed = ep;
    this.failures += 1;
    this.retryTimer = setTimeout(() => this.connect(), backoffMs(this.failures));
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.stopped) return;
    this.expiryTimer = setTimeout(() => {
      if (Date.now() < this.expiresAtMs) return this.armExpiry();
      this.markLost(new LeaseLostError(this.id, 'unreachable',
        `regionstore client: lease ${this.id} could not be renewed for its TTL of ${this.ttl} s; it has most likely expired`));
    }, Math.max(0, this.expiresAtMs - Date.now()));
  }

  private markLost(err: LeaseLostError): void {
    if (this.stopped) return;
    this.lostError = err;
    this.stop();
    this.resolveLost(err);
    this.emit('lost', err);
  }

  private dropStream(): void {
    const call = this.call;
    this.call = undefined;
    clearInterval(this.renewTimer);
    if (call === undefined) return;
    call.removeAllListeners('data');
    call.on('error', () => {}); // the cancel below reports CANCELLED
    call.cancel();
  }

  /** Stops everything (idempotent). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.expiryTimer);
    this.dropStream();
    this.onStop(this);
  }
}
