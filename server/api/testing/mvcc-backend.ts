// An in-process Backend for API-layer tests only: the real MvccStore over the in-memory
// engine, applied in call order without Raft (one "log index" per write), a real
// Lessor with the system clock, and a single-member "cluster" kept in memory. It lets
// the handlers be exercised end to end over gRPC (etcdctl, the etcd3 client) before the
// region node exists. Not for production: no replication, no durability.

import { MvccError, MvccStore, isReadOnlyTxn, Lessor, responseError } from '../../mvcc/index.js';
import type { Command, CommandResponse } from '../../mvcc/index.js';
import { openMemoryEngine, type Engine } from '../../storage/index.js';
import { systemClock } from '../../util/system-clock.js';
import type { CrdtBackend } from '../crdt-backend.js';
import type {
  AlarmAction,
  AlarmMember,
  AlarmType,
  Backend,
  BackendWatcher,
  HeaderInfo,
  Member,
  RequestIdentity,
  SnapshotStream,
  StatusInfo,
} from '../backend.js';

export const TEST_CLUSTER_ID = '14841639068965178418'; // > 2^53: exercised as a string
export const TEST_MEMBER_ID = 0x1234;
export const TEST_RAFT_TERM = 2;
const LEASE_SWEEP_MS = 250;

type Answer<T extends CommandResponse['type']> = Extract<CommandResponse, { type: T }>;

function err(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

export class MvccTestBackend implements Backend {
  private index = 0;
  private nextMemberId = TEST_MEMBER_ID + 1;
  private readonly lessor: Lessor;
  private readonly sweeper: NodeJS.Timeout;
  members: Member[];
  /** When set, every call fails with it (to test error mapping end to end). */
  failWith: Error | undefined;
  /** regionstore.v1.Crdt, when a test provides one (startTestApi's `crdt`). */
  crdtOps?: CrdtBackend;

  private constructor(
    readonly store: MvccStore,
    private readonly engine: Engine,
    clientUrl: string,
  ) {
    this.members = [
      { ID: TEST_MEMBER_ID, name: 'test', peerURLs: ['http://127.0.0.1:2380'], clientURLs: [clientUrl], isLearner: false },
    ];
    this.lessor = new Lessor(store, systemClock);
    this.lessor.promote(0);
    this.sweeper = setInterval(() => void this.sweep(), LEASE_SWEEP_MS);
    this.sweeper.unref();
  }

  static async open(clientUrl = 'http://127.0.0.1:2379'): Promise<MvccTestBackend> {
    const engine = await openMemoryEngine();
    return new MvccTestBackend(await MvccStore.open(engine), engine, clientUrl);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.lessor.close();
    await this.store.idle();
    await this.engine.close();
  }

  private async sweep(): Promise<void> {
    for (const id of this.lessor.expired()) {
      await this.exec({ type: 'leaseRevoke', leaseRevoke: { id } }, 'leaseRevoke').catch(() => undefined);
    }
  }

  private async exec<T extends CommandResponse['type']>(
    cmd: Command,
    type: T,
    id?: RequestIdentity,
  ): Promise<Answer<T>> {
    if (this.failWith !== undefined) throw this.failWith;
    if (id !== undefined) cmd.client = id;
    const { response } = await this.store.apply(++this.index, cmd);
    const e = responseError(response);
    if (e !== undefined) throw e;
    if (response === undefined || response.type !== type) throw new Error(`unexpected answer to ${cmd.type}`);
    return response as Answer<T>;
  }

  private check(): void {
    if (this.failWith !== undefined) throw this.failWith;
  }

  headerInfo(): HeaderInfo {
    return {
      clusterId: TEST_CLUSTER_ID,
      memberId: TEST_MEMBER_ID,
      raftTerm: TEST_RAFT_TERM,
      revision: this.store.currentRevision,
    };
  }

  async range(req: Parameters<Backend['range']>[0]) {
    this.check();
    return this.store.range(req);
  }
  async put(req: Parameters<Backend['put']>[0], id?: RequestIdentity) {
    return (await this.exec({ type: 'put', put: req }, 'put', id)).put;
  }
  async deleteRange(req: Parameters<Backend['deleteRange']>[0], id?: RequestIdentity) {
    return (await this.exec({ type: 'deleteRange', deleteRange: req }, 'deleteRange', id)).deleteRange;
  }
  async txn(req: Parameters<Backend['txn']>[0], id?: RequestIdentity) {
    this.check();
    if (isReadOnlyTxn(req)) return this.store.readTxn(req);
    return (await this.exec({ type: 'txn', txn: req }, 'txn', id)).txn;
  }
  async compact(req: Parameters<Backend['compact']>[0], id?: RequestIdentity) {
    return (await this.exec({ type: 'compact', compact: req }, 'compact', id)).compact;
  }
  watch(req: Parameters<Backend['watch']>[0]): BackendWatcher {
    this.check();
    return this.store.watchHub.watch(req);
  }
  async leaseGrant(req: Parameters<Backend['leaseGrant']>[0], id?: RequestIdentity) {
    return (await this.exec({ type: 'leaseGrant', leaseGrant: req }, 'leaseGrant', id)).leaseGrant;
  }
  async leaseRevoke(leaseId: number, id?: RequestIdentity) {
    return (await this.exec({ type: 'leaseRevoke', leaseRevoke: { id: leaseId } }, 'leaseRevoke', id)).leaseRevoke;
  }
  async leaseKeepAlive(leaseId: number) {
    this.check();
    const ttl = this.lessor.renew(leaseId);
    if (ttl === undefined) throw new MvccError('lease-not-found');
    return { revision: this.store.currentRevision, ttl };
  }
  async leaseTimeToLive(leaseId: number, keys: boolean) {
    this.check();
    const l = this.store.leaseTimeToLive(leaseId, keys);
    if (l === undefined) throw new MvccError('lease-not-found');
    const ttl = this.lessor.remainingTtl(leaseId) ?? l.grantedTtl;
    return { revision: this.store.currentRevision, ttl, grantedTtl: l.grantedTtl, keys: l.keys };
  }
  async leaseLeases() {
    this.check();
    return { revision: this.store.currentRevision, ids: this.store.leases().map((l) => l.id) };
  }

  async memberAdd(peerURLs: string[], isLearner: boolean) {
    this.check();
    if (this.members.some((m) => m.peerURLs.some((u) => peerURLs.includes(u)))) {
      throw err('peer-url-exists', 'peer URL in use');
    }
    const member: Member = { ID: this.nextMemberId++, name: '', peerURLs, clientURLs: [], isLearner };
    this.members = [...this.members, member];
    return { member, members: this.members };
  }
  private find(id: number): Member {
    const m = this.members.find((x) => x.ID === id);
    if (m === undefined) throw err('member-not-found', `member ${id} not found`);
    return m;
  }
  async memberRemove(id: number) {
    this.find(id);
    this.members = this.members.filter((m) => m.ID !== id);
    return this.members;
  }
  async memberUpdate(id: number, peerURLs: string[]) {
    const m = this.find(id);
    this.members = this.members.map((x) => (x === m ? { ...m, peerURLs } : x));
    return this.members;
  }
  async memberList(_linearizable: boolean) {
    this.check();
    return this.members;
  }
  async memberPromote(id: number) {
    const m = this.find(id);
    if (!m.isLearner) throw err('member-not-learner', 'not a learner');
    this.members = this.members.map((x) => (x === m ? { ...m, isLearner: false } : x));
    return this.members;
  }

  async status(): Promise<StatusInfo> {
    this.check();
    const dbSize = await this.engine.approximateSize();
    return {
      leader: TEST_MEMBER_ID,
      raftIndex: this.index,
      raftTerm: TEST_RAFT_TERM,
      raftAppliedIndex: this.store.appliedIndex,
      dbSize,
      dbSizeInUse: dbSize,
      isLearner: false,
      errors: [],
    };
  }
  async alarm(action: AlarmAction, memberId: number, alarm: AlarmType): Promise<AlarmMember[]> {
    const res = await this.exec({ type: 'alarm', alarm: { action, memberId, alarm } }, 'alarm');
    return res.alarm.alarms.map((a) => ({ memberID: a.memberId, alarm: a.alarm }));
  }
  async defragment(): Promise<void> {}
  async hash(): Promise<number> {
    return (await this.store.hashKV(0)).hash;
  }
  hashKV(revision: number) {
    return this.store.hashKV(revision);
  }
  async moveLeader(target: number): Promise<void> {
    if (!this.members.some((m) => m.ID === target)) throw err('bad-leader-transferee', 'unknown member');
  }

  /** Every engine pair as (u32 key length, key, u32 value length, value), in key order. */
  async snapshot(): Promise<SnapshotStream> {
    await this.store.idle();
    const parts: Buffer[] = [];
    for await (const [k, v] of this.engine.iterate()) {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(k.length);
      const mid = Buffer.alloc(4);
      mid.writeUInt32BE(v.length);
      parts.push(head, Buffer.from(k), mid, Buffer.from(v));
    }
    const all = Buffer.concat(parts);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let off = 0; off < all.length; off += 1000) yield all.subarray(off, off + 1000);
    }
    return { sizeBytes: all.length, chunks: chunks() };
  }
}
