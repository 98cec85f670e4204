// The region as one replica of delta sync (issue 14): what an edge session needs from it.
// Uploads are RegionCrdt.uploadPage (one Raft entry per page, answered once this member
// applied it: a page is acknowledged only when applied); downloads are extracted from the
// persistent store at one applied index (server/eventual/extract.ts); changes are announced
// after each written batch; the HLC is the region's applied one.

import type { DeltaPage, Hlc } from '../../crdt/index.js';
import { EvError } from '../../eventual/entry.js';
import { openExtraction, type ExtractView } from '../../eventual/extract.js';
import type { NamespaceDefinition } from '../../namespace/index.js';
import type { RegionCrdt } from '../eventual/backend.js';
import type { RegionNode } from '../region-node.js';

export type ApplyOutcome =
  | { kind: 'applied'; vector: Map<string, number>; applied: number }
  | { kind: 'resend'; origin: string; seq: number }
  | { kind: 'refused'; code: string; message: string };

export class RegionReplicaSide {
  constructor(private readonly node: RegionNode, private readonly crdt: RegionCrdt) {}

  get replicaId(): string {
    return this.node.regionOrigin;
  }

  /** The eventual namespace `ns` as this member applied the registry, or undefined. */
  definition(ns: string): NamespaceDefinition | undefined {
    const def = this.node.namespaces.get(ns);
    return def?.level === 'eventual' ? def : undefined;
  }

  eventualNamespaces(): NamespaceDefinition[] {
    return this.node.namespaces.list().filter((d) => d.level === 'eventual');
  }

  vector(ns: string): Map<string, number> {
    return new Map(this.node.eventual.vector(ns).map((e) => [e.origin, e.seq]));
  }

  get hlc(): Hlc {
    return this.node.eventual.lastHlc;
  }

  /**
   * Applies a page through Raft; resolves once this member applied it (durable on a quorum).
   * A stamp beyond the namespace's skew bound refuses the page here, before proposing (apply
   * would refuse it the same way; this gives the session the code).
   */
  async applyPage(ns: string, page: DeltaPage, physicalMs: number): Promise<ApplyOutcome> {
    const def = this.definition(ns);
    if (def === undefined) return { kind: 'refused', code: 'unknown-namespace', message: `namespace ${JSON.stringify(ns)} is not an eventual namespace of this region` };
    for (const r of page.records) {
      const skew = r.hlc.wall - Math.floor(physicalMs);
      if (skew > def.maxClockSkewMs) {
        return {
          kind: 'refused', code: 'clock-skew',
          message: `record ${r.origin}:${r.seq} is stamped ${skew} ms ahead of the region's clock (max_clock_skew_ms of ${JSON.stringify(ns)} is ${def.maxClockSkewMs}): fix the edge's clock`,
        };
      }
    }
    try {
      const a = await this.crdt.uploadPage(ns, [...page.ranges], [...page.records]);
      return { kind: 'applied', vector: new Map(a.vector.map((e) => [e.origin, e.seq])), applied: a.applied };
    } catch (e) {
      if (e instanceof EvError) {
        if (e.resendFrom !== undefined) return { kind: 'resend', ...e.resendFrom };
        if (e.code === 'invalid-argument') return { kind: 'refused', code: 'malformed', message: e.message };
        if (e.code === 'not-found') return { kind: 'refused', code: 'unknown-namespace', message: e.message };
        return { kind: 'refused', code: /clock|skew/i.test(e.message) ? 'clock-skew' : 'internal', message: e.message };
      }
      throw e;
    }
  }

  /**
   * The pages `peer` lacks of `ns`, from one view taken now (inside the read gate: never
   * over a store a snapshot install is replacing), with the applied index of that view.
   */
  extract(ns: string, peer: ReadonlyMap<string, number>, budgetBytes: number): Promise<ExtractView & { viewIndex: number }> {
    return this.node.readEventual((store, mvcc) => {
      // Same turn: the vector, the applied index and every scan's snapshot.
      const vector = new Map(store.vector(ns).map((e) => [e.origin, e.seq]));
      const viewIndex = mvcc.appliedIndex;
      return { ...openExtraction(store.engine, ns, vector, peer, budgetBytes), viewIndex };
    });
  }

  onChange(fn: (ns: string) => void): () => void {
    return this.node.onEventualChange(fn);
  }
}
