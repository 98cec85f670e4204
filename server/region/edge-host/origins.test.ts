// Which origins an edge session may upload (replica-side.ts): its own incarnation's and its
// device's earlier incarnations' (a copy restored from a backup holds writes of the old one
// it never uploaded: chaos seed 8 lost an acknowledged mv write refused as forged-origin).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EdgeRecord } from '../../eventual/edges.js';
import { supersededIncarnations } from './host.js';
import { earlierIncarnation } from './replica-side.js';

test('an edge may upload its device\'s earlier incarnations, never another device\'s or a later one', () => {
  assert.equal(earlierIncarnation('edge:e1:1796609005499', 'edge:e1:1796609035688'), true);
  assert.equal(earlierIncarnation('edge:e1:5', 'edge:e1:5'), false, 'the same incarnation is checked by equality');
  assert.equal(earlierIncarnation('edge:e1:6', 'edge:e1:5'), false, 'a later incarnation is not its own');
  assert.equal(earlierIncarnation('edge:e2:1', 'edge:e1:5'), false, 'another device');
  assert.equal(earlierIncarnation('edge:e1:x:1', 'edge:e1:5'), false);
  assert.equal(earlierIncarnation('region:tok', 'edge:e1:5'), false);
});

// Which known edges causal stability leaves out (host.ts): an incarnation its device replaced.
// Every restart after a crash or a restore may take a new incarnation (server/edge/edge-node.ts),
// and a dead one's acknowledged vector would hold GC back until its tombstone_ttl ran out.
function rec(replicaId: string, lastSeenMs: number): EdgeRecord {
  const [, device, inc] = replicaId.split(':');
  return { replicaId, device: device!, incarnation: Number(inc), acked: {}, lastSeenMs, member: 0, bytesIn: 0, bytesOut: 0, skewMs: 0, opsIn: 0, opsOut: 0 };
}

test('an incarnation is superseded once its device was heard from later as another; a live session never is', () => {
  const edges = [rec('edge:e1:100', 1_000), rec('edge:e1:200', 2_000), rec('edge:e2:300', 1_500), rec('edge:e3:50', 3_000), rec('edge:e3:40', 3_000)];
  assert.deepEqual([...supersededIncarnations(edges, new Set())], ['edge:e1:100'], 'e1:200 spoke after e1:100 did; e3\'s two at the same time supersede neither');
  // Heard from later, not numbered higher: a wiped device whose clock ran back takes a lower number.
  assert.deepEqual([...supersededIncarnations([rec('edge:e1:900', 1_000), rec('edge:e1:500', 5_000)], new Set())], ['edge:e1:900']);
  assert.deepEqual([...supersededIncarnations(edges, new Set(['edge:e1:100']))], ['edge:e1:200'], 'an incarnation in session now is the device\'s latest');
});
