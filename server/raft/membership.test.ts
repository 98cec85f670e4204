// Membership changes: Raft thesis §4 (single-server changes, learners, removed servers).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeConfChange, encodeConfChange } from './conf-change.js';
import { decodeConfChange as protoDecode } from '../../proto/raft-codec.js';
import { Network, bytes } from './testing/network.js';
import { ConfChangeType, EntryType, MessageType, ProposalRefusal, ProposalRefusedError, StateRole, type ConfChange } from './types.js';

const cc = (type: ConfChangeType, nodeId: number): ConfChange => ({ type, nodeId, context: new Uint8Array() });
const refused = (reason: string) => (e: unknown) => e instanceof ProposalRefusedError && e.reason === reason;

describe('membership (thesis §4)', () => {
  it('bootstrap writes one AddNode entry per founding voter; a node that joins later learns them from the log', () => {
    const net = new Network([1, 2, 3]);
    const boot = net.get(1).applied;
    assert.deepEqual(boot.map((e) => [e.index, e.term, e.type]), [[1, 1, 1], [2, 1, 1], [3, 1, 1]]);
    net.add(4, false);
    net.campaign(1);
    net.raw(1).proposeConfChange(cc(ConfChangeType.AddNode, 4));
    net.stabilize();
    assert.deepEqual(net.raw(4).status().confState.voters, [1, 2, 3, 4]);
    assert.deepEqual(net.get(4).applied.filter((e) => e.type === EntryType.ConfChange).length, 4);
    // basicStatus is status without the progress map and conf state.
    const { progress, confState, ...basic } = net.raw(1).status();
    assert.ok(progress !== undefined && confState.voters.length === 4);
    assert.deepEqual(net.raw(1).basicStatus(), basic);
  });

  it('§4.1 "a new configuration takes effect on each server as soon as it is" applied here: the new voter counts toward quorum after apply', () => {
    const net = new Network([1, 2, 3]);
    net.add(4, false);
    net.campaign(1);
    net.raw(1).proposeConfChange(cc(ConfChangeType.AddNode, 4));
    net.stabilize();
    assert.deepEqual(net.raw(1).status().confState.voters, [1, 2, 3, 4]);
    // With 4 voters, the leader plus one follower is no longer a majority.
    net.isolate(3);
    net.isolate(4);
    const commit = net.raw(1).status().commit;
    net.raw(1).propose(bytes('x'));
    net.stabilize();
    assert.equal(net.raw(1).status().commit, commit);
  });

  it('§4.1 "The leader ... does not start a new change until the previous one is committed" (here: applied): ConfChangePending', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.isolate(1);
    net.raw(1).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4));
    assert.throws(() => net.raw(1).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5)), refused(ProposalRefusal.ConfChangePending));
    net.heal();
    net.stabilize();
    net.raw(1).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5));
  });

  it('a new leader refuses conf changes until everything in its log at election is applied', () => {
    const net = new Network([1, 2, 3]);
    net.filter = (m) => m.type !== MessageType.App;
    net.campaign(1);
    assert.throws(() => net.raw(1).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 4)), refused(ProposalRefusal.ConfChangePending));
  });

  it('an invalid change (removing the last voter) is refused', () => {
    const net = new Network([1]);
    net.campaign(1);
    assert.throws(() => net.raw(1).proposeConfChange(cc(ConfChangeType.RemoveNode, 1)), refused(ProposalRefusal.InvalidConfChange));
  });

  it('§4.2.2 a leader removed from the configuration steps down once the removal is applied', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).proposeConfChange(cc(ConfChangeType.RemoveNode, 1));
    net.stabilize();
    assert.equal(net.raw(1).status().role, StateRole.Follower);
    assert.deepEqual(net.raw(2).status().confState.voters, [2, 3]);
    net.tickAll(30);
    const leader = net.leader();
    assert.ok(leader === 2 || leader === 3);
    assert.notEqual(net.raw(1).status().role, StateRole.Candidate, 'a removed node never campaigns');
  });

  it('learners receive the log but never vote toward a quorum or campaign; AddNode promotes them', () => {
    const net = new Network([1, 2]);
    net.add(3, false);
    net.campaign(1);
    net.raw(1).proposeConfChange(cc(ConfChangeType.AddLearnerNode, 3));
    net.raw(1).propose(bytes('x'));
    net.stabilize();
    assert.deepEqual(net.dataOf(3), ['x']);
    // A learner does not count: with 2 down, nothing commits even though 3 acknowledges.
    net.isolate(2);
    const commit = net.raw(1).status().commit;
    net.raw(1).propose(bytes('y'));
    net.stabilize();
    assert.equal(net.raw(1).status().commit, commit);
    // A learner never campaigns.
    net.heal();
    net.isolate(1);
    for (let i = 0; i < 40; i++) net.tick(3);
    assert.equal(net.raw(3).status().role, StateRole.Follower);
    net.heal();
    net.stabilize();
    net.raw(1).proposeConfChange(cc(ConfChangeType.AddNode, 3));
    net.stabilize();
    assert.deepEqual(net.raw(1).status().confState, { voters: [1, 2, 3], learners: [] });
  });

  it('§4.2.3 "Removed servers can disrupt the cluster": votes from a node the cluster heard its leader within the election timeout are ignored', () => {
    const net = new Network([1, 2, 3], { preVote: false });
    net.campaign(1);
    const term = net.raw(1).status().term;
    net.raw(2).step({ ...emptyVote(3, 2, term + 5) });
    net.stabilize();
    assert.equal(net.raw(2).status().term, term, 'a follower in lease ignores the vote and keeps its term');
    assert.equal(net.leader(), 1);
  });

  it('ConfChange entry data is byte-compatible with proto/regionstore/v1/raft.proto', () => {
    for (const c of [cc(0, 1), cc(1, 2 ** 40 + 3), { type: ConfChangeType.AddLearnerNode, nodeId: 7, context: bytes('peer-url') }]) {
      assert.deepEqual(protoDecode(encodeConfChange(c)), c);
      assert.deepEqual(decodeConfChange(encodeConfChange(c)), c);
    }
    assert.equal(decodeConfChange(new Uint8Array([0x1a, 0x05, 0x01])), undefined);
  });
});

function emptyVote(from: number, to: number, term: number) {
  return {
    type: MessageType.Vote, from, to, term, logTerm: 100, index: 100,
    entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(),
  };
}
