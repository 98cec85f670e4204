// Delta extraction from the persistent store (issue 14): the records a peer lacks, given its
// vector, as pages of at most a byte budget, per origin in seq order, origins in order.
// Shared by the region's side of edge sessions and by an edge.
//
// One view: every origin's index scan is opened in the same synchronous turn (an engine
// iterator takes its implicit snapshot when opened), with the namespace vector read in that
// turn too, so the ranges the pages declare and the index entries they walk are those of one
// applied state. Records an index entry points at (a key's state, a held event) are looked
// up when the page is built, a scan chunk at a time (one getMany): a record dominated since
// the view is no longer there and is left out, as a dominated record is (its dominator has a
// seq past the view and follows in a later delta); a record still there is the same record
// (records never change). An lww winner's value is its key's mvcc row (codec.ts LwwWinner),
// read after the state and taken only at the winner's revision.

import { recordSizeEstimate, type CrdtRecord, type DeltaPage, type PageRange } from '../crdt/index.js';
import { decodeU64, type Engine } from '../storage/index.js';
import { decodeLatest, latestKey } from '../mvcc/index.js';
import { decodeEvent, decodeIndex, decodeKeyState, lwwRecordOf, type KeyState, type LwwWinner } from './codec.js';
import { eventKey, indexKey, keyStateKey } from './layout.js';

export interface ExtractView {
  /** The namespace vector at the view: what the pages cover. */
  readonly vector: ReadonlyMap<string, number>;
  /** The pages, each at most `budgetBytes` of records (a larger record gets a page of its own). */
  pages(): AsyncGenerator<DeltaPage>;
  /** The same pages, the last one marked: a sender can flag it (caught-up) without reading ahead. */
  marked(): AsyncGenerator<{ page: DeltaPage; last: boolean }>;
}

/** The records of a state other than lww (an lww winner's value is its mvcc row: lww-value.ts). */
function recordsOfState(s: Exclude<KeyState, { kind: 'lww' }>): CrdtRecord[] {
  switch (s.kind) {
    case 'mv': return [...s.state.siblings];
    case 'counter': return [...s.entries];
    case 'set': return [...s.state.elems.values()].flat();
  }
}

/**
 * The records a chunk of index entries points at, in order (undefined: dominated since the
 * view), read with one engine getMany for the chunk (plus one for the mvcc rows of its lww
 * winners) rather than a round trip per entry: an upload of 100k events read them one by one.
 */
async function resolveChunk(engine: Engine, ns: string, origin: string, indexed: ReadonlyArray<{ seq: number; v: Uint8Array }>): Promise<Array<CrdtRecord | undefined>> {
  const out: Array<CrdtRecord | undefined> = Array.from({ length: indexed.length });
  const entries = indexed.map(({ seq, v }) => ({ seq, e: decodeIndex(v) }));
  const reads: Uint8Array[] = [];
  const readOf: number[] = [];
  entries.forEach(({ e }, i) => {
    if (e.where === 'record') out[i] = e.record;
    else {
      readOf.push(i);
      reads.push(e.where === 'event' ? eventKey(ns, e.device, e.seq) : keyStateKey(ns, e.key));
    }
  });
  if (reads.length === 0) return out;
  const got = await engine.getMany(reads);
  const lww: Array<{ i: number; key: Uint8Array; winner: LwwWinner }> = [];
  readOf.forEach((i, j) => {
    const v = got[j];
    const { seq, e } = entries[i]!;
    if (v === undefined || e.where === 'record') return;
    if (e.where === 'event') {
      const r = decodeEvent(v);
      if (r.origin === origin && r.seq === seq) out[i] = r;
      return;
    }
    const st = decodeKeyState(v);
    if (st.kind !== 'lww') {
      out[i] = recordsOfState(st).find((x) => x.origin === origin && x.seq === seq);
      return;
    }
    if (st.winner.origin !== origin || st.winner.seq !== seq) return;
    if (st.winner.tombstone || st.winner.value !== undefined) out[i] = lwwRecordOf(e.key, st.winner, st.winner.value ?? null);
    else lww.push({ i, key: e.key, winner: st.winner });
  });
  if (lww.length > 0) {
    // Rows read after their states: a row of another revision is a later winner's (dominated since).
    const rows = await engine.getMany(lww.map((x) => latestKey(x.key)));
    lww.forEach((x, j) => {
      const row = rows[j];
      if (row === undefined) return;
      const kv = decodeLatest(x.key, row);
      if (kv.modRevision === x.winner.revision) out[x.i] = lwwRecordOf(x.key, x.winner, kv.value.slice());
    });
  }
  return out;
}

/** The record one index entry of (origin, seq) points at, or undefined when it is dominated there now. */
export async function resolveIndexed(engine: Engine, ns: string, origin: string, seq: number, v: Uint8Array): Promise<CrdtRecord | undefined> {
  return (await resolveChunk(engine, ns, origin, [{ seq, v }]))[0];
}

/**
 * Opens the view now (synchronously: call it where nothing applies in between, e.g. inside
 * the node's read gate, with `vector` read in the same turn). `bound`: cover at most these
 * seqs per origin (absent: the whole vector).
 */
export function openExtraction(
  engine: Engine, ns: string, vector: ReadonlyMap<string, number>, peer: ReadonlyMap<string, number>, budgetBytes: number,
): ExtractView {
  const runs: Array<{ origin: string; from: number; to: number; scan: AsyncIterableIterator<Array<[Uint8Array, Uint8Array]>> }> = [];
  for (const origin of [...vector.keys()].sort()) {
    const to = vector.get(origin)!;
    const from = (peer.get(origin) ?? 0) + 1;
    if (from > to) continue;
    runs.push({ origin, from, to, scan: engine.scan({ gte: indexKey(ns, origin, from), lte: indexKey(ns, origin, to) }) });
  }
  // A page cut for the budget always leaves the record that did not fit for a later page, so
  // only the page yielded after every run is the last.
  async function* marked(): AsyncGenerator<{ page: DeltaPage; last: boolean }> {
    let ranges: PageRange[] = [];
    let records: CrdtRecord[] = [];
    let bytes = 0;
    try {
      for (const run of runs) {
        let from = run.from;
        for await (const chunk of run.scan) {
          const resolved = await resolveChunk(engine, ns, run.origin, chunk.map(([k, v]) => ({ seq: decodeU64(k, k.length - 8), v })));
          for (const r of resolved) {
            if (r === undefined) continue;
            const size = recordSizeEstimate(r);
            if (bytes + size > budgetBytes && bytes > 0) {
              ranges.push({ origin: run.origin, from, to: r.seq - 1 });
              yield { page: { ranges, records }, last: false };
              ranges = [];
              records = [];
              bytes = 0;
              from = r.seq;
            }
            records.push(r);
            bytes += size;
          }
        }
        ranges.push({ origin: run.origin, from, to: run.to });
      }
      if (ranges.length > 0) yield { page: { ranges, records }, last: true };
    } finally {
      // An abandoned extraction (the session ended) closes the views it did not walk.
      for (const run of runs) await run.scan.return?.();
    }
  }
  async function* pages(): AsyncGenerator<DeltaPage> {
    for await (const m of marked()) yield m.page;
  }
  return { vector, pages, marked };
}
