// etcd's backend quota (--quota-backend-bytes): a write that would take the state
// database past the quota is refused with "database space exceeded", and the member
// raises a NOSPACE alarm through Raft, which then refuses such writes on every member
// until an operator disarms it (etcdctl alarm disarm) after compacting and defragmenting.
//
// What counts, as in etcd's v3rpc quota check: a Put costs its key and value plus a fixed
// overhead, a Txn the larger of its branches' puts (nested txns included), a LeaseGrant
// a fixed overhead; anything else costs nothing and always passes. The size is measured
// on disk, which takes a directory walk, so it is re-read at most every
// QUOTA_SIZE_REFRESH_MS in the background and checks use the last reading.

import type { RequestOp, TxnRequest } from '../mvcc/index.js';

/** etcd's default quota: 2 GiB. */
export const QUOTA_BACKEND_BYTES_DEFAULT = 2 * 1024 * 1024 * 1024;
/** etcd's per-key overhead in the quota cost of a put (its kvOverhead). */
export const QUOTA_KV_OVERHEAD_BYTES = 256;
/** etcd's quota cost of a lease grant (its leaseOverhead). */
export const QUOTA_LEASE_OVERHEAD_BYTES = 64;
/** How stale the measured database size may be. */
export const QUOTA_SIZE_REFRESH_MS = 1_000;

export function putCost(key: Uint8Array, value: Uint8Array): number {
  return QUOTA_KV_OVERHEAD_BYTES + key.length + value.length;
}

/** etcd's costTxn: the larger branch's puts, nested txns counted in. */
export function txnCost(t: TxnRequest): number {
  const branch = (ops: RequestOp[]): number => {
    let n = 0;
    for (const op of ops) {
      if (op.type === 'put') n += putCost(op.put.key, op.put.value);
      else if (op.type === 'txn') n += txnCost(op.txn);
    }
    return n;
  };
  return Math.max(branch(t.success), branch(t.failure));
}

export class BackendQuota {
  private size: number | undefined;
  private measuredAt = 0;
  private measuring: Promise<void> | undefined;

  /**
   * `quotaBytes` <= 0: no quota (etcd disables it for a negative value; the config turns 0
   * into the default). `measure` reads the state database's size in bytes.
   */
  constructor(
    private readonly quotaBytes: number,
    private readonly measure: () => Promise<number>,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.quotaBytes > 0;
  }

  /** True when a request of this cost fits (cost 0 always does). */
  async available(cost: number): Promise<boolean> {
    if (!this.enabled || cost === 0) return true;
    if (this.size === undefined) await this.refresh();
    return this.fitsNow(cost) ?? cost < this.quotaBytes; // a failed first measure counts the size as 0, as before
  }

  /**
   * available() without a promise once the size was measured (a write's hot path):
   * undefined before the first measure, which available() awaits.
   */
  fitsNow(cost: number): boolean | undefined {
    if (!this.enabled || cost === 0) return true;
    if (this.size === undefined) return undefined;
    if (this.now() - this.measuredAt >= QUOTA_SIZE_REFRESH_MS) void this.refresh();
    return this.size + cost < this.quotaBytes; // etcd's test: size + cost < quota
  }

  private refresh(): Promise<void> {
    this.measuring ??= this.measure().then(
      (size) => {
        this.size = size;
        this.measuredAt = this.now();
      },
      () => undefined, // a failed walk (a snapshot install moving dirs) keeps the last reading
    ).finally(() => (this.measuring = undefined));
    return this.measuring;
  }
}
