// Serving a Range at a read level of a strong namespace (DESIGN.md §2):
//  - linearizable: ReadIndex through the leader, then the local state;
//  - serializable: the local state as applied;
//  - bounded: the local state when this member proves it trails the leader by at most the
//    bound (staleness.ts); otherwise a ReadIndex round through the leader (the answer is
//    then as fresh as a linearizable one), and UNAVAILABLE when the leader cannot be reached;
//  - session: the local state once it has reached the request's min revision, waiting for
//    it up to the deadline.
// The answer says which revision the member had applied and, for bounded, the staleness.

import type { RangeRequest, RangeResponse } from '../mvcc/index.js';
import { ReadLevel, strongestDefault, type ReadAsk, type ReadChoice } from '../namespace/index.js';
import { RegionError } from './errors.js';
import type { RegionNode } from './region-node.js';

/** A session read waits at most this long when its call has no deadline. */
export const SESSION_WAIT_MAX_MS = 10_000;

export interface LeveledRange {
  response: RangeResponse;
  /** The level the read was served at. */
  level: ReadLevel;
  /** The store revision of the member that served it, when it read. */
  appliedRevision: number;
  /** bounded: the staleness proven (0 when served after a ReadIndex round). */
  stalenessMs?: number;
}

const FROM_KEY_END = 0;

/** The namespaces' default for a range: its key range in the registry's terms. */
function defaultChoice(node: RegionNode, req: RangeRequest): ReadChoice {
  const end = req.rangeEnd;
  const rangeEnd = end === undefined || end.length === 0 ? undefined : end.length === 1 && end[0] === FROM_KEY_END ? new Uint8Array(0) : end;
  return strongestDefault(node.namespaces.routeRange(req.key, rangeEnd));
}

function choose(node: RegionNode, req: RangeRequest, ask: ReadAsk | undefined): ReadChoice & { minRevision: number } {
  if (ask === undefined) {
    if (req.serializable === true) return { level: ReadLevel.Serializable, maxStalenessMs: 0, minRevision: 0 };
    return { ...defaultChoice(node, req), minRevision: 0 };
  }
  const bound = ask.maxStalenessMs ?? (ask.level === ReadLevel.Bounded ? defaultChoice(node, req).maxStalenessMs : 0);
  return { level: ask.level, maxStalenessMs: bound, minRevision: ask.minRevision ?? 0 };
}

async function readLocal(node: RegionNode, req: RangeRequest): Promise<{ response: RangeResponse; appliedRevision: number }> {
  return node.readLocal(async (mvcc) => ({ response: await mvcc.range(req), appliedRevision: mvcc.currentRevision }));
}

export async function serveLeveledRange(node: RegionNode, req: RangeRequest, ask: ReadAsk | undefined, deadlineMs: number): Promise<LeveledRange> {
  const c = choose(node, req, ask);
  node.opts.metrics.readServed(c.level, node.roleName);
  switch (c.level) {
    case ReadLevel.Linearizable:
      await node.linearizableBarrier();
      return { ...(await readLocal(node, req)), level: c.level };
    case ReadLevel.Serializable:
      return { ...(await readLocal(node, req)), level: c.level };
    case ReadLevel.Bounded:
      return serveBounded(node, req, c.maxStalenessMs);
    case ReadLevel.Session:
      return serveSession(node, req, c.minRevision, deadlineMs);
  }
}

async function serveBounded(node: RegionNode, req: RangeRequest, boundMs: number): Promise<LeveledRange> {
  const proven = node.provenStalenessMs();
  if (proven !== undefined && proven <= boundMs) {
    return { ...(await readLocal(node, req)), level: ReadLevel.Bounded, stalenessMs: Math.round(proven) };
  }
  if (!node.isLeader) node.opts.metrics.boundedRead('forwarded');
  try {
    await node.linearizableBarrier();
  } catch (err) {
    if (node.isLeader) throw err;
    node.opts.metrics.boundedRead('refused');
    const heard = proven === undefined ? 'no append from the current leader whose commit it has applied' : `a proof ${Math.round(proven)} ms old`;
    throw new RegionError('unavailable',
      `regionstore: bounded read: this member cannot prove its state is within ${boundMs} ms of the leader's (it has ${heard}) ` +
      `and the leader did not answer a ReadIndex (${(err as Error).message}); retry on another member or raise rs-max-staleness-ms`);
  }
  return { ...(await readLocal(node, req)), level: ReadLevel.Bounded, stalenessMs: 0 };
}

async function serveSession(node: RegionNode, req: RangeRequest, minRevision: number, deadlineMs: number): Promise<LeveledRange> {
  if (node.mvcc.currentRevision < minRevision) {
    const t0 = performance.now();
    const until = Math.min(deadlineMs, Date.now() + SESSION_WAIT_MAX_MS);
    const reached = await node.waitForRevision(minRevision, until);
    node.opts.metrics.sessionWait((performance.now() - t0) / 1000);
    if (!reached) {
      throw Object.assign(new Error(
        `regionstore: session read: this member has applied revision ${node.mvcc.currentRevision}, below rs-min-revision ${minRevision}, ` +
        'and did not reach it before the deadline; retry on another member (the leader has it), or check that the revision came from this cluster'),
      { code: 'deadline-exceeded' });
    }
  }
  return { ...(await readLocal(node, req)), level: ReadLevel.Session };
}
