// A single-member region node in-process: Auth entries change the state on apply, and a KV
// write checked against an auth revision that an Auth entry has since moved past is
// refused at apply ("revision of auth store is old"), as etcd's apply-time check does.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createNodeMetrics } from '../metrics/node-metrics.js';
import { silentLogger } from '../util/logger.js';
import { RegionBackend } from './region-backend.js';
import { RegionNode } from './region-node.js';

const ID = 1;
const PEER = 'http://127.0.0.1:1';
let dir: string;
let node: RegionNode;
let backend: RegionBackend;
const b = (s: string): Uint8Array => new TextEncoder().encode(s);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rs-region-auth-'));
  node = await RegionNode.open({
    name: 'n1', memberId: ID, clusterId: 7, dataDir: dir, peerListen: '127.0.0.1:0', peerUrls: [PEER], clientUrls: [],
    initialMembers: [{ id: ID, name: 'n1', peerUrls: [PEER] }], idForNewMember: () => 2, joinExisting: false,
    tickMs: 10, electionTicks: 10, heartbeatTicks: 1, logger: silentLogger, metrics: createNodeMetrics({ name: 'n1' }).metrics,
  });
  backend = new RegionBackend(node, { bcryptCost: 4 });
  for (let i = 0; i < 200 && !node.isLeader; i++) await new Promise((r) => setTimeout(r, 20));
});
after(async () => {
  await node?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a write checked at an old auth revision is refused at apply; at the current one it applies', async () => {
  const auth = backend.auth;
  await auth.userAdd(undefined, 'root', 'pw', '', false);
  await auth.userGrantRole(undefined, 'root', 'root');
  await auth.enable(undefined);
  const token = await auth.authenticate('root', 'pw');
  const root = auth.authInfo(token);
  assert.equal(root?.user, 'root');
  await backend.put({ key: b('k'), value: b('v1') }, undefined, root);
  // An auth change lands between the check and the apply.
  await auth.roleAdd(root, 'late');
  await assert.rejects(backend.put({ key: b('k'), value: b('v2') }, undefined, root), /etcdserver: revision of auth store is old/);
  const fresh = auth.authInfo(token);
  await backend.put({ key: b('k'), value: b('v3') }, undefined, fresh);
  const r = await backend.range({ key: b('k') });
  assert.equal(new TextDecoder().decode(r.kvs[0]!.value), 'v3');
  await assert.rejects(auth.authenticate('root', 'wrong'), /authentication failed/);
});
