import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEDUPE_CLIENTS_MAX } from './dedupe-table.js';
import { b, withHarness } from './testing/harness.js';
import type { Command } from './types.js';

const put = (k: string, v: string, clientId: string, seq: number): Command => ({
  type: 'put', put: { key: b(k), value: b(v), prevKv: true }, client: { clientId, seq },
});

test('dedupe: a retried write gets its first answer and is not applied again', () =>
  withHarness(async (h) => {
    const first = await h.apply(put('k', 'v1', 'c1', 1));
    const retry = await h.apply(put('k', 'v1', 'c1', 1));
    assert.deepEqual(retry, first);
    assert.equal(h.store.currentRevision, 2);
    await h.apply(put('k', 'v2', 'c1', 2));
    assert.equal(h.store.currentRevision, 3);
    const stale = await h.apply(put('k', 'v1', 'c1', 1));
    assert.equal(stale.type === 'error' && stale.code, 'stale-request');
    await h.reopen();
    const afterRestart = await h.apply(put('k', 'v2', 'c1', 2));
    assert.equal(afterRestart.type, 'put');
    assert.equal(afterRestart.type === 'put' && afterRestart.put.revision, 3);
    assert.equal(h.store.currentRevision, 3);
  }));

test('dedupe: errors are remembered too', () =>
  withHarness(async (h) => {
    const cmd: Command = { type: 'put', put: { key: b('k'), value: b('v'), lease: 5 }, client: { clientId: 'c', seq: 1 } };
    const first = await h.apply(cmd);
    assert.equal(first.type, 'error');
    await h.apply({ type: 'leaseGrant', leaseGrant: { id: 5, ttl: 10 } });
    assert.deepEqual(await h.apply(cmd), first);
  }));

test('dedupe: bounded, the client with the oldest write is forgotten', () =>
  withHarness(async (h) => {
    const items = [];
    for (let i = 0; i <= DEDUPE_CLIENTS_MAX; i++) items.push({ index: i + 1, command: put(`k${i}`, 'v', `client-${i}`, 1) });
    await h.store.applyBatch(items);
    h.index = items.length;
    assert.equal(h.store.currentRevision, DEDUPE_CLIENTS_MAX + 2);
    await h.reopen();
    await h.apply(put('k0', 'v', 'client-0', 1)); // forgotten: applies again
    assert.equal(h.store.currentRevision, DEDUPE_CLIENTS_MAX + 3);
    await h.apply(put('k2', 'v', 'client-2', 1)); // remembered
    assert.equal(h.store.currentRevision, DEDUPE_CLIENTS_MAX + 3);
  }));
