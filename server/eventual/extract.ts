// Delta extraction from the persistent store (issue 14): the records a peer lacks, given its
// vector, as pages of at most a byte budget, per origin in seq order, origins in order.
// Shared by the region's side of edge sessions and by an edge.
//
// One view: every origin's index scan is opened in the same synchronous turn (an engine
// iterator takes its implicit snapshot when opened), with the namespace vector read in that
// turn too, so the ranges the pages declare and the index entries they walk are those of one
// applied state. Records an index entry points at (a key's state, a held event) are looked
// up when the page is built: a record dominated since the view is no longer there and is
// left out, as a dominated record is (its dominator has a seq past the view and follows in a
// later delta); a record still there is the same record (records never change).

import { recordSizeEstimate, type CrdtRecord, type DeltaPage, type PageRange } from '../crdt/index.js';
import { decodeU64, type Engine } from '../storage/index.js';
import { decodeEvent, decodeIndex, decodeKeyState, type KeyState } from './codec.js';
import { lwwRecordFromEngine } from './lww-value.js';
import { eventKey, indexKey, keyStateKey } from './layout.js';

export interface ExtractView {
  /** The namespace vector at the view: what the pages cover. */
  readonly vector: ReadonlyMap<string, number>;
  /** The pages, each at most `budgetBytes` of records (a larger record gets a page of its own). */
  pages(): AsyncGenerator<DeltaPage>;
}

/** The records of a state other than lww (an lww winner's value is its mvcc row: lww-value.ts). */
function recordsOfState(s: Exclude<KeyState, { kind: 'lww' }>): CrdtRecord[] {
  switch (s.kind) {
    case 'mv': return [...s.state.siblings];
    case 'counter': return [...s.entries];
    case 'set': return [...s.state.elems.values()].flat();
  }
}

async function resolve(engine: Engine, ns: string, origin: string, seq: number, v: Uint8Array): Promise<CrdtRecord | undefined> {
  const e = decodeIndex(v);
  if (e.where === 'record') return e.record;
  if (e.where === 'event') {
    const ev = await engine.get(eventKey(ns, e.device, e.seq));
    if (ev === undefined) return undefined;
    const r = decodeEvent(ev);
    return r.origin === origin && r.seq === seq ? r : undefined;
  }
  const st = await engine.get(keyStateKey(ns, e.key));
  if (st === undefined) return undefined;
  const s = decodeKeyState(st);
  if (s.kind === 'lww') {
    // Read after the state: a row of another revision is a later winner's (dominated since).
    return s.winner.origin === origin && s.winner.seq === seq ? lwwRecordFromEngine(engine, e.key, s.winner) : undefined;
  }
  return recordsOfState(s).find((x) => x.origin === origin && x.seq === seq);
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
  async function* pages(): AsyncGenerator<DeltaPage> {
    let ranges: PageRange[] = [];
    let records: CrdtRecord[] = [];
    let bytes = 0;
    try {
      for (const run of runs) {
        let from = run.from;
        for await (const chunk of run.scan) {
          for (const [k, v] of chunk) {
            const seq = decodeU64(k, k.length - 8);
            const r = await resolve(engine, ns, run.origin, seq, v);
            if (r === undefined) continue;
            const size = recordSizeEstimate(r);
            if (bytes + size > budgetBytes && bytes > 0) {
              ranges.push({ origin: run.origin, from, to: r.seq - 1 });
              yield { ranges, records };
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
      if (ranges.length > 0) yield { ranges, records };
    } finally {
      // An abandoned extraction (the session ended) closes the views it did not walk.
      for (const run of runs) await run.scan.return?.();
    }
  }
  return { vector, pages };
}
