// Regression scenarios: pitfalls that production Raft users hit.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Network, bytes } from './testing/network.js';
import { ProgressState } from './progress.js';
import { ConfChangeType, MessageType, StateRole, type Message } from './types.js';

describe('regressions', () => {
  it('a new leader does not serve a read before committing an entry of its term (it would miss an acknowledged write)', () => {
    const net = new Network([1, 2, 3], { checkQuorum: false }); // no lease: 3 may vote for 2 at once
    net.campaign(1);
    // 3 is cut off; commit updates (empty appends, heartbeats) to 2 are lost.
    net.isolate(3);
    net.filter = (m) => !(m.to === 2 && (m.type === MessageType.Heartbeat || (m.type === MessageType.App && m.entries.length === 0)));
    net.raw(1).propose(bytes('acked'));
    net.stabilize();
    const ackedIndex = net.raw(1).status().commit;
    assert.ok(net.raw(2).status().commit < ackedIndex, 'node 2 holds the write but does not know it committed');
    // 1 dies; 2 wins with 3, but its no-op does not commit yet.
    net.heal();
    net.isolate(1);
    net.filter = (m) => !(m.from === 2 && m.type === MessageType.App);
    net.campaign(2);
    assert.equal(net.raw(2).status().role, StateRole.Leader);
    net.raw(2).readIndex(bytes('r'));
    net.stabilize();
    assert.equal(net.get(2).readStates.length, 0, 'the read waits for the first commit of the term');
    net.filter = () => true;
    net.tickAll(2);
    assert.equal(net.get(2).readStates.length, 1);
    assert.ok(net.get(2).readStates[0]!.index >= ackedIndex);
  });

  it('a delayed heartbeat response of an older round does not confirm a newer read', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    const held: Message[] = [];
    net.filter = (m) => {
      if (m.type !== MessageType.HeartbeatResp) return true;
      if (m.from === 2 && held.length === 0) held.push(m);
      return false;
    };
    net.raw(1).readIndex(bytes('A'));
    net.stabilize();
    net.raw(1).readIndex(bytes('B'));
    net.stabilize();
    assert.equal(held.length, 1);
    net.deliver(held[0]!); // 2's answer to round 1 arrives late
    net.stabilize();
    const served = net.get(1).readStates.map((r) => new TextDecoder().decode(r.requestCtx));
    assert.deepEqual(served, ['A'], 'round 1 is confirmed, round 2 (B) is not');
    net.filter = () => true;
    net.tickAll(1);
    assert.deepEqual(net.get(1).readStates.map((r) => new TextDecoder().decode(r.requestCtx)), ['A', 'B']);
  });

  it('PreVote + CheckQuorum: the cluster does not stay leaderless when the leader is cut off', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new Network([1, 2, 3], {}, seed);
      net.campaign(1);
      net.isolate(1);
      net.tickAll(60);
      const leader = net.leader();
      assert.ok(leader === 2 || leader === 3, `seed ${seed}: no leader among 2 and 3`);
      assert.notEqual(net.raw(1).status().role, StateRole.Leader, `seed ${seed}: CheckQuorum deposes the cut-off leader`);
    }
  });

  it('PreVote + CheckQuorum under a partial partition (one link cut): proposals keep committing', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const net = new Network([1, 2, 3], {}, seed);
      net.campaign(1);
      net.cutLink(1, 2);
      let committed = 0;
      for (let round = 0; round < 20; round++) {
        net.tickAll(5);
        const leader = net.leader();
        if (leader === undefined) continue;
        const before = net.raw(leader).status().commit;
        net.raw(leader).propose(bytes(`p${round}`));
        net.stabilize();
        if (net.raw(leader).status().commit > before) committed++;
      }
      assert.ok(committed >= 15, `seed ${seed}: only ${committed}/20 proposals committed`);
    }
  });

  it('a pre-candidate forgets its leader, so it grants other pre-votes', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.isolate(1);
    const n2 = net.raw(2);
    while (n2.status().role !== StateRole.PreCandidate) n2.tick();
    assert.equal(n2.status().leader, 0);
  });

  it('a removed leader stops heartbeating and the rest elect a leader', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: 1, context: new Uint8Array() });
    net.stabilize();
    assert.notEqual(net.raw(1).status().role, StateRole.Leader);
    const before = net.sent.length;
    net.tickAll(40);
    assert.equal(net.sent.slice(before).filter((m) => m.from === 1 && m.type === MessageType.Heartbeat).length, 0);
    const leader = net.leader();
    assert.ok(leader === 2 || leader === 3);
    net.raw(leader).propose(bytes('after-removal'));
    net.stabilize();
    assert.deepEqual(net.dataOf(2).at(-1), 'after-removal');
  });

  it('a follower is not stuck after compaction: snapshot, then replication resumes even without reportSnapshot', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.isolate(3);
    for (let i = 0; i < 10; i++) net.raw(1).propose(bytes(`p${i}`));
    net.stabilize();
    const leader = net.get(1);
    leader.storage.createSnapshot(leader.appliedIndex, net.raw(1).status().confState, bytes('s'));
    leader.storage.compact(leader.appliedIndex);
    net.heal();
    net.tickAll(3);
    net.raw(1).propose(bytes('next'));
    net.stabilize();
    assert.deepEqual(net.dataOf(3), ['next']);
    assert.equal(net.raw(3).status().commit, net.raw(1).status().commit);
    assert.equal(net.raw(1).status().progress!.get(3)!.state, ProgressState.Replicate);
  });

  it('a follower whose full in-flight window was lost is not stuck once those entries are compacted (chaos/sim seed 1738)', () => {
    // Found by the simulator (npm run sim -- --seeds 1 --start 1738 --steps 3000): the
    // appends filling node 3's window are lost, the leader compacts past them, and every
    // heartbeat response then tried an empty append at the compacted index and sent nothing.
    const net = new Network([1, 2, 3], { maxInflightMsgs: 2, maxBytesPerMsg: 1 });
    net.campaign(1);
    net.filter = (m) => !(m.to === 3 && m.type === MessageType.App);
    for (let i = 0; i < 4; i++) {
      net.raw(1).propose(bytes(`p${i}`));
      net.stabilize();
    }
    const pr = net.raw(1).status().progress!.get(3)!;
    assert.equal(pr.state, ProgressState.Replicate);
    assert.equal(pr.next - pr.match - 1, 2, 'two appends in flight: the window is full');
    const leader = net.get(1);
    assert.ok(pr.next - 1 < leader.appliedIndex, 'the window points below what the leader will compact');
    leader.storage.createSnapshot(leader.appliedIndex, net.raw(1).status().confState, bytes('s'));
    leader.storage.compact(leader.appliedIndex);
    net.heal();
    net.tickAll(3);
    net.raw(1).propose(bytes('next'));
    net.stabilize();
    assert.equal(net.raw(3).status().commit, net.raw(1).status().commit);
    assert.deepEqual(net.dataOf(3), ['next']);
  });

  it('a full in-flight window does not leak entries on heartbeats while acks are delayed', () => {
    const net = new Network([1, 2, 3], { maxInflightMsgs: 2 });
    net.campaign(1);
    net.filter = (m) => !(m.from === 2 && m.type === MessageType.AppResp);
    const before = net.sent.length;
    for (let i = 0; i < 6; i++) {
      net.raw(1).propose(bytes(`p${i}`));
      net.stabilize();
    }
    net.tickAll(20); // heartbeats and their responses keep flowing
    const withEntries = net.sent.slice(before).filter((m) => m.to === 2 && m.type === MessageType.App && m.entries.length > 0);
    assert.equal(withEntries.length, 2, 'never more than the window');
    net.filter = () => true;
    net.tickAll(3);
    assert.equal(net.dataOf(2).length, 6);
  });

  it('a full in-flight window whose appends were all lost recovers through heartbeats', () => {
    const net = new Network([1, 2, 3], { maxInflightMsgs: 2 });
    net.campaign(1);
    net.filter = (m) => !(m.to === 2 && m.type === MessageType.App && m.entries.length > 0);
    for (let i = 0; i < 6; i++) {
      net.raw(1).propose(bytes(`p${i}`));
      net.stabilize();
    }
    net.filter = () => true;
    net.tickAll(5);
    assert.equal(net.dataOf(2).length, 6, 'the lost appends are detected and resent');
  });
});
