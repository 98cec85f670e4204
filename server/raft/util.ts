// Small helpers shared by the log, the storage and the replication code.

import { entrySize, type Entry } from './types.js';

/**
 * The longest prefix of `entries` whose sizes sum to at most `maxBytes`, but always at
 * least one entry, so that an entry larger than the cap still makes progress.
 */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  if (entries.length <= 1) return entries;
  let bytes = entrySize(entries[0]!);
  let n = 1;
  for (; n < entries.length; n++) {
    bytes += entrySize(entries[n]!);
    if (bytes > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}

export function payloadBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += e.data.length;
  return total;
}

export function entriesBytes(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += entrySize(e);
  return total;
}

export function lastOf<T>(items: readonly T[]): T | undefined {
  return items[items.length - 1];
}
