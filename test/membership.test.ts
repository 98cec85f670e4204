// Membership changes on a real cluster where the ids are not the founders' ones: a member
// added later leads, and another member joins while it does. A joiner learns every
// member's id from the cluster (server/region/join.ts); before that fix it derived the
// leader's id from its name, could not answer it, and never caught up.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, idToHex, type MemberId, type MemberStatus } from '../client/index.js';
import { eventually, planJoiner, startJoiner, startTestCluster, type Joiner, type TestCluster } from './helpers/cluster.js';

async function caughtUp(j: Joiner, key: string, value: string): Promise<void> {
  const local = new Client({ endpoints: [j.clientUrl] });
  try {
    await eventually(`${j.name} to serve ${key}=${value}`, async () =>
      (await local.getString(key, { serializable: true }).catch(() => undefined)) === value ? true : undefined, 30_000, 200);
  } finally {
    local.close();
  }
}

async function statusOf(j: Joiner): Promise<MemberStatus> {
  const local = new Client({ endpoints: [j.clientUrl] });
  try {
    return await local.maintenance.status();
  } finally {
    local.close();
  }
}

const isLeader = (j: Joiner): Promise<boolean> => statusOf(j).then((s) => s.isLeader, () => false);

describe('a member joins while a member added later leads', { timeout: 120_000 }, () => {
  let c: TestCluster;
  let client: Client;
  const joiners: Joiner[] = [];

  before(async () => {
    c = await startTestCluster();
    client = new Client({ endpoints: c.endpoints });
  });
  after(async () => {
    for (const j of joiners) j.process.kill('SIGKILL');
    client?.close();
    await c?.cleanup();
  });

  async function join(name: string): Promise<{ joiner: Joiner; id: MemberId }> {
    const plan = await planJoiner(name);
    const added = await client.cluster.add([plan.peerUrl], { learner: true });
    // What etcdctl member add prints as ETCD_INITIAL_CLUSTER: every member with a name, and this one.
    const initialCluster = added.members
      .map((m) => `${m.id === added.member.id ? name : m.name}=${m.peerUrls[0]!}`)
      .join(',');
    const joiner = startJoiner(c, plan, initialCluster);
    joiners.push(joiner);
    return { joiner, id: added.member.id };
  }

  test('n4 is added, promoted and made leader; n5 joins under it and catches up', async () => {
    await client.put('before', 'founders');
    const n4 = await join('n4');
    await caughtUp(n4.joiner, 'before', 'founders');
    await eventually('n4 promoted', async () => (await client.cluster.promote(n4.id).then(() => true, () => undefined)), 20_000, 250);
    await eventually('n4 leads', async () => {
      if (await isLeader(n4.joiner)) return true;
      await client.maintenance.moveLeader(n4.id).catch(() => undefined);
      return undefined;
    }, 20_000, 250);

    await client.put('under-n4', 'yes');
    const n5 = await join('n5');
    await caughtUp(n5.joiner, 'under-n4', 'yes');
    assert.equal(idToHex((await statusOf(n5.joiner)).leader), idToHex(n4.id), 'n5 follows n4');
    // n5 publishes its name through the log once it has a leader: soon, not necessarily yet.
    await eventually('n5 listed by name', async () => {
      const names = (await client.cluster.list()).members.map((m) => m.name).sort();
      return names.join(',') === 'n1,n2,n3,n4,n5' ? true : undefined;
    }, 10_000, 100);
  });
});
