// Known edges (edges.ts) and the GC entry (entry.ts): codecs round-trip, and merging an edge
// update only grows acknowledged vectors and adds counts, whatever order updates arrive in.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeEdgeRecord, encodeEdgeRecord, mergeEdge, type EdgeUpdate } from './edges.js';
import { decodeAnswer, decodeBody, encodeAnswer, encodeBody } from './entry.js';

const update = (acked: Record<string, Record<string, number>>, bytes: number, lastSeenMs: number): EdgeUpdate => ({
  replicaId: 'edge:d:1', device: 'd', incarnation: 1, acked, lastSeenMs, member: 7,
  bytesInDelta: bytes, bytesOutDelta: 2 * bytes, opsInDelta: 1, opsOutDelta: 2, skewMs: -12,
});

test('an edge update merges pointwise-max vectors and adds counts, and round-trips', () => {
  const a = mergeEdge(undefined, update({ ns: { 'region:x': 5, 'edge:d:1': 3 } }, 10, 1000));
  const b = mergeEdge(a, update({ ns: { 'region:x': 4 }, other: { 'region:x': 1 } }, 5, 900));
  assert.deepEqual(b.acked, { ns: { 'region:x': 5, 'edge:d:1': 3 }, other: { 'region:x': 1 } });
  assert.equal(b.bytesIn, 15);
  assert.equal(b.bytesOut, 30);
  assert.equal(b.lastSeenMs, 1000, 'last seen never moves back');
  assert.equal(b.skewMs, -12);
  assert.deepEqual(decodeEdgeRecord(encodeEdgeRecord(b)), b);
});

test('edge and gc entries and answers round-trip', () => {
  const edge = { kind: 'edge' as const, namespace: '' as const, physicalMs: 42, update: update({ ns: { 'region:x': 9 } }, 1, 2) };
  assert.deepEqual(decodeBody(encodeBody(edge)), edge);
  const gc = {
    kind: 'gc' as const, namespace: 'cfg', physicalMs: 43, stable: [{ origin: 'region:x', seq: 9 }],
    superseded: [{ key: new Uint8Array([1, 0, 2]), origin: 'edge:d:1', seq: 3 }], removes: [{ origin: 'edge:d:1', seq: 4 }],
  };
  assert.deepEqual(decodeBody(encodeBody(gc)), gc);
  assert.deepEqual(decodeAnswer(encodeAnswer({ kind: 'gc', namespace: 'cfg', dropped: 2 })), { kind: 'gc', namespace: 'cfg', dropped: 2 });
  assert.deepEqual(decodeAnswer(encodeAnswer({ kind: 'edge' })), { kind: 'edge' });
});

test('an edge group rides after the vectors: kept by later updates without one, absent in older encodings', () => {
  const old = mergeEdge(undefined, update({ ns: { 'region:x': 1 } }, 1, 10));
  assert.equal(old.group, undefined);
  assert.deepEqual(decodeEdgeRecord(encodeEdgeRecord(old)), old, 'a record without a group (as written before groups) decodes');
  const grouped = mergeEdge(old, { ...update({}, 1, 20), group: 'site-a' });
  assert.equal(grouped.group, 'site-a');
  assert.equal(mergeEdge(grouped, update({}, 1, 30)).group, 'site-a', 'an update without a group keeps the stored one');
  assert.deepEqual(decodeEdgeRecord(encodeEdgeRecord(grouped)), grouped);
  const entry = { kind: 'edge' as const, namespace: '' as const, physicalMs: 1, update: { ...update({}, 1, 2), group: 'site-b' } };
  assert.deepEqual(decodeBody(encodeBody(entry)), entry);
});
