// A CRDT write that a member's registry does not know (backend.ts, writableNamespace): the
// member may still be catching up (a learner re-added by the chaos membership fault, before its
// snapshot), and a NOT_FOUND from it ends the client's retries as a definite failure while an
// earlier attempt at another member may have applied the write (chaos seed 4: a region mv write
// recorded as failed was in the final state). The member asks again after a linearizable
// barrier: a stand-in node whose registry catches up at the barrier, as a real one does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeAnswer, EvError } from '../../eventual/entry.js';
import { completeDefinition, NamespaceRegistry } from '../../namespace/index.js';
import type { RegionNode } from '../region-node.js';
import { RegionCrdt } from './backend.js';

const MV = completeDefinition({ name: 'ec-mv', prefix: 'ec/mv/', level: 'eventual', crdtType: 'mv' });

function standIn(knowsAfterBarrier: boolean) {
  const calls = { barriers: 0, proposals: 0 };
  let registry = NamespaceRegistry.of([]);
  const node = {
    id: 1,
    get namespaces() {
      return registry;
    },
    linearizableBarrier: () => {
      calls.barriers++;
      if (knowsAfterBarrier) registry = NamespaceRegistry.of([MV]);
      return Promise.resolve();
    },
    quota: { available: () => Promise.resolve(true) },
    eventual: { vector: () => [] },
    proposeEventual: () => {
      calls.proposals++;
      return Promise.resolve({ revision: 9, body: encodeAnswer({ kind: 'write', namespace: 'ec-mv', results: [{}] }) });
    },
  };
  return { crdt: new RegionCrdt(node as unknown as RegionNode), calls };
}

const write = { namespace: 'ec-mv', ops: [{ type: 'mvPut' as const, key: new TextEncoder().encode('ec/mv/k1'), value: new Uint8Array(1), context: '' }] };

test('a member behind on the registry asks again after a barrier before refusing a CRDT write', async () => {
  const behind = standIn(true);
  const r = await behind.crdt.write(write, undefined);
  assert.equal(r.revision, 9, 'proposed once the registry caught up');
  assert.deepEqual(behind.calls, { barriers: 1, proposals: 1 });

  const unknown = standIn(false);
  await assert.rejects(unknown.crdt.write(write, undefined), (e: unknown) => e instanceof EvError && e.code === 'not-found');
  assert.deepEqual(unknown.calls, { barriers: 1, proposals: 0 }, 'a namespace the region does not have is still refused, after the barrier');
});
