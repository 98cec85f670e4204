import assert from 'node:assert/strict';
import { test } from 'node:test';
import { discoverMembers, JoinDiscoveryError } from './join.js';
import type { MembersResponse } from '../transport/peer-proto.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const self = 0x77;
const withSelf: MembersResponse = { id: 3, members: [{ id: 3, name: 'n3', peerUrls: ['u3'], isLearner: false }, { id: self, name: '', peerUrls: ['u7'], isLearner: true }] };
const stale: MembersResponse = { id: 2, members: [{ id: 2, name: 'n2', peerUrls: ['u2'], isLearner: false }] };

function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void> } {
  let t = 0;
  return { now: () => t, sleep: async (ms) => { t += ms; } };
}

test('asks candidates in turn and trusts only a list that contains this member', async () => {
  const asked: string[] = [];
  const answers: Record<string, MembersResponse | { error: string }> = { u1: { error: 'connect refused' }, u2: stale, u3: withSelf };
  const members = await discoverMembers({
    selfId: self, logger: quiet, ...fakeClock(),
    candidates: [{ name: 'n1', url: 'u1' }, { name: 'n2', url: 'u2' }, { name: 'n3', url: 'u3' }],
    fetchMembers: async (url) => { asked.push(url); return answers[url]!; },
  });
  assert.deepEqual(asked, ['u1', 'u2', 'u3']);
  assert.deepEqual(members, withSelf.members);
});

test('retries rounds until a member answers, within the timeout', async () => {
  let calls = 0;
  const members = await discoverMembers({
    selfId: self, logger: quiet, ...fakeClock(), timeoutMs: 10_000, retryMs: 500,
    candidates: [{ name: 'n3', url: 'u3' }],
    fetchMembers: async () => (++calls < 4 ? { error: 'unavailable' } : withSelf),
  });
  assert.equal(calls, 4);
  assert.equal(members.length, 2);
});

test('gives up after the timeout with every candidate and what to check', async () => {
  await assert.rejects(discoverMembers({
    selfId: self, logger: quiet, ...fakeClock(), timeoutMs: 2_000, retryMs: 500,
    candidates: [{ name: 'n1', url: 'u1' }, { name: 'n2', url: 'u2' }],
    fetchMembers: async (url) => (url === 'u1' ? { error: 'connect refused' } : stale),
  }), (err: Error) => {
    assert.ok(err instanceof JoinDiscoveryError);
    assert.match(err.message, /n1 at u1: connect refused/);
    assert.match(err.message, /n2 at u2: its member list \(1 members\) does not include this member \(id 77\)/);
    assert.match(err.message, /etcdctl member add NAME --peer-urls=URL/);
    return true;
  });
  await assert.rejects(discoverMembers({ selfId: self, logger: quiet, candidates: [], fetchMembers: async () => withSelf }),
    /needs --initial-cluster to name at least one running member/);
});
