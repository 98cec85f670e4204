// Reads of the change feed from the engine: events by revision, for watchers that start
// in the past or fell behind, and the prev_kv of an event.

import { assert } from '../util/assert.js';
import { hitAt } from './kv-view.js';
import { decodeRecord, parseRevKey, revKey } from './records.js';
import type { MvccState } from './state.js';
import { type Event, EventType, type KeyValue } from './types.js';

/** Records read per history chunk; bounds the memory a catching-up watcher takes. */
export const HISTORY_CHUNK_RECORDS_MAX = 1000;
const SUB_MAX = 0xffff_ffff;

export interface HistoryChunk {
  events: Event[];
  /** The first revision not covered by this chunk. */
  nextRev: number;
}

/**
 * Events with revisions in [from, to], at most about `max` records, never splitting a
 * revision (a revision larger than `max` comes whole).
 */
export async function readHistory(st: MvccState, from: number, to: number, max = HISTORY_CHUNK_RECORDS_MAX): Promise<HistoryChunk> {
  assert(from <= to, () => `history read from ${from} past ${to}`);
  const rows = await collect(st, from, to, max);
  let nextRev = to + 1;
  if (rows.length === max) {
    const lastMain = (rows[rows.length - 1] as Row).main;
    const firstMain = (rows[0] as Row).main;
    if (firstMain === lastMain) {
      // One revision with more records than a chunk: read it whole.
      return { events: (await collect(st, lastMain, lastMain, Infinity)).map((r) => r.event), nextRev: lastMain + 1 };
    }
    while (rows.length > 0 && (rows[rows.length - 1] as Row).main === lastMain) rows.pop();
    nextRev = lastMain;
  }
  return { events: rows.map((r) => r.event), nextRev };
}

interface Row {
  main: number;
  event: Event;
}

async function collect(st: MvccState, from: number, to: number, max: number): Promise<Row[]> {
  const rows: Row[] = [];
  const opts = { gte: revKey(from, 0), lte: revKey(to, SUB_MAX), ...(Number.isFinite(max) ? { limit: max } : {}) };
  for await (const chunk of st.engine.scan(opts)) {
    for (const [k, v] of chunk) {
      const { main } = parseRevKey(k);
      const rec = decodeRecord(v, main);
      const kv: KeyValue = {
        key: rec.key, createRevision: rec.createRevision, modRevision: main, version: rec.version, value: rec.value, lease: rec.lease,
      };
      rows.push({ main, event: { type: rec.tombstone ? EventType.DELETE : EventType.PUT, kv } });
    }
  }
  return rows;
}

/** The kv a change replaced (the key at modRevision - 1), or undefined if none or compacted. */
export async function prevKvOf(st: MvccState, key: Uint8Array, modRevision: number): Promise<KeyValue | undefined> {
  const at = modRevision - 1;
  if (at < st.compacted || at <= 0) return undefined;
  try {
    const hit = await hitAt(st, key, at);
    if (hit === undefined) return undefined;
    const r = await st.readRecord(hit.main, hit.sub);
    return { key: r.key, createRevision: r.createRevision, modRevision: r.modRevision, version: r.version, value: r.value, lease: r.lease };
  } catch {
    return undefined; // compacted while reading
  }
}
