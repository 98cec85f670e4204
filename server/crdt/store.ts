// What every type's store offers the replica (replica.ts): merge a record, say which records
// are still worth sending, collect what is causally stable, render canonical JSON.

import type { VersionVector } from './dots.js';
import type { CrdtRecord } from './records.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

/**
 * Causal stability as seen by one replica. `stable` is the pointwise minimum of every known
 * replica's acknowledged (durable) vector: each of those records is held everywhere.
 * `horizon` is their pointwise maximum: once this replica holds it, every record that was
 * concurrent with a stable one has arrived here too (a replica's writes after its ack saw
 * the stable record and carry a later HLC).
 */
export interface Stability {
  readonly stable: VersionVector;
  readonly horizon: VersionVector;
}

export interface TypeStore<R extends CrdtRecord = CrdtRecord> {
  /** Merges a record this replica did not hold (`held` is the vector before it). */
  apply(r: R, held: VersionVector): void;
  /** The record for a dot if a peer lacking it still needs it (not dominated, not collected). */
  live(origin: string, seq: number): R | undefined;
  /** Drops what causal stability allows; never changes render(). */
  gc(s: Stability, held: VersionVector): void;
  /** Canonical JSON value of the visible state. */
  render(): unknown;
  clone(): TypeStore<R>;
  readonly unsafe: UnsafeCrdtSwitches;
}
