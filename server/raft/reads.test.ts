// ReadIndex: Raft thesis §6.4 ("Processing read-only queries more efficiently").

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Network, bytes } from './testing/network.js';
import { MessageType, ProposalRefusal, ProposalRefusedError, StateRole } from './types.js';
import { newRaw } from './testing/harness.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('ReadIndex (thesis §6.4)', () => {
  it('"the leader records its current commit index in a local variable readIndex" and answers once confirmed', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).propose(bytes('w'));
    net.stabilize();
    net.raw(1).readIndex(bytes('r1'));
    net.stabilize();
    const rs = net.get(1).readStates;
    assert.equal(rs.length, 1);
    assert.equal(rs[0]!.index, net.raw(1).status().commit);
    assert.equal(text(rs[0]!.requestCtx), 'r1');
  });

  it('"If the leader has not yet marked an entry from its current term committed, it waits until it has done so"', () => {
    const net = new Network([1, 2, 3]);
    net.filter = (m) => m.type !== MessageType.App; // votes pass, appends do not
    net.campaign(2);
    assert.equal(net.leader(), 2);
    net.raw(2).readIndex(bytes('early'));
    net.stabilize();
    assert.equal(net.get(2).readStates.length, 0);
    net.heal();
    net.tickAll(2);
    assert.equal(net.get(2).readStates.length, 1);
    assert.ok(net.get(2).readStates[0]!.index >= 4, 'the read index covers the no-op of the term');
  });

  it('"the leader sends heartbeats; once a majority acknowledged, it knows it was still the leader": one round serves a whole batch', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.stabilize();
    const sentBefore = net.sent.length;
    for (let i = 0; i < 50; i++) net.raw(1).readIndex(bytes(`r${i}`));
    net.stabilize();
    const hbs = net.sent.slice(sentBefore).filter((m) => m.type === MessageType.Heartbeat);
    assert.equal(hbs.length, 2, 'one heartbeat per follower for 50 reads');
    assert.equal(net.get(1).readStates.length, 50);
    // The heartbeat context is the leader's round counter, never a client's context.
    assert.ok(hbs.every((m) => m.context.length === 8 && !text(m.context).startsWith('r')));
  });

  it('"the leader ... must wait for a majority": no answer while partitioned from every follower', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.isolate(1);
    net.raw(1).readIndex(bytes('r'));
    net.stabilize();
    net.tick(1, 1);
    net.stabilize();
    assert.equal(net.get(1).readStates.length, 0);
  });

  it('"a follower ... can issue a request to the leader to get the readIndex"; learners too', () => {
    const net = new Network([1, 2, 3]);
    net.add(4, false);
    net.campaign(1);
    net.raw(1).proposeConfChange({ type: 2, nodeId: 4, context: new Uint8Array() });
    net.stabilize();
    net.raw(2).readIndex(bytes('f'));
    net.raw(4).readIndex(bytes('l'));
    net.stabilize();
    assert.deepEqual(net.get(2).readStates.map((r) => text(r.requestCtx)), ['f']);
    assert.deepEqual(net.get(4).readStates.map((r) => text(r.requestCtx)), ['l']);
    assert.equal(net.get(4).readStates[0]!.index, net.raw(1).status().commit);
  });

  it('a read with no leader is refused with ProposalRefusal.NoLeader', () => {
    const h = newRaw(1, [1, 2, 3]);
    assert.throws(() => h.node.readIndex(bytes('r')), (e: unknown) => e instanceof ProposalRefusedError && e.reason === ProposalRefusal.NoLeader);
  });

  it('a single-voter leader answers at once after its first commit', () => {
    const net = new Network([1]);
    net.campaign(1);
    assert.equal(net.raw(1).status().role, StateRole.Leader);
    net.raw(1).readIndex(bytes('solo'));
    net.stabilize();
    assert.equal(net.get(1).readStates.length, 1);
  });
});
