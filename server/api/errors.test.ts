import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { MvccError } from '../mvcc/index.js';
import { idFromWire, int64, putFromWire } from './convert.js';
import { ApiError, EtcdErrors, toApiError } from './errors.js';
import { identityFromMetadata } from './identity.js';

const coded = (code: string, message = 'backend says so'): Error => Object.assign(new Error(message), { code });

test('store errors map to etcd codes and texts', () => {
  const cases: Array<[unknown, status, string]> = [
    [new MvccError('compacted'), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
    [new MvccError('future-revision'), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'],
    [new MvccError('lease-not-found'), status.NOT_FOUND, 'etcdserver: requested lease not found'],
    [new MvccError('lease-exists'), status.FAILED_PRECONDITION, 'etcdserver: lease already exists'],
    [new MvccError('lease-ttl-too-large'), status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'],
    [new MvccError('duplicate-key'), status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'],
    [new MvccError('invalid', 'etcdserver: bad thing'), status.INVALID_ARGUMENT, 'etcdserver: bad thing'],
  ];
  for (const [err, code, details] of cases) {
    const api = toApiError(err);
    assert.equal(api.code, code, details);
    assert.equal(api.details, details);
  }
});

// etcd 3.5's api/v3rpc/rpctypes/error.go, the statuses regionstore can answer: code and text.
const ETCD_RPCTYPES: Record<string, [status, string]> = {
  emptyKey: [status.INVALID_ARGUMENT, 'etcdserver: key is not provided'],
  keyNotFound: [status.INVALID_ARGUMENT, 'etcdserver: key not found'],
  valueProvided: [status.INVALID_ARGUMENT, 'etcdserver: value is provided'],
  leaseProvided: [status.INVALID_ARGUMENT, 'etcdserver: lease is provided'],
  tooManyOps: [status.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'],
  duplicateKey: [status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'],
  compacted: [status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'],
  futureRev: [status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'],
  noSpace: [status.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'],
  leaseNotFound: [status.NOT_FOUND, 'etcdserver: requested lease not found'],
  leaseExist: [status.FAILED_PRECONDITION, 'etcdserver: lease already exists'],
  leaseTtlTooLarge: [status.OUT_OF_RANGE, 'etcdserver: too large lease TTL'],
  memberExist: [status.FAILED_PRECONDITION, 'etcdserver: member ID already exist'],
  peerUrlExist: [status.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'],
  memberNotEnoughStarted: [status.FAILED_PRECONDITION, 'etcdserver: re-configuration failed due to not enough started members'],
  memberBadUrls: [status.INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid'],
  memberNotFound: [status.NOT_FOUND, 'etcdserver: member not found'],
  memberNotLearner: [status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'],
  learnerNotReady: [status.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'],
  tooManyLearners: [status.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'],
  requestTooLarge: [status.INVALID_ARGUMENT, 'etcdserver: request is too large'],
  tooManyRequests: [status.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'],
  noLeader: [status.UNAVAILABLE, 'etcdserver: no leader'],
  notLeader: [status.FAILED_PRECONDITION, 'etcdserver: not leader'],
  leaderChanged: [status.UNAVAILABLE, 'etcdserver: leader changed'],
  notCapable: [status.UNAVAILABLE, 'etcdserver: not capable'],
  stopped: [status.UNAVAILABLE, 'etcdserver: server stopped'],
  timeout: [status.UNAVAILABLE, 'etcdserver: request timed out'],
  timeoutDueToLeaderFail: [status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to previous leader failure'],
  timeoutDueToConnectionLost: [status.UNAVAILABLE, 'etcdserver: request timed out, possibly due to connection lost'],
  unhealthy: [status.UNAVAILABLE, 'etcdserver: unhealthy cluster'],
  corrupt: [status.DATA_LOSS, 'etcdserver: corrupt cluster'],
  notSupportedForLearner: [status.UNAVAILABLE, 'etcdserver: rpc not supported for learner'],
  badLeaderTransferee: [status.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'],
};

test("the error table is etcd's rpctypes, code and text", () => {
  for (const [name, [code, details]] of Object.entries(ETCD_RPCTYPES)) {
    const ours = (EtcdErrors as Record<string, ApiError>)[name];
    assert.ok(ours !== undefined, `EtcdErrors.${name} missing`);
    assert.deepEqual([ours.code, ours.details], [code, details], name);
  }
});

test('every backend code with an etcd equivalent answers etcd\'s status', () => {
  const cases: Array<[string, keyof typeof ETCD_RPCTYPES]> = [
    ['compacted', 'compacted'], ['future-revision', 'futureRev'], ['lease-not-found', 'leaseNotFound'],
    ['lease-exists', 'leaseExist'], ['lease-ttl-too-large', 'leaseTtlTooLarge'], ['key-not-found', 'keyNotFound'],
    ['duplicate-key', 'duplicateKey'], ['too-many-ops', 'tooManyOps'], ['no-leader', 'noLeader'], ['not-leader', 'notLeader'],
    ['leader-changed', 'leaderChanged'], ['timeout', 'timeout'], ['timeout-leader-fail', 'timeoutDueToLeaderFail'],
    ['timeout-connection-lost', 'timeoutDueToConnectionLost'], ['stopped', 'stopped'], ['too-many-requests', 'tooManyRequests'],
    ['no-space', 'noSpace'], ['unhealthy', 'unhealthy'], ['corrupt', 'corrupt'], ['learner-unsupported', 'notSupportedForLearner'],
    ['member-exists', 'memberExist'], ['peer-url-exists', 'peerUrlExist'], ['member-not-found', 'memberNotFound'],
    ['member-bad-urls', 'memberBadUrls'], ['member-not-learner', 'memberNotLearner'], ['learner-not-ready', 'learnerNotReady'],
    ['too-many-learners', 'tooManyLearners'], ['not-enough-started-members', 'memberNotEnoughStarted'],
    ['bad-leader-transferee', 'badLeaderTransferee'],
  ];
  for (const [code, name] of cases) {
    const api = toApiError(coded(code, 'a backend message etcd would not send'));
    assert.deepEqual([api.code, api.details], ETCD_RPCTYPES[name], code);
  }
  // The lessor's "not primary" (a lease call on a member that is not the leader's lessor).
  assert.deepEqual([toApiError(new MvccError('not-primary')).code, toApiError(new MvccError('not-primary')).details],
    [status.UNAVAILABLE, 'etcdserver: not primary']);
});

test('region errors map to etcd codes and texts', () => {
  assert.deepEqual(
    [toApiError(coded('no-leader')).code, toApiError(coded('no-leader')).details],
    [status.UNAVAILABLE, 'etcdserver: no leader'],
  );
  assert.equal(toApiError(coded('timeout')).details, 'etcdserver: request timed out');
  assert.equal(toApiError(Object.assign(new Error('x'), { name: 'ProposalTimeoutError' })).details, 'etcdserver: request timed out');
  assert.equal(toApiError(coded('too-many-requests')).code, status.RESOURCE_EXHAUSTED);
  assert.equal(toApiError(coded('member-not-found')).code, status.NOT_FOUND);
  const pre = toApiError(coded('failed-precondition', 'regionstore: txn is not offered in eventual namespace "x"'));
  assert.equal(pre.code, status.FAILED_PRECONDITION);
  assert.match(pre.details, /eventual namespace/);
});

test('anything unexpected is INTERNAL with its message, never a throw', () => {
  assert.equal(toApiError(new TypeError('boom')).code, status.INTERNAL);
  assert.match(toApiError(new TypeError('boom')).details, /boom/);
  assert.equal(toApiError(coded('ENOENT')).code, status.INTERNAL);
  assert.equal(toApiError(undefined).code, status.INTERNAL);
  assert.equal(toApiError('text').code, status.INTERNAL);
  assert.equal(toApiError(null).code, status.INTERNAL);
  assert.equal(toApiError(EtcdErrors.noLeader), EtcdErrors.noLeader);
  assert.ok(toApiError(new ApiError(status.ABORTED, 'x')) instanceof ApiError);
});

test('64-bit wire integers: exact ids or none, revisions clamped', () => {
  assert.equal(idFromWire('0'), 0);
  assert.equal(idFromWire('2417'), 2417);
  assert.equal(idFromWire('9007199254740991'), 9007199254740991);
  assert.equal(idFromWire('9007199254740993'), undefined);
  assert.equal(idFromWire('-1'), undefined);
  assert.equal(idFromWire('18446744073709551615'), undefined);
  assert.equal(int64('9223372036854775807'), Number.MAX_SAFE_INTEGER);
  assert.equal(int64('-5'), -5);
  assert.throws(
    () => putFromWire({ key: Buffer.from('k'), value: Buffer.from(''), lease: '9223372036854775807', prevKv: false, ignoreValue: false, ignoreLease: false }),
    (e: unknown) => e === EtcdErrors.leaseNotFound,
  );
});

test('client identity metadata: both keys or neither', () => {
  const md = new Metadata();
  assert.equal(identityFromMetadata(md), undefined);
  md.set('rs-client-id', 'c1');
  assert.throws(() => identityFromMetadata(md), /rs-seq/);
  md.set('rs-seq', '42');
  assert.deepEqual(identityFromMetadata(md), { clientId: 'c1', seq: 42 });
  md.set('rs-seq', '0');
  assert.throws(() => identityFromMetadata(md), /rs-seq/);
  md.set('rs-seq', '99999999999999999');
  assert.throws(() => identityFromMetadata(md), /rs-seq/);
  const only = new Metadata();
  only.set('rs-seq', '1');
  assert.throws(() => identityFromMetadata(only), /rs-client-id/);
});
