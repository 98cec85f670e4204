import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../util/clock.js';
import { MvccError } from './errors.js';
import { LEASE_TTL_MIN_SECONDS } from './lease-table.js';
import { Lessor } from './lessor.js';
import { Harness, keys, str, unwrap, withHarness } from './testing/harness.js';

async function grant(h: Harness, ttl: number, id = 0): Promise<number> {
  return unwrap(await h.apply({ type: 'leaseGrant', leaseGrant: { ttl, id } }), 'leaseGrant').leaseGrant.id;
}

test('lease: grant, attach, time-to-live with keys, list', () =>
  withHarness(async (h) => {
    const id = await grant(h, 60, 7);
    assert.equal(id, 7);
    await h.put('a', '1', { lease: 7 });
    await h.put('b', '1', { lease: 7 });
    await h.put('c', '1');
    assert.equal((await h.get('a')).kvs[0]?.lease, 7);
    const ttl = h.store.leaseTimeToLive(7, true);
    assert.deepEqual([ttl?.grantedTtl, ttl?.keys.map(str)], [60, ['a', 'b']]);
    assert.deepEqual(h.store.leases(), [{ id: 7, ttl: 60 }]);
    await h.put('b', '2'); // a put without lease detaches
    assert.deepEqual(h.store.leaseTimeToLive(7, true)?.keys.map(str), ['a']);
    await h.put('a', '', { ignoreValue: true, ignoreLease: true });
    assert.deepEqual(h.store.leaseTimeToLive(7, true)?.keys.map(str), ['a'], 'ignore_lease keeps the lease');
    const dup = await h.apply({ type: 'leaseGrant', leaseGrant: { ttl: 5, id: 7 } });
    assert.equal(dup.type === 'error' && dup.code, 'lease-exists');
    const short = unwrap(await h.apply({ type: 'leaseGrant', leaseGrant: { ttl: 1, id: 8 } }), 'leaseGrant');
    assert.equal(short.leaseGrant.ttl, LEASE_TTL_MIN_SECONDS);
    assert.equal(h.store.currentRevision, 6, 'grants do not bump the revision');
  }));

test('lease: ids chosen deterministically, revoke deletes keys in one revision, persists', () =>
  withHarness(async (h) => {
    const id = await grant(h, 30);
    assert.ok(id > 0 && Number.isSafeInteger(id));
    await h.put('x', '1', { lease: id });
    await h.put('y', '1', { lease: id });
    await h.reopen();
    assert.deepEqual(h.store.leaseTimeToLive(id, true)?.keys.map(str), ['x', 'y'], 'attachments rebuilt on open');
    const rev = unwrap(await h.apply({ type: 'leaseRevoke', leaseRevoke: { id } }), 'leaseRevoke').leaseRevoke.revision;
    assert.equal(rev, 4);
    assert.deepEqual(keys((await h.get('a', { rangeEnd: new Uint8Array([0]) })).kvs), []);
    assert.equal(h.store.leaseTimeToLive(id, false), undefined);
    const gone = await h.apply({ type: 'leaseRevoke', leaseRevoke: { id } });
    assert.deepEqual(gone, { type: 'error', code: 'lease-not-found', message: 'etcdserver: requested lease not found' });
    await h.reopen();
    assert.deepEqual(h.store.leases(), []);
    const other = await Harness.open('memory');
    try {
      other.index = 0;
      assert.equal(await grant(other, 30), id, 'the same log index picks the same id on every member');
    } finally {
      await other.close();
    }
  }));

test('lessor: only the leader tracks deadlines; renew, expiry, promote extends', () =>
  withHarness(async (h) => {
    const clock = new ManualClock(0, 0);
    const lessor = new Lessor(h.store, clock);
    await grant(h, 10, 1);
    assert.throws(() => lessor.renew(1), (e: unknown) => e instanceof MvccError && e.code === 'not-primary');
    assert.deepEqual(lessor.expired(), []);
    lessor.promote(2000);
    assert.equal(lessor.remainingTtl(1), 12);
    clock.advance(11_000);
    assert.deepEqual(lessor.expired(), []);
    assert.equal(lessor.renew(1), 10);
    await grant(h, 5, 2); // granted while leader: tracked from now
    clock.advance(5_000);
    assert.deepEqual(lessor.expired(), [2]);
    assert.deepEqual(lessor.expired(), [], 'not reported again while its revoke is in flight');
    assert.equal(lessor.renew(2), undefined, 'an expired lease cannot be renewed');
    assert.equal(lessor.renew(99), undefined);
    await h.apply({ type: 'leaseRevoke', leaseRevoke: { id: 2 } });
    clock.advance(5_001);
    assert.deepEqual(lessor.expired(), [1]);
    lessor.demote();
    assert.deepEqual(lessor.expired(), []);
    assert.equal(lessor.remainingTtl(1), undefined);
    lessor.close();
  }));

test('lessor: checkpoints persist remaining TTL for the next leader', () =>
  withHarness(async (h) => {
    const clock = new ManualClock(0, 0);
    const lessor = new Lessor(h.store, clock);
    lessor.promote(0);
    await grant(h, 100, 3);
    clock.advance(60_000);
    const cps = lessor.checkpoints();
    assert.deepEqual(cps, [{ id: 3, remainingTtl: 40 }]);
    await h.apply({ type: 'leaseCheckpoint', leaseCheckpoint: { checkpoints: cps } });
    await h.reopen();
    const next = new Lessor(h.store, clock);
    next.promote(1000);
    assert.equal(next.remainingTtl(3), 41);
    assert.equal(h.store.leaseTimeToLive(3, false)?.remainingTtl, 40);
    lessor.close();
    next.close();
  }));
