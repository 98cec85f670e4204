// A membership change under faults: remove a member, then add it back as a learner with
// an empty data dir and a new peer URL (a removed member cannot come back with its old
// data), start it, and promote it once it has caught up. Every step is retried until it
// holds or its deadline passes, since other faults may strike meanwhile; decisions are
// made on the linearizable member list, so a step that timed out but took effect is seen.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Member } from '../../client/index.js';
import type { NemesisTarget } from './target.js';

/** Each step (remove, add, start, promote) gets this long under faults. */
export const MEMBERSHIP_STEP_TIMEOUT_MS = 45_000;
/** Deadline of one membership call. */
export const MEMBER_CALL_TIMEOUT_MS = 5_000;
export const MEMBERSHIP_RETRY_MS = 500;
/** A removed member stops itself once it learns of its removal; after this it is killed. */
export const REMOVED_EXIT_WAIT_MS = 5_000;

type Log = (line: string) => void;

async function until<T>(what: string, step: () => Promise<T | undefined>, log: Log): Promise<T> {
  const deadline = Date.now() + MEMBERSHIP_STEP_TIMEOUT_MS;
  let last = '';
  for (;;) {
    try {
      const v = await step();
      if (v !== undefined) return v;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== last) log(`membership: ${what}: ${message}`);
      last = message;
    }
    if (Date.now() > deadline) throw new Error(`membership: ${what} did not succeed within ${MEMBERSHIP_STEP_TIMEOUT_MS} ms (${last})`);
    await sleep(MEMBERSHIP_RETRY_MS);
  }
}

async function members(t: NemesisTarget): Promise<Member[]> {
  return (await t.admin.cluster.list({ linearizable: true, timeoutMs: MEMBER_CALL_TIMEOUT_MS })).members;
}

/** Removes the node from the membership and makes sure its process is gone. */
export async function removeMember(node: number, t: NemesisTarget, log: Log): Promise<void> {
  const name = t.name(node);
  const id = await until(`find ${name}`, async () => (await members(t)).find((m) => m.name === name)?.id, log);
  await until(`remove ${name}`, async () => {
    if (!(await members(t)).some((m) => m.id === id)) return true;
    await t.admin.cluster.remove(id, { timeoutMs: MEMBER_CALL_TIMEOUT_MS });
    return true;
  }, log);
  const deadline = Date.now() + REMOVED_EXIT_WAIT_MS;
  while (t.running(node) && Date.now() < deadline) await sleep(MEMBERSHIP_RETRY_MS);
  // It may never have heard of its removal (cut off), or it may be paused: kill it.
  if (t.running(node)) {
    await t.signal(node, 'SIGCONT');
    await t.signal(node, 'SIGKILL');
  }
}

/** The --initial-cluster of a joining member: every started member, and the new one. */
function initialCluster(list: readonly Member[], newId: string, name: string, peerUrl: string): string {
  return list
    .filter((m) => m.id === newId || (m.name !== '' && m.peerUrls.length > 0))
    .map((m) => (m.id === newId ? `${name}=${peerUrl}` : `${m.name}=${m.peerUrls[0]}`))
    .join(',');
}

/** Adds a removed node back as a learner (fresh data, new peer URL), starts it, promotes it. */
export async function rejoinMember(node: number, t: NemesisTarget, log: Log): Promise<void> {
  const name = t.name(node);
  const peerUrl = await t.reset(node);
  const added = await until(`add ${name} as a learner`, async () => {
    const list = await members(t);
    const existing = list.find((m) => m.peerUrls.includes(peerUrl));
    if (existing !== undefined) return { id: existing.id, list };
    const r = await t.admin.cluster.add([peerUrl], { learner: true, timeoutMs: MEMBER_CALL_TIMEOUT_MS });
    return { id: r.member.id, list: r.members };
  }, log);
  await until(`start ${name}`, async () => {
    await t.join(node, initialCluster(added.list, added.id, name, peerUrl));
    return true;
  }, log);
  await until(`promote ${name}`, async () => {
    const m = (await members(t)).find((x) => x.id === added.id);
    if (m === undefined) throw new Error(`${name} (${added.id}) is no longer a member`);
    if (!m.isLearner) return true;
    await t.admin.cluster.promote(added.id, { timeoutMs: MEMBER_CALL_TIMEOUT_MS });
    return true;
  }, log);
}

/**
 * After the run: every node is a voting member again. A membership change cut short (its
 * deadline passed under faults) is finished here: a learner is promoted, a member that is
 * gone is added back.
 */
export async function ensureVoters(t: NemesisTarget, log: Log): Promise<void> {
  const list = await until('list members', () => members(t), log);
  // A learner added but never started (its start failed) has no name: drop it.
  for (const orphan of list.filter((m) => m.name === '' && m.isLearner)) {
    log(`membership: removing the learner ${orphan.id} that never started`);
    await until(`remove learner ${orphan.id}`, async () => {
      if (!(await members(t)).some((m) => m.id === orphan.id)) return true;
      await t.admin.cluster.remove(orphan.id, { timeoutMs: MEMBER_CALL_TIMEOUT_MS });
      return true;
    }, log);
  }
  for (const node of t.nodes) {
    const m = list.find((x) => x.name === t.name(node));
    if (m !== undefined && !m.isLearner) continue;
    log(`membership: ${t.name(node)} is ${m === undefined ? 'not a member' : 'a learner'}; finishing its change`);
    if (m === undefined) {
      if (t.running(node)) await t.signal(node, 'SIGKILL');
      await rejoinMember(node, t, log);
    } else {
      await until(`promote ${t.name(node)}`, async () => {
        await t.admin.cluster.promote(m.id, { timeoutMs: MEMBER_CALL_TIMEOUT_MS });
        return true;
      }, log);
    }
  }
}
