// The leader's side of causal-stability GC (server/eventual/gc.ts applies it): every
// EDGE_GC_INTERVAL_MS, per eventual namespace, the stable vector (host.ts's stable()) and
// the items it makes collectable, found in the leader's state, proposed as one GC entry
// (bounded by GC_ITEMS_MAX). Superseded losers are few (a key keeps its losers only until
// stable) and scanned whole; set removes are found in the per-origin index from a per-origin
// cursor up to the stable seq, so each index entry is looked at once per leadership.

import { VersionVector } from '../../crdt/index.js';
import { decodeIndex, decodeSuperseded } from '../../eventual/codec.js';
import { GC_ITEMS_MAX } from '../../eventual/gc.js';
import { Sub, indexKey, subRange } from '../../eventual/layout.js';
import { decodeU64 } from '../../storage/index.js';
import type { Logger } from '../../util/logger.js';
import type { RegionCrdt } from '../eventual/backend.js';
import type { RegionNode } from '../region-node.js';

/** How often the leader looks for collectable records. */
export const EDGE_GC_INTERVAL_MS = 2_000;
/** Superseded entries examined per namespace per round (a bound on the leader's scan). */
const GC_SUPERSEDED_SCAN_MAX = 10_000;

export class StabilityGc {
  private readonly timer: NodeJS.Timeout;
  private running = false;
  /** Per namespace and origin: index seqs already looked at for set removes (this leadership). */
  private readonly cursors = new Map<string, Map<string, number>>();
  /** Per namespace, the stable vector of a round that found nothing: unchanged, nothing new to find. */
  private readonly idleAt = new Map<string, string>();
  /** Records dropped by GC entries this member proposed (tests and logs). */
  dropped = 0;

  constructor(
    private readonly node: RegionNode,
    private readonly crdt: RegionCrdt,
    private readonly stable: (ns: string) => Map<string, number>,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.round(), EDGE_GC_INTERVAL_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  async round(): Promise<void> {
    if (this.running) return;
    if (!this.node.isLeader) {
      this.cursors.clear();
      this.idleAt.clear();
      return;
    }
    this.running = true;
    try {
      for (const def of this.node.namespaces.list()) {
        if (def.level !== 'eventual' || (def.crdtType !== 'lww' && def.crdtType !== 'set')) continue;
        await this.collect(def.name, def.crdtType);
      }
    } catch (e) {
      this.logger.warn('causal-stability GC round failed', { error: (e as Error).message });
    } finally {
      this.running = false;
    }
  }

  private async collect(ns: string, type: 'lww' | 'set'): Promise<void> {
    const stableMap = this.stable(ns);
    const stableKey = JSON.stringify([...stableMap]);
    if (this.idleAt.get(ns) === stableKey) return;
    const stable = VersionVector.from(stableMap);
    const superseded: Array<{ key: Uint8Array; origin: string; seq: number }> = [];
    const removes: Array<{ origin: string; seq: number }> = [];
    // Moved on only once the entry applied (a lost proposal looks at the same seqs again).
    const cursors = new Map(this.cursors.get(ns) ?? []);
    await this.node.readEventual(async (store) => {
      if (type === 'lww') {
        if (store.counts(ns).superseded === 0) return;
        let seen = 0;
        outer: for await (const chunk of store.engine.scan(subRange(ns, Sub.Superseded))) {
          for (const [, v] of chunk) {
            if (++seen > GC_SUPERSEDED_SCAN_MAX || superseded.length >= GC_ITEMS_MAX) break outer;
            const s = decodeSuperseded(v);
            if (stable.covers(s.winner)) superseded.push({ key: s.rec.key, origin: s.rec.origin, seq: s.rec.seq });
          }
        }
        return;
      }
      for (const [origin, upTo] of stableMap) {
        const from = (cursors.get(origin) ?? 0) + 1;
        if (from > upTo) continue;
        let last = from - 1;
        outer: for await (const chunk of store.engine.scan({ gte: indexKey(ns, origin, from), lte: indexKey(ns, origin, upTo) })) {
          for (const [k, v] of chunk) {
            if (removes.length >= GC_ITEMS_MAX) break outer;
            const seq = decodeU64(k, k.length - 8);
            const e = decodeIndex(v);
            if (e.where === 'record' && e.record.kind === 'set' && e.record.op === 'remove') removes.push({ origin, seq });
            last = seq;
          }
        }
        if (removes.length < GC_ITEMS_MAX) last = upTo;
        cursors.set(origin, last);
        if (removes.length >= GC_ITEMS_MAX) break;
      }
    });
    if (superseded.length === 0 && removes.length === 0) {
      this.cursors.set(ns, cursors);
      this.idleAt.set(ns, stableKey);
      return;
    }
    this.idleAt.delete(ns);
    const n = await this.crdt.collect({ namespace: ns, stable: [...stableMap].map(([origin, seq]) => ({ origin, seq })), superseded, removes });
    this.cursors.set(ns, cursors);
    this.dropped += n;
    this.logger.info('causal-stability GC', { namespace: ns, dropped: n, superseded: superseded.length, removes: removes.length });
  }
}
