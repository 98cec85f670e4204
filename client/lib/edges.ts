// The regionstore.v1.EdgeAdmin service (issue 14): what a region knows of the edges that
// sync with it. `await client.edges.list()` → every known edge (connected or last seen, lag,
// bytes each way, skew, acknowledged vectors) and the causally stable vector per namespace.

import { loadSync } from '@grpc/proto-loader';
import type { Caller, CallOptions } from './caller.js';
import { LOADER_OPTIONS, type Method } from './proto.js';
import { protoDir } from '../../proto/dir.js';

export interface NamespaceVector {
  namespace: string;
  vector: Array<{ origin: string; seq: number }>;
}

export interface EdgeInfo {
  replicaId: string;
  deviceId: string;
  incarnation: number;
  connected: boolean;
  /** The member whose session it is ('0': none known). */
  memberId: string;
  lastSeenMs: number;
  lagOps: number;
  lagSeconds: number;
  bytesIn: number;
  bytesOut: number;
  opsIn: number;
  opsOut: number;
  /** Its clock minus the region's (ms). */
  skewMs: number;
  acked: NamespaceVector[];
}

export interface EdgeList {
  /** The member that answered (whose live sessions `connected` reflects first). */
  memberId: string;
  edges: EdgeInfo[];
  stable: NamespaceVector[];
}

interface WireVector { namespace: string; vector: Array<{ origin: string; seq: string }> }
type WireEdge = Omit<EdgeInfo, 'incarnation' | 'lastSeenMs' | 'lagOps' | 'bytesIn' | 'bytesOut' | 'opsIn' | 'opsOut' | 'skewMs' | 'acked'> & {
  incarnation: string; lastSeenMs: string; lagOps: string; bytesIn: string; bytesOut: string; opsIn: string; opsOut: string; skewMs: string; acked: WireVector[];
};

let cached: Method | undefined;
let cachedStatus: Method | undefined;

/** An edge's own view (`rsctl edge status` against an edge). */
export interface EdgeStatus {
  replicaId: string;
  deviceId: string;
  incarnation: number;
  previousIncarnations: number[];
  connected: boolean;
  regionEndpoint: string;
  /** ms since the epoch; 0 while connected. */
  offlineSinceMs: number;
  lastError: string;
  lagOps: number;
  lagSeconds: number;
  bytesIn: number;
  bytesOut: number;
  opsIn: number;
  opsOut: number;
  skewMs: number;
  /** -1: the strong copy never caught up. */
  strongStalenessMs: number;
  strongRevision: number;
  localRevision: number;
  vectors: NamespaceVector[];
  sessions: number;
  connects: number;
  /** Pages refused for clock skew either way, the last refusal and when (ms since the epoch; 0: none). */
  skewRefusals: number;
  lastSkewRefusal: string;
  lastSkewRefusalMs: number;
  /** Namespaces reset for a resync (silent past tombstone_ttl) since start, and those still downloading. */
  resyncs: number;
  resyncing: string[];
  /** What the start-up storage check found and did ('' when the data dir opened clean). */
  storageNote: string;
}

function statusMethod(): Method {
  if (cachedStatus === undefined) listMethod();
  return cachedStatus!;
}

function listMethod(): Method {
  if (cached !== undefined) return cached;
  const dir = protoDir();
  const def = loadSync('regionstore/v1/edge_admin.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
  cached = (def['regionstore.v1.EdgeAdmin'] as unknown as Record<string, Method>)['ListEdges']!;
  cachedStatus = (def['regionstore.v1.EdgeAdmin'] as unknown as Record<string, Method>)['EdgeStatus']!;
  return cached;
}

const vec = (v: WireVector): NamespaceVector => ({ namespace: v.namespace, vector: v.vector.map((e) => ({ origin: e.origin, seq: Number(e.seq) })) });

export class Edges {
  constructor(private readonly caller: Caller) {}

  /** Every edge the region knows (any member answers from the replicated table). */
  async list(opts: CallOptions = {}): Promise<EdgeList> {
    const r = await this.caller.unary<{ memberId: string; edges: WireEdge[]; stable: WireVector[] }>(listMethod(), {}, 'read', opts);
    return {
      memberId: r.memberId,
      stable: r.stable.map(vec),
      edges: r.edges.map((e) => ({
        replicaId: e.replicaId, deviceId: e.deviceId, incarnation: Number(e.incarnation), connected: e.connected, memberId: e.memberId,
        lastSeenMs: Number(e.lastSeenMs), lagOps: Number(e.lagOps), lagSeconds: e.lagSeconds, bytesIn: Number(e.bytesIn), bytesOut: Number(e.bytesOut),
        opsIn: Number(e.opsIn), opsOut: Number(e.opsOut), skewMs: Number(e.skewMs), acked: e.acked.map(vec),
      })),
    };
  }

  /** An edge's own view of its link (asked of the edge; a region member answers UNIMPLEMENTED). */
  async status(opts: CallOptions = {}): Promise<EdgeStatus> {
    const r = await this.caller.unary<Record<string, unknown> & { vectors: WireVector[]; previousIncarnations: string[] }>(statusMethod(), {}, 'read', opts);
    const n = (k: string): number => Number(r[k] ?? 0);
    return {
      replicaId: String(r['replicaId']), deviceId: String(r['deviceId']), incarnation: n('incarnation'), previousIncarnations: r.previousIncarnations.map(Number),
      connected: r['connected'] === true, regionEndpoint: String(r['regionEndpoint']), offlineSinceMs: n('offlineSinceMs'), lastError: String(r['lastError']),
      lagOps: n('lagOps'), lagSeconds: n('lagSeconds'), bytesIn: n('bytesIn'), bytesOut: n('bytesOut'), opsIn: n('opsIn'), opsOut: n('opsOut'),
      skewMs: n('skewMs'), strongStalenessMs: n('strongStalenessMs'), strongRevision: n('strongRevision'), localRevision: n('localRevision'),
      vectors: r.vectors.map(vec), sessions: n('sessions'), connects: n('connects'),
      skewRefusals: n('skewRefusals'), lastSkewRefusal: String(r['lastSkewRefusal'] ?? ''), lastSkewRefusalMs: n('lastSkewRefusalMs'),
      resyncs: n('resyncs'), resyncing: ((r['resyncing'] ?? []) as string[]).map(String), storageNote: String(r['storageNote'] ?? ''),
    };
  }
}
