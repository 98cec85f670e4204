// What bench:edge asks of each system it measures (regionstore edge sync, PouchDB
// replication), so both run the same steps in the same order (run.ts). A "replica pair" is
// one local replica (the edge, a PouchDB client database) and its server side (the region,
// an express-pouchdb database), joined through a counting proxy that can be cut.
import type { BenchEvent } from './workload.js';

export type SystemId = 'regionstore' | 'pouchdb';
export const SYSTEM_IDS: readonly SystemId[] = ['regionstore', 'pouchdb'];

export interface WireBytes {
  /** Local replica → server side. */
  up: number;
  /** Server side → local replica. */
  down: number;
}

export interface ReplicaPair {
  /** Writes the events on the local replica, durably, while it is cut off (or not syncing). */
  writeLocal(events: readonly BenchEvent[]): Promise<void>;
  /**
   * Lets the local replica reach the server side and resolves once the server side holds
   * `total` events: how many seconds that took from the first byte the proxy passed (a
   * reconnect backoff still running is not the protocol's time; it is returned apart).
   */
  connectAndConverge(total: number): Promise<{ seconds: number; waitSeconds: number }>;
  /** Cuts the local replica off again. */
  disconnect(): Promise<void>;
  /** What the proxy has passed so far. */
  bytes(): WireBytes;
  /**
   * Connected and syncing live: `writes` single-event writes on the local replica, one at a
   * time, each timed until the server side's change feed shows it. Milliseconds, in order.
   */
  live(writes: number, firstIndex: number): Promise<number[]>;
  close(): Promise<void>;
}

export interface BenchSystem {
  id: SystemId;
  /** A fresh replica pair for one run size (its own databases, nothing synced yet). */
  pair(label: string): Promise<ReplicaPair>;
  stop(): Promise<void>;
}
