// One simulated replica (the region or an edge): a CrdtReplica per type over one HLC, its
// durable copy (what survives a crash), its clock skew, and the acks it heard from others.

import {
  CRDT_KINDS, HybridClock, VersionVector, createReplica,
  type CrdtKind, type CrdtReplica, type Hlc, type UnsafeCrdtSwitches,
} from '../../../server/crdt/index.js';

/** The simulated max_clock_skew_ms of every replica. */
export const SIM_MAX_SKEW_MS = 5_000;

interface Durable {
  reps: Map<CrdtKind, CrdtReplica>;
  clock: Hlc;
}

export class SimReplica {
  up = true;
  /** Added to the global time to give this replica's physical clock. */
  skewMs = 0;
  clock: HybridClock;
  reps = new Map<CrdtKind, CrdtReplica>();
  private durable: Durable;
  /** Latest durable vectors acknowledged by each other replica, per type. */
  readonly acks = new Map<string, Map<CrdtKind, VersionVector>>();
  /** Durable vectors ever persisted, for the "never decrease" invariant. */
  readonly lastDurable = new Map<CrdtKind, VersionVector>();

  constructor(
    readonly id: string,
    readonly unsafe: UnsafeCrdtSwitches,
  ) {
    this.clock = new HybridClock(id, SIM_MAX_SKEW_MS);
    for (const k of CRDT_KINDS) this.reps.set(k, createReplica(k, id, this.clock, unsafe));
    this.durable = { reps: new Map(), clock: this.clock.current };
    this.persistAll();
  }

  rep(kind: CrdtKind): CrdtReplica {
    return this.reps.get(kind)!;
  }

  durableVector(kind: CrdtKind): VersionVector {
    return this.durable.reps.get(kind)!.vector;
  }

  /** fsync of one namespace (a local write is durable before it is acknowledged). */
  persist(kind: CrdtKind): void {
    this.durable.reps.set(kind, this.rep(kind).clone(new HybridClock(this.id, SIM_MAX_SKEW_MS)));
    this.durable.clock = this.clock.current;
  }

  persistAll(): void {
    for (const k of CRDT_KINDS) this.persist(k);
  }

  /** A crash: everything not persisted is gone; the replica comes back from its durable copy. */
  crash(): void {
    this.up = false;
    this.clock = new HybridClock(this.id, SIM_MAX_SKEW_MS);
    this.clock.restore(this.durable.clock);
    for (const k of CRDT_KINDS) this.reps.set(k, this.durable.reps.get(k)!.clone(this.clock));
  }

  restart(): void {
    this.up = true;
  }
}
