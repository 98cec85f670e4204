// Replication machinery: progress states, windows and caps, batching, snapshots,
// leadership transfer, forwarding.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Network, bytes } from './testing/network.js';
import { ProgressState } from './progress.js';
import { MessageType, ProposalRefusal, ProposalRefusedError, StateRole } from './types.js';

const refused = (reason: string) => (e: unknown) => e instanceof ProposalRefusedError && e.reason === reason;
const kb = (n: number): Uint8Array => new Uint8Array(n * 1024);

describe('progress and flow control', () => {
  it('a follower moves probe -> replicate once it acknowledges', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    const p = net.raw(1).status().progress!;
    assert.equal(p.get(2)!.state, ProgressState.Replicate);
    assert.equal(p.get(2)!.match, net.raw(1).status().commit);
  });

  it('the in-flight window is bounded in messages', () => {
    const net = new Network([1, 2, 3], { maxInflightMsgs: 3 });
    net.campaign(1);
    net.filter = (m) => !(m.to === 2 && m.type === MessageType.App); // 2 never answers
    const before = net.sent.length;
    for (let i = 0; i < 10; i++) {
      net.raw(1).propose(bytes(`p${i}`));
      net.stabilize();
    }
    const apps = net.sent.slice(before).filter((m) => m.to === 2 && m.type === MessageType.App && m.entries.length > 0);
    assert.equal(apps.length, 3);
  });

  it('the in-flight window is bounded in bytes', () => {
    const net = new Network([1, 2, 3], { maxInflightBytes: 10 * 1024, maxInflightMsgs: 100 });
    net.campaign(1);
    net.filter = (m) => !(m.to === 2 && m.type === MessageType.App);
    const before = net.sent.length;
    for (let i = 0; i < 10; i++) {
      net.raw(1).propose(kb(4));
      net.stabilize();
    }
    const apps = net.sent.slice(before).filter((m) => m.to === 2 && m.type === MessageType.App && m.entries.length > 0);
    assert.equal(apps.length, 3, '4k + 4k < 10k, the third fills it');
  });

  it('an append message carries at most maxBytesPerMsg of entries (but always one)', () => {
    const net = new Network([1, 2, 3], { maxBytesPerMsg: 10 * 1024 });
    net.campaign(1);
    net.cutLink(1, 2);
    for (let i = 0; i < 10; i++) net.raw(1).propose(kb(4));
    net.raw(1).propose(kb(30));
    net.stabilize();
    net.heal();
    const before = net.sent.length;
    net.tickAll(3);
    const apps = net.sent.slice(before).filter((m) => m.to === 2 && m.type === MessageType.App && m.entries.length > 0);
    for (const m of apps) {
      const size = m.entries.reduce((n, e) => n + e.data.length + 24, 0);
      assert.ok(m.entries.length === 1 || size <= 10 * 1024, `append of ${size} bytes`);
    }
    assert.equal(net.dataOf(2).length, 11);
  });

  it('proposal batching: everything proposed between two ready() calls is one Ready and one append per follower', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    for (let i = 0; i < 20; i++) net.raw(1).propose(bytes(`p${i}`));
    const rd = net.raw(1).ready();
    assert.equal(rd.entries.length, 20);
    assert.equal(rd.mustSync, true);
    const apps = rd.messages.filter((m) => m.type === MessageType.App);
    assert.deepEqual(apps.map((m) => [m.to, m.entries.length]).sort(), [[2, 20], [3, 20]]);
    net.raw(1).advance(rd);
  });

  it('mustSync only when entries, term or vote change', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).propose(bytes('x'));
    net.processReady(1);
    net.deliverAll();
    // Follower 2 persists entries (sync), later only a commit change (no sync).
    const t2 = net.get(2);
    const rd1 = t2.node.ready();
    assert.equal(rd1.mustSync, true);
    t2.storage.append(rd1.entries);
    if (rd1.hardState) t2.storage.setHardState(rd1.hardState);
    t2.node.advance(rd1);
    net.stabilize();
    net.tick(1);
    net.processReady(1);
    net.deliverAll();
    if (t2.node.hasReady()) {
      const rd2 = t2.node.ready();
      assert.equal(rd2.entries.length, 0);
      assert.equal(rd2.mustSync, false);
      t2.node.advance(rd2);
    }
  });

  it('the leader refuses proposals past maxUncommittedBytes', () => {
    const net = new Network([1, 2, 3], { maxUncommittedBytes: 8 * 1024 });
    net.campaign(1);
    net.isolate(1);
    net.raw(1).propose(kb(5));
    assert.throws(() => net.raw(1).propose(kb(5)), refused(ProposalRefusal.TooManyUncommitted));
    net.heal();
    net.tickAll(2);
    net.raw(1).propose(kb(5)); // committed since: room again
  });
});

describe('proposal forwarding', () => {
  it('a follower forwards proposals to the leader; with no leader it refuses with NoLeader', () => {
    const net = new Network([1, 2, 3]);
    assert.throws(() => net.raw(2).propose(bytes('x')), refused(ProposalRefusal.NoLeader));
    net.campaign(1);
    net.raw(2).propose(bytes('via-2'));
    net.stabilize();
    assert.ok(net.sent.some((m) => m.type === MessageType.Prop && m.from === 2 && m.to === 1));
    assert.deepEqual(net.dataOf(3), ['via-2']);
  });
});

describe('snapshots', () => {
  it('the leader sends a snapshot when the follower needs compacted entries; reportSnapshot resumes replication', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.isolate(3);
    for (let i = 0; i < 5; i++) net.raw(1).propose(bytes(`p${i}`));
    net.stabilize();
    const leader = net.get(1);
    const snapIndex = leader.appliedIndex;
    leader.storage.createSnapshot(snapIndex, net.raw(1).status().confState, bytes('state'));
    leader.storage.compact(snapIndex);
    net.heal();
    net.tickAll(1);
    const snaps = net.sent.filter((m) => m.type === MessageType.Snap && m.to === 3);
    assert.equal(snaps.length, 1);
    assert.equal(net.get(3).storage.firstIndex(), snapIndex + 1);
    assert.equal(net.raw(3).status().applied, snapIndex);
    net.raw(1).reportSnapshot(3, 'finish');
    net.tickAll(2);
    net.raw(1).propose(bytes('after'));
    net.stabilize();
    assert.deepEqual(net.dataOf(3), ['after'], 'entries after the snapshot are applied normally');
    assert.equal(net.raw(1).status().progress!.get(3)!.state, ProgressState.Replicate);
  });

  it('a follower restores only a snapshot ahead of its commit index', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).propose(bytes('x'));
    net.stabilize();
    const t = net.raw(2).status();
    const stale = { metadata: { index: t.commit - 1, term: t.term, confState: t.confState }, data: new Uint8Array() };
    net.raw(2).step({ type: MessageType.Snap, from: 1, to: 2, term: t.term, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: new Uint8Array(), snapshot: stale });
    const rd = net.raw(2).ready();
    assert.equal(rd.snapshot, undefined);
    net.raw(2).advance(rd);
    net.stabilize();
    const resp = net.sent.filter((m) => m.type === MessageType.AppResp && m.from === 2).at(-1)!;
    assert.equal(resp.index, t.commit, 'answers with its commit index');
  });

  it('one snapshot at a time: no second one however long the first takes, until its fate is reported (issue 20)', () => {
    const net = new Network([1, 2, 3]); // the default: no snapshot timeout in the core
    net.campaign(1);
    net.isolate(3);
    for (let i = 0; i < 3; i++) net.raw(1).propose(bytes(`p${i}`));
    net.stabilize();
    const leader = net.get(1);
    leader.storage.createSnapshot(leader.appliedIndex, net.raw(1).status().confState, bytes('s'));
    leader.storage.compact(leader.appliedIndex);
    net.heal();
    // The transfer is in flight (the driver streams it) for a long time: heartbeats and
    // their answers keep flowing, the Snap message itself is held back.
    net.filter = (m) => m.type !== MessageType.Snap;
    const snapsTo3 = (): number => net.sent.filter((m) => m.type === MessageType.Snap && m.to === 3).length;
    net.tickAll(1000);
    assert.equal(snapsTo3(), 1, 'one snapshot sent across 1000 ticks (100 heartbeat rounds and more)');
    assert.equal(net.raw(1).status().progress!.get(3)!.state, ProgressState.Snapshot);
    // Reported failed: the leader probes again and sends exactly one new snapshot.
    net.raw(1).reportSnapshot(3, 'failure');
    net.tickAll(50);
    assert.equal(snapsTo3(), 2, 'one re-send after a failure report');
    // Delivered and reported: replication resumes, no further snapshot.
    net.filter = () => true;
    const snap = net.sent.filter((m) => m.type === MessageType.Snap && m.to === 3).at(-1)!;
    net.deliver(snap);
    net.raw(1).reportSnapshot(3, 'finish');
    net.tickAll(50);
    assert.equal(snapsTo3(), 2);
    assert.equal(net.raw(3).status().commit, net.raw(1).status().commit);
    assert.equal(net.raw(1).status().progress!.get(3)!.state, ProgressState.Replicate);
  });

  it('a snapshot never reported is retried after snapshotTimeoutTicks', () => {
    const net = new Network([1, 2, 3], { snapshotTimeoutTicks: 5 });
    net.campaign(1);
    net.isolate(3);
    for (let i = 0; i < 3; i++) net.raw(1).propose(bytes(`p${i}`));
    net.stabilize();
    const leader = net.get(1);
    leader.storage.createSnapshot(leader.appliedIndex, net.raw(1).status().confState, bytes('s'));
    leader.storage.compact(leader.appliedIndex);
    net.heal();
    net.filter = (m) => m.type !== MessageType.Snap; // the snapshot is lost, nobody reports it
    net.tickAll(2);
    net.heal();
    net.tickAll(8);
    assert.equal(net.raw(3).status().commit, net.raw(1).status().commit);
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  it('catches the target up, sends TimeoutNow, and the target wins', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.cutLink(1, 3);
    net.raw(1).propose(bytes('x'));
    net.stabilize();
    net.heal();
    net.raw(1).transferLeader(3);
    net.stabilize();
    assert.equal(net.leader(), 3);
    const timeoutNow = net.sent.filter((m) => m.type === MessageType.TimeoutNow);
    assert.equal(timeoutNow.length, 1);
    assert.deepEqual(net.dataOf(3), ['x']);
  });

  it('drops proposals while transferring and aborts after an election timeout', () => {
    const net = new Network([1, 2, 3], { electionTicks: 10 });
    net.campaign(1);
    net.isolate(3);
    net.raw(1).transferLeader(3);
    assert.equal(net.raw(1).status().leadTransferee, 3);
    assert.throws(() => net.raw(1).propose(bytes('x')), refused(ProposalRefusal.TransferInProgress));
    for (let i = 0; i < 10; i++) net.tick(1);
    assert.equal(net.raw(1).status().leadTransferee, 0);
    net.raw(1).propose(bytes('x'));
  });

  it('a follower forwards transferLeader to the leader', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(2).transferLeader(2);
    net.stabilize();
    assert.equal(net.leader(), 2);
  });

  it('a TimeoutNow campaign passes leader stickiness', () => {
    const net = new Network([1, 2, 3]); // preVote and checkQuorum on by default
    net.campaign(1);
    net.raw(1).transferLeader(2);
    net.stabilize();
    assert.equal(net.leader(), 2);
    assert.equal(net.raw(1).status().role, StateRole.Follower);
  });
});
