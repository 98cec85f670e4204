// Read levels of eventual reads (DESIGN §2; issue 13): linearizable by default in the region
// (the merged state as of a ReadIndex round), serializable from any member at once, bounded
// and session as for etcd Range (leveled-read.ts has the reasoning). Resolves once this
// member's state may answer; the caller then reads it through readEventual.

import { ReadLevel, type ReadAsk } from '../../namespace/index.js';
import { RegionError } from '../errors.js';
import { SESSION_WAIT_MAX_MS } from '../leveled-read.js';
import type { RegionNode } from '../region-node.js';

export async function eventualReadBarrier(node: RegionNode, ask: ReadAsk | undefined, deadlineMs: number, bound: number): Promise<ReadLevel> {
  const level = ask?.level ?? ReadLevel.Linearizable;
  node.opts.metrics.readServed(level, node.roleName);
  switch (level) {
    case ReadLevel.Linearizable:
      await node.linearizableBarrier();
      return level;
    case ReadLevel.Serializable:
      return level;
    case ReadLevel.Bounded: {
      const boundMs = ask?.maxStalenessMs ?? bound;
      const proven = node.provenStalenessMs();
      if (proven !== undefined && proven <= boundMs) return level;
      try {
        await node.linearizableBarrier();
      } catch (err) {
        if (node.isLeader) throw err;
        throw new RegionError('unavailable',
          `regionstore: bounded read: this member cannot prove its state is within ${boundMs} ms of the leader's and the leader did not answer a ReadIndex (${(err as Error).message}); retry on another member`);
      }
      return level;
    }
    case ReadLevel.Session: {
      const min = ask?.minRevision ?? 0;
      if (node.mvcc.currentRevision >= min) return level;
      const reached = await node.waitForRevision(min, Math.min(deadlineMs, Date.now() + SESSION_WAIT_MAX_MS));
      if (!reached) {
        throw Object.assign(new Error(
          `regionstore: session read: this member has applied revision ${node.mvcc.currentRevision}, below rs-min-revision ${min}; retry on another member`),
        { code: 'deadline-exceeded' });
      }
      return level;
    }
  }
}
