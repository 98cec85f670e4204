import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDurability, summarizeDurability, type WriteAttempt } from './durability.js';

const put = (key: string, value: string, status: WriteAttempt['status'], revision?: number): WriteAttempt =>
  ({ key, value, status, ...(revision === undefined ? {} : { revision }) });

describe('acknowledged-writes check', () => {
  const truth = [
    { revision: 2, key: 'w/a', value: 'v1' },
    { revision: 3, key: 'w/b', value: 'v2' },
    { revision: 4, key: 'w/a', value: null },
  ];

  it('accepts writes found where their answers said, unknown ones either way', () => {
    const writes = [
      put('w/a', 'v1', 'ok', 2), put('w/b', 'v2', 'unknown'), put('w/b', 'v3', 'unknown'), put('w/c', 'v4', 'fail'),
      { key: 'w/a', value: null, status: 'ok', revision: 4, deleted: 1 } satisfies WriteAttempt,
    ];
    const r = checkDurability(writes, truth);
    assert.equal(r.verdict, 'ok', JSON.stringify(r.anomalies));
    assert.equal(r.acknowledged, 2);
  });

  it('finds lost, misplaced, failed-but-applied, doubled and phantom writes', () => {
    const writes = [
      put('w/a', 'v1', 'ok', 5), // answered revision 5, applied at 2
      put('w/b', 'v2', 'fail'), // told it failed
      put('w/a', 'gone', 'ok', 6), // never applied
      { key: 'w/b', value: null, status: 'ok', revision: 7, deleted: 1 } satisfies WriteAttempt,
    ];
    const r = checkDurability(writes, [...truth, { revision: 8, key: 'w/c', value: 'v1' }, { revision: 9, key: 'w/c', value: 'who' }]);
    assert.equal(r.verdict, 'violation');
    assert.deepEqual(r.byKind, { 'wrong-revision': 1, 'failed-but-applied': 1, lost: 2, 'applied-twice': 1, phantom: 2 });
    assert.equal(r.anomalies[0]?.kind, 'lost', 'lost writes are listed first');
    const s = summarizeDurability(r);
    assert.equal(s.checker, 'acknowledged-writes');
    assert.match(s.details, /lost: put "w\/a"="gone" was acknowledged at revision 6 but is not in the store's history/);
    assert.match(s.details, /phantom: delete of "w\/a" at revision 4 was never asked for/);
  });

  it('is unknown about writes past the history it has, unless something is already wrong', () => {
    const upTo2 = truth.slice(0, 1);
    assert.equal(checkDurability([put('w/a', 'v1', 'ok', 2), put('w/b', 'v2', 'ok', 3)], upTo2, 2).verdict, 'unknown');
    assert.equal(checkDurability([put('w/a', 'x', 'ok', 2), put('w/b', 'v2', 'ok', 3)], upTo2, 2).verdict, 'violation');
  });
});
