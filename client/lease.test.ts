// The lease helper: keeps a lease alive across a leader change (kill -9 of the leader),
// reports 'expired' when the lease is revoked behind its back, and reports loss when
// the whole cluster is stopped (no renewal can get through for its TTL).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestCluster, type TestCluster } from '../test/helpers/cluster.js';
import { Client, LeaseLostError } from './index.js';
import { RENEWALS_PER_TTL } from './lib/lease-keeper.js';

/** TTL of the kept leases (seconds): short, so that a missed renewal would show. */
const TTL_SECONDS = 3;
/** Timers on a busy 2-core machine may fire this late. */
const LOSS_REPORT_SLACK_MS = 1_000;

describe('lease helper', { timeout: 60_000 }, () => {
  let c: TestCluster;
  let client: Client;

  before(async () => {
    c = await startTestCluster();
    client = new Client({ endpoints: c.endpoints, attemptTimeoutMs: 2_000 });
  });
  after(async () => {
    client?.close();
    await c?.cleanup();
  });

  test('kept alive across a leader change; its key stays', async () => {
    const lease = await client.lease(TTL_SECONDS);
    let renewals = 0;
    lease.on('keepalive', () => renewals++);
    const lost: LeaseLostError[] = [];
    lease.on('lost', (e) => lost.push(e));
    await client.put('svc/a', 'here', { lease: lease.id });

    const leader = await c.leader();
    assert.ok(leader !== undefined);
    await c.kill(leader, 'SIGKILL');
    // Past two TTLs: without renewals through the new leader the lease would be gone.
    await new Promise((r) => setTimeout(r, 2 * TTL_SECONDS * 1000 + 500));
    const newLeader = await c.leader();
    console.log(`lease-keeper: killed leader ${leader}, new leader ${newLeader}; ${renewals} renewals; lost: ${lost.length}`);
    assert.deepEqual(lost, []);
    assert.ok(newLeader !== undefined && newLeader !== leader);
    assert.equal(await client.getString('svc/a'), 'here');
    const ttl = await client.leases.timeToLive(lease.id);
    assert.ok(ttl.ttl > 0, `lease TTL ${ttl.ttl}`);
    await c.restart(leader);
    await lease.revoke();
    assert.equal(await client.get('svc/a'), undefined);
  });

  test('revoked elsewhere: lost with reason "expired"', async () => {
    const lease = await client.lease(TTL_SECONDS);
    await client.leases.revoke(lease.id);
    const err = await lease.lost;
    assert.ok(err instanceof LeaseLostError);
    assert.equal(err.reason, 'expired');
    assert.equal(err.leaseId, lease.id);
    assert.equal(lease.isLost, true);
  });

  test('the cluster stopped: lost with reason "unreachable" within about a TTL', async () => {
    const lease = await client.lease(TTL_SECONDS);
    await new Promise((r) => setTimeout(r, 500));
    const stoppedAt = Date.now();
    await c.stop();
    const err = await lease.lost;
    const lostAt = Date.now();
    const afterMs = lostAt - stoppedAt;
    console.log(`lease-keeper: cluster stopped; lease reported lost (${err.reason}) after ${afterMs} ms, ` +
      `${lostAt - lease.safeUntilMs} ms after its last renewal's TTL ran out`);
    assert.equal(err.reason, 'unreachable');
    // Reported once the TTL of the last renewal that got through ran out, and not much later.
    assert.ok(lostAt >= lease.safeUntilMs);
    assert.ok(lostAt - lease.safeUntilMs < LOSS_REPORT_SLACK_MS, `reported ${lostAt - lease.safeUntilMs} ms late`);
    // Members answer renewals while they shut down, so the last one may come up to an interval late.
    assert.ok(afterMs <= TTL_SECONDS * 1000 + (TTL_SECONDS * 1000) / RENEWALS_PER_TTL + LOSS_REPORT_SLACK_MS, `reported after ${afterMs} ms`);
  });
});
