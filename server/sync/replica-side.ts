// What a sync session needs from the replica it runs for (DESIGN §6, issue 14). The region's
// members (server/region: writes through Raft, reads at one applied index) and an edge
// (server/edge: local RocksDB, group-committed fsync) implement it; the tests implement it
// over the in-memory CrdtReplica (server/sync/testing). The session never touches storage,
// a clock or a socket itself: everything it needs comes through here or its options.

import type { CrdtKind, DeltaPage, Hlc, VersionVector } from '../crdt/index.js';

/** One eventual namespace a replica syncs, with its CRDT type (a page is encoded per type). */
export interface SyncNamespace {
  readonly name: string;
  readonly kind: CrdtKind;
}

/** A page of what the peer lacks, read at one consistent view of the replica. */
export interface ExtractedPage {
  readonly page: DeltaPage;
  /**
   * The view the page was read at: the region's applied index, an edge's local revision.
   * Every page of one `extract` call carries the same view (the download is consistent).
   */
  readonly viewIndex: number;
  /**
   * True: no page follows in this extraction; false: one does; absent: unknown. When known,
   * the session sends the page (marking the last one caught-up) without extracting the next
   * one first: the first page of a big catch-up goes out one extraction sooner.
   */
  readonly last?: boolean;
}

/** The outcome of applying one received page. */
export type ApplyResult =
  /** Applied and durable (fsynced on an edge, committed and applied through Raft in a region). */
  | {
      readonly status: 'applied';
      /** Records newly applied (duplicates ignored are not counted). */
      readonly applied: number;
      /**
       * The replica's durable vector for the namespace after the page (at least its entries for
       * the page's origins; the session acknowledges those).
       */
      readonly vector: VersionVector;
    }
  /** A range of the page starts past what the replica holds: resend `origin` from `seq` (nothing applied). */
  | { readonly status: 'resend'; readonly origin: string; readonly seq: number }
  /**
   * Refused by policy or state (nothing applied): `forged-origin` (an edge uploading another
   * replica's ops without the relay permission), `clock-skew`, `unknown-namespace`,
   * `not-leader` (detail: the leader's client URL)... `fatal` ends the session.
   */
  | { readonly status: 'refused'; readonly code: SyncErrorCode; readonly message: string; readonly fatal: boolean; readonly detail?: string };

/** SyncError codes (proto/regionstore/v1/sync.proto). */
export const SYNC_ERROR_CODES = [
  'clock-skew', 'unsupported-version', 'forged-origin', 'page-too-large', 'malformed',
  'unknown-namespace', 'not-leader', 'internal', 'deadline', 'incarnation',
  // The session's user may not write the namespace (auth on; issue 16).
  'permission-denied',
] as const;
export type SyncErrorCode = (typeof SYNC_ERROR_CODES)[number];

/**
 * The HLC of the replica (server/crdt's HybridClock satisfies it). The session stamps its
 * messages with `now` and merges the peer's message stamps with `update`; a region, whose
 * writes take their HLC at apply (the same on every member), gives a clock of the member's own
 * here (seeded from the applied HLC) rather than the applied one: page records move the applied
 * HLC when the page entry applies.
 */
export interface SyncClock {
  /** A remote stamp further ahead of the physical time than this is refused (max_clock_skew_ms). */
  readonly maxSkewMs: number;
  /**
   * The bound for records of one namespace (its max_clock_skew_ms): pages are checked against
   * their own namespace's bound, never another's (a 3 s namespace's records are not refused
   * by a 500 ms one's). Absent: maxSkewMs for every page.
   */
  maxSkewMsOf?(namespace: string): number;
  /** The current HLC, advanced for an outgoing message at physical time `physicalMs`. */
  now(physicalMs: number): Hlc;
  /** Merges a stamp received from `origin`; throws ClockSkewError past the bound (the caller checks first). */
  update(remote: Hlc, physicalMs: number, origin: string): Hlc;
}

/** What the peer said about itself in its HELLO (given to `admit`). */
export interface PeerHello {
  readonly replicaId: string;
  readonly deviceId: string;
  readonly incarnation: number;
  /** The namespaces the peer asked for (empty: all) and its durable vectors for them. */
  readonly vectors: ReadonlyMap<string, VersionVector>;
  readonly registryRevision: number;
  readonly sessionId: string;
  /** An edge's group (HELLO field 14; '' when it sent none): what the region's metrics label it by. */
  readonly group: string;
}

/** The acceptor's decision on a peer's HELLO. */
export interface Admission {
  /** Refuse the session: the stream ends with a fatal SyncError (e.g. not-leader with the leader's URL in detail). */
  readonly refuse?: { readonly code: SyncErrorCode; readonly message: string; readonly detail?: string };
  /**
   * Namespaces the peer must resync from a snapshot (silent past tombstone_ttl): they are sent
   * in full (as if the peer's vector were empty) and the peer resets them before applying.
   */
  readonly resync?: readonly string[];
}

export interface ReplicaSide {
  /** This replica's id: `edge:<device>:<incarnation>` or `region:<initial-cluster-token>` (its origin). */
  readonly replicaId: string;
  /** An edge's device id and incarnation (HELLO fields); '' and 0 for a region. */
  readonly deviceId: string;
  readonly incarnation: number;
  /** An edge's group (`--group`), sent in its HELLO; absent for a region. */
  readonly group?: string;
  /** The replica's HLC: merged on every message, stamps outgoing ones. */
  readonly clock: SyncClock;

  /** The eventual namespaces this replica syncs, with their types (read at HELLO and on unknown names). */
  namespaces(): readonly SyncNamespace[];
  /** The registry revision the replica applies (HELLO's registry_revision); 0 when unknown. */
  registryRevision(): number;

  /** Durable vectors of the named namespaces (a namespace without records: an empty vector). */
  vectors(namespaces: readonly string[]): Promise<Map<string, VersionVector>>;

  /**
   * The records a peer holding `peer` lacks in `ns`, per origin in seq order, as pages of about
   * `budgetBytes` each (a larger record gets a page of its own), read at one consistent view;
   * dominated records are skipped (their range still covers them). The session pulls pages
   * only as its window allows, and may stop iterating early (call `return()`: release the view).
   * Only durable records, and ranges only as far as the view's records go: a range covering a
   * seq whose record is not in the view tells the peer that record was dominated (it is lost),
   * and the peer counts the sender's own-origin ranges as held by the sender for good (GC).
   */
  extract(ns: string, peer: VersionVector, budgetBytes: number): AsyncIterable<ExtractedPage>;

  /**
   * Applies a received page atomically (all of it or nothing) and resolves once it is durable.
   * Calls may overlap: the replica applies them in call order (so a session may pipeline pages
   * and a region may put several in one Raft batch). `physicalMs` is the receiver's physical
   * time (the skew check). May also throw server/crdt's DeltaGapError (→ resend),
   * ClockSkewError (→ clock-skew) or MalformedDeltaError (→ malformed, fatal); any other throw
   * ends the session with `internal`.
   */
  applyPage(ns: string, page: DeltaPage, physicalMs: number): Promise<ApplyResult>;

  /**
   * Calls `listener(ns)` whenever `ns` gained records (a local write, or a page applied from any
   * session), so live pushes follow. Returns the unsubscribe function.
   */
  onChange(listener: (ns: string) => void): () => void;

  /** Acceptor only, optional: admit or refuse a peer (leadership, authentication, tombstone_ttl). */
  admit?(peer: PeerHello): Promise<Admission>;
  /**
   * Optional: the peer's durable vector for `ns` grew (its HELLO, then every ACK; entries only
   * ever grow). The region keeps edges' acknowledged vectors for causal-stability GC.
   */
  peerVector?(peerReplicaId: string, ns: string, vector: VersionVector): void;
  /**
   * Initiator only, optional: the acceptor asked for `ns` to be resynced (its HELLO's `resync`);
   * reset it, keeping the local writes `peer` (the acceptor's vector) does not hold. Called
   * before any page of the session is applied; a no-op for a namespace already resyncing.
   */
  resetForResync?(ns: string, peer: VersionVector): Promise<void>;
  /** Initiator only, optional: namespaces whose resync is not finished (asked for in full again in the HELLO). */
  resyncing?(): readonly string[];
}
