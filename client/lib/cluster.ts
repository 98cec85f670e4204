// The Cluster service: membership. List is a read; add, remove, update and promote are
// not repeatable without a writer identity (a second MemberAdd would be refused as a
// duplicate), so they are retried only when they certainly never left this process.

import type { Caller, CallOptions } from './caller.js';
import { header } from './convert.js';
import { idToWire, toId, type IdLike, type MemberId } from './int64.js';
import { etcdMethods } from './proto.js';
import type { ResponseHeader } from './types.js';
import type { WireHeader, WireMember } from './wire.js';

export interface Member {
  id: MemberId;
  /** Empty until the member has started. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

export interface MemberListResult {
  header: ResponseHeader;
  members: Member[];
}

export function member(m: WireMember): Member {
  return { id: toId(m.ID), name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner };
}

type MembersAnswer = { header: WireHeader | null; members: WireMember[] };

function urls(list: readonly string[], what: string): string[] {
  if (list.length === 0) throw new RangeError(`${what}: at least one peer URL is needed`);
  return [...list];
}

export class Cluster {
  constructor(private readonly caller: Caller) {}

  /** `linearizable` asks the leader's view (through a ReadIndex round) instead of the member's. */
  async list(opts: { linearizable?: boolean } & CallOptions = {}): Promise<MemberListResult> {
    const r = await this.caller.unary<MembersAnswer>(etcdMethods().memberList, { linearizable: opts.linearizable === true }, 'read', opts);
    return { header: header(r.header), members: r.members.map(member) };
  }

  async add(peerUrls: readonly string[], opts: { learner?: boolean } & CallOptions = {}): Promise<MemberListResult & { member: Member }> {
    const req = { peerURLs: urls(peerUrls, 'member add'), isLearner: opts.learner === true };
    const r = await this.caller.unary<MembersAnswer & { member: WireMember | null }>(etcdMethods().memberAdd, req, 'once', opts);
    if (r.member === null) throw new RangeError('member add: the answer names no member');
    return { header: header(r.header), member: member(r.member), members: r.members.map(member) };
  }

  async remove(id: IdLike, opts: CallOptions = {}): Promise<MemberListResult> {
    const r = await this.caller.unary<MembersAnswer>(etcdMethods().memberRemove, { ID: idToWire(id, 'member id') }, 'once', opts);
    return { header: header(r.header), members: r.members.map(member) };
  }

  async update(id: IdLike, peerUrls: readonly string[], opts: CallOptions = {}): Promise<MemberListResult> {
    const req = { ID: idToWire(id, 'member id'), peerURLs: urls(peerUrls, 'member update') };
    const r = await this.caller.unary<MembersAnswer>(etcdMethods().memberUpdate, req, 'once', opts);
    return { header: header(r.header), members: r.members.map(member) };
  }

  async promote(id: IdLike, opts: CallOptions = {}): Promise<MemberListResult> {
    const r = await this.caller.unary<MembersAnswer>(etcdMethods().memberPromote, { ID: idToWire(id, 'member id') }, 'once', opts);
    return { header: header(r.header), members: r.members.map(member) };
  }
}
