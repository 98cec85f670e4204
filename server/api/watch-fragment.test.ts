import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodedWatchResponseBytes, fragmentWatchResponse } from './watch-fragment.js';

const ev = (key: string, bytes: number): unknown => ({ type: 0, kv: { key: Buffer.from(key), value: Buffer.alloc(bytes, 120), createRevision: 2, modRevision: 2, version: 1 } });
const header = { clusterId: 1, memberId: 2, revision: 9, raftTerm: 3 };

test('a response under the limit, or with one event, goes out whole', () => {
  const small = { header, watchId: 0, events: [ev('a', 10), ev('b', 10)] };
  assert.deepEqual(fragmentWatchResponse(small, 1000), [small]);
  const one = { header, watchId: 0, events: [ev('a', 5000)] };
  assert.deepEqual(fragmentWatchResponse(one, 1000), [one]);
});

test('as etcd sendFragments: fragments under the limit, all but the last marked, events in order', () => {
  const events = [ev('a', 600), ev('b', 600), ev('c', 600), ev('d', 600)];
  const msg = { header, watchId: 3, events };
  const parts = fragmentWatchResponse(msg, 1500);
  assert.deepEqual(parts.map((p) => p.events.length), [2, 2]);
  assert.deepEqual(parts.map((p) => p.fragment), [true, false]);
  assert.deepEqual(parts.flatMap((p) => p.events), events);
  for (const p of parts) assert.ok(encodedWatchResponseBytes(p) < 1500, 'each fragment is under the limit');
  // The shares add up exactly: a fragment's size is what gRPC encodes.
  assert.ok(encodedWatchResponseBytes({ ...msg, events: events.slice(0, 3), fragment: true }) >= 1500);
});

test('one event over the limit still goes alone in its fragment', () => {
  const parts = fragmentWatchResponse({ header, watchId: 0, events: [ev('a', 3000), ev('b', 10), ev('c', 3000)] }, 1000);
  assert.deepEqual(parts.map((p) => p.events.length), [1, 1, 1]);
  assert.deepEqual(parts.map((p) => p.fragment), [true, true, false]);
});
