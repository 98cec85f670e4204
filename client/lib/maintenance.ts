// The Maintenance service: per-member status (and all members at once), hashes, leader
// transfer, alarms, defragmentation, and the snapshot stream (to an iterator, a file or
// any writable stream).

import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Metadata } from '@grpc/grpc-js';
import type { Caller, CallOptions } from './caller.js';
import { header } from './convert.js';
import { errorFromStatus, RegionstoreError } from './errors.js';
import { idToWire, toId, toNumber, type IdLike, type MemberId } from './int64.js';
import { etcdMethods } from './proto.js';
import { attemptErrorOf } from './rpc.js';
import type { ResponseHeader } from './types.js';
import type { WireHeader, WireSnapshotResponse, WireStatusResponse } from './wire.js';

export interface MemberStatus {
  /** host:port asked. */
  endpoint: string;
  header: ResponseHeader;
  memberId: MemberId;
  version: string;
  dbSize: number;
  dbSizeInUse: number;
  /** The leader this member knows, "0" for none. */
  leader: MemberId;
  isLeader: boolean;
  isLearner: boolean;
  raftIndex: number;
  raftTerm: number;
  raftAppliedIndex: number;
  errors: string[];
}

export type EndpointStatus = { endpoint: string; status: MemberStatus } | { endpoint: string; error: RegionstoreError };

export const AlarmType = { none: 0, nospace: 1, corrupt: 2 } as const;
export type AlarmType = keyof typeof AlarmType;
const AlarmAction = { get: 0, activate: 1, deactivate: 2 } as const;
export type AlarmAction = keyof typeof AlarmAction;

export interface AlarmMember {
  memberId: MemberId;
  alarm: AlarmType;
}

export interface HashKVResult {
  header: ResponseHeader;
  hash: number;
  compactRevision: number;
  hashRevision: number;
}

function memberStatus(endpoint: string, s: WireStatusResponse): MemberStatus {
  const h = header(s.header);
  const leader = toId(s.leader);
  return {
    endpoint,
    header: h,
    memberId: h.memberId,
    version: s.version,
    dbSize: toNumber(s.dbSize, 'dbSize'),
    dbSizeInUse: toNumber(s.dbSizeInUse, 'dbSizeInUse'),
    leader,
    isLeader: leader !== '0' && leader === h.memberId,
    isLearner: s.isLearner,
    raftIndex: toNumber(s.raftIndex, 'raftIndex'),
    raftTerm: toNumber(s.raftTerm, 'raftTerm'),
    raftAppliedIndex: toNumber(s.raftAppliedIndex, 'raftAppliedIndex'),
    errors: s.errors,
  };
}

export class Maintenance {
  constructor(private readonly caller: Caller) {}

  /** The status of one member (`endpoint`), or of whichever member the client picks. */
  async status(opts: CallOptions = {}): Promise<MemberStatus> {
    const s = await this.caller.unary<WireStatusResponse>(etcdMethods().status, {}, 'read', opts);
    const pool = this.caller.pool;
    const memberId = toId(s.header?.memberId);
    const endpoint = opts.endpoint !== undefined
      ? pool.byAddress(opts.endpoint).address
      : (pool.endpoints.find((e) => e.memberId === memberId)?.address ?? '');
    return memberStatus(endpoint, s);
  }

  /** Every endpoint's status, or why it did not answer. */
  statusAll(opts: Omit<CallOptions, 'endpoint'> = {}): Promise<EndpointStatus[]> {
    return Promise.all(this.caller.pool.endpoints.map(async (e): Promise<EndpointStatus> => {
      try {
        return { endpoint: e.address, status: await this.status({ ...opts, endpoint: e.address }) };
      } catch (err) {
        if (err instanceof RegionstoreError) return { endpoint: e.address, error: err };
        throw err;
      }
    }));
  }

  async hash(opts: CallOptions = {}): Promise<number> {
    return (await this.caller.unary<{ hash: number }>(etcdMethods().hash, {}, 'read', opts)).hash;
  }

  /** Hash of the keys' history up to `revision` (0: the latest) on one member. */
  async hashKV(revision = 0, opts: CallOptions = {}): Promise<HashKVResult> {
    const r = await this.caller.unary<{ header: WireHeader | null; hash: number; compactRevision: string; hashRevision: string }>(
      etcdMethods().hashKV, { revision: String(revision) }, 'read', opts);
    const h = header(r.header);
    // etcd 3.6 answers hash_revision; 3.5 (and regionstore) put the hashed revision in the header.
    const hashRevision = toNumber(r.hashRevision, 'hashRevision');
    return {
      header: h,
      hash: r.hash,
      compactRevision: toNumber(r.compactRevision, 'compactRevision'),
      hashRevision: hashRevision > 0 ? hashRevision : h.revision,
    };
  }

  /** Transfers leadership to the member `targetId`; sent to the leader (found again if it moved). */
  async moveLeader(targetId: IdLike, opts: Omit<CallOptions, 'endpoint'> = {}): Promise<ResponseHeader> {
    const r = await this.caller.unary<{ header: WireHeader | null }>(
      etcdMethods().moveLeader, { targetID: idToWire(targetId, 'member id') }, 'idempotent', opts);
    return header(r.header);
  }

  async alarm(action: AlarmAction, opts: { memberId?: IdLike; alarm?: AlarmType } & CallOptions = {}): Promise<AlarmMember[]> {
    const req = {
      action: AlarmAction[action],
      memberID: opts.memberId === undefined ? '0' : idToWire(opts.memberId, 'member id'),
      alarm: AlarmType[opts.alarm ?? 'none'],
    };
    const r = await this.caller.unary<{ alarms: Array<{ memberID: string; alarm: number }> }>(
      etcdMethods().alarm, req, action === 'get' ? 'read' : 'idempotent', opts);
    const names = Object.keys(AlarmType) as AlarmType[];
    return r.alarms.map((a) => ({ memberId: toId(a.memberID), alarm: names[a.alarm] ?? 'none' }));
  }

  /** Compacts one member's storage (`endpoint`, or the one the client picks). */
  async defragment(opts: CallOptions = {}): Promise<ResponseHeader> {
    const r = await this.caller.unary<{ header: WireHeader | null }>(etcdMethods().defragment, {}, 'idempotent', opts);
    return header(r.header);
  }

  /**
   * A consistent copy of one member's store, as chunks. Not retried: a broken stream
   * fails the iteration (start again).
   */
  async *snapshot(opts: CallOptions = {}): AsyncGenerator<Buffer> {
    const ep = opts.endpoint === undefined ? this.caller.pool.pick('leader') : this.caller.pool.byAddress(opts.endpoint);
    const m = etcdMethods().snapshot;
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    const call = ep.conn().makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, new Metadata(), { deadline });
    const onAbort = (): void => call.cancel();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const res of call as AsyncIterable<WireSnapshotResponse>) {
        if (res.blob.length > 0) yield res.blob;
      }
    } catch (err) {
      const f = attemptErrorOf(err);
      throw errorFromStatus({ code: f.code, details: f.details, endpoint: ep.address });
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      call.cancel();
    }
  }

  /** Writes a snapshot to `out` (ended afterwards); resolves with the bytes written. */
  async snapshotToStream(out: Writable, opts: CallOptions = {}): Promise<number> {
    let bytes = 0;
    const snapshot = this.snapshot(opts);
    await pipeline(async function* count() {
      for await (const chunk of snapshot) {
        bytes += chunk.length;
        yield chunk;
      }
    }, out);
    return bytes;
  }

  /** Writes a snapshot to `path` (through `path.part`, renamed once complete); resolves with its size. */
  async snapshotToFile(path: string, opts: CallOptions = {}): Promise<number> {
    const part = `${path}.part`;
    try {
      const bytes = await this.snapshotToStream(createWriteStream(part), opts);
      await rename(part, path);
      return bytes;
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
  }
}
