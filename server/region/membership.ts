// Membership as the log decides it: conf change entries (raft's voters and learners) and
// member attribute entries (names and URLs) update the member registry and the peer
// transport, the same way on every member; and the callers of proposeConfChange wait
// here until their change is applied.

import { ConfChangeType, decodeConfChange, type ConfChange, type ConfState, type Entry } from '../raft/index.js';
import type { BatchOp } from '../storage/engine.js';
import type { GrpcTransport } from '../transport/grpc-transport.js';
import type { Logger } from '../util/logger.js';
import { decodeConfContext, type MemberRecord, type Members } from './members.js';

export interface MembershipDeps {
  selfId: number;
  transport: Pick<GrpcTransport, 'hasPeer' | 'addPeer' | 'updatePeer' | 'removePeer'>;
  /** Member name → URL to dial instead of its advertised peer URL (NAT, test proxies). */
  peerDialMap?: Record<string, string>;
  /** RawNode.applyConfChange: raft's own view, returning the new configuration. */
  applyConfChange: (cc: ConfChange) => ConfState;
  logger: Logger;
  /** This member was removed by an applied conf change. */
  onRemoved: () => void;
}

/** What a member attributes entry carries (etcd's publish and MemberUpdate). */
export type MemberAttributes = Partial<MemberRecord> & { id: number };

export class Membership {
  private readonly confWaiters = new Map<string, Array<() => void>>();

  constructor(private readonly deps: MembershipDeps, private registry: Members) {}

  get members(): Members {
    return this.registry;
  }

  /** A received snapshot replaced the state, and with it the registry. */
  replaceRegistry(registry: Members): void {
    this.registry = registry;
    for (const m of registry.list()) this.connect(m);
  }

  /** Makes sure the transport can reach `m` (not this member). */
  connect(m: MemberRecord): void {
    const { transport, peerDialMap, selfId } = this.deps;
    const url = peerDialMap?.[m.name] ?? m.peerUrls[0];
    if (m.id === selfId || url === undefined) return;
    if (!transport.hasPeer(m.id)) transport.addPeer(m.id, url);
    else if (peerDialMap?.[m.name] !== undefined) transport.updatePeer(m.id, url);
  }

  /** Applies one committed conf change entry; returns the registry writes. */
  applyConfChange(e: Entry): BatchOp[] {
    const cc = decodeConfChange(e.data);
    if (cc === undefined) {
      this.deps.logger.error('skipping a malformed conf change entry', { index: e.index });
      return [];
    }
    const confState = this.deps.applyConfChange(cc);
    const ctx = decodeConfContext(cc.context);
    const ops: BatchOp[] = [];
    const { transport, selfId } = this.deps;
    if (cc.type === ConfChangeType.RemoveNode) {
      if (this.registry.has(cc.nodeId)) ops.push(...this.registry.remove(cc.nodeId));
      if (cc.nodeId !== selfId && transport.hasPeer(cc.nodeId)) transport.removePeer(cc.nodeId);
    } else {
      const patch: MemberAttributes = { id: cc.nodeId, isLearner: confState.learners.includes(cc.nodeId) };
      if (ctx !== undefined) {
        patch.peerUrls = ctx.peerUrls;
        if (ctx.name !== undefined) patch.name = ctx.name;
      }
      ops.push(this.registry.upsert(patch));
      const rec = this.registry.get(cc.nodeId);
      if (rec !== undefined) this.connect(rec);
    }
    const key = confKey(cc);
    const waiters = this.confWaiters.get(key);
    if (waiters !== undefined) {
      this.confWaiters.delete(key);
      for (const w of waiters) w();
    }
    if (cc.type === ConfChangeType.RemoveNode && cc.nodeId === selfId) {
      this.deps.logger.warn('this member was removed from the cluster; stopping');
      setImmediate(() => this.deps.onRemoved());
    }
    return ops;
  }

  /** Applies a committed member attributes entry of a known member; returns the registry writes. */
  applyAttributes(attrs: MemberAttributes): BatchOp[] {
    if (!this.registry.has(attrs.id)) return [];
    const before = this.registry.get(attrs.id)?.peerUrls[0];
    const ops = [this.registry.upsert(attrs)];
    const rec = this.registry.get(attrs.id)!;
    const after = attrs.peerUrls?.[0];
    const { transport, peerDialMap, selfId } = this.deps;
    if (after !== undefined && after !== before && attrs.id !== selfId && transport.hasPeer(attrs.id)) {
      transport.updatePeer(attrs.id, peerDialMap?.[rec.name] ?? after);
    } else if (attrs.id !== selfId) {
      this.connect(rec);
    }
    return ops;
  }

  /** Resolves when a conf change like `cc` is applied; `abandon` if it was never proposed. */
  waitApplied(cc: ConfChange): { applied: Promise<void>; abandon: () => void } {
    const key = confKey(cc);
    const applied = new Promise<void>((resolve) => {
      const list = this.confWaiters.get(key) ?? [];
      list.push(resolve);
      this.confWaiters.set(key, list);
    });
    return { applied, abandon: () => this.confWaiters.delete(key) };
  }
}

function confKey(cc: ConfChange): string {
  return `${cc.type}:${cc.nodeId}`;
}
