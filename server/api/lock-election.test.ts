// etcd's Lock and Election services over gRPC against the in-process API (real MvccStore,
// real lessor): fair ordering, release on unlock / revoke, a cancelled waiter leaving no
// key, leadership, proclamations, Observe, and etcd's error texts (code UNKNOWN, as
// etcd answers them). The same behaviour against a real etcd and a 3-member cluster:
// test/lock-election.test.ts.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { loadConcurrencyServices } from './proto.js';
import { rawClient, type RawClient } from './testing/raw-client.js';
import { startTestApi, type TestApi } from './testing/start.js';

/** Polls every POLL_MS, at most POLL_LIMIT times (10 s: generous for a loaded machine). */
const POLL_MS = 10;
const POLL_LIMIT = 1000;
const pause = (): Promise<void> => new Promise((r) => setTimeout(r, POLL_MS));

const b = (s: string): Buffer => Buffer.from(s);
const str = (x: Buffer | undefined): string => (x === undefined ? '' : x.toString());

async function rejects(p: Promise<unknown>, code: status, details: string): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    assert.equal(err.code, code);
    assert.equal(err.details, details);
    return true;
  });
}

/** True once `p` settles; lets a test see that a call is still waiting without a timer race. */
function tracked<T>(p: Promise<T>): { p: Promise<T>; settled: () => boolean } {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  return { p, settled: () => done };
}

describe('Lock and Election services (in-process API)', () => {
  let api: TestApi;
  let c: RawClient;

  const grant = async (ttl = 30): Promise<string> => ((await c.unary('Lease', 'LeaseGrant', { TTL: ttl })) as { ID: string }).ID;
  const keys = async (prefix: string): Promise<string[]> => {
    const end = b(prefix);
    end[end.length - 1]! += 1;
    const r = (await c.unary('KV', 'Range', { key: b(prefix), rangeEnd: end })) as { kvs: Array<{ key: Buffer }> };
    return r.kvs.map((kv) => str(kv.key));
  };
  /** Waits (polling, up to POLL_LIMIT) until `prefix` holds `n` keys: a waiter has queued. */
  const queued = async (prefix: string, n: number): Promise<void> => {
    for (let i = 0; i < POLL_LIMIT && (await keys(prefix)).length < n; i++) await pause();
    assert.equal((await keys(prefix)).length, n);
  };

  before(async () => {
    api = await startTestApi();
    c = rawClient(api.endpoint);
  });
  after(async () => {
    c.close();
    await api.close();
  });

  test('lock: the key is name/<lease hex>, held at once when free; locking again with the same lease keeps it', async () => {
    const lease = await grant();
    const r = (await c.unary('Lock', 'Lock', { name: b('m1'), lease })) as { key: Buffer; header: { revision: string } };
    assert.equal(str(r.key), `m1/${BigInt(lease).toString(16)}`);
    const again = (await c.unary('Lock', 'Lock', { name: b('m1'), lease })) as { key: Buffer; header: { revision: string } };
    assert.equal(str(again.key), str(r.key));
    assert.equal(again.header.revision, r.header.revision);
    await c.unary('Lock', 'Unlock', { key: r.key });
    assert.deepEqual(await keys('m1/'), []);
  });

  test('waiters get the lock in arrival order as holders unlock', async () => {
    const [l1, l2, l3] = [await grant(), await grant(), await grant()];
    const first = (await c.unary('Lock', 'Lock', { name: b('fair'), lease: l1 })) as { key: Buffer };
    const second = tracked(c.unary('Lock', 'Lock', { name: b('fair'), lease: l2 }) as Promise<{ key: Buffer }>);
    await queued('fair/', 2);
    const third = tracked(c.unary('Lock', 'Lock', { name: b('fair'), lease: l3 }) as Promise<{ key: Buffer }>);
    await queued('fair/', 3);
    assert.equal(second.settled() || third.settled(), false);
    await c.unary('Lock', 'Unlock', { key: first.key });
    const got2 = await second.p;
    assert.equal(str(got2.key), `fair/${BigInt(l2).toString(16)}`);
    assert.equal(third.settled(), false);
    await c.unary('Lock', 'Unlock', { key: got2.key });
    assert.equal(str((await third.p).key), `fair/${BigInt(l3).toString(16)}`);
  });

  test('revoking the holder lease releases the lock', async () => {
    const [l1, l2] = [await grant(), await grant()];
    await c.unary('Lock', 'Lock', { name: b('rv'), lease: l1 });
    const waiter = tracked(c.unary('Lock', 'Lock', { name: b('rv'), lease: l2 }) as Promise<{ key: Buffer }>);
    await queued('rv/', 2);
    await c.unary('Lease', 'LeaseRevoke', { ID: l1 });
    assert.equal(str((await waiter.p).key), `rv/${BigInt(l2).toString(16)}`);
  });

  test('a waiter whose call is cancelled (deadline) withdraws its key', async () => {
    const [l1, l2] = [await grant(), await grant()];
    await c.unary('Lock', 'Lock', { name: b('cx'), lease: l1 });
    const Ctor = makeGenericClientConstructor(loadConcurrencyServices().Lock, 'Lock');
    const lc = new Ctor(api.endpoint, credentials.createInsecure()) as unknown as {
      Lock(req: unknown, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null) => void): void;
      close(): void;
    };
    const err = await new Promise<ServiceError | null>((resolve) =>
      lc.Lock({ name: b('cx'), lease: l2 }, new Metadata(), { deadline: Date.now() + 300 }, resolve),
    );
    lc.close();
    assert.equal(err?.code, status.DEADLINE_EXCEEDED);
    for (let i = 0; i < POLL_LIMIT && (await keys('cx/')).length > 1; i++) await pause();
    assert.deepEqual(await keys('cx/'), [`cx/${BigInt(l1).toString(16)}`]);
  });

  test('a waiter whose client cancels the call withdraws its key', async () => {
    const [l1, l2] = [await grant(), await grant()];
    await c.unary('Lock', 'Lock', { name: b('cc'), lease: l1 });
    const Ctor = makeGenericClientConstructor(loadConcurrencyServices().Lock, 'Lock');
    const lc = new Ctor(api.endpoint, credentials.createInsecure()) as unknown as {
      Lock(req: unknown, cb: (err: ServiceError | null) => void): { cancel(): void };
      close(): void;
    };
    let failed: ServiceError | null = null;
    const call = lc.Lock({ name: b('cc'), lease: l2 }, (err) => (failed = err));
    await queued('cc/', 2);
    call.cancel();
    for (let i = 0; i < POLL_LIMIT && (await keys('cc/')).length > 1; i++) await pause();
    lc.close();
    assert.equal((failed as ServiceError | null)?.code, status.CANCELLED);
    assert.deepEqual(await keys('cc/'), [`cc/${BigInt(l1).toString(16)}`]);
  });

  test('lock errors as etcd answers them', async () => {
    await rejects(c.unary('Lock', 'Lock', { name: b('e'), lease: '12345' }), status.UNKNOWN, 'etcdserver: requested lease not found');
    await rejects(c.unary('Lock', 'Lock', { name: b('e'), lease: '-1' }), status.UNKNOWN, 'etcdserver: requested lease not found');
    await rejects(c.unary('Lock', 'Unlock', { key: b('') }), status.UNKNOWN, 'etcdserver: key is not provided');
    // Unlocking a key that is not there is no error.
    await c.unary('Lock', 'Unlock', { key: b('e/none') });
  });

  test('lock with lease 0 gets a session lease of its own', async () => {
    const r = (await c.unary('Lock', 'Lock', { name: b('z'), lease: '0' })) as { key: Buffer };
    const hex = str(r.key).slice('z/'.length);
    const ttl = (await c.unary('Lease', 'LeaseTimeToLive', { ID: BigInt(`0x${hex}`).toString() })) as { grantedTTL: string };
    assert.equal(ttl.grantedTTL, '60');
  });

  test('election: campaign, leader, proclaim, a second candidate waits, resign hands over; observe sees each leader value', async () => {
    await rejects(c.unary('Election', 'Leader', { name: b('el') }), status.UNKNOWN, 'election: no leader');
    const observed: string[] = [];
    const stream = c.stream('Election', 'Observe', { name: b('el') });
    stream.on('data', (r: { kv: { value: Buffer } }) => observed.push(str(r.kv.value)));
    stream.on('error', () => undefined);
    const [l1, l2] = [await grant(), await grant()];
    const won = (await c.unary('Election', 'Campaign', { name: b('el'), lease: l1, value: b('a1') })) as {
      leader: { name: Buffer; key: Buffer; rev: string; lease: string };
    };
    assert.equal(str(won.leader.key), `el/${BigInt(l1).toString(16)}`);
    assert.equal(won.leader.lease, l1);
    const leader = (await c.unary('Election', 'Leader', { name: b('el') })) as { kv: { value: Buffer; createRevision: string } };
    assert.equal(str(leader.kv.value), 'a1');
    assert.equal(leader.kv.createRevision, won.leader.rev);
    // The observer has seen the first leader before anything changes (else it could start later and skip it).
    for (let i = 0; i < POLL_LIMIT && observed.length < 1; i++) await pause();
    await c.unary('Election', 'Proclaim', { leader: won.leader, value: b('a2') });
    const second = tracked(
      c.unary('Election', 'Campaign', { name: b('el'), lease: l2, value: b('b1') }) as Promise<{ leader: { key: Buffer } }>,
    );
    await queued('el/', 2);
    assert.equal(second.settled(), false);
    await c.unary('Election', 'Resign', { leader: won.leader });
    assert.equal(str((await second.p).leader.key), `el/${BigInt(l2).toString(16)}`);
    // The old leader's key is gone: proclaiming with it is refused; resigning again is no error.
    await rejects(c.unary('Election', 'Proclaim', { leader: won.leader, value: b('x') }), status.UNKNOWN, 'election: not leader');
    await c.unary('Election', 'Resign', { leader: won.leader });
    for (let i = 0; i < POLL_LIMIT && observed.length < 3; i++) await pause();
    (stream as unknown as { cancel(): void }).cancel();
    assert.deepEqual(observed, ['a1', 'a2', 'b1']);
  });

  test('election errors as etcd answers them', async () => {
    await rejects(c.unary('Election', 'Proclaim', { value: b('x') }), status.UNKNOWN, '"leader" field must be provided');
    await rejects(c.unary('Election', 'Resign', {}), status.UNKNOWN, '"leader" field must be provided');
    // The key generation is compared before the lease is looked at, as etcd's txn does.
    const stale = { name: b('ee'), key: b('ee/1'), rev: '3', lease: '-1' };
    await rejects(c.unary('Election', 'Proclaim', { leader: stale, value: b('x') }), status.UNKNOWN, 'election: not leader');
    await rejects(
      c.unary('Election', 'Campaign', { name: b('ee'), lease: '777', value: b('v') }),
      status.UNKNOWN,
      'etcdserver: requested lease not found',
    );
  });
});
