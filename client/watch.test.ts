// A watch survives the member that serves it being killed (twice, the second time after
// the first came back): it resumes on another member from the last revision it
// delivered, and the caller sees every revision written, once each, in order.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../test/helpers/cluster.js';
import { Client, type Watch } from './index.js';

/** Puts per phase (before the first kill, between the kills, after the second). */
const PUTS_PER_PHASE = 60;
/** Concurrent writers: each revision is one put, several in flight. */
const WRITERS = 4;
/** Puts made while the watch's member is frozen. */
const FROZEN_PUTS = 10;

const waitUntil = async (cond: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('watch resume across killed members', { timeout: 60_000 }, () => {
  let c: TestCluster;
  let client: Client;

  before(async () => {
    c = await startTestCluster();
    client = new Client({ endpoints: c.endpoints, attemptTimeoutMs: 3_000 });
  });
  after(async () => {
    client?.close();
    await c?.cleanup();
  });

  const nodeOf = (w: Watch): string => {
    const ep = w.endpoint;
    const n = c.nodes.find((x) => x.clientUrl.endsWith(`//${ep}`));
    assert.ok(n !== undefined, `the watch is on ${ep}, which is none of the nodes`);
    return n.name;
  };

  const writePhase = async (phase: number, written: number[]): Promise<void> => {
    let next = 0;
    await Promise.all(Array.from({ length: WRITERS }, async () => {
      while (next < PUTS_PER_PHASE) {
        const i = next++;
        written.push((await client.put(`feed/${phase}/${i % 7}`, `${phase}-${i}`)).revision);
      }
    }));
  };

  test('no gap, no duplicate, in order, across two kills', async () => {
    const w = client.watch('feed/', { prefix: true });
    await w.ready();
    const got: number[] = [];
    const consumer = (async () => {
      for await (const b of w) if (b.type === 'events') for (const e of b.events) got.push(e.kv.modRevision);
    })();
    const written: number[] = [];

    await writePhase(1, written);
    const first = nodeOf(w);
    await c.kill(first, 'SIGKILL');
    await writePhase(2, written);
    await waitUntil(() => w.endpoint !== undefined && nodeOf(w) !== first, 'the watch to move off the killed member');
    await c.restart(first);
    await c.waitHealthy();
    const second = nodeOf(w);
    await c.kill(second, 'SIGKILL');
    await writePhase(3, written);
    const last = Math.max(...written);
    await waitUntil(() => got.length > 0 && got[got.length - 1]! >= last, `the watch to deliver revision ${last}`);
    w.close();
    await consumer;

    console.log(`watch-resume: ${written.length} puts, ${got.length} events delivered; killed ${first} then ${second}; ` +
      `${w.stats.reconnects} reconnects, ${w.stats.duplicatesDropped} replayed events dropped`);
    written.sort((a, b) => a - b);
    assert.deepEqual(got, written, 'the watch delivered exactly the revisions written, in order');
    assert.ok(w.stats.reconnects >= 2, 'the watch reconnected after each kill');
  });

  test('a frozen member (SIGSTOP) loses the watch to another member', async () => {
    for (const n of c.nodes) if (!n.running) await c.restart(n.name);
    await c.waitHealthy();
    const w = client.watch('frozen/', { prefix: true });
    await w.ready();
    const got: number[] = [];
    const consumer = (async () => {
      for await (const b of w) if (b.type === 'events') for (const e of b.events) got.push(e.kv.modRevision);
    })();
    const frozen = nodeOf(w);
    const t0 = Date.now();
    await c.kill(frozen, 'SIGSTOP');
    try {
      const written: number[] = [];
      for (let i = 0; i < FROZEN_PUTS; i++) written.push((await client.put(`frozen/${i}`, String(i))).revision);
      await waitUntil(() => got.length === written.length, 'the watch to deliver every put made while its member was frozen');
      console.log(`watch-frozen: ${frozen} stopped; ${got.length} events delivered ${Date.now() - t0} ms later from ${nodeOf(w)}`);
      assert.deepEqual(got, written);
      assert.notEqual(nodeOf(w), frozen);
    } finally {
      await c.kill(frozen, 'SIGCONT');
      w.close();
      await consumer;
    }
  });
});
