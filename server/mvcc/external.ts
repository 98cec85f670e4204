// External commands: a Raft entry whose meaning belongs to another state machine the region
// wires in (the CRDT store of eventual namespaces), applied INSIDE the mvcc batch so that its
// own engine writes, the mvcc keys it projects (puts and deletes at one revision, with watch
// events), the dedupe record of a retried write and the applied index are one engine write.
// server/mvcc knows nothing of what the body means: the applier is injected (setExternalApplier)
// and answers bytes, which the dedupe table stores like any answer.

import type { BatchOp, Bytes } from '../storage/engine.js';
import type { KeyValue } from './types.js';

/** What an external command may do to the state while it is applied. */
export interface ExternalTx {
  /** Raft log index of the entry. */
  readonly index: number;
  /** The revision this command's mvcc writes get (the current revision + 1). */
  readonly writeRevision: number;
  /** The live kv of an mvcc key, seeing this batch's earlier writes. */
  get(key: Bytes): Promise<KeyValue | undefined>;
  /** Puts an mvcc key at writeRevision (a watch event follows once the batch is written). */
  put(key: Bytes, value: Bytes): Promise<unknown>;
  /**
   * put() of a key the applier knows is not live (nothing but this applier writes it, and it
   * has not), without reading its live kv (TxnExec.putNew). false, and nothing written, when
   * this batch or the caches show it live after all: then put() it. `key` must be the
   * applier's own bytes (kept, not copied).
   */
  putNew(key: Bytes, value: Bytes): boolean;
  /**
   * put() at once when the key's live kv is known without an engine read (this batch's
   * writes, the read ahead, the latest cache: TxnExec.putKnown); false, and nothing written,
   * when only the engine knows: then put() it.
   */
  putKnown(key: Bytes, value: Bytes): boolean;
  /** Deletes an mvcc key at writeRevision; false when it was not live. */
  delete(key: Bytes): Promise<boolean>;
  /**
   * Appends a raw engine op to the batch (the applier's own keyspaces). `unread`: the
   * applier never reads this key back with read() during apply (an index entry), so the
   * batch's raw overlay need not hold it.
   */
  append(op: BatchOp, unread?: boolean): void;
  /** An engine value as this batch leaves it: its earlier raw ops first, then the engine. */
  read(key: Bytes): Promise<Bytes | undefined>;
}

/**
 * An answer the applier built but did not encode: mvcc encodes it when, and only if, its
 * bytes are asked for (ExternalResponse.body: the proposer's waiter, or the dedupe record of
 * a command with a client identity). A follower applying a write without one never encodes
 * its answer (every lww etcd Put, on every member but the leader).
 */
export interface ExternalAnswer {
  encode(): Bytes;
}

export interface ExternalApplier {
  /**
   * Applies one command. Deterministic (the same body on the same state gives the same
   * writes and answer on every member). Bad input is an answer, never a throw: a throw is a
   * bug or an engine failure, and stops the store like any failed apply. An applier that
   * refuses a command must do so before its first put, delete or append.
   */
  // An answer known at once may come back as it is (no promise per command: an lww write at
  // a hot key, every member, every write).
  // Either form of answer, bytes or one encoded on demand (ExternalAnswer): the same bytes.
  apply(index: number, body: Bytes, tx: ExternalTx): Bytes | ExternalAnswer | Promise<Bytes | ExternalAnswer>;
  /**
   * Called once per batch, after its last command and before its engine write: what the
   * applier keeps per batch rather than per command (its last state of a key written once).
   */
  flush(append: (op: BatchOp) => void): void;
  /** Called once the batch holding every command applied since the last call is written. */
  published(): void;
  /**
   * Optional: called once per batch right after its engine write was issued, before it is
   * durable (the write, with its fsync, runs on another thread meanwhile); published() or a
   * failed store follows. What the batch holds is final here: an edge starts uploading its
   * own writes now, overlapping the upload with its fsync (server/edge/replica.ts says why
   * that is safe). Nothing here may be shown to a reader of this store: it is not written yet.
   */
  writing?(): void;
  /**
   * Optional: the keys a command will read, so the store reads them ahead together with the
   * batch's other keys in ONE engine round trip (a get per key costs the main thread a
   * thread-pool hand-off and a callback each): `mvcc`, keys whose live kv it will get, put or
   * delete; `raw`, engine keys it will read with tx.read. Called once per command, before the
   * batch applies, with the same body object `apply` then gets. A hint only: keys it leaves
   * out are read when asked for; keys it names and never reads cost a wasted read. It pushes
   * them onto the batch's own lists (no lists and answer object per command).
   */
  readAhead?(body: Bytes, mvcc: Bytes[], raw: Bytes[]): void;
  /** UNSAFE (testing only): a retried external command applies again (the dedupe table is skipped). */
  readonly skipDedupe?: boolean;
}
