// A heavy read must not cost the leader its term (issue 20, defect 1): with 200k keys
// loaded, counts over all of them on the LEADER of a real 3-member cluster (etcd's
// timings: 100 ms heartbeat, 1 s election timeout) leave the same leader in the same term.
// The count runs as an engine scan in bounded chunks, so the Raft ticks and heartbeats
// keep their schedule; before, one count over 1M keys held the event loop for 2 s.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { eventually, startTestCluster, type TestCluster } from './helpers/cluster.js';

const KEYS = 200_000;
/** Puts per txn while loading (the API's limit on ops per txn is 128). */
const PUTS_PER_TXN = 128;
const LOAD_CONCURRENCY = 16;
const COUNTS = 3;

let cluster: TestCluster;
const b = (s: string): Buffer => Buffer.from(s);

before(async () => {
  cluster = await startTestCluster({ timings: 'etcd' });
});
after(async () => cluster?.cleanup());

async function status(c: RawClient): Promise<{ leader: string; term: number }> {
  const s = await c.unary('Maintenance', 'Status', {});
  return { leader: String(s.leader), term: Number(s.raftTerm) };
}

async function leaderClient(): Promise<RawClient> {
  const name = await eventually('a leader', () => cluster.leader(), 30_000);
  return rawClient(cluster.nodes.find((n) => n.name === name)!.clientUrl.replace('http://', ''));
}

/** Loads the keys; a write that fails (an election on a loaded machine) is retried. */
async function load(): Promise<void> {
  let c = await leaderClient();
  let next = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, async () => {
    while (next < KEYS) {
      const from = next;
      next += PUTS_PER_TXN;
      const success = [];
      for (let i = from; i < Math.min(from + PUTS_PER_TXN, KEYS); i++) {
        success.push({ requestPut: { key: b(`key/${String(i).padStart(8, '0')}`), value: b('v') } });
      }
      for (let attempt = 0; ; attempt++) {
        try {
          await c.unary('KV', 'Txn', { compare: [], success, failure: [] });
          break;
        } catch (err) {
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 200));
          c = await leaderClient();
        }
      }
    }
  }));
  c.close();
  console.log(`loaded ${KEYS} keys in ${Date.now() - t0} ms`);
}

test(`counts over ${KEYS} keys on the leader keep its term`, { timeout: 240_000 }, async () => {
  await load();
  const c = await leaderClient();
  try {

    const initial = await status(c);
    for (let i = 0; i < COUNTS; i++) {
      const started = Date.now();
      // A prefix count scans every key; the all-keys count is a counter (checked after).
      const prefix = await c.unary('KV', 'Range', { key: b('key/'), rangeEnd: b('key0'), countOnly: true });
      console.log(`count ${i}: ${prefix.count} keys in ${Date.now() - started} ms`);
      assert.equal(Number(prefix.count), KEYS);
    }
    const all = await c.unary('KV', 'Range', { key: Buffer.of(0), rangeEnd: Buffer.of(0), limit: 1 });
    assert.deepEqual([Number(all.count), all.kvs.length, all.more], [KEYS, 1, true]);
    const afterCounts = await status(c);
    assert.deepEqual(afterCounts, initial, 'the same leader in the same term after the counts');
  } finally {
    c.close();
  }
});
