import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWatchWorkload, overallVerdict, recoverySummary } from './checks.js';

const truth = [{ revision: 5, key: 'watch/0', value: 'w0-0' }, { revision: 6, key: 'watch/1', value: 'w1-0' }];
const watcher = { watcher: 'watcher-0', prefix: 'watch/', sessions: [{ startRevision: 5, events: truth }], caughtUpTo: 6 };
const writes = [
  { key: 'watch/0', value: 'w0-0', status: 'ok' as const, revision: 5 },
  { key: 'watch/1', value: 'w1-0', status: 'ok' as const, revision: 6 },
];

describe('runner checks', () => {
  it('checks the watchers and the acknowledged writes against the history read back', () => {
    const [order, durability] = checkWatchWorkload({ writes, truth, truthUpTo: 6, finalRevision: 6, problems: [], logs: [watcher] });
    assert.equal(order?.verdict, 'ok');
    assert.equal(durability?.verdict, 'ok');
  });

  it('says unknown, not phantom, when the history could not be read back', () => {
    const [order, durability] = checkWatchWorkload({
      writes, truth: [], truthUpTo: 0, finalRevision: 6, problems: ['the store\'s history could not be read up to revision 6'], logs: [watcher],
    });
    assert.equal(order?.verdict, 'unknown');
    assert.match(order?.summary ?? '', /read back only up to revision 0 of 6/);
    assert.equal(durability?.verdict, 'unknown');
  });

  it('a cluster that did not come back is a failed run', () => {
    const failed = recoverySummary('no leader', 60);
    assert.equal(failed.verdict, 'violation');
    assert.equal(overallVerdict([recoverySummary(undefined, 1), failed]), 'violation');
    assert.equal(overallVerdict([]), 'unknown');
  });
});
