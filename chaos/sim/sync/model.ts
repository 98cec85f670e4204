// The reference the final state is checked against, computed from the operations alone
// (every record any replica created, and what the writer had observed), not by the stores.

import { bytesKey, canonicalJson, compareStamp, renderBytes, type RenderedMap, type CrdtKind, type CrdtRecord, type Dot } from '../../../server/crdt/index.js';

export interface CreatedOp {
  record: CrdtRecord;
  /** set removes: the add dots the writer's replica showed for the element when it removed. */
  observed?: readonly Dot[];
}

const dk = (d: Dot): string => `${d.origin}:${d.seq}`;

/** Records per map key, in key byte order (bytesKey strings sort that way). */
function groupByKey(ops: readonly CreatedOp[]): Array<[Uint8Array, CrdtRecord[]]> {
  const m = new Map<string, [Uint8Array, CrdtRecord[]]>();
  for (const { record: r } of ops) {
    if (!('key' in r)) continue;
    const k = bytesKey(r.key);
    const g = m.get(k);
    if (g === undefined) m.set(k, [r.key, [r]]);
    else g[1].push(r);
  }
  return [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, g]) => g);
}

/** The canonical rendering every replica must show for a type once all ops are delivered. */
export function expectedRender(kind: CrdtKind, ops: readonly CreatedOp[]): string | undefined {
  // A map renders as [key, value] pairs in key byte order (server/crdt/bytes.ts renderMap).
  const out: RenderedMap<unknown> = [];
  if (kind === 'events') return undefined; // checked event by event (simulator.ts)
  if (kind === 'set') {
    const removed = new Set(ops.flatMap((o) => (o.observed ?? []).map(dk)));
    for (const [key, rs] of groupByKey(ops)) {
      // Equal by content (bytesKey), in byte order (bytesKey strings sort the same way).
      const elems = new Map<string, Uint8Array>();
      for (const r of rs) if (r.kind === 'set' && r.op === 'add' && !removed.has(dk(r))) elems.set(bytesKey(r.elem), r.elem);
      if (elems.size > 0) out.push([renderBytes(key), [...elems.keys()].sort().map((k) => renderBytes(elems.get(k)!))]);
    }
    return canonicalJson(out);
  }
  for (const [key, rs] of groupByKey(ops)) {
    if (kind === 'lww') {
      const win = rs.reduce((a, b) => (compareStamp(a.hlc, a.origin, b.hlc, b.origin) >= 0 ? a : b));
      if (win.kind === 'lww' && win.value !== null) out.push([renderBytes(key), renderBytes(win.value)]);
    } else if (kind === 'counter') {
      const last = new Map<string, number>();
      for (const r of rs) if (r.kind === 'counter') last.set(r.origin, r.p - r.n);
      out.push([renderBytes(key), [...last.values()].reduce((s, v) => s + v, 0)]);
    } else if (kind === 'mv') {
      const mv = rs.filter((r) => r.kind === 'mv');
      const live = mv.filter((r) => !mv.some((o) => (o.context[r.origin] ?? 0) >= r.seq));
      live.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.seq - b.seq));
      if (live.length > 0) out.push([renderBytes(key), live.map((r) => renderBytes(r.value))]);
    }
  }
  return canonicalJson(out);
}
