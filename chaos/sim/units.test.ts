// Unit tests of the simulator's parts that do not need the Raft core: the KV state
// machine, the virtual network and the invariant checker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../server/raft/memory-storage.js';
import { EntryType, MessageType, emptyMessage, type Entry } from '../../server/raft/types.js';
import { SeededRandom } from '../../server/util/random.js';
import { Checker, Violation } from './checker.js';
import { EventLog } from './events.js';
import { KvStateMachine, decodeWrite, encodeWrite } from './kv.js';
import { NO_FAULTS, Network } from './network.js';

const entry = (index: number, term: number, data = ''): Entry => ({
  index, term, type: EntryType.Normal, data: new TextEncoder().encode(data),
});

test('kv: writes apply once, in order, and a snapshot restores the exact state', () => {
  const kv = new KvStateMachine();
  assert.equal(kv.applyNormal(1, new Uint8Array(0)), undefined); // no-op
  assert.equal(kv.applyNormal(2, encodeWrite({ id: 7, key: 'a', value: 'x' })), 7);
  assert.equal(kv.applyNormal(3, encodeWrite({ id: 7, key: 'a', value: 'x' })), undefined); // a retry
  kv.applyOther(4);
  assert.throws(() => kv.applyNormal(6, encodeWrite({ id: 8, key: 'b', value: 'y' })), /in order/);
  const copy = KvStateMachine.restore(kv.serialize(), 4);
  assert.deepEqual(copy.get('a'), { value: 'x', writeId: 7, index: 2 });
  assert.equal(copy.hasApplied(7), true);
  assert.equal(copy.appliedIndex, 4);
  assert.deepEqual(decodeWrite(encodeWrite({ id: 1, key: 'k', value: 'v' })), { id: 1, key: 'k', value: 'v' });
});

function runNetwork(seed: number): string[] {
  const net = new Network(new SeededRandom(seed), {
    dropProbability: 0.2, duplicateProbability: 0.2, delayTicksMax: 3, fifoProbability: 0.5,
  });
  net.cutLink(1, 3);
  const out: string[] = [];
  for (let i = 0; i < 50; i++) net.send({ ...emptyMessage(MessageType.Heartbeat, 1, 2 + (i % 2), i), index: i }, i % 5, 0);
  for (let now = 0; now < 10; now++) {
    for (let t = net.takeDue(now); t !== undefined; t = net.takeDue(now)) {
      assert.ok(t.flight.deliverAt <= now);
      out.push(`${t.flight.message.to}:${t.flight.message.index}${t.partitioned ? 'x' : ''}`);
    }
  }
  assert.equal(net.size, 0);
  return out;
}

test('network: delay, drop, duplication and cut links come from the seed', () => {
  const a = runNetwork(42);
  assert.deepEqual(a, runNetwork(42), 'same seed, same schedule');
  assert.notDeepEqual(a, runNetwork(43));
  assert.ok(a.some((s) => s.endsWith('x')), 'messages over the cut link are reported partitioned');
  assert.ok(a.filter((s) => !s.endsWith('x')).every((s) => s.startsWith('2:')));
  assert.ok(a.length !== 50, 'some were dropped or duplicated');
});

test('network: without faults every message arrives once, in order', () => {
  const net = new Network(new SeededRandom(1), NO_FAULTS);
  for (let i = 0; i < 10; i++) net.send({ ...emptyMessage(MessageType.App, 1, 2, 1), index: i }, 0, 0);
  const got: number[] = [];
  for (let t = net.takeDue(0); t !== undefined; t = net.takeDue(0)) got.push(t.flight.message.index);
  assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('events: the ring keeps the last events, oldest first', () => {
  const log = new EventLog(3);
  for (let i = 0; i < 5; i++) log.add(`e${i}`);
  assert.deepEqual(log.recent().map((e) => e.text), ['e2', 'e3', 'e4']);
});

function violation(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof Violation) return err.invariant;
    throw err;
  }
  return 'none';
}

test('checker: log matching, one vote per term, durable acks', () => {
  const c = new Checker();
  const s1 = new MemoryStorage();
  const s2 = new MemoryStorage();
  s1.append([entry(1, 1, 'a'), entry(2, 1, 'b')]);
  c.onEntriesPersisted(1, s1, [entry(1, 1, 'a'), entry(2, 1, 'b')]);
  s2.append([entry(1, 1, 'a'), entry(2, 1, 'c')]);
  assert.equal(violation(() => c.onEntriesPersisted(2, s2, [entry(1, 1, 'a'), entry(2, 1, 'c')])), 'log matching');

  const vote = { ...emptyMessage(MessageType.VoteResp, 3, 1, 5) };
  const s3 = new MemoryStorage();
  assert.equal(violation(() => c.onSend(3, s3, vote)), 'vote durable before granted');
  s3.setHardState({ term: 5, vote: 1, commit: 0 });
  const c2 = new Checker();
  c2.onSend(3, s3, vote);
  assert.equal(violation(() => c2.onSend(3, s3, { ...vote, to: 2 })), 'one vote per term');

  const ack = { ...emptyMessage(MessageType.AppResp, 3, 1, 5), index: 4 };
  assert.equal(violation(() => new Checker().onSend(3, s3, ack)), 'append ack durable before sent');
});

test('checker: committed entries agree, commit needs a durable quorum, election safety', () => {
  const c = new Checker();
  const stores = [new MemoryStorage(), new MemoryStorage(), new MemoryStorage()];
  stores[0]!.append([entry(1, 1, 'a')]);
  stores[0]!.setHardState({ term: 1, vote: 1, commit: 1 });
  stores[1]!.append([entry(1, 2, 'z')]);
  stores[1]!.setHardState({ term: 2, vote: 2, commit: 1 });
  const view = (i: number, role = 'follower', commit = 0) => ({
    id: i + 1, up: true, storage: stores[i]!, appliedIndex: 0,
    status: { term: 2, commit, role, confState: { voters: [1, 2, 3], learners: [] } },
  });
  assert.equal(violation(() => c.afterStep([view(0), view(1), view(2)])), 'committed entries agree');

  const d = new Checker();
  assert.equal(violation(() => d.afterStep([view(0, 'leader'), view(1, 'leader'), view(2)])), 'election safety');

  const e = new Checker();
  // Leader 3 moves its commit to 1 while only node 1 holds entry 1 of term 1.
  assert.equal(violation(() => e.afterStep([view(0), view(2, 'leader', 1)])), 'commit only what a durable quorum holds');
});
