// The client's pure parts: bytes and endpoints, the retry policy, backoff bounds, error
// mapping and the writer identity's slots.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { CLIENT_ID_BYTES_MAX, CLIENT_ID_METADATA_KEY as SERVER_ID_KEY, SEQ_METADATA_KEY as SERVER_SEQ_KEY } from '../server/api/identity.js';
import { EtcdErrors } from '../server/api/errors.js';
import {
  CLIENT_ID_METADATA_KEY, CompactedError, EtcdMessages, errorFromStatus, FutureRevisionError, idToHex, InvalidArgumentError, LeaseNotFoundError,
  anyHttps, normalizeEndpoint, parseEndpoints, prefixEnd, SEQ_METADATA_KEY, StaleRequestError, UnavailableError,
} from './index.js';
import { WriterIdentity } from './lib/identity.js';
import { deleteRequest, rangeRequest } from './lib/requests.js';
import { idToWire, toId, toNumber } from './lib/int64.js';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffMs, isRetryable, maybeAppliedAfter, wasNotSent } from './lib/policy.js';

test('prefixEnd increments the last byte below 0xff', () => {
  assert.deepEqual(prefixEnd('abc'), Buffer.from('abd'));
  assert.deepEqual(prefixEnd(Buffer.from([0x61, 0xff])), Buffer.from([0x62]));
  assert.deepEqual(prefixEnd(Buffer.from([0xff, 0xff])), Buffer.from([0]));
  assert.deepEqual(prefixEnd(''), Buffer.from([0]));
});

test('a range from the empty key (prefix "" or from-key "") starts at "\\0", as clientv3 sends it', () => {
  const all = rangeRequest('', { prefix: true }) as { key: Buffer; rangeEnd: Buffer };
  assert.deepEqual([all.key, all.rangeEnd], [Buffer.from([0]), Buffer.from([0])]);
  const from = deleteRequest('', { fromKey: true }) as { key: Buffer; rangeEnd: Buffer };
  assert.deepEqual([from.key, from.rangeEnd], [Buffer.from([0]), Buffer.from([0])]);
  // Without --prefix/--from-key, or with an explicit range end, the empty key goes as given
  // and the member answers etcd's "key is not provided".
  assert.deepEqual((rangeRequest('') as { key: Buffer }).key, Buffer.alloc(0));
  assert.deepEqual((rangeRequest('', { rangeEnd: 'z' }) as { key: Buffer }).key, Buffer.alloc(0));
  assert.deepEqual((rangeRequest('a', { prefix: true }) as { key: Buffer }).key, Buffer.from('a'));
});

test('endpoints: scheme dropped (https:// kept as TLS by anyHttps), duplicates merged, junk refused', () => {
  assert.equal(normalizeEndpoint('http://127.0.0.1:2379/'), '127.0.0.1:2379');
  assert.equal(normalizeEndpoint('localhost:1'), 'localhost:1');
  assert.deepEqual(parseEndpoints('http://a:1,a:1, b:2'), ['a:1', 'b:2']);
  assert.equal(normalizeEndpoint('https://a:1'), 'a:1');
  assert.equal(anyHttps('a:1,https://b:2'), true);
  assert.equal(anyHttps(['http://a:1']), false);
  assert.throws(() => normalizeEndpoint('a'), /host:port/);
  assert.throws(() => parseEndpoints([]), /at least one/);
});

test('64-bit ids stay exact; numbers are checked', () => {
  assert.equal(toId('18446744073709551615'), '18446744073709551615');
  assert.equal(idToWire(12n, 'id'), '12');
  assert.equal(idToWire('9007199254740993', 'id'), '9007199254740993');
  assert.throws(() => idToWire(2 ** 60, 'id'), /not exact/);
  assert.throws(() => idToWire('x1', 'id'), /decimal/);
  assert.throws(() => toNumber('9007199254740993', 'revision'), /safe integer/);
  assert.equal(idToHex('255'), 'ff');
});

test('backoff: jittered within [cap/2, cap], cap doubling up to the maximum', () => {
  for (let retry = 1; retry <= 12; retry++) {
    const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (retry - 1));
    assert.equal(backoffMs(retry, () => 0), Math.round(cap / 2));
    assert.equal(backoffMs(retry, () => 0.999999), Math.round(cap));
  }
});

const f = (code: status, details = 'x', notSent = false) => ({ code, details, notSent });

test('policy: which failures are retried, per kind', () => {
  for (const kind of ['read', 'write', 'idempotent'] as const) {
    assert.equal(isRetryable(kind, f(status.UNAVAILABLE, EtcdErrors.timeout.details)), true);
    assert.equal(isRetryable(kind, f(status.UNAVAILABLE, EtcdErrors.leaderChanged.details)), true);
    assert.equal(isRetryable(kind, f(status.UNAVAILABLE, EtcdErrors.noLeader.details)), true);
    assert.equal(isRetryable(kind, f(status.DEADLINE_EXCEEDED)), true);
    assert.equal(isRetryable(kind, f(status.INVALID_ARGUMENT)), false);
    assert.equal(isRetryable(kind, f(status.RESOURCE_EXHAUSTED)), false);
    assert.equal(isRetryable(kind, f(status.FAILED_PRECONDITION)), false);
  }
  assert.equal(isRetryable('once', f(status.UNAVAILABLE, EtcdErrors.timeout.details)), false);
  assert.equal(isRetryable('once', f(status.UNAVAILABLE, 'No connection established. Last error: ECONNREFUSED', true)), true);
  assert.equal(wasNotSent(status.UNAVAILABLE, 'No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1'), true);
  assert.equal(wasNotSent(status.UNAVAILABLE, 'Connection dropped'), false);
});

test('policy: maybeApplied after each kind of failure', () => {
  assert.equal(maybeAppliedAfter('read', true, f(status.UNAVAILABLE)), false);
  assert.equal(maybeAppliedAfter('write', false, f(status.UNAVAILABLE, 'Connection dropped')), true);
  assert.equal(maybeAppliedAfter('write', false, f(status.DEADLINE_EXCEEDED)), true);
  assert.equal(maybeAppliedAfter('write', false, f(status.CANCELLED)), true);
  assert.equal(maybeAppliedAfter('write', false, f(status.UNAVAILABLE, 'No connection established', true)), false);
  assert.equal(maybeAppliedAfter('write', true, f(status.UNAVAILABLE, 'No connection established', true)), true);
  // An answer settles it: with the identity every attempt gets the one answer.
  assert.equal(maybeAppliedAfter('write', true, f(status.INVALID_ARGUMENT)), false);
  assert.equal(maybeAppliedAfter('write', true, f(status.NOT_FOUND, EtcdErrors.leaseNotFound.details)), false);
  // A refusal for load, or a stale seq, leaves earlier attempts open.
  assert.equal(maybeAppliedAfter('write', true, f(status.RESOURCE_EXHAUSTED)), true);
  assert.equal(maybeAppliedAfter('write', false, f(status.RESOURCE_EXHAUSTED)), false);
  assert.equal(maybeAppliedAfter('write', true, f(status.FAILED_PRECONDITION, EtcdMessages.staleRequest)), true);
});

const of = (e: { code: status; details: string }) => errorFromStatus({ code: e.code, details: e.details });

test('errors: etcd texts map to their classes', () => {
  assert.ok(of(EtcdErrors.compacted) instanceof CompactedError);
  assert.ok(of(EtcdErrors.futureRev) instanceof FutureRevisionError);
  assert.ok(of(EtcdErrors.leaseNotFound) instanceof LeaseNotFoundError);
  assert.ok(of(EtcdErrors.noLeader) instanceof UnavailableError);
  assert.ok(of(EtcdErrors.emptyKey) instanceof InvalidArgumentError);
  const stale = errorFromStatus({ code: status.FAILED_PRECONDITION, details: 'regionstore: request sequence number is older than the last one applied for this client' });
  assert.ok(stale instanceof StaleRequestError);
  const e = errorFromStatus({ code: status.UNAVAILABLE, details: 'etcdserver: request timed out', maybeApplied: true, endpoint: 'a:1', attempts: 3 });
  assert.equal(e.codeName, 'UNAVAILABLE');
  assert.match(e.message, /request timed out \(UNAVAILABLE from a:1 after 3 attempts; the write may have been applied\)/);
});

test('identity: metadata keys are the server\'s; slot ids fit its bound', () => {
  assert.equal(CLIENT_ID_METADATA_KEY, SERVER_ID_KEY);
  assert.equal(SEQ_METADATA_KEY, SERVER_SEQ_KEY);
  const id = new WriterIdentity();
  assert.match(id.clientId, /^[0-9a-f]{32}$/);
  const t = id.acquire();
  assert.ok(!(t instanceof Promise));
  assert.ok(t.clientId.length <= CLIENT_ID_BYTES_MAX);
});

test('identity: one write per slot at a time, seqs increase per slot, slots reused last-freed first', async () => {
  const id = new WriterIdentity('c', 2);
  const a = id.acquire() as { clientId: string; seq: number };
  const b = id.acquire() as { clientId: string; seq: number };
  assert.notEqual(a.clientId, b.clientId);
  assert.deepEqual([a.seq, b.seq], [1, 1]);
  const waiting = id.acquire();
  assert.ok(waiting instanceof Promise, 'a third write waits for a slot');
  id.release(b);
  const c = await waiting;
  assert.deepEqual(c, { clientId: b.clientId, seq: 2 });
  id.release(a);
  id.release(c);
  const d = id.acquire() as { clientId: string; seq: number };
  assert.deepEqual(d, { clientId: b.clientId, seq: 3 }, 'the slot freed last is used first');
  const ac = new AbortController();
  id.acquire();
  const aborted = id.acquire(ac.signal);
  ac.abort(new Error('gave up'));
  await assert.rejects(aborted as Promise<unknown>, /gave up/);
  assert.throws(() => id.release({ clientId: 'c-9', seq: 1 }), /not in flight/);
});
