import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWatchWorkload, nodeErrorsSummary, overallVerdict, recoverySummary } from './checks.js';
import { isErrorLine } from './cluster.js';

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

  it('a member that logged an error (it stopped on its own) fails the run', () => {
    const fatal = '{"level":50,"time":1,"member":"n2","error":"AssertionError: snapshot at 18635 is past the last index 17912","msg":"region node failed; stopping"}';
    assert.ok(isErrorLine(fatal));
    assert.ok(!isErrorLine('{"level":40,"time":1,"member":"n2","msg":"raft leader lost its quorum"}'));
    assert.ok(!isErrorLine('plain text mentioning "level":50'));
    assert.equal(nodeErrorsSummary([]).verdict, 'ok');
    const failed = nodeErrorsSummary([{ node: 'n2', line: fatal }]);
    assert.equal(failed.verdict, 'violation');
    assert.match(failed.summary, /1 error line\(s\) from n2; first: n2: .*past the last index/);
  });
});
