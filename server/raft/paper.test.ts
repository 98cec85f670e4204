// Paper tests: one per rule of the Raft paper (Ongaro & Ousterhout, "In Search of an
// Understandable Consensus Algorithm", §5), each citing the sentence it checks.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Network, bytes } from './testing/network.js';
import { cycle, drain, entry, msg, newRaw, ofType } from './testing/harness.js';
import { MessageType, StateRole } from './types.js';

const noPreVote = { preVote: false, checkQuorum: false };

describe('Raft §5.1 basics', () => {
  it('"If one server\'s current term is smaller than the other\'s, then it updates its current term to the larger value"', () => {
    for (const setup of ['follower', 'candidate', 'leader'] as const) {
      const h = newRaw(1, [1, 2, 3], { overrides: noPreVote });
      if (setup !== 'follower') h.node.campaign();
      if (setup === 'leader') {
        drain(h);
        h.node.step(msg(MessageType.VoteResp, 2, 1, 1));
      }
      assert.equal(h.node.status().role, setup === 'follower' ? StateRole.Follower : setup === 'candidate' ? StateRole.Candidate : StateRole.Leader);
      h.node.step(msg(MessageType.App, 2, 1, 5));
      assert.equal(h.node.status().term, 5, setup);
      assert.equal(h.node.status().role, StateRole.Follower, setup);
    }
  });

  it('"If a candidate or leader discovers that its term is out of date, it immediately reverts to follower state"', () => {
    const h = newRaw(1, [1, 2, 3], { overrides: noPreVote });
    h.node.campaign();
    drain(h);
    h.node.step(msg(MessageType.VoteResp, 2, 1, 1));
    assert.equal(h.node.status().role, StateRole.Leader);
    h.node.step(msg(MessageType.Heartbeat, 3, 1, 2));
    assert.deepEqual([h.node.status().role, h.node.status().leader, h.node.status().term], [StateRole.Follower, 3, 2]);
  });

  it('"If a server receives a request with a stale term number, it rejects the request"', () => {
    const h = newRaw(1, [1, 2, 3], { term: 5, overrides: noPreVote });
    h.node.step(msg(MessageType.Vote, 2, 1, 3, { index: 10, logTerm: 3 }));
    h.node.step(msg(MessageType.App, 3, 1, 4, { index: 0, logTerm: 0, entries: [entry(1, 4)] }));
    const out = drain(h);
    assert.equal(ofType(out, MessageType.VoteResp).filter((m) => !m.reject).length, 0);
    assert.equal(h.storage.lastIndex(), 0, 'entries of a stale leader are not appended');
    // The stale leader is told the newer term.
    assert.ok(out.some((m) => m.type === MessageType.AppResp && m.to === 3 && m.term === 5));
  });
});

describe('Raft §5.2 leader election', () => {
  it('"When servers start up, they begin as followers."', () => {
    const h = newRaw(1, [1, 2, 3]);
    assert.equal(h.node.status().role, StateRole.Follower);
  });

  it('"Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all followers"', () => {
    const net = new Network([1, 2, 3], { heartbeatTicks: 2 });
    net.campaign(1);
    net.tick(1, 2);
    net.processReady(1);
    const hbs = net.queue.filter((m) => m.type === MessageType.Heartbeat);
    assert.deepEqual(hbs.map((m) => m.to).sort(), [2, 3]);
    assert.ok(hbs.every((m) => m.entries.length === 0));
  });

  it('"If a follower receives no communication over ... the election timeout, then it ... begins an election": increments its term, votes for itself, issues RequestVote to each other server', () => {
    const h = newRaw(1, [1, 2, 3], { overrides: { ...noPreVote, electionTicks: 10 } });
    for (let i = 0; i < 20 && h.node.status().role === StateRole.Follower; i++) h.node.tick();
    const s = h.node.status();
    assert.deepEqual([s.role, s.term, s.vote], [StateRole.Candidate, 1, 1]);
    const votes = ofType(drain(h), MessageType.Vote);
    assert.deepEqual(votes.map((m) => [m.to, m.term]).sort(), [[2, 1], [3, 1]]);
  });

  it('"A candidate wins an election if it receives votes from a majority of the servers in the full cluster for the same term."', () => {
    const cases: Array<[number, Record<number, boolean>, StateRole]> = [
      [1, {}, StateRole.Leader],
      [3, { 2: true }, StateRole.Leader],
      [3, { 2: false }, StateRole.Candidate],
      [3, { 2: false, 3: false }, StateRole.Follower],
      [5, { 2: true }, StateRole.Candidate],
      [5, { 2: true, 3: true }, StateRole.Leader],
      [5, { 2: false, 3: false, 4: false }, StateRole.Follower],
    ];
    for (const [size, votes, want] of cases) {
      const ids = Array.from({ length: size }, (_, i) => i + 1);
      const h = newRaw(1, ids, { overrides: noPreVote });
      h.node.campaign();
      drain(h); // persists our vote and counts it
      for (const [from, granted] of Object.entries(votes)) {
        h.node.step(msg(MessageType.VoteResp, Number(from), 1, 1, { reject: !granted }));
      }
      assert.equal(h.node.status().role, want, `${size} nodes, votes ${JSON.stringify(votes)}`);
    }
  });

  it('"Each server will vote for at most one candidate in a given term, on a first-come-first-served basis"', () => {
    const h = newRaw(1, [1, 2, 3], { overrides: noPreVote });
    h.node.step(msg(MessageType.Vote, 2, 1, 1));
    h.node.step(msg(MessageType.Vote, 3, 1, 1));
    h.node.step(msg(MessageType.Vote, 2, 1, 1)); // a retry of the first candidate is granted again
    const resps = ofType(drain(h), MessageType.VoteResp);
    assert.deepEqual(resps.map((m) => [m.to, m.reject]), [[2, false], [3, true], [2, false]]);
    assert.equal(h.storage.initialState().hardState.vote, 2);
  });

  it('"If the leader\'s term ... is at least as large as the candidate\'s current term, then the candidate recognizes the leader as legitimate and returns to follower state"', () => {
    const h = newRaw(1, [1, 2, 3], { overrides: noPreVote });
    h.node.campaign();
    h.node.step(msg(MessageType.App, 2, 1, 1, { index: 0, logTerm: 0 }));
    assert.deepEqual([h.node.status().role, h.node.status().leader], [StateRole.Follower, 2]);
  });

  it('"each candidate will time out and start a new election by incrementing its term"', () => {
    const h = newRaw(1, [1, 2, 3], { overrides: noPreVote });
    h.node.campaign();
    assert.equal(h.node.status().term, 1);
    for (let i = 0; i < 20 && h.node.status().term === 1; i++) h.node.tick();
    assert.deepEqual([h.node.status().role, h.node.status().term], [StateRole.Candidate, 2]);
  });

  it('"Raft uses randomized election timeouts ... chosen randomly from a fixed interval": [T, 2T)', () => {
    const T = 10;
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const h = newRaw(1, [1, 2, 3], { seed, overrides: { ...noPreVote, electionTicks: T } });
      let ticks = 0;
      while (h.node.status().role === StateRole.Follower) {
        h.node.tick();
        ticks++;
      }
      assert.ok(ticks >= T && ticks < 2 * T, `timeout ${ticks} outside [${T}, ${2 * T})`);
      seen.add(ticks);
    }
    assert.ok(seen.size >= T / 2, `timeouts should vary, saw ${[...seen].join(',')}`);
  });

  it('Election Safety: "at most one leader can be elected in a given term"', () => {
    const net = new Network([1, 2, 3, 4, 5], noPreVote);
    net.stabilize();
    net.raw(1).campaign();
    net.raw(2).campaign();
    net.stabilize();
    const byTerm = new Map<number, number[]>();
    for (const t of net.nodes.values()) {
      const s = t.node.status();
      if (s.role === StateRole.Leader) byTerm.set(s.term, [...(byTerm.get(s.term) ?? []), t.id]);
    }
    for (const [term, leaders] of byTerm) assert.equal(leaders.length, 1, `term ${term}: ${leaders.join(',')}`);
  });
});

describe('Raft §5.3 log replication', () => {
  it('"The leader appends the command to its log as a new entry, then issues AppendEntries RPCs in parallel to each of the other servers"', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).propose(bytes('x'));
    net.processReady(1);
    const apps = net.queue.filter((m) => m.type === MessageType.App);
    assert.deepEqual(apps.map((m) => m.to).sort(), [2, 3]);
    assert.ok(apps.every((m) => m.entries.length === 1 && new TextDecoder().decode(m.entries[0]!.data) === 'x'));
  });

  it('"A log entry is committed once the leader that created the entry has replicated it on a majority of the servers"', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.cutLink(1, 3);
    const before = net.raw(1).status().commit;
    net.raw(1).propose(bytes('x'));
    net.stabilize();
    assert.equal(net.raw(1).status().commit, before + 1, 'leader + node 2 are a majority');
    assert.deepEqual(net.dataOf(1), ['x'], 'the leader applies it');
  });

  it('"it includes that index in future AppendEntries RPCs (including heartbeats) ... Once a follower learns that a log entry is committed, it applies the entry"', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).propose(bytes('x'));
    net.stabilize();
    assert.deepEqual([net.dataOf(2), net.dataOf(3)], [['x'], ['x']]);
    // And through a heartbeat only: node 3 misses the append that carries the commit.
    net.filter = (m) => !(m.to === 3 && m.type === MessageType.App && m.entries.length === 0);
    net.raw(1).propose(bytes('y'));
    net.stabilize();
    assert.deepEqual(net.dataOf(3), ['x']);
    net.tickAll(1);
    assert.deepEqual(net.dataOf(3), ['x', 'y']);
  });

  it('"If the follower does not find an entry in its log with the same index and term, then it refuses the new entries"', () => {
    const h = newRaw(1, [1, 2, 3], { log: [1, 2], term: 2 });
    h.node.step(msg(MessageType.App, 2, 1, 3, { index: 2, logTerm: 3, entries: [entry(3, 3)] }));
    const [resp] = ofType(drain(h), MessageType.AppResp);
    assert.equal(resp?.reject, true);
    assert.equal(h.storage.lastIndex(), 2);
  });

  it('"If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it"', () => {
    const h = newRaw(1, [1, 2, 3], { log: [1, 1, 1, 1], term: 1 });
    h.node.step(msg(MessageType.App, 2, 1, 2, { index: 1, logTerm: 1, entries: [entry(2, 2)] }));
    drain(h);
    assert.equal(h.storage.lastIndex(), 2);
    assert.equal(h.storage.term(2), 2);
  });

  it('"When a leader first comes to power, it initializes all nextIndex values to the index just after the last one in its log"', () => {
    const h = newRaw(1, [1, 2, 3], { log: [1, 1, 2], term: 2, overrides: noPreVote });
    h.node.campaign();
    drain(h);
    h.node.step(msg(MessageType.VoteResp, 2, 1, 3));
    const p = h.node.status().progress!;
    // The leader appended its no-op at index 4: every follower starts probing at 4.
    assert.deepEqual([p.get(2)!.next, p.get(3)!.next], [4, 4]);
  });

  it('"After a rejection, the leader decrements nextIndex and retries", skipping a whole conflicting term per round trip', () => {
    // Follower 2 has a long divergent tail of term 2; the leader's log has term 3 there.
    const net = new Network([], noPreVote);
    const leaderLog = [1, 1, 3, 3, 3, 3, 3, 3];
    const followerLog = [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    net.attach(1, newRaw(1, [1, 2, 3], { log: leaderLog, term: 3, commit: 2 }).storage);
    net.attach(2, newRaw(2, [1, 2, 3], { log: followerLog, term: 2, commit: 2 }).storage);
    net.attach(3, newRaw(3, [1, 2, 3], { log: leaderLog, term: 3, commit: 2 }).storage);
    net.stabilize();
    net.campaign(1);
    const rejects = net.sent.filter((m) => m.type === MessageType.AppResp && m.from === 2 && m.reject);
    assert.ok(rejects.length <= 2, `expected at most one rejection per term, got ${rejects.length}`);
    assert.equal(net.get(2).storage.lastIndex(), net.get(1).storage.lastIndex());
    assert.equal(net.get(2).storage.term(3), 3);
  });

  it('Leader Append-Only: "a leader never overwrites or deletes entries in its own log"', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).propose(bytes('x'));
    net.stabilize();
    const before = net.get(1).storage.lastIndex();
    // A rejecting response or a stale append of an old term changes nothing in its log.
    net.raw(1).step(msg(MessageType.App, 2, 1, 1, { index: 0, logTerm: 0, entries: [entry(1, 1)] }));
    net.raw(1).step(msg(MessageType.AppResp, 2, 1, net.raw(1).status().term, { reject: true, index: before, rejectHint: 0 }));
    net.stabilize();
    assert.equal(net.get(1).storage.lastIndex(), before);
    assert.equal(net.raw(1).status().role, StateRole.Leader);
  });
});

describe('Raft §5.4 safety', () => {
  it('§5.4.1 "the voter denies its vote if its own log is more up-to-date than that of the candidate"', () => {
    // Voter's log: last term 2, last index 3.
    const cases: Array<[number, number, boolean]> = [
      [3, 2, true], // same term, same length
      [4, 2, true], // same term, longer
      [2, 2, false], // same term, shorter
      [1, 3, true], // higher last term wins even when shorter
      [10, 1, false], // lower last term loses even when longer
    ];
    for (const [index, logTerm, granted] of cases) {
      const h = newRaw(1, [1, 2, 3], { log: [1, 2, 2], term: 2, overrides: noPreVote });
      h.node.step(msg(MessageType.Vote, 2, 1, 3, { index, logTerm }));
      const [resp] = ofType(drain(h), MessageType.VoteResp);
      assert.equal(resp?.reject, !granted, `candidate (${index}, ${logTerm})`);
    }
  });

  it('§5.4.2 "Raft never commits log entries from previous terms by counting replicas"', () => {
    // Leader 1 of term 3 holds entry 2 of term 2 not yet committed; it reaches node 2.
    const h = newRaw(1, [1, 2, 3], { log: [1, 2], term: 2, commit: 1, overrides: noPreVote });
    h.node.campaign();
    drain(h);
    h.node.step(msg(MessageType.VoteResp, 2, 1, 3));
    drain(h); // the leader's no-op at index 3 is persisted
    h.node.step(msg(MessageType.AppResp, 2, 1, 3, { index: 2 }));
    assert.equal(h.node.status().commit, 1, 'entry 2 (term 2) is on a majority but not committed');
    // §5.4.2 "Once an entry from the current term has been committed in this way, then all prior entries are committed indirectly"
    h.node.step(msg(MessageType.AppResp, 2, 1, 3, { index: 3 }));
    assert.equal(h.node.status().commit, 3);
  });

  it('Figure 8: an entry of an old term on a majority is overwritten safely when not committed', () => {
    // S1 (term 2) replicated index 2 to S2 only, then S5 won term 3 with its own entry 2.
    const net = new Network([], noPreVote);
    net.attach(1, newRaw(1, [1, 2, 3], { log: [1, 2], term: 2, commit: 1 }).storage);
    net.attach(2, newRaw(2, [1, 2, 3], { log: [1, 2], term: 2, commit: 1 }).storage);
    net.attach(3, newRaw(3, [1, 2, 3], { log: [1, 3], term: 3, commit: 1 }).storage);
    net.stabilize();
    net.campaign(1); // term 4: S1 wins with S2; it commits index 2 only via its own no-op
    assert.equal(net.leader(), 1);
    assert.equal(net.get(3).storage.term(2), 2, 'S3 took the committed leader log');
    for (const id of [1, 2, 3]) assert.equal(net.raw(id).status().commit, 3);
  });
});

describe('Raft §5.5 follower and candidate crashes', () => {
  it('"Raft RPCs are idempotent": a repeated AppendEntries changes nothing', () => {
    const h = newRaw(1, [1, 2, 3], { log: [1], term: 1 });
    const app = msg(MessageType.App, 2, 1, 1, { index: 1, logTerm: 1, entries: [entry(2, 1), entry(3, 1)], commit: 2 });
    h.node.step(app);
    const first = ofType(drain(h), MessageType.AppResp);
    h.node.step(app);
    const second = ofType(drain(h), MessageType.AppResp);
    assert.equal(first[0]?.index, 3);
    assert.equal(second[0]?.reject, false);
    assert.equal(h.storage.lastIndex(), 3);
    assert.equal(cycle(h), undefined);
  });

  it('a restarted node keeps its term, vote and log and re-delivers committed entries after `applied`', () => {
    const net = new Network([1, 2, 3]);
    net.campaign(1);
    net.raw(1).propose(bytes('a'));
    net.raw(1).propose(bytes('b'));
    net.stabilize();
    const before = net.raw(2).status();
    const t = net.get(2);
    t.appliedIndex = 4; // pretend the state machine had applied only through index 4
    t.applied = t.applied.slice(0, 4);
    net.restart(2);
    net.stabilize();
    const after = net.raw(2).status();
    assert.deepEqual([after.term, after.vote, after.commit], [before.term, before.vote, before.commit]);
    assert.deepEqual(net.dataOf(2), ['a', 'b']);
  });
});
