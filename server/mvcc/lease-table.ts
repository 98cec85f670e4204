// The replicated part of leases: which leases exist, their TTLs and the keys attached
// to them. Changed only by applied commands, so every member holds the same table.
// Expiry timing lives in lessor.ts, on the leader only.

import { assert } from '../util/assert.js';

/** etcd's maximum TTL (MaxLeaseTTL). */
export const LEASE_TTL_MAX_SECONDS = 9_000_000_000;
/** etcd raises shorter TTLs to 1.5 election timeouts (2 s at etcd's defaults). */
export const LEASE_TTL_MIN_SECONDS = 2;
/** Ids the store picks fit in 52 bits so they survive JSON and JS numbers. */
const LEASE_ID_BITS_SPACE = 2 ** 52;

export interface Lease {
  id: number;
  ttl: number;
  remainingTtl: number;
  /** Attached keys as latin1 strings (kv-layout.ts keyString). */
  keys: Set<string>;
}

export type LeaseChange =
  | { type: 'grant'; id: number; ttl: number; remainingTtl: number }
  | { type: 'revoke'; id: number }
  | { type: 'checkpoint'; id: number; remainingTtl: number };

export class LeaseTable {
  private readonly leases = new Map<number, Lease>();

  get size(): number {
    return this.leases.size;
  }

  get(id: number): Lease | undefined {
    return this.leases.get(id);
  }

  has(id: number): boolean {
    return this.leases.has(id);
  }

  add(id: number, ttl: number, remainingTtl: number): Lease {
    assert(!this.leases.has(id), () => `lease ${id} exists`);
    const lease: Lease = { id, ttl, remainingTtl, keys: new Set() };
    this.leases.set(id, lease);
    return lease;
  }

  remove(id: number): void {
    this.leases.delete(id);
  }

  attach(id: number, key: string): void {
    if (id === 0) return;
    const lease = this.leases.get(id);
    assert(lease !== undefined, () => `attach to missing lease ${id}`);
    lease.keys.add(key);
  }

  detach(id: number, key: string): void {
    if (id === 0) return;
    this.leases.get(id)?.keys.delete(key);
  }

  all(): IterableIterator<Lease> {
    return this.leases.values();
  }

  /**
   * An id for a grant that asked for none: derived from the log index (the same on every
   * member), probing upwards past ids in use.
   */
  chooseId(index: number): number {
    let id = mix52(index);
    while (id === 0 || this.leases.has(id)) id = (id + 1) % LEASE_ID_BITS_SPACE;
    return id;
  }
}

/** A bijective-ish scramble of the index into 52 bits, so ids do not look sequential. */
function mix52(index: number): number {
  let h = Math.imul((index >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  const hi = (Math.floor(index / 2 ** 32) + (h >>> 12)) % 2 ** 20;
  return (hi * 2 ** 32 + ((h ^ (h >>> 16)) >>> 0)) % LEASE_ID_BITS_SPACE;
}
