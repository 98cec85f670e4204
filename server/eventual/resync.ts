// A namespace resynced from a snapshot (DESIGN §6, issue 14): an edge silent past
// tombstone_ttl left the region's causal-stability minimum, so the region may have collected
// records (set removes) the edge never saw; its state can no longer be patched by deltas.
// The edge then:
//  1. reset: keeps its own writes the region does not hold yet (its live records of its own
//     origin past the region's vector: the unsent ones) aside, and drops the namespace's CRDT
//     state and its change-feed projection (etcd deletes, with Watch events), in one write;
//  2. downloads the namespace in full (the region sends it as to an empty vector), its own
//     earlier writes included, as the region holds them now;
//  3. restore: once the region's catch-up page is applied, merges the kept writes back with
//     their own dots and stamps (nothing about them changes: no (replica, seq) is reused and
//     last-writer-wins still orders them by when they were written), then uploads them.
// Between 1 and 3 the namespace's own-origin prefix is being downloaded, so the edge takes no
// local write there (UNAVAILABLE, saying why), and it reports its own origin as held up to
// where it was (its vector claims nothing it never wrote; the region's incarnation check
// stays quiet). A restart or a dropped session in between resumes: the marker is durable and
// the next HELLO asks for the namespace in full again.
//
// Keys (in the meta range, outside the namespace's data range, so CrdtHash skips them):
//   [0x15][0x00]'resync/'[ns]                        {x: the region's seq of our origin, y: ours}
//   [0x15][0x00]'resync-kept/'[ns][0x00][u64 seq]    a kept record

import type { CrdtRecord } from '../crdt/index.js';
import type { NamespaceDefinition } from '../namespace/index.js';
import type { ExternalTx } from '../mvcc/index.js';
import { BinReader, BinWriter } from '../mvcc/index.js';
import { concatBytes, decodeU64, encodeU64, type Engine } from '../storage/index.js';
import { decodeEvent, decodeRecord, encodeRecord } from './codec.js';
import { resolveIndexed } from './extract.js';
import { Sub, indexKey, metaKey, nsDataRange, nsRecordKey, subPrefix, subRange, text } from './layout.js';
import { eventEtcdKey } from './project.js';

/** A namespace being resynced: x, the region's seq of this replica's origin at the reset; y, this replica's. */
export interface ResyncMark {
  x: number;
  y: number;
}

const MARK = 'resync/';
const KEPT = 'resync-kept/';

export const RESYNC_MARKS_RANGE = { gte: metaKey(MARK), lt: metaKey('resync0') }; // '0' follows '/'

export function resyncMarkKey(ns: string): Uint8Array {
  return metaKey(MARK + ns);
}

export function nsOfResyncMarkKey(k: Uint8Array): string {
  return new TextDecoder().decode(k.subarray(metaKey(MARK).length));
}

function keptPrefix(ns: string): Uint8Array {
  return concatBytes(metaKey(KEPT), text(ns), Uint8Array.of(0));
}

export function keptRange(ns: string): { gte: Uint8Array; lt: Uint8Array } {
  const p = keptPrefix(ns);
  const lt = p.slice();
  lt[lt.length - 1] = 1;
  return { gte: p, lt };
}

export function encodeMark(m: ResyncMark): Uint8Array {
  return new BinWriter().uint(m.x).uint(m.y).finish();
}

export function decodeMark(b: Uint8Array): ResyncMark {
  const r = new BinReader(b);
  return { x: r.uint(), y: r.uint() };
}

/**
 * Step 1 in `tx` (the command must be alone in its batch: it reads the engine as written):
 * keeps the unsent own records, deletes the projections and every key of the namespace's
 * state, writes the mark. Returns how many records were kept.
 */
export async function resetNamespace(engine: Engine, def: NamespaceDefinition, origin: string, mark: ResyncMark, tx: ExternalTx): Promise<number> {
  const ns = def.name;
  let kept = 0;
  if (mark.y > mark.x) {
    for await (const chunk of engine.scan({ gte: indexKey(ns, origin, mark.x + 1), lte: indexKey(ns, origin, mark.y) })) {
      for (const [k, v] of chunk) {
        const r = await resolveIndexed(engine, ns, origin, decodeU64(k, k.length - 8), v);
        if (r === undefined) continue; // dominated here already: its range still covers it
        tx.append({ type: 'put', key: concatBytes(keptPrefix(ns), encodeU64(r.seq)), value: encodeRecord(r) });
        kept++;
      }
    }
  }
  // The projection: one etcd key per key state (lww, mv, counter, set) and per held event.
  const keyStates = subPrefix(ns, Sub.KeyState);
  for await (const chunk of engine.scan({ ...subRange(ns, Sub.KeyState), values: false })) {
    for (const [k] of chunk) await tx.delete(k.slice(keyStates.length));
  }
  for await (const chunk of engine.scan(subRange(ns, Sub.Event))) {
    for (const [, v] of chunk) {
      const e = decodeEvent(v);
      await tx.delete(eventEtcdKey(def.prefix, e.deviceId, e.deviceSeq));
    }
  }
  tx.append({ type: 'del', key: nsRecordKey(ns) });
  for await (const chunk of engine.scan({ ...nsDataRange(ns), values: false })) for (const [k] of chunk) tx.append({ type: 'del', key: k });
  tx.append({ type: 'put', key: resyncMarkKey(ns), value: encodeMark(mark) });
  return kept;
}

/** The kept records of `ns`, in seq order (step 3 merges them; the caller deletes `keptRange`). */
export async function keptRecords(engine: Engine, ns: string): Promise<CrdtRecord[]> {
  const out: CrdtRecord[] = [];
  for await (const chunk of engine.scan(keptRange(ns))) for (const [, v] of chunk) out.push(decodeRecord(v));
  return out;
}
