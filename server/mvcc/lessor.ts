// Lease expiry, decided by the leader only. Followers hold the replicated lease table
// (lease-table.ts) but no deadlines; on becoming leader the region node calls
// promote(extendMs), which gives every lease its full (or checkpointed) TTL plus an
// extension, so a leader change never expires a lease whose holder kept it alive.
// Expired ids are reported to the region node, which proposes LeaseRevoke through Raft.

import type { Clock } from '../util/clock.js';
import { MvccError } from './errors.js';
import type { LeaseChange } from './lease-table.js';
import type { MvccStore } from './store.js';

/** At most this many expired ids per expired() call (one revoke proposal each). */
export const LEASE_EXPIRED_BATCH_MAX = 64;
/** An expired lease is reported again after this long if its revoke has not applied. */
export const LEASE_REVOKE_RETRY_MS = 3_000;

export class Lessor {
  /** Lease id → monotonic deadline (ms); only while primary. */
  private readonly deadlines = new Map<number, number>();
  /** Lease id → when expired() last reported it. */
  private readonly reported = new Map<number, number>();
  private primary = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly store: MvccStore, private readonly clock: Clock) {
    this.unsubscribe = store.onLeaseChange((changes) => this.onChanges(changes));
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  /** Becoming leader: every lease restarts its TTL (checkpointed remainder if any) + extendMs. */
  promote(extendMs: number): void {
    this.primary = true;
    const now = this.clock.monotonicMs();
    this.deadlines.clear();
    this.reported.clear();
    for (const { id } of this.store.leases()) {
      const ttl = this.store.leaseTimeToLive(id, false);
      if (ttl === undefined) continue;
      const seconds = ttl.remainingTtl > 0 ? ttl.remainingTtl : ttl.grantedTtl;
      this.deadlines.set(id, now + seconds * 1000 + extendMs);
    }
  }

  demote(): void {
    this.primary = false;
    this.deadlines.clear();
    this.reported.clear();
  }

  /** Keep-alive: resets the lease to its full TTL; returns that TTL, or undefined if there is no such lease. */
  renew(id: number): number | undefined {
    if (!this.primary) throw new MvccError('not-primary');
    const lease = this.store.leaseTimeToLive(id, false);
    if (lease === undefined) return undefined;
    // A lease already past its deadline is being revoked; etcd answers it as gone.
    const deadline = this.deadlines.get(id);
    if (deadline !== undefined && deadline <= this.clock.monotonicMs()) return undefined;
    this.deadlines.set(id, this.clock.monotonicMs() + lease.grantedTtl * 1000);
    this.reported.delete(id);
    return lease.grantedTtl;
  }

  /** Remaining seconds (rounded up) on the leader; undefined when not primary or unknown. */
  remainingTtl(id: number): number | undefined {
    if (!this.primary) return undefined;
    const deadline = this.deadlines.get(id);
    if (deadline === undefined) return undefined;
    return Math.max(0, Math.ceil((deadline - this.clock.monotonicMs()) / 1000));
  }

  /** Leases past their deadline, for the region node to revoke through the log. */
  expired(max = LEASE_EXPIRED_BATCH_MAX): number[] {
    if (!this.primary) return [];
    const now = this.clock.monotonicMs();
    const out: number[] = [];
    for (const [id, deadline] of this.deadlines) {
      if (out.length >= max) break;
      if (deadline > now) continue;
      const last = this.reported.get(id);
      if (last !== undefined && now - last < LEASE_REVOKE_RETRY_MS) continue;
      this.reported.set(id, now);
      out.push(id);
    }
    return out;
  }

  /** Remaining TTLs to persist with a leaseCheckpoint command (etcd's lease checkpointing). */
  checkpoints(): Array<{ id: number; remainingTtl: number }> {
    const out: Array<{ id: number; remainingTtl: number }> = [];
    for (const id of this.deadlines.keys()) {
      const remainingTtl = this.remainingTtl(id);
      if (remainingTtl !== undefined && remainingTtl > 0) out.push({ id, remainingTtl });
    }
    return out;
  }

  close(): void {
    this.unsubscribe();
    this.demote();
  }

  private onChanges(changes: LeaseChange[]): void {
    if (!this.primary) return;
    const now = this.clock.monotonicMs();
    for (const c of changes) {
      if (c.type === 'grant') this.deadlines.set(c.id, now + c.ttl * 1000);
      else if (c.type === 'revoke') {
        this.deadlines.delete(c.id);
        this.reported.delete(c.id);
      }
    }
  }
}
