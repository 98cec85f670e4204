import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkBank, renderBank, type BankRead } from './bank.js';
import { checkWatch, renderWatch, type WatcherLog, type WatchWrite } from './watch.js';

const read = (balances: Record<string, number>, i = 0): BankRead => ({ process: i, call: i * 10, return: i * 10 + 5, balances });
const ev = (revision: number, key: string, value: string | null): WatchWrite => ({ revision, key, value });
const watcher = (sessions: WatcherLog['sessions'], caughtUpTo?: number): WatcherLog =>
  ({ watcher: 'w1', prefix: 'w/', sessions, ...(caughtUpTo === undefined ? {} : { caughtUpTo }) });

describe('bank checker', () => {
  const accounts = ['a', 'b', 'c'];

  it('accepts reads that all see the total', () => {
    const result = checkBank([read({ a: 10, b: 10, c: 10 }), read({ a: 0, b: 25, c: 5 }, 1)], { accounts, total: 30 });
    assert.equal(result.verdict, 'ok');
    assert.deepEqual(result.totals, { min: 30, max: 30 });
  });

  it('says unknown with no read to check', () => {
    assert.equal(checkBank([], { accounts, total: 30 }).verdict, 'unknown');
  });

  it('finds a wrong total, a negative balance, a missing and an unknown account', () => {
    const reads = [
      read({ a: 10, b: 10, c: 10 }),
      read({ a: 5, b: 10, c: 10 }, 1), // half a transfer
      read({ a: -5, b: 25, c: 10 }, 2),
      read({ a: 10, b: 20 }, 3),
      read({ a: 10, b: 10, c: 10, d: 0 }, 4),
    ];
    const result = checkBank(reads, { accounts, total: 30 });
    assert.equal(result.verdict, 'violation');
    assert.deepEqual(result.anomalies.map((a) => [a.read, a.kind]), [
      [1, 'wrong-total'], [2, 'negative-balance'], [3, 'missing-account'], [4, 'unexpected-account'],
    ]);
    assert.deepEqual(result.totals, { min: 25, max: 30 });
    const text = renderBank(reads, result);
    assert.match(text, /^bank: VIOLATION \(5 reads, totals 25\.\.30, 4 anomalies\)/);
    assert.match(text, /read #1 by p1 \[10 … 15 ns\]: wrong-total: total 25, expected 30/);
  });

  it('allows overdrafts when the workload does', () => {
    assert.equal(checkBank([read({ a: -5, b: 25, c: 10 })], { accounts, total: 30, allowNegative: true }).verdict, 'ok');
  });
});

describe('watch checker', () => {
  const writes: WatchWrite[] = [
    { revision: 2, key: 'w/a', value: '1' },
    { revision: 3, key: 'other', value: 'x' },
    { revision: 4, key: 'w/b', value: '2' },
    { revision: 4, key: 'w/c', value: '3' }, // one transaction, two keys
    { revision: 5, key: 'w/a', value: null }, // a delete
    { revision: 6, key: 'w/b', value: '4' },
  ];
  const all = [ev(2, 'w/a', '1'), ev(4, 'w/b', '2'), ev(4, 'w/c', '3'), ev(5, 'w/a', null), ev(6, 'w/b', '4')];
  const kinds = (log: WatcherLog): string[] => checkWatch(writes, [log]).anomalies.map((a) => `${a.kind}@${a.revision}`);

  it('accepts every matching write in order', () => {
    const result = checkWatch(writes, [watcher([{ startRevision: 1, events: all }], 6)]);
    assert.equal(result.verdict, 'ok', renderWatch(result));
    assert.equal(result.events, 5);
  });

  it('accepts a watch from a later revision and one that stopped early', () => {
    assert.deepEqual(kinds(watcher([{ startRevision: 4, events: all.slice(1, 3) }])), []);
  });

  it('accepts a resume after reconnect from the last seen revision, or the one after', () => {
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: all.slice(0, 3) }, { startRevision: 4, events: all.slice(1) }], 6)), []);
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: all.slice(0, 3) }, { startRevision: 5, events: all.slice(3) }], 6)), []);
  });

  it('finds a gap, a duplicate, a reordering, a wrong value and a phantom', () => {
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: [all[0]!, all[2]!, all[3]!] }])), ['gap@4']);
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: [all[0]!, all[1]!, all[1]!] }])), ['duplicate@4', 'missing@4']);
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: [all[0]!, all[3]!, all[1]!, all[2]!] }])), ['gap@5', 'reorder@4', 'reorder@4']);
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: [all[0]!, ev(4, 'w/b', 'zz'), all[2]!] }])), ['value-mismatch@4']);
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: [all[0]!, ev(3, 'other', 'x'), ev(7, 'w/z', '1')] }])), ['phantom@3', 'phantom@7']);
  });

  it('finds a resume past the last seen revision and a partly seen transaction', () => {
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: all.slice(0, 1) }, { startRevision: 5, events: all.slice(3) }])), [
      'resume-gap@5', 'missing@4', 'missing@4',
    ]);
    // Saw w/b@4 but not w/c@4, then resumed after revision 4.
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: all.slice(0, 2) }, { startRevision: 5, events: all.slice(3) }])), [
      'missing@4',
    ]);
  });

  it('finds what never arrived though the watcher caught up', () => {
    assert.deepEqual(kinds(watcher([{ startRevision: 1, events: all.slice(0, 3) }], 6)), ['incomplete@5', 'incomplete@6']);
  });

  it('says unknown when no watcher received anything', () => {
    assert.equal(checkWatch(writes, [watcher([{ startRevision: 1, events: [] }])]).verdict, 'unknown');
  });

  it('renders anomalies for a person', () => {
    const text = renderWatch(checkWatch(writes, [watcher([{ startRevision: 1, events: [all[0]!, all[2]!] }])]));
    assert.match(text, /^watch: VIOLATION \(1 watchers, 2 events, 1 anomalies\)/);
    assert.match(text, /watcher w1 session 0 event 1: gap: 1 events skipped, from "w\/b"@4/);
  });
});
