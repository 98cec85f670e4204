// Kill -9 of the leader while many writes are in flight. Every write puts a unique
// value; afterwards the whole history (a watch from revision 1) must hold each
// acknowledged value exactly once at the revision its answer gave (none lost), no value
// twice (none applied twice, which a retry without the writer identity could cause),
// and no value of a write that failed with maybeApplied=false.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../test/helpers/cluster.js';
import { Client, op, RegionstoreError, type RetryEvent } from './index.js';

/** Concurrent writers, each with one write in flight at a time, on its own key. */
const WRITERS = 12;
/** Writing goes on this long before the kill and this long after it. */
const BEFORE_KILL_MS = 1_500;
const AFTER_KILL_MS = 3_000;

interface Outcome {
  value: string;
  key: string;
  status: 'ok' | 'fail' | 'unknown';
  revision?: number;
  /** When the answer came (ms since the epoch). */
  at: number;
  latencyMs: number;
}

describe('kill -9 of the leader during writes', { timeout: 60_000 }, () => {
  let c: TestCluster;
  let client: Client;
  const retries: RetryEvent[] = [];

  before(async () => {
    c = await startTestCluster();
    client = new Client({ endpoints: c.endpoints, timeoutMs: 20_000, attemptTimeoutMs: 3_000, onRetry: (e) => retries.push(e) });
  });
  after(async () => {
    client?.close();
    await c?.cleanup();
  });

  test('no acknowledged write lost, none applied twice', async () => {
    const outcomes: Outcome[] = [];
    const run = { stop: false };
    const writer = async (w: number): Promise<void> => {
      const key = `acct/${w}`;
      for (let n = 0; !run.stop; n++) {
        const value = `w${w}-${n}`;
        const t0 = Date.now();
        try {
          // Half the writers use a Txn, half a Put: both carry the writer identity.
          const revision = w % 2 === 0
            ? (await client.put(key, value)).revision
            : (await client.txn().success(op.put(key, value)).commit()).revision;
          outcomes.push({ value, key, status: 'ok', revision, at: Date.now(), latencyMs: Date.now() - t0 });
        } catch (err) {
          assert.ok(err instanceof RegionstoreError, `untyped error ${String(err)}`);
          outcomes.push({ value, key, status: err.maybeApplied ? 'unknown' : 'fail', at: Date.now(), latencyMs: Date.now() - t0 });
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, BEFORE_KILL_MS));
    const leader = await c.leader();
    assert.ok(leader !== undefined, 'no leader before the kill');
    const ackedBeforeKill = outcomes.filter((o) => o.status === 'ok').length;
    const killedAt = Date.now();
    await c.kill(leader, 'SIGKILL');
    await new Promise((r) => setTimeout(r, AFTER_KILL_MS));
    run.stop = true;
    await Promise.all(writers);

    // The whole history, from a surviving member.
    const last = await client.range('acct/', { prefix: true });
    const seen = new Map<string, number[]>();
    const w = client.watch('acct/', { prefix: true, startRevision: 1 });
    let events = 0;
    const revisions = new Set<number>();
    for await (const b of w) {
      if (b.type !== 'events') continue;
      for (const ev of b.events) {
        events++;
        revisions.add(ev.kv.modRevision);
        const v = ev.kv.value.toString();
        seen.set(v, [...(seen.get(v) ?? []), ev.kv.modRevision]);
      }
      if ((b.events.at(-1)?.kv.modRevision ?? 0) >= last.revision) break;
    }

    const ok = outcomes.filter((o) => o.status === 'ok');
    const unknown = outcomes.filter((o) => o.status === 'unknown');
    const failed = outcomes.filter((o) => o.status === 'fail');
    const twice = [...seen.entries()].filter(([, revs]) => revs.length > 1);
    const lost = ok.filter((o) => seen.get(o.value)?.[0] !== o.revision);
    const appliedAfterFail = failed.filter((o) => seen.has(o.value));
    const unknownApplied = unknown.filter((o) => seen.has(o.value)).length;
    const firstAckAfterKillMs = Math.min(...ok.filter((o) => o.at - o.latencyMs > killedAt).map((o) => o.at)) - killedAt;
    const maxLatencyMs = Math.max(...outcomes.map((o) => o.latencyMs));
    const maybeSentRetries = retries.filter((r) => r.maybeApplied && r.kind === 'write').length;
    console.log(`kill-leader: ${outcomes.length} writes by ${WRITERS} writers; killed ${leader} after ${ackedBeforeKill} acks; ` +
      `acknowledged ${ok.length}, failed ${failed.length}, unknown ${unknown.length} (${unknownApplied} of them applied); ` +
      `${retries.length} retries, ${maybeSentRetries} of writes that may have been applied; ` +
      `history ${events} events up to revision ${last.revision}; applied twice ${twice.length}; acknowledged but lost ${lost.length}; ` +
      `applied though failed ${appliedAfterFail.length}; first write sent after the kill acknowledged ${firstAckAfterKillMs} ms ` +
      `after it; slowest write ${maxLatencyMs} ms`);

    assert.deepEqual(twice, [], 'values applied twice');
    assert.deepEqual(lost.map((o) => o.value), [], 'acknowledged writes missing from the history');
    assert.deepEqual(appliedAfterFail.map((o) => o.value), [], 'writes reported failed (maybeApplied=false) were applied');
    assert.equal(events, ok.length + unknownApplied, 'the history holds exactly the acknowledged and the applied unknown writes');
    // Revision 1 is the empty store (etcd's numbering): writes hold revisions 2..last.
    assert.equal(revisions.size, last.revision - 1, 'every revision since the start is one of these writes, one per revision');
    assert.ok(ok.length > ackedBeforeKill, 'writes were acknowledged after the kill');
    // Each key's version counts its applies: a double apply would show as an extra version.
    for (const kv of last.kvs) {
      const applied = [...seen.keys()].filter((v) => v.startsWith(`w${kv.key.toString().slice('acct/'.length)}-`)).length;
      assert.equal(kv.version, applied, `version of ${kv.key.toString()}`);
    }
  });
});
