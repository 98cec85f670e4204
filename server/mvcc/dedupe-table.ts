// At-most-once writes: per client id the last applied seq and its answer. A retried
// write (same seq) gets the stored answer without applying again. Bounded: past
// DEDUPE_CLIENTS_MAX the client whose last write is oldest (by log index) is forgotten.
// The Map keeps insertion order = apply order, so eviction is the same on every member.

import type { DedupeRecord } from './records.js';

/** Clients remembered; a client silent for longer than this many others' writes loses its entry. */
export const DEDUPE_CLIENTS_MAX = 10_000;

export class DedupeTable {
  private readonly byClient = new Map<string, DedupeRecord>();

  get size(): number {
    return this.byClient.size;
  }

  get(clientId: string): DedupeRecord | undefined {
    return this.byClient.get(clientId);
  }

  /** Records an answer; returns the client ids evicted to stay within the bound. */
  set(clientId: string, record: DedupeRecord, max = DEDUPE_CLIENTS_MAX): string[] {
    this.byClient.delete(clientId); // re-insert: move to the newest end
    this.byClient.set(clientId, record);
    const evicted: string[] = [];
    for (const id of this.byClient.keys()) {
      if (this.byClient.size <= max) break;
      this.byClient.delete(id);
      evicted.push(id);
    }
    return evicted;
  }

  /** Restore on open: entries in any order, re-sorted by the index that wrote them. */
  load(entries: Array<[string, DedupeRecord]>): void {
    entries.sort((a, b) => a[1].index - b[1].index);
    for (const [id, rec] of entries) this.byClient.set(id, rec);
  }
}
