// A stream of CRDT writes of every type, each carrying the client identity (rs-client-id /
// rs-seq), through every member of a real 3-member cluster while the leader moves, a
// follower restarts, and the leader is killed and restarted. A write whose answer was lost
// is re-sent with the same identity to the next member, as a client does; every tenth
// acknowledged write is re-sent once more on purpose. Afterwards: no op applied twice (the
// counter is exactly the sum of the acknowledged adds, an mv key has exactly one sibling
// per acknowledged put, the events are exactly the acknowledged appends), none lost, and
// every member's CrdtHash equal.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { rawClient } from '../server/api/testing/raw-client.js';
import type { RawCrdt } from '../server/api/testing/raw-crdt.js';
import { eventually, sleep, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { b, createCrdtNamespaces, crdtClients, hashesAgree } from './helpers/crdt-cluster.js';

/** Pause between writes: enough writes land before, during and after each fault. */
const WRITE_PAUSE_MS = 10;
/** One attempt's deadline; a write is re-sent until WRITE_GIVE_UP_MS. */
const ATTEMPT_TIMEOUT_MS = 3_000;
const WRITE_GIVE_UP_MS = 30_000;
const MV_KEYS = 10;
const LWW_KEYS = 5;
const CLIENT_ID = `crdt-faults-${process.pid}`;

let cluster: TestCluster;
let crdt: RawCrdt[];

before(async () => {
  cluster = await startTestCluster();
  await createCrdtNamespaces(cluster);
  crdt = crdtClients(cluster);
});
after(async () => {
  for (const c of crdt ?? []) c.close();
  await cluster?.cleanup();
});

/** What the acknowledged writes say the state must be. */
interface Expected {
  counter: number;
  members: Set<string>;
  mvSiblings: Map<string, string[]>;
  lww: Map<string, string>;
  events: number;
  writes: number;
  retries: number;
  resends: number;
}

/** The i-th write of the stream: the types in turn. */
function writeOf(i: number): { req: unknown; ack(res: { results: Array<{ eventSeq: string; duplicate: boolean }> }, e: Expected): void } {
  switch (i % 5) {
    case 0: {
      const key = `cfg/k${i % LWW_KEYS}`;
      return { req: { ops: [{ lwwPut: { key: b(key), value: b(`v${i}`) } }] }, ack: (_r, e) => void e.lww.set(key, `v${i}`) };
    }
    case 1: {
      const delta = (i % 7) + 1;
      return { req: { ops: [{ counterAdd: { key: b('counters/c'), delta: String(delta) } }] }, ack: (_r, e) => void (e.counter += delta) };
    }
    case 2:
      return { req: { ops: [{ setAdd: { key: b('tags/s'), member: b(`m${i}`) } }] }, ack: (_r, e) => void e.members.add(`m${i}`) };
    case 3: {
      // No context: every put is one more sibling, so a put applied twice shows as two.
      const key = `docs/m${i % MV_KEYS}`;
      return {
        req: { ops: [{ mvPut: { key: b(key), value: b(`w${i}`) } }] },
        ack: (_r, e) => void e.mvSiblings.set(key, [...(e.mvSiblings.get(key) ?? []), `w${i}`]),
      };
    }
    default:
      // seq 0: the region assigns the next one, so an append applied twice is two events.
      return {
        req: { namespace: 'ev', ops: [{ eventAppend: { device: 'dev', type: 'tick', payload: b(`{"i":${i}}`), schemaVersion: 1 } }] },
        ack: (r, e) => {
          assert.equal(r.results[0]!.duplicate, false);
          e.events++;
        },
      };
  }
}

/** Sends one write with its identity until a member acknowledges it (the same identity every time). */
async function sendUntilAcked(req: unknown, seq: number, start: number, e: Expected): Promise<any> {
  const deadline = Date.now() + WRITE_GIVE_UP_MS;
  const md = { 'rs-client-id': CLIENT_ID, 'rs-seq': String(seq) };
  for (let attempt = 0; ; attempt++) {
    const c = crdt[(start + attempt) % crdt.length]!;
    try {
      return await c.call('Write', req, md, ATTEMPT_TIMEOUT_MS);
    } catch (err) {
      const code = (err as ServiceError).code;
      // Only what a lost answer or a fault gives may be retried; anything else is a bug.
      if (![status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.CANCELLED, status.UNKNOWN, status.INTERNAL].includes(code) &&
        !/leader|timed out|installing/.test((err as ServiceError).details)) throw err;
      if (Date.now() > deadline) throw new Error(`write seq ${seq} not acknowledged in ${WRITE_GIVE_UP_MS} ms: ${(err as ServiceError).details}`, { cause: err });
      e.retries++;
      await sleep(50);
    }
  }
}

async function memberIds(): Promise<Map<string, string>> {
  const c = rawClient(cluster.hostPorts[0]!);
  try {
    const { members } = await c.unary('Cluster', 'MemberList', {});
    const byUrl = new Map<string, string>(members.map((m: { ID: string; clientURLs: string[] }) => [m.clientURLs[0]!, m.ID]));
    return new Map(cluster.nodes.map((n) => [n.name, byUrl.get(n.clientUrl)!]));
  } finally {
    c.close();
  }
}

async function leaderName(): Promise<string> {
  return eventually('a leader', () => cluster.leader(), 15_000);
}

/** The fault script: move the leader, restart a follower, kill the leader and bring it back. */
async function faults(log: string[]): Promise<void> {
  const ids = await memberIds();
  await sleep(800);
  const from = await leaderName();
  const to = cluster.nodes.find((n) => n.name !== from)!.name;
  const onLeader = rawClient(cluster.node(from).clientUrl.replace(/^https?:\/\//, ''));
  try {
    await onLeader.unary('Maintenance', 'MoveLeader', { targetID: ids.get(to) });
    log.push(`moved the leader ${from} → ${to}`);
  } finally {
    onLeader.close();
  }
  await sleep(800);
  const leader = await leaderName();
  const follower = cluster.nodes.find((n) => n.name !== leader)!.name;
  await cluster.restart(follower);
  log.push(`restarted follower ${follower}`);
  await sleep(800);
  const victim = await leaderName();
  await cluster.kill(victim, 'SIGKILL');
  log.push(`killed leader ${victim}`);
  await sleep(1500);
  await cluster.restart(victim);
  log.push(`restarted ${victim}`);
  await sleep(800);
}

test('a leader change, a follower restart and a killed leader in a stream of writes of every type: no op twice, none lost, hashes equal', { timeout: 240_000 }, async () => {
  const e: Expected = { counter: 0, members: new Set(), mvSiblings: new Map(), lww: new Map(), events: 0, writes: 0, retries: 0, resends: 0 };
  const log: string[] = [];
  const state = { done: false };
  const script = faults(log).finally(() => (state.done = true));
  let seq = 0;
  while (!state.done) {
    const i = seq++;
    const w = writeOf(i);
    const res = await sendUntilAcked(w.req, seq, i, e);
    w.ack(res, e);
    e.writes++;
    if (i % 10 === 9) {
      // A re-send of an acknowledged write (its answer "lost"): the first answer again.
      const again = await sendUntilAcked(w.req, seq, i + 1, e);
      assert.deepEqual(again.results, res.results, `seq ${seq}: a re-sent write gets the first answer`);
      e.resends++;
    }
    await sleep(WRITE_PAUSE_MS);
  }
  await script;
  await cluster.waitHealthy(30_000);
  console.log(`  faults: ${log.join('; ')}`);
  console.log(`  ${e.writes} writes acknowledged, ${e.retries} retries after faults, ${e.resends} deliberate re-sends`);
  assert.equal(log.length, 4, 'every fault happened');

  const hashes = await hashesAgree(crdt, 'after the faults', 60_000);
  console.log(`  CrdtHash per namespace: ${JSON.stringify(hashes)}`);
  for (const [i, c] of crdt.entries()) {
    const opts = { serializable: true };
    const counter = await c.call('Read', { key: b('counters/c'), ...opts });
    assert.deepEqual(counter.entries[0].counter, { value: String(e.counter), p: String(e.counter), n: '0' }, `member ${i}: every add exactly once`);
    const set = await c.call('Read', { key: b('tags/s'), ...opts });
    assert.deepEqual(set.entries[0].set.members.map(String).sort(), [...e.members].sort(), `member ${i}: every acknowledged set add`);
    const mv = await c.call('Read', { namespace: 'docs', ...opts });
    const siblings = new Map<string, string[]>(mv.entries.map((x: { key: Buffer; mv: { values: Buffer[] } }) => [String(x.key), x.mv.values.map(String).sort()]));
    assert.deepEqual(siblings, new Map([...e.mvSiblings].map(([k, v]) => [k, [...v].sort()])), `member ${i}: one sibling per acknowledged mv put`);
    const lww = await c.call('Read', { namespace: 'cfg', ...opts });
    assert.deepEqual(new Map(lww.entries.map((x: { key: Buffer; lww: { value: Buffer } }) => [String(x.key), String(x.lww.value)])), e.lww, `member ${i}: the last write of each lww key`);
    const comp = await c.call('Completeness', { namespace: 'ev', device: 'dev', ...opts });
    assert.deepEqual(
      [comp.devices[0].held, comp.devices[0].highest, comp.devices[0].contiguous, comp.devices[0].completeness],
      [String(e.events), String(e.events), String(e.events), 1],
      `member ${i}: every acknowledged append exactly once`,
    );
  }
});
