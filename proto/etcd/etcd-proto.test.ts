// The field numbers of proto/etcd are the ones etcd clients use. Two checks: numbers
// that clients depend on, listed here from the etcd v3 API reference; and every message
// and field that the etcd3 npm client's copy of etcd's rpc.proto shares with ours has
// the same number and type (that copy is the wire contract the client was built with).

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const HERE = dirname(fileURLToPath(import.meta.url));

function loadOurs(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(HERE, target));
  root.loadSync('etcdserverpb/rpc.proto', { keepCase: true });
  root.resolveAll();
  return root;
}

function loadEtcd3Client(): protobuf.Root {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('etcd3/package.json')), 'proto');
  const root = new protobuf.Root();
  root.loadSync(join(dir, 'rpc.proto'), { keepCase: true });
  root.resolveAll();
  return root;
}

function fieldNumbers(root: protobuf.Root, type: string): Record<string, number> {
  const t = root.lookupType(type);
  return Object.fromEntries(Object.values(t.fields).map((f) => [f.name, f.id]));
}

test('field numbers clients rely on', () => {
  const root = loadOurs();
  assert.deepEqual(fieldNumbers(root, 'etcdserverpb.ResponseHeader'), {
    cluster_id: 1,
    member_id: 2,
    revision: 3,
    raft_term: 4,
  });
  const range = fieldNumbers(root, 'etcdserverpb.RangeRequest');
  assert.equal(range.key, 1);
  assert.equal(range.range_end, 2);
  assert.equal(range.limit, 3);
  assert.equal(range.revision, 4);
  assert.equal(range.sort_order, 5);
  assert.equal(range.sort_target, 6);
  assert.equal(range.serializable, 7);
  assert.equal(range.keys_only, 8);
  assert.equal(range.count_only, 9);
  assert.equal(range.max_create_revision, 13);
  assert.deepEqual(fieldNumbers(root, 'etcdserverpb.WatchCreateRequest'), {
    key: 1,
    range_end: 2,
    start_revision: 3,
    progress_notify: 4,
    filters: 5,
    prev_kv: 6,
    watch_id: 7,
    fragment: 8,
  });
  const wr = fieldNumbers(root, 'etcdserverpb.WatchResponse');
  assert.equal(wr.compact_revision, 5);
  assert.equal(wr.cancel_reason, 6);
  assert.equal(wr.events, 11);
  assert.equal(fieldNumbers(root, 'etcdserverpb.Compare').range_end, 64);
  assert.deepEqual(fieldNumbers(root, 'mvccpb.KeyValue'), {
    key: 1,
    create_revision: 2,
    mod_revision: 3,
    version: 4,
    value: 5,
    lease: 6,
  });
  assert.deepEqual(fieldNumbers(root, 'etcdserverpb.SnapshotResponse'), {
    header: 1,
    remaining_bytes: 2,
    blob: 3,
    version: 4,
  });
  const status = fieldNumbers(root, 'etcdserverpb.StatusResponse');
  assert.equal(status.version, 2);
  assert.equal(status.raftAppliedIndex, 7);
  assert.equal(status.isLearner, 10);
});

test('services and methods as etcd names them', () => {
  const root = loadOurs();
  const methods = (name: string): string[] => Object.keys(root.lookupService(`etcdserverpb.${name}`).methods);
  assert.deepEqual(methods('KV'), ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact']);
  assert.deepEqual(methods('Watch'), ['Watch']);
  assert.deepEqual(methods('Lease'), ['LeaseGrant', 'LeaseRevoke', 'LeaseKeepAlive', 'LeaseTimeToLive', 'LeaseLeases']);
  assert.deepEqual(methods('Cluster'), ['MemberAdd', 'MemberRemove', 'MemberUpdate', 'MemberList', 'MemberPromote']);
  assert.deepEqual(methods('Maintenance'), [
    'Alarm', 'Status', 'Defragment', 'Hash', 'HashKV', 'Snapshot', 'MoveLeader',
  ]);
});

test('every message and field shared with the etcd3 client proto matches in number and type', () => {
  const ours = loadOurs();
  const theirs = loadEtcd3Client();
  let compared = 0;
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Type) {
        const mine = ours.lookup(nested.fullName.slice(1));
        if (mine instanceof protobuf.Type) {
          for (const f of nested.fieldsArray) {
            const m: protobuf.Field | undefined = mine.fields[f.name];
            if (m === undefined) continue;
            assert.equal(m.id, f.id, `${nested.fullName}.${f.name} number`);
            assert.equal(m.type.split('.').pop(), f.type.split('.').pop(), `${nested.fullName}.${f.name} type`);
            assert.equal(m.repeated, f.repeated, `${nested.fullName}.${f.name} repeated`);
            compared++;
          }
        }
      }
      if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(theirs);
  assert.ok(compared > 150, `compared only ${compared} fields`);
});

test("Lock and Election: etcd's v3lockpb / v3electionpb field numbers and methods", () => {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(HERE, target));
  root.loadSync(['v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'], { keepCase: true });
  root.resolveAll();
  assert.deepEqual(fieldNumbers(root, 'v3lockpb.LockRequest'), { name: 1, lease: 2 });
  assert.deepEqual(fieldNumbers(root, 'v3lockpb.LockResponse'), { header: 1, key: 2 });
  assert.deepEqual(fieldNumbers(root, 'v3lockpb.UnlockRequest'), { key: 1 });
  assert.deepEqual(fieldNumbers(root, 'v3lockpb.UnlockResponse'), { header: 1 });
  assert.deepEqual(fieldNumbers(root, 'v3electionpb.CampaignRequest'), { name: 1, lease: 2, value: 3 });
  assert.deepEqual(fieldNumbers(root, 'v3electionpb.CampaignResponse'), { header: 1, leader: 2 });
  assert.deepEqual(fieldNumbers(root, 'v3electionpb.LeaderKey'), { name: 1, key: 2, rev: 3, lease: 4 });
  assert.deepEqual(fieldNumbers(root, 'v3electionpb.LeaderRequest'), { name: 1 });
  assert.deepEqual(fieldNumbers(root, 'v3electionpb.LeaderResponse'), { header: 1, kv: 2 });
  assert.deepEqual(fieldNumbers(root, 'v3electionpb.ResignRequest'), { leader: 1 });
  assert.deepEqual(fieldNumbers(root, 'v3electionpb.ProclaimRequest'), { leader: 1, value: 2 });
  assert.deepEqual(Object.keys(root.lookupService('v3lockpb.Lock').methods), ['Lock', 'Unlock']);
  const election = root.lookupService('v3electionpb.Election').methods;
  assert.deepEqual(Object.keys(election), ['Campaign', 'Proclaim', 'Leader', 'Observe', 'Resign']);
  assert.equal(election.Observe!.responseStream, true);
});
