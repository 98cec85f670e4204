// The client API's view of a region node (server/api's `Backend`, implemented
// structurally: server/region may not import server/api). Writes go through the Raft log;
// linearizable reads wait for a ReadIndex barrier and then read the local store;
// serializable reads are local at once.

import {
  isReadOnlyTxn,
  type CompactionRequest, type CompactionResponse, type DeleteRangeRequest, type DeleteRangeResponse,
  type LeaseGrantRequest, type LeaseGrantResponse, type LeaseRevokeResponse, type PutRequest, type PutResponse,
  type RangeRequest, type RangeResponse, type TxnRequest, type TxnResponse, type ClientSeq, type Command, type CommandResponse,
  type Event, type WatchRequest, type AlarmMember, type AlarmResponse, AlarmAction, AlarmType,
} from '../mvcc/index.js';
import { QUOTA_LEASE_OVERHEAD_BYTES, putCost, txnCost } from './quota.js';
import { ConfChangeType } from '../raft/index.js';
import { etcdSnapshotStream, writeEtcdSnapshotFile } from './etcd-snapshot.js';
import { RegionError } from './errors.js';
import type { MemberRecord } from './members.js';
import { RegionNode } from './region-node.js';
import { forwardLeaseKeepAlive } from './leader-forward.js';
import { RegionNamespaces } from './namespace-backend.js';
import { RegionCrdt } from './eventual/backend.js';
import { CRDT_OP_BYTES_MAX, CRDT_WRITE_OPS_MAX } from '../eventual/limits.js';
import { EventualRouting } from './eventual-routing.js';
import { RegionAuth } from './region-auth.js';
import type { JwtTokens } from './jwt-tokens.js';
import type { AuthInfo } from '../auth/index.js';
import { EdgeHost } from './edge-host/host.js';
import { serveLeveledRange, type LeveledRange } from './leveled-read.js';
import type { ReadAsk } from '../namespace/index.js';

export interface MemberView {
  ID: number;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** A learner is promoted only when its log is within this fraction of the leader's (etcd: 90%). */
export const LEARNER_READY_FRACTION = 0.9;
/** Learners a cluster may hold at once: etcd's maxLearners (a second learner is refused). */
export const LEARNERS_MAX = 1;
const MOVE_LEADER_TIMEOUT_MS = 5_000;

function view(m: MemberRecord): MemberView {
  return { ID: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner };
}

const ALARM_NAMES = ['NONE', 'NOSPACE', 'CORRUPT'] as const;

/** etcd's Status.errors entry for an alarm: the AlarmMember in protobuf's compact text form. */
export function alarmText(a: AlarmMember): string {
  return `memberID:${a.memberId} alarm:${ALARM_NAMES[a.alarm]} `;
}

function withClient(cmd: Command, id: ClientSeq | undefined): Command {
  return id === undefined ? cmd : { ...cmd, client: id };
}

// The answers of the write proposals (a function each, not a closure per call).
const putAnswer = (res: CommandResponse): PutResponse => (res as { put: PutResponse }).put;
const deleteRangeAnswer = (res: CommandResponse): DeleteRangeResponse => (res as { deleteRange: DeleteRangeResponse }).deleteRange;
const txnAnswer = (res: CommandResponse): TxnResponse => (res as { txn: TxnResponse }).txn;

export class RegionBackend {
  /** The namespace registry's operations (regionstore.v1.Namespaces). */
  readonly namespaceOps: RegionNamespaces;
  /** The eventual namespaces' operations (regionstore.v1.Crdt): server/api's CrdtBackend. */
  readonly crdt: RegionCrdt;
  /** The same, under the name server/api's server looks for (like namespaceOps). */
  readonly crdtOps: RegionCrdt;
  /** Edge sessions (regionstore.v1.EdgeSync) and the known edges (EdgeAdmin): edge-host/host.ts. */
  readonly edgeHost: EdgeHost;
  readonly edgeSyncOps: EdgeHost;
  readonly edgeAdminOps: EdgeHost;
  /** etcd KV writes on eventual keys (DESIGN §2): lww Put/DeleteRange as CRDT writes, the rest refused. */
  private readonly eventual: EventualRouting;
  /** etcd's Auth service and permission checks (region-auth.ts). */
  readonly auth: RegionAuth;

  constructor(readonly node: RegionNode, opts: { bcryptCost?: number; jwt?: JwtTokens } = {}) {
    this.namespaceOps = new RegionNamespaces(node);
    this.crdt = new RegionCrdt(node);
    this.crdtOps = this.crdt;
    const crdt = this.crdt;
    this.eventual = new EventualRouting(node, { write: (req, id) => crdt.writeRevision(req, id) }, { opsMax: CRDT_WRITE_OPS_MAX, opBytesMax: CRDT_OP_BYTES_MAX });
    this.auth = new RegionAuth(node, opts.bcryptCost, opts.jwt);
    this.edgeHost = new EdgeHost(node, this.crdt, node.opts.metrics.sync, node.opts.logger);
    this.edgeSyncOps = this.edgeHost;
    this.edgeAdminOps = this.edgeHost;
  }

  headerInfo() {
    return { clusterId: this.node.clusterId, memberId: this.node.id, raftTerm: this.node.term, revision: this.node.mvcc.currentRevision };
  }

  // ---- KV
  async range(req: RangeRequest): Promise<RangeResponse> {
    if (req.serializable !== true) await this.node.linearizableBarrier();
    return this.node.readLocal((mvcc) => mvcc.range(req));
  }

  /**
   * A Range at a read level (DESIGN §2): the level asked for, else the etcd request's
   * serializable flag, else the default of the namespaces the range touches (the stronger).
   * `deadlineMs` (epoch ms) bounds a session read's wait.
   */
  rangeLeveled(req: RangeRequest, ask: ReadAsk | undefined, deadlineMs: number): Promise<LeveledRange> {
    return serveLeveledRange(this.node, req, ask, deadlineMs);
  }

  /**
   * etcd's v3rpc quota check: a write that would take the state database past
   * --quota-backend-bytes raises a NOSPACE alarm for this member (through Raft, so every
   * member then refuses such writes) and is refused.
   */
  private async checkQuota(cost: number): Promise<void> {
    if (await this.node.quota.available(cost)) return;
    const raise: Command = { type: 'alarm', alarm: { action: AlarmAction.ACTIVATE, memberId: this.node.id, alarm: AlarmType.NOSPACE } };
    await this.node.proposeCommand(raise).catch(() => undefined); // refused either way; the next write retries it
    throw new RegionError('no-space', 'etcdserver: mvcc: database space exceeded');
  }

  /**
   * The quota check of a write, then its proposal, without an async frame while the size is
   * known (every write but the first): a put in flight holds what it allocated here for its
   * whole round trip, long enough on a loaded leader to be promoted (issue 20).
   */
  private proposeWithinQuota(cost: number, cmd: Command, authRevision: number | undefined): Promise<CommandResponse> {
    if (this.node.quota.fitsNow(cost) === true) return this.node.proposeCommand(cmd, authRevision);
    return this.checkQuota(cost).then(() => this.node.proposeCommand(cmd, authRevision));
  }

  put(req: PutRequest, id?: ClientSeq, auth?: AuthInfo): Promise<PutResponse> {
    try {
      const routed = this.eventual.put(req, id);
      if (routed !== undefined) return routed;
      return this.proposeWithinQuota(putCost(req.key, req.value), withClient({ type: 'put', put: req }, id), auth?.revision).then(putAnswer);
    } catch (err) {
      return Promise.reject(err); // as the async method it replaces: a rejection, never a throw
    }
  }

  deleteRange(req: DeleteRangeRequest, id?: ClientSeq, auth?: AuthInfo): Promise<DeleteRangeResponse> {
    try {
      const routed = this.eventual.deleteRange(req, id);
      if (routed !== undefined) return routed;
      return this.node.proposeCommand(withClient({ type: 'deleteRange', deleteRange: req }, id), auth?.revision).then(deleteRangeAnswer);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async txn(req: TxnRequest, id?: ClientSeq, auth?: AuthInfo): Promise<TxnResponse> {
    this.eventual.checkTxn(req);
    if (isReadOnlyTxn(req)) {
      // A txn without writes needs no log entry: a linearizable read of its compares and ranges.
      await this.node.linearizableBarrier();
      return this.node.readLocal((mvcc) => mvcc.readTxn(req));
    }
    return this.proposeWithinQuota(txnCost(req), withClient({ type: 'txn', txn: req }, id), auth?.revision).then(txnAnswer);
  }

  async compact(req: CompactionRequest, id?: ClientSeq): Promise<CompactionResponse> {
    const res = await this.node.proposeCommand(withClient({ type: 'compact', compact: req }, id));
    return (res as { compact: CompactionResponse }).compact;
  }

  // ---- Watch
  /** Safe during a snapshot install: the hub of the store being replaced holds new watches
   *  too and hands them all over to the new store (no read of the old engine meanwhile). */
  watch(req: WatchRequest) {
    return this.node.mvcc.watchHub.watch(req);
  }

  // ---- Lease
  async leaseGrant(req: LeaseGrantRequest, id?: ClientSeq): Promise<LeaseGrantResponse> {
    await this.checkQuota(QUOTA_LEASE_OVERHEAD_BYTES);
    const res = await this.node.proposeCommand(withClient({ type: 'leaseGrant', leaseGrant: req }, id));
    return (res as { leaseGrant: LeaseGrantResponse }).leaseGrant;
  }

  async leaseRevoke(leaseId: number, id?: ClientSeq): Promise<LeaseRevokeResponse> {
    const res = await this.node.proposeCommand(withClient({ type: 'leaseRevoke', leaseRevoke: { id: leaseId } }, id));
    return (res as { leaseRevoke: LeaseRevokeResponse }).leaseRevoke;
  }

  async leaseKeepAlive(leaseId: number): Promise<{ revision: number; ttl: number }> {
    if (!this.node.isLeader) {
      // Expiry is the leader's decision, so a renewal must reach the leader.
      return forwardLeaseKeepAlive(this.node, leaseId);
    }
    const ttl = this.node.lessor.renew(leaseId);
    if (ttl === undefined) throw new RegionError('lease-not-found', 'etcdserver: requested lease not found');
    return { revision: this.node.mvcc.currentRevision, ttl };
  }

  async leaseTimeToLive(leaseId: number, keys: boolean) {
    await this.node.linearizableBarrier();
    return this.node.readLocal((mvcc) => {
      const l = mvcc.leaseTimeToLive(leaseId, keys);
      if (l === undefined) throw new RegionError('lease-not-found', 'etcdserver: requested lease not found');
      const live = this.node.lessor.remainingTtl(leaseId);
      const ttl = live ?? (l.remainingTtl > 0 ? l.remainingTtl : l.grantedTtl);
      return { revision: mvcc.currentRevision, ttl, grantedTtl: l.grantedTtl, keys: l.keys };
    });
  }

  async leaseLeases() {
    await this.node.linearizableBarrier();
    // As etcd (lessor.Leases): the lease that expires first comes first. Only the leader
    // knows deadlines (a follower's leases never expire on their own): there, by id.
    const expiry = (id: number): number => this.node.lessor.remainingTtl(id) ?? Number.POSITIVE_INFINITY;
    return this.node.readLocal((mvcc) => {
      const ids = mvcc.leases().map((l) => l.id).sort((a, b) => expiry(a) - expiry(b) || a - b);
      return { revision: mvcc.currentRevision, ids };
    });
  }

  // ---- Cluster
  async memberAdd(peerURLs: string[], isLearner: boolean) {
    if (peerURLs.length === 0) throw new RegionError('member-bad-urls', 'etcdserver: given member has no peer URLs');
    if (this.node.members.withPeerUrl(peerURLs) !== undefined) {
      throw new RegionError('peer-url-exists', 'etcdserver: Peer URLs already exists');
    }
    const memberId = this.node.opts.idForNewMember(peerURLs);
    if (this.node.members.has(memberId)) throw new RegionError('member-exists', 'etcdserver: member ID already exist');
    if (isLearner && this.node.members.list().filter((m) => m.isLearner).length >= LEARNERS_MAX) {
      throw new RegionError('too-many-learners', 'etcdserver: too many learner members in cluster');
    }
    await this.node.proposeConfChange({
      type: isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode,
      nodeId: memberId,
      context: RegionNode.confContext(peerURLs),
    });
    const member = this.node.members.get(memberId);
    if (member === undefined) throw new RegionError('timeout', 'etcdserver: request timed out');
    return { member: view(member), members: this.node.members.list().map(view) };
  }

  async memberRemove(memberId: number) {
    if (!this.node.members.has(memberId)) throw new RegionError('member-not-found', 'etcdserver: member not found');
    await this.node.proposeConfChange({ type: ConfChangeType.RemoveNode, nodeId: memberId, context: new Uint8Array(0) });
    return this.node.members.list().map(view);
  }

  async memberUpdate(memberId: number, peerURLs: string[]) {
    const m = this.node.members.get(memberId);
    if (m === undefined) throw new RegionError('member-not-found', 'etcdserver: member not found');
    const other = this.node.members.withPeerUrl(peerURLs);
    if (other !== undefined && other.id !== memberId) throw new RegionError('peer-url-exists', 'etcdserver: Peer URLs already exists');
    await this.node.publishMemberUpdate({ id: memberId, peerUrls: peerURLs });
    return this.node.members.list().map(view);
  }

  async memberList(linearizable: boolean) {
    if (linearizable) await this.node.linearizableBarrier();
    return this.node.members.list().map(view);
  }

  async memberPromote(memberId: number) {
    const m = this.node.members.get(memberId);
    if (m === undefined) throw new RegionError('member-not-found', 'etcdserver: member not found');
    if (!m.isLearner) throw new RegionError('member-not-learner', 'etcdserver: can only promote a learner member');
    if (!this.node.isLeader) throw new RegionError('not-leader', 'etcdserver: not leader');
    const st = this.node.status();
    const match = st.progress?.get(memberId)?.match ?? 0;
    if (match < st.lastIndex * LEARNER_READY_FRACTION) {
      throw new RegionError('learner-not-ready', 'etcdserver: can only promote a learner member which is in sync with leader');
    }
    await this.node.proposeConfChange({ type: ConfChangeType.AddNode, nodeId: memberId, context: new Uint8Array(0) });
    return this.node.members.list().map(view);
  }

  // ---- Maintenance
  async status() {
    const st = this.node.status();
    const dbSize = await this.node.dbSize();
    return {
      leader: this.node.leaderId,
      raftIndex: st.lastIndex,
      raftTerm: st.term,
      raftAppliedIndex: st.applied,
      dbSize,
      dbSizeInUse: dbSize,
      isLearner: st.confState.learners.includes(this.node.id),
      errors: [
        ...(this.node.leaderId === 0 ? ['etcdserver: no leader'] : []),
        ...this.node.mvcc.alarms().map(alarmText),
        ...[this.node.storageProblem()].filter((p): p is string => p !== undefined),
      ],
    };
  }

  /** Through the log, every action (GET too, as etcd): every member answers the same alarms. */
  async alarm(action: AlarmAction, memberId: number, alarm: AlarmType): Promise<Array<{ memberID: number; alarm: AlarmType }>> {
    const res = await this.node.proposeCommand({ type: 'alarm', alarm: { action, memberId, alarm } });
    return (res as { alarm: AlarmResponse }).alarm.alarms.map((a) => ({ memberID: a.memberId, alarm: a.alarm }));
  }

  async defragment(): Promise<void> {
    // RocksDB compacts in the background; there is nothing to defragment.
  }

  async hash(): Promise<number> {
    return (await this.node.readLocal((mvcc) => mvcc.hashKV(0))).hash;
  }

  hashKV(revision: number) {
    return this.node.readLocal((mvcc) => mvcc.hashKV(revision));
  }

  async moveLeader(targetMemberId: number): Promise<void> {
    if (!this.node.isLeader) throw new RegionError('not-leader', 'etcdserver: not leader');
    const st = this.node.status();
    if (!st.confState.voters.includes(targetMemberId)) {
      throw new RegionError('bad-leader-transferee', 'etcdserver: bad leader transferee');
    }
    if (targetMemberId === this.node.id) return;
    this.node.transferLeader(targetMemberId);
    const deadline = Date.now() + MOVE_LEADER_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.node.leaderId === targetMemberId) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new RegionError('timeout', 'etcdserver: request timed out, leader transfer took too long');
  }

  async snapshot() {
    // etcd's file format (server/region/etcd-snapshot.ts), built from one consistent view
    // into a scratch file; its exact size is known before the first byte (remaining_bytes).
    return etcdSnapshotStream((path) =>
      this.node.readLocal((mvcc, engine) => {
        const st = this.node.status();
        return writeEtcdSnapshotFile(mvcc, engine, path, {
          term: this.node.term,
          voters: [...st.confState.voters],
          learners: [...st.confState.learners],
          alarms: mvcc.alarms(),
        });
      }),
    );
  }
}

export type { Event };
