// Durability gating: nothing that acknowledges state leaves (or counts) before the
// Ready carrying that state was persisted; and the test switches that turn rules off.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Network, bytes } from './testing/network.js';
import { cycle, entry, msg, newRaw, ofType, persist } from './testing/harness.js';
import { MessageType, StateRole } from './types.js';

describe('durability gating', () => {
  it('a follower acknowledges appended entries only after the Ready carrying them was persisted', () => {
    const h = newRaw(2, [1, 2, 3], { log: [1], term: 1 });
    h.node.step(msg(MessageType.App, 1, 2, 1, { index: 1, logTerm: 1, entries: [entry(2, 1)] }));
    const rd = h.node.ready();
    assert.equal(rd.entries.length, 1);
    assert.equal(ofType(rd.messages, MessageType.AppResp).length, 0, 'no ack in the Ready that carries the entries');
    persist(h, rd);
    h.node.advance(rd);
    const next = cycle(h)!;
    assert.deepEqual(ofType(next.messages, MessageType.AppResp).map((m) => m.index), [2]);
  });

  it('a vote is granted only after the vote is persisted', () => {
    const h = newRaw(2, [1, 2, 3], { overrides: { preVote: false } });
    h.node.step(msg(MessageType.Vote, 1, 2, 1));
    const rd = h.node.ready();
    assert.equal(rd.hardState?.vote, 1);
    assert.equal(rd.mustSync, true);
    assert.equal(ofType(rd.messages, MessageType.VoteResp).length, 0);
    persist(h, rd);
    h.node.advance(rd);
    assert.equal(ofType(cycle(h)!.messages, MessageType.VoteResp).length, 1);
  });

  it('a candidate counts its own vote only once it is durable', () => {
    const h = newRaw(1, [1], { overrides: { preVote: false } });
    h.node.campaign();
    assert.equal(h.node.status().role, StateRole.Candidate);
    const rd = h.node.ready();
    persist(h, rd);
    assert.equal(h.node.status().role, StateRole.Candidate);
    h.node.advance(rd);
    assert.equal(h.node.status().role, StateRole.Leader);
  });

  it('the leader sends appends while its own write is in flight but counts itself only once durable', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.isolate(3);
    const leader = net.get(1);
    const commit = leader.node.status().commit;
    leader.node.propose(bytes('x'));
    const rd = leader.node.ready();
    assert.equal(ofType(rd.messages, MessageType.App).length, 2, 'appends go out with the Ready');
    for (const m of rd.messages) net.send(m);
    // Follower 2 persists and answers while the leader's own write is in flight.
    net.deliverAll();
    net.processReady(2);
    net.processReady(2);
    net.deliverAll();
    assert.equal(leader.node.status().commit, commit, 'leader + 2 needed; the leader is not durable yet');
    persist(leader, rd);
    leader.node.advance(rd);
    assert.equal(leader.node.status().commit, commit + 1);
  });

  it('committedEntries never include an entry that is not durable locally', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    const leader = net.get(1);
    leader.node.propose(bytes('x'));
    const rd = leader.node.ready();
    for (const m of rd.messages) net.send(m);
    // Both followers persist and acknowledge: a quorum without the leader.
    for (let i = 0; i < 3; i++) {
      net.deliverAll();
      net.processReady(2);
      net.processReady(3);
    }
    net.deliverAll();
    const last = rd.entries.at(-1)!.index;
    assert.equal(leader.node.status().commit, last, 'committed by the followers');
    assert.ok(rd.committedEntries.every((e) => e.index < last));
    persist(leader, rd);
    leader.node.advance(rd);
    const next = leader.node.ready();
    assert.deepEqual(next.committedEntries.map((e) => e.index), [last]);
    leader.node.advance(next);
  });
});

describe('unsafe testing switches (each turns exactly one rule off)', () => {
  it('commitEntriesOfAnyTerm commits an old-term entry by counting replicas', () => {
    for (const unsafe of [{}, { commitEntriesOfAnyTerm: true }]) {
      const h = newRaw(1, [1, 2, 3], { log: [1, 2], term: 2, commit: 1, overrides: { preVote: false, unsafe } });
      h.node.campaign();
      cycle(h);
      h.node.step(msg(MessageType.VoteResp, 2, 1, 3));
      cycle(h);
      h.node.step(msg(MessageType.AppResp, 2, 1, 3, { index: 2 }));
      assert.equal(h.node.status().commit, 'commitEntriesOfAnyTerm' in unsafe ? 2 : 1);
    }
  });

  it('ackBeforePersist acknowledges in the same Ready that carries the entries', () => {
    const h = newRaw(2, [1, 2, 3], { log: [1], term: 1, overrides: { unsafe: { ackBeforePersist: true } } });
    h.node.step(msg(MessageType.App, 1, 2, 1, { index: 1, logTerm: 1, entries: [entry(2, 1)] }));
    const rd = h.node.ready();
    assert.equal(rd.entries.length, 1);
    assert.equal(ofType(rd.messages, MessageType.AppResp).length, 1);
    h.node.advance(rd);
    const solo = newRaw(1, [1], { overrides: { preVote: false, unsafe: { ackBeforePersist: true } } });
    solo.node.campaign();
    assert.equal(solo.node.status().role, StateRole.Leader, 'own vote counted before persisting');
  });

  it('readIndexWithoutQuorumCheck answers a new leader\'s read before it committed in its term', () => {
    for (const unsafe of [{}, { readIndexWithoutQuorumCheck: true }]) {
      const net = new Network([1, 2, 3], { unsafe });
      net.filter = (m) => m.type !== MessageType.App;
      net.campaign(2);
      net.isolate(2);
      net.raw(2).readIndex(bytes('r'));
      net.stabilize();
      assert.equal(net.get(2).readStates.length, 'readIndexWithoutQuorumCheck' in unsafe ? 1 : 0);
    }
  });
});
