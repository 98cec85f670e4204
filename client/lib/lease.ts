// The Lease service: grant, revoke, time-to-live, list, a single keep-alive, and
// keepAlive(id) for the background keeper (lease-keeper.ts). Grant and revoke carry the
// writer identity, so a retried grant does not create a second lease.

import { Metadata } from '@grpc/grpc-js';
import type { Caller, CallOptions } from './caller.js';
import { header } from './convert.js';
import { errorFromStatus, GrpcCode, InvalidArgumentError, LeaseNotFoundError } from './errors.js';
import { idToWire, toId, toNumber, type IdLike, type LeaseId } from './int64.js';
import { KeptLease } from './lease-keeper.js';
import { etcdMethods } from './proto.js';
import { attemptErrorOf } from './rpc.js';
import type { ResponseHeader } from './types.js';
import type { WireHeader, WireLeaseKeepAliveResponse } from './wire.js';

export interface LeaseGrant {
  header: ResponseHeader;
  id: LeaseId;
  /** Seconds, as granted (the server may raise a TTL below its minimum). */
  ttl: number;
}

export interface LeaseTimeToLive {
  header: ResponseHeader;
  id: LeaseId;
  /** Remaining seconds; -1 when the lease does not exist (expired or never granted). */
  ttl: number;
  grantedTtl: number;
  /** Keys attached, when asked for. */
  keys: Buffer[];
}

export class Leases {
  private readonly kept = new Set<KeptLease>();

  constructor(private readonly caller: Caller) {}

  async grant(ttlSeconds: number, opts: { id?: IdLike } & CallOptions = {}): Promise<LeaseGrant> {
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) throw new RangeError(`lease TTL must be a positive integer (seconds), got ${ttlSeconds}`);
    const req = { TTL: String(ttlSeconds), ID: opts.id === undefined ? '0' : idToWire(opts.id, 'lease id') };
    const r = await this.caller.unary<{ header: WireHeader | null; ID: string; TTL: string; error: string }>(
      etcdMethods().leaseGrant, req, 'write', opts);
    if (r.error !== '') throw new InvalidArgumentError({ code: GrpcCode.INVALID_ARGUMENT, details: r.error });
    return { header: header(r.header), id: toId(r.ID), ttl: toNumber(r.TTL, 'TTL') };
  }

  async revoke(id: IdLike, opts: CallOptions = {}): Promise<ResponseHeader> {
    const r = await this.caller.unary<{ header: WireHeader | null }>(etcdMethods().leaseRevoke, { ID: idToWire(id, 'lease id') }, 'write', opts);
    return header(r.header);
  }

  async timeToLive(id: IdLike, opts: { keys?: boolean } & CallOptions = {}): Promise<LeaseTimeToLive> {
    const r = await this.caller.unary<{ header: WireHeader | null; ID: string; TTL: string; grantedTTL: string; keys: Buffer[] }>(
      etcdMethods().leaseTimeToLive, { ID: idToWire(id, 'lease id'), keys: opts.keys === true }, 'read', opts);
    return { header: header(r.header), id: toId(r.ID), ttl: toNumber(r.TTL, 'TTL'), grantedTtl: toNumber(r.grantedTTL, 'grantedTTL'), keys: r.keys };
  }

  async list(opts: CallOptions = {}): Promise<LeaseId[]> {
    const r = await this.caller.unary<{ leases: Array<{ ID: string }> }>(etcdMethods().leaseLeases, {}, 'read', opts);
    return r.leases.map((l) => toId(l.ID));
  }

  /** Renews the lease once; resolves with the remaining TTL, LeaseNotFoundError when it is gone. */
  async keepAliveOnce(id: IdLike, opts: CallOptions = {}): Promise<{ header: ResponseHeader; ttl: number }> {
    const ep = opts.endpoint === undefined ? this.caller.pool.pick('leader') : this.caller.pool.byAddress(opts.endpoint);
    const m = etcdMethods().leaseKeepAlive;
    const deadline = Date.now() + (opts.timeoutMs ?? this.caller.settings.attemptTimeoutMs);
    const res = await new Promise<WireLeaseKeepAliveResponse>((resolve, reject) => {
      const call = ep.conn().makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new Metadata(), { deadline });
      const onAbort = (): void => call.cancel();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      call.once('data', (r: WireLeaseKeepAliveResponse) => {
        opts.signal?.removeEventListener('abort', onAbort);
        call.end();
        resolve(r);
      });
      call.on('error', (err: unknown) => {
        opts.signal?.removeEventListener('abort', onAbort);
        const f = attemptErrorOf(err);
        reject(errorFromStatus({ code: f.code, details: f.details, endpoint: ep.address }));
      });
      call.write({ ID: idToWire(id, 'lease id') });
    });
    const ttl = toNumber(res.TTL, 'TTL');
    if (ttl <= 0) throw new LeaseNotFoundError({ code: GrpcCode.NOT_FOUND, details: 'etcdserver: requested lease not found', endpoint: ep.address });
    return { header: header(res.header), ttl };
  }

  /**
   * Keeps an existing lease alive in the background (see KeptLease). `ttl` is the lease's
   * TTL in seconds (asked for with timeToLive when not given).
   */
  async keepAlive(id: IdLike, opts: { ttl?: number } & CallOptions = {}): Promise<KeptLease> {
    const sentAt = Date.now();
    let ttl = opts.ttl;
    if (ttl === undefined) {
      const t = await this.timeToLive(id, opts);
      if (t.ttl <= 0) throw new LeaseNotFoundError({ code: GrpcCode.NOT_FOUND, details: 'etcdserver: requested lease not found' });
      ttl = t.grantedTtl;
    }
    return this.keep(idToWire(id, 'lease id'), ttl, sentAt);
  }

  /** Grants a lease and keeps it alive. */
  async grantKept(ttlSeconds: number, opts: { id?: IdLike } & CallOptions = {}): Promise<KeptLease> {
    const sentAt = Date.now();
    const g = await this.grant(ttlSeconds, opts);
    return this.keep(g.id, g.ttl, sentAt);
  }

  private keep(id: LeaseId, ttl: number, sentAt: number): KeptLease {
    const lease = new KeptLease(id, ttl, this.caller.pool, (lid) => this.revoke(lid), (l) => this.kept.delete(l), sentAt);
    this.kept.add(lease);
    return lease;
  }

  /** Stops every kept lease (without revoking: they expire on their own). */
  releaseAll(): void {
    for (const l of this.kept) l.release();
  }
}
