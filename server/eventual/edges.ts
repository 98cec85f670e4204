// Known edges (issue 14): what the region remembers of every edge replica that synced with
// it, replicated through Raft as eventual entries of kind `edge` (entry.ts) so every member
// holds the same table and a new leader knows every edge's acknowledged vectors. One small
// entry per session event or ACK batch (the proposer rate-limits them); apply merges it into
// the stored record: acknowledged vectors only grow (pointwise max), byte counts add up,
// the rest is the latest. Stored under the meta keyspace, one key per replica id.

import { BinReader, BinWriter } from '../mvcc/index.js';
import { metaKey } from './layout.js';

export interface EdgeRecord {
  /** `edge:<device>:<incarnation>`. */
  replicaId: string;
  device: string;
  incarnation: number;
  /** Per namespace, the edge's durable (acknowledged) vector: origin → seq. */
  acked: Record<string, Record<string, number>>;
  /** The proposer's clock when it last heard from the edge (ms since the epoch). */
  lastSeenMs: number;
  /** The member whose session it is connected to (0: not connected). */
  member: number;
  /** Bytes received from / sent to the edge over every session. */
  bytesIn: number;
  bytesOut: number;
  /** The edge's last measured clock skew (its clock minus the region's, ms). */
  skewMs: number;
  /** Ops received from / sent to the edge over every session. */
  opsIn: number;
  opsOut: number;
  /** The edge's group (its HELLO's; the metrics label). Absent in records written before groups existed: "default". */
  group?: string;
}

/** One entry's change to a record: vectors and counts are merged, the rest replaces. */
export interface EdgeUpdate {
  replicaId: string;
  device: string;
  incarnation: number;
  acked: Record<string, Record<string, number>>;
  lastSeenMs: number;
  member: number;
  bytesInDelta: number;
  bytesOutDelta: number;
  opsInDelta: number;
  opsOutDelta: number;
  skewMs: number;
  /** The edge's group; absent: keep the stored one. */
  group?: string;
}

const EDGE_KEY_PREFIX = 'edge/';

export function edgeKey(replicaId: string): Uint8Array {
  return metaKey(EDGE_KEY_PREFIX + replicaId);
}

/** Every edge key (meta keys are [0x15][0x00][name]). */
export function edgeKeyRange(): { gte: Uint8Array; lt: Uint8Array } {
  const gte = metaKey(EDGE_KEY_PREFIX);
  const lt = gte.slice();
  lt[lt.length - 1]! += 1;
  return { gte, lt };
}

function writeVectors(w: BinWriter, acked: Record<string, Record<string, number>>): void {
  const nss = Object.keys(acked).sort();
  w.uint(nss.length);
  for (const ns of nss) {
    const v = acked[ns]!;
    const origins = Object.keys(v).sort();
    w.string(ns).uint(origins.length);
    for (const o of origins) w.string(o).uint(v[o]!);
  }
}

function readVectors(r: BinReader): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (let n = r.uint(); n > 0; n--) {
    const ns = r.string();
    const v: Record<string, number> = {};
    for (let m = r.uint(); m > 0; m--) v[r.string()] = r.uint();
    out[ns] = v;
  }
  return out;
}

export function encodeEdgeUpdate(w: BinWriter, u: EdgeUpdate): void {
  w.string(u.replicaId).string(u.device).uint(u.incarnation).uint(u.lastSeenMs).uint(u.member)
    .uint(u.bytesInDelta).uint(u.bytesOutDelta).uint(u.opsInDelta).uint(u.opsOutDelta).int(Math.round(u.skewMs));
  writeVectors(w, u.acked);
  // Last, so an entry written before groups existed decodes (its group is absent).
  if (u.group !== undefined) w.string(u.group);
}

export function decodeEdgeUpdate(r: BinReader): EdgeUpdate {
  return {
    replicaId: r.string(), device: r.string(), incarnation: r.uint(), lastSeenMs: r.uint(), member: r.uint(),
    bytesInDelta: r.uint(), bytesOutDelta: r.uint(), opsInDelta: r.uint(), opsOutDelta: r.uint(), skewMs: r.int(),
    acked: readVectors(r), ...trailingGroup(r),
  };
}

/** The optional group after the vectors (entries and records written before it have none). */
function trailingGroup(r: BinReader): { group?: string } {
  return r.done ? {} : { group: r.string() };
}

export function encodeEdgeRecord(e: EdgeRecord): Uint8Array {
  const w = new BinWriter().string(e.replicaId).string(e.device).uint(e.incarnation).uint(e.lastSeenMs).uint(e.member)
    .uint(e.bytesIn).uint(e.bytesOut).uint(e.opsIn).uint(e.opsOut).int(Math.round(e.skewMs));
  writeVectors(w, e.acked);
  if (e.group !== undefined) w.string(e.group);
  return w.finish();
}

export function decodeEdgeRecord(bytes: Uint8Array): EdgeRecord {
  const r = new BinReader(bytes);
  return {
    replicaId: r.string(), device: r.string(), incarnation: r.uint(), lastSeenMs: r.uint(), member: r.uint(),
    bytesIn: r.uint(), bytesOut: r.uint(), opsIn: r.uint(), opsOut: r.uint(), skewMs: r.int(), acked: readVectors(r), ...trailingGroup(r),
  };
}

/** The stored record after `u` (deterministic: every member computes the same). */
export function mergeEdge(prev: EdgeRecord | undefined, u: EdgeUpdate): EdgeRecord {
  const acked: Record<string, Record<string, number>> = {};
  for (const [ns, v] of Object.entries(prev?.acked ?? {})) acked[ns] = { ...v };
  for (const [ns, v] of Object.entries(u.acked)) {
    const into = (acked[ns] ??= {});
    for (const [o, s] of Object.entries(v)) into[o] = Math.max(into[o] ?? 0, s);
  }
  return {
    replicaId: u.replicaId, device: u.device, incarnation: u.incarnation, acked,
    lastSeenMs: Math.max(prev?.lastSeenMs ?? 0, u.lastSeenMs), member: u.member,
    bytesIn: (prev?.bytesIn ?? 0) + u.bytesInDelta, bytesOut: (prev?.bytesOut ?? 0) + u.bytesOutDelta,
    opsIn: (prev?.opsIn ?? 0) + u.opsInDelta, opsOut: (prev?.opsOut ?? 0) + u.opsOutDelta, skewMs: u.skewMs,
    ...(u.group !== undefined ? { group: u.group } : prev?.group !== undefined ? { group: prev.group } : {}),
  };
}
