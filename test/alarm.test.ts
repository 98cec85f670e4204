// Maintenance.Alarm over gRPC, as etcd behaves: an alarm activated through one member is
// recorded through Raft, so every member lists it (and it survives a restart); while
// NOSPACE is active, puts, txns with puts and lease grants fail with etcd's "database
// space exceeded" and reads and deletes work; while CORRUPT is active every write fails
// with "corrupt cluster"; DEACTIVATE disarms. The same steps run against a 3-member
// regionstore cluster and, when it is installed, a real etcd (/usr/bin/etcd).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { status, type ServiceError } from '@grpc/grpc-js';
import { pickFreePorts } from '../cluster/ports.js';
import { spawnNode, stopPid } from '../cluster/processes.js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { haveTool, startTestCluster } from './helpers/cluster.js';

const b = (s: string): Buffer => Buffer.from(s);
const NOSPACE = 1;
const CORRUPT = 2;
const NO_SPACE_TEXT = 'etcdserver: mvcc: database space exceeded';
const CORRUPT_TEXT = 'etcdserver: corrupt cluster';
/** How long a fresh single-member etcd may take to elect itself. */
const ETCD_READY_MS = 20_000;

async function fails(p: Promise<unknown>, code: status, details: string): Promise<void> {
  const err = await p.then(() => assert.fail(`expected ${details}`), (e: ServiceError) => e);
  assert.deepEqual([err.code, err.details], [code, details]);
}

/** Alarm GET/ACTIVATE/DEACTIVATE answers as [member id, alarm type] pairs, sorted. */
async function alarm(c: RawClient, action: 'GET' | 'ACTIVATE' | 'DEACTIVATE', memberID = '0', type = 0): Promise<Array<[string, number]>> {
  const r = await c.unary('Maintenance', 'Alarm', { action, memberID, alarm: type });
  return (r.alarms as Array<{ memberID: string; alarm: number }>).map((a): [string, number] => [a.memberID, a.alarm]).sort();
}

/** GET /health on a member's client port (HTTP/1.1 beside gRPC, as etcd serves it). */
async function expectHealth(url: string, healthy: boolean, reason: string, query = ''): Promise<void> {
  const res = await fetch(`${url}/health${query}`);
  const body = (await res.json()) as { health: string; reason?: string };
  assert.equal(res.status, healthy ? 200 : 503, JSON.stringify(body));
  assert.equal(body.health, String(healthy));
  // etcd 3.5 names the alarm; 3.4 may leave the reason out.
  if (body.reason !== undefined && body.reason !== '') assert.equal(body.reason, reason);
}

/**
 * The steps, against clients of every member. `restart` (regionstore only) restarts the
 * member behind clients[i] and returns a new client of it.
 */
async function alarmSteps(clients: RawClient[], healthUrl: string, restart?: (i: number) => Promise<RawClient>): Promise<void> {
  const first = clients[0]!;
  /** The last member's client (replaced when that member restarts). */
  const last = (): RawClient => clients[clients.length - 1]!;
  const me = (await first.unary('Maintenance', 'Status', {})).header.memberId as string;
  await first.unary('KV', 'Put', { key: b('alarm/k'), value: b('v') });
  const lease = (await first.unary('Lease', 'LeaseGrant', { TTL: 60 })).ID as string;

  assert.deepEqual(await alarm(first, 'ACTIVATE', me, NOSPACE), [[me, NOSPACE]]);
  assert.deepEqual(await alarm(first, 'ACTIVATE', me, NOSPACE), [[me, NOSPACE]], 'activating again answers the same alarm');
  for (const c of clients) {
    assert.deepEqual(await alarm(c, 'GET'), [[me, NOSPACE]], 'every member lists it');
    const s = await c.unary('Maintenance', 'Status', {});
    assert.ok((s.errors as string[]).includes(`memberID:${me} alarm:NOSPACE `), `status errors: ${JSON.stringify(s.errors)}`);
  }
  await expectHealth(healthUrl, false, 'ALARM NOSPACE');
  await expectHealth(healthUrl, true, '', '?exclude=NOSPACE');

  // Refused under NOSPACE (etcd's capped applier), from any member.
  await fails(last().unary('KV', 'Put', { key: b('alarm/k2'), value: b('v') }), status.RESOURCE_EXHAUSTED, NO_SPACE_TEXT);
  await fails(last().unary('KV', 'Txn', { failure: [{ requestPut: { key: b('alarm/x'), value: b('v') } }] }), status.RESOURCE_EXHAUSTED, NO_SPACE_TEXT);
  await fails(last().unary('Lease', 'LeaseGrant', { TTL: 60 }), status.RESOURCE_EXHAUSTED, NO_SPACE_TEXT);
  // Allowed: reads, deletes, txns without puts, lease revokes.
  assert.equal((await last().unary('KV', 'Range', { key: b('alarm/k') })).kvs.length, 1);
  assert.equal((await last().unary('KV', 'Txn', { success: [{ requestDeleteRange: { key: b('alarm/none') } }] })).succeeded, true);
  assert.equal((await last().unary('KV', 'DeleteRange', { key: b('alarm/k') })).deleted, '1');
  await last().unary('Lease', 'LeaseRevoke', { ID: lease });

  if (restart !== undefined) {
    clients[clients.length - 1] = await restart(clients.length - 1);
    assert.deepEqual(await alarm(last(), 'GET'), [[me, NOSPACE]], 'the alarm survives a restart');
    await fails(last().unary('KV', 'Put', { key: b('alarm/k2'), value: b('v') }), status.RESOURCE_EXHAUSTED, NO_SPACE_TEXT);
  }

  assert.deepEqual(await alarm(last(), 'DEACTIVATE', me, CORRUPT), [], 'nothing to disarm');
  assert.deepEqual(await alarm(last(), 'DEACTIVATE', me, NOSPACE), [[me, NOSPACE]]);
  assert.deepEqual(await alarm(first, 'GET'), []);
  await expectHealth(healthUrl, true, '');
  await first.unary('KV', 'Put', { key: b('alarm/k2'), value: b('v') });

  assert.deepEqual(await alarm(first, 'ACTIVATE', me, CORRUPT), [[me, CORRUPT]]);
  await fails(first.unary('KV', 'Put', { key: b('alarm/k3'), value: b('v') }), status.DATA_LOSS, CORRUPT_TEXT);
  await fails(first.unary('KV', 'DeleteRange', { key: b('alarm/k2') }), status.DATA_LOSS, CORRUPT_TEXT);
  await fails(first.unary('Lease', 'LeaseGrant', { TTL: 60 }), status.DATA_LOSS, CORRUPT_TEXT);
  assert.equal((await first.unary('KV', 'Range', { key: b('alarm/k2') })).kvs.length, 1, 'reads work');
  assert.deepEqual(await alarm(first, 'DEACTIVATE', me, CORRUPT), [[me, CORRUPT]]);
  await first.unary('KV', 'Put', { key: b('alarm/k3'), value: b('v') });
}

describe('alarms like etcd', { timeout: 180_000 }, () => {
  test('a 3-member regionstore cluster', async () => {
    const cluster = await startTestCluster({ timings: 'etcd' });
    const clients = cluster.hostPorts.map((hp) => rawClient(hp));
    try {
      await alarmSteps(clients, `http://${cluster.hostPorts[0]!}`, async (i) => {
        clients[i]!.close();
        const node = cluster.nodes[i]!;
        await cluster.restart(node.name);
        await cluster.waitHealthy(30_000);
        return rawClient(cluster.hostPorts[i]!);
      });
    } finally {
      for (const c of clients) c.close();
      await cluster.cleanup();
    }
  });

  test('--quota-backend-bytes: a write past the quota raises NOSPACE on every member and is refused', async () => {
    // A one-byte quota: any put is past it, as etcd's quota check counts size + cost.
    const cluster = await startTestCluster({ timings: 'etcd', extraArgs: ['--quota-backend-bytes', '1'] });
    const clients = cluster.hostPorts.map((hp) => rawClient(hp));
    try {
      const first = clients[0]!;
      const me = (await first.unary('Maintenance', 'Status', {})).header.memberId as string;
      await fails(first.unary('KV', 'Put', { key: b('q'), value: b('v') }), status.RESOURCE_EXHAUSTED, NO_SPACE_TEXT);
      for (const c of clients) assert.deepEqual(await alarm(c, 'GET'), [[me, NOSPACE]], 'raised through Raft');
      // Another member refuses too (the alarm, whatever its own size), and reads still work.
      await fails(clients[1]!.unary('Lease', 'LeaseGrant', { TTL: 60 }), status.RESOURCE_EXHAUSTED, NO_SPACE_TEXT);
      assert.equal((await clients[2]!.unary('KV', 'Range', { key: b('q') })).count, '0');
      assert.equal((await first.unary('KV', 'DeleteRange', { key: b('q') })).deleted, '0');
    } finally {
      for (const c of clients) c.close();
      await cluster.cleanup();
    }
  });

  test('the same steps against a real etcd', { skip: !haveTool('etcd', 'etcd-server') }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alarm-etcd-'));
    const [clientPort, peerPort] = await pickFreePorts(2);
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const etcd = spawnNode({
      name: 'etcd', executable: 'etcd', cwd: dir, env: process.env, output: { kind: 'file', path: join(dir, 'etcd.log') },
      args: ['--name', 'e1', '--data-dir', join(dir, 'e1'), '--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl, '--initial-cluster', `e1=${peerUrl}`],
    });
    const c = rawClient(`127.0.0.1:${clientPort}`);
    try {
      const deadline = Date.now() + ETCD_READY_MS;
      for (;;) {
        const ok = await c.unary('KV', 'Range', { key: b('x') }).then(() => true, () => false);
        if (ok) break;
        if (Date.now() > deadline) assert.fail(`etcd did not answer within ${ETCD_READY_MS} ms; see ${dir}/etcd.log`);
        await sleep(100);
      }
      await alarmSteps([c], clientUrl);
    } finally {
      c.close();
      if (etcd.child.pid !== undefined) await stopPid(etcd.child.pid, etcd.exited);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
