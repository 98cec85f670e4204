// Protocol-aware recovery from storage faults (storage-loss.ts): a follower whose log lost
// entries it had acknowledged, and one whose state machine was lost.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryStorage } from './memory-storage.js';
import { Network, bytes, type ConfigOverrides } from './testing/network.js';
import { MessageType, StateRole } from './types.js';

/** A copy of `storage` as a disk would hold it: hard state, conf state and log. */
function copyStorage(storage: MemoryStorage): MemoryStorage {
  const { hardState, confState } = storage.initialState();
  const copy = new MemoryStorage({ hardState, confState });
  const snap = storage.snapshot();
  if (snap.metadata.index > 0) copy.applySnapshot(snap);
  copy.append(storage.entries(storage.firstIndex(), storage.lastIndex() + 1, Number.MAX_SAFE_INTEGER));
  return copy;
}

function rolledBackFollower(overrides: ConfigOverrides = {}): { net: Network; lostFrom: number } {
  const net = new Network([1, 2, 3], overrides);
  net.campaign(1);
  net.raw(1).propose(bytes('before'));
  net.stabilize();
  const disk3 = copyStorage(net.get(3).storage);
  const applied3 = net.get(3).appliedIndex;
  for (let i = 0; i < 5; i++) net.raw(1).propose(bytes(`lost-${i}`));
  net.stabilize();
  // Node 3 acknowledged those 5 and crashed; its disk comes back as it was before them.
  net.attach(3, disk3, { applied: applied3 });
  return { net, lostFrom: disk3.lastIndex() + 1 };
}

describe('storage loss', () => {
  it('a follower whose log lost acknowledged entries gets them again from the same leader', () => {
    const { net, lostFrom } = rolledBackFollower();
    const leaderLast = net.raw(1).status().commit;
    assert.ok(lostFrom <= leaderLast);
    // Idle leader: only heartbeats. Before, the follower stayed short for good.
    net.tickAll(3);
    assert.equal(net.get(3).storage.lastIndex(), net.get(1).storage.lastIndex());
    assert.equal(net.raw(3).status().commit, leaderLast);
    assert.deepEqual(net.dataOf(3).slice(-5), ['lost-0', 'lost-1', 'lost-2', 'lost-3', 'lost-4']);
    const st = net.raw(3).storageLossStatus();
    assert.equal(st.lossesDetected, 1);
    assert.equal(st.recovering, false);
    // One report per loss, not one per heartbeat.
    const reports = net.sent.filter((m) => m.type === MessageType.AppResp && m.reject && m.from === 3 && m.context.length > 0);
    assert.ok(reports.length >= 1 && reports.length <= 3, `${reports.length} reports`);
  });

  it('while recovering, the follower neither campaigns nor votes', () => {
    // Without leader stickiness, so that node 3 considers node 2's vote request at all.
    const { net } = rolledBackFollower({ checkQuorum: false });
    // The follower hears one heartbeat (learns of the loss), then the leader is cut off.
    net.filter = (m) => !(m.type === MessageType.App && m.to === 3);
    net.tick(1, 1);
    net.stabilize();
    net.isolate(1);
    const isolatedAt = net.sent.length;
    assert.equal(net.raw(3).storageLossStatus().recovering, true);
    net.raw(3).campaign();
    // Past its election timeout (the leader is gone), it does not campaign on its own either.
    for (let i = 0; i < 30; i++) {
      net.tick(3);
      net.stabilize();
    }
    assert.notEqual(net.raw(3).status().role, StateRole.Leader);
    assert.ok(!net.sent.slice(isolatedAt).some((m) => m.from === 3 && (m.type === MessageType.Vote || m.type === MessageType.PreVote)));
    // Node 2 campaigns: node 3 refuses to vote, so with node 1 cut off nobody wins.
    const sentBefore = net.sent.length;
    net.raw(2).campaign();
    net.stabilize();
    const votes = net.sent.slice(sentBefore).filter((m) => m.from === 3 && (m.type === MessageType.VoteResp || m.type === MessageType.PreVoteResp));
    assert.ok(votes.length > 0 && votes.every((m) => m.reject));
    // Healed, the old leader (or node 2) brings it back and it votes again.
    net.heal();
    net.tickAll(30);
    assert.equal(net.raw(3).storageLossStatus().recovering, false);
    assert.equal(net.leaders().length, 1);
  });

  it('with the test switch, the follower campaigns and votes anyway', () => {
    const net = new Network([1, 2, 3], { unsafe: { campaignAndVoteWithLostEntries: true } });
    net.campaign(1);
    net.raw(1).propose(bytes('x'));
    net.stabilize();
    const disk3 = copyStorage(net.get(3).storage);
    net.raw(1).propose(bytes('y'));
    net.stabilize();
    net.attach(3, disk3, { applied: disk3.initialState().hardState.commit });
    net.tick(1, 1);
    net.isolate(1);
    net.stabilize();
    net.raw(3).campaign();
    net.stabilize();
    assert.ok(net.sent.some((m) => m.from === 3 && (m.type === MessageType.Vote || m.type === MessageType.PreVote)));
  });

  it('a log shorter than its hard state commit (a truncated tail) starts, and catches up instead of panicking', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    for (let i = 0; i < 5; i++) net.raw(1).propose(bytes(`k${i}`));
    net.stabilize();
    const disk = copyStorage(net.get(3).storage);
    const { hardState, confState } = disk.initialState();
    const truncated = new MemoryStorage({ hardState, confState });
    truncated.append(disk.entries(disk.firstIndex(), disk.lastIndex() - 2, Number.MAX_SAFE_INTEGER));
    assert.ok(hardState.commit > truncated.lastIndex());
    const t = net.attach(3, truncated, { applied: truncated.lastIndex() });
    const st = t.node.storageLossStatus();
    assert.equal(st.lostEntriesUpTo, hardState.commit);
    assert.equal(st.recovering, true);
    // The allocation-free accessors a region node asks per proposal and read say the same.
    assert.equal(t.node.lostEntriesUpTo(), hardState.commit);
    assert.equal(t.node.committedIndex(), t.node.basicStatus().commit);
    // Restarted again before catching up, it still knows (the lost point is what it persists).
    const again = net.restart(3);
    assert.equal(again.node.storageLossStatus().lostEntriesUpTo, hardState.commit);
    net.tickAll(3);
    assert.equal(net.raw(3).storageLossStatus().recovering, false);
    assert.equal(net.get(3).storage.lastIndex(), net.get(1).storage.lastIndex());
  });

  it('a follower that lost its state machine gets a snapshot and the entries after it again', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    for (let i = 0; i < 5; i++) net.raw(1).propose(bytes(`k${i}`));
    net.stabilize();
    // The leader has a snapshot to send (its log need not be compacted).
    const leader = net.get(1);
    leader.storage.createSnapshot(leader.appliedIndex, net.raw(1).status().confState, bytes('state'));
    const follower = net.get(3);
    follower.node.requestStateSnapshot();
    assert.equal(follower.node.storageLossStatus().recovering, true);
    net.tickAll(1);
    const snaps = net.sent.filter((m) => m.type === MessageType.Snap && m.to === 3);
    assert.equal(snaps.length, 1);
    // The application installed the leader's state at its index, behind what raft handed out.
    const installedAt = snaps[0]!.snapshot!.metadata.index - 2;
    follower.node.stateRestored(installedAt);
    assert.equal(follower.node.storageLossStatus().recovering, false);
    assert.ok(follower.node.hasReady());
    const rd = follower.node.ready();
    assert.equal(rd.committedEntries[0]?.index, installedAt + 1);
  });
});
