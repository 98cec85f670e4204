// CallOptions.identity: a caller that re-sends a write after a lost response itself (the
// chaos harness's crdt workload) gives the identity; every attempt of the call, and the
// re-send, carry exactly it, and the client's own slots are left alone.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Client } from './index.js';
import { StubServer } from './testing/stub-server.js';

const answer = { answer: { namespace: 'ns', revision: '4', vector: [], results: [{ dot: { origin: 'region:t', seq: '1' }, eventSeq: '0', duplicate: false }], memberId: '77' } };

describe('explicit writer identity', { timeout: 30_000 }, () => {
  let stub: StubServer;
  let client: Client;

  before(async () => {
    stub = await new StubServer().start();
    stub.unary.set('Status', () => ({ answer: { header: { memberId: '77' }, leader: '77', raftTerm: '1' } }));
    client = new Client({ endpoints: [stub.address], attempts: 3, attemptTimeoutMs: 300, timeoutMs: 5_000 });
  });
  after(async () => {
    client.close();
    await stub.stop();
  });

  test('every attempt and a later re-send carry the given identity; other writes keep the client\'s own', async () => {
    stub.unary.set('Crdt.Write', (_req, _md, n) => (n === 1 ? { fail: status.UNAVAILABLE, details: 'etcdserver: request timed out' } : answer));
    const identity = { clientId: 'chaos-p7', seq: 12 };
    await client.crdt.counterAdd('c/x', 1, { identity });
    await client.crdt.counterAdd('c/x', 1, { identity });
    await client.crdt.counterAdd('c/x', 1);
    const calls = stub.callsOf('Crdt.Write');
    assert.deepEqual(calls.slice(0, 3).map((c) => [c.clientId, c.seq]), [['chaos-p7', '12'], ['chaos-p7', '12'], ['chaos-p7', '12']]);
    assert.ok(calls[3]?.clientId?.startsWith(client.clientId));
  });
});
