// The Cluster service: membership changes and listing. Member ids are uint64 on the
// wire; an id the backend cannot have issued (>= 2^53) is "member not found".

import type { ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Backend, Member } from './backend.js';
import { idFromWire } from './convert.js';
import { EtcdErrors } from './errors.js';
import { answer, header } from './respond.js';
import type { Int64 } from './wire.js';

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

/** Peer URLs must be absolute http(s) URLs with a host and port, at least one. */
export function checkPeerUrls(urls: string[]): void {
  if (urls.length === 0) throw EtcdErrors.memberBadUrls;
  for (const text of urls) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw EtcdErrors.memberBadUrls;
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '' || url.port === '') {
      throw EtcdErrors.memberBadUrls;
    }
  }
}

function memberId(s: Int64): number {
  const id = idFromWire(s);
  if (id === undefined || id === 0) throw EtcdErrors.memberNotFound;
  return id;
}

/**
 * etcd's ClusterServer answers with cluster id, member id and raft term only: membership
 * is not in the key space, so its header carries no revision (0), in 3.4 and 3.5 alike.
 */
export const CLUSTER_HEADER_REVISION = 0;

export function clusterService(backend: Backend): UntypedServiceImplementation {
  const membersAnswer = (members: Member[]): unknown => {
    const h = backend.headerInfo();
    return { header: header(h, CLUSTER_HEADER_REVISION), members };
  };

  const MemberAdd: Unary<{ peerURLs: string[]; isLearner: boolean }> = (call, cb) =>
    answer(
      cb,
      () => {
        checkPeerUrls(call.request.peerURLs);
        return backend.memberAdd(call.request.peerURLs, call.request.isLearner);
      },
      (r) => {
        const h = backend.headerInfo();
        return { header: header(h, CLUSTER_HEADER_REVISION), member: r.member, members: r.members };
      },
    );

  const MemberRemove: Unary<{ ID: Int64 }> = (call, cb) =>
    answer(cb, () => backend.memberRemove(memberId(call.request.ID)), membersAnswer);

  const MemberUpdate: Unary<{ ID: Int64; peerURLs: string[] }> = (call, cb) =>
    answer(
      cb,
      () => {
        const id = memberId(call.request.ID);
        checkPeerUrls(call.request.peerURLs);
        return backend.memberUpdate(id, call.request.peerURLs);
      },
      membersAnswer,
    );

  const MemberList: Unary<{ linearizable: boolean }> = (call, cb) =>
    answer(cb, () => backend.memberList(call.request.linearizable), membersAnswer);

  const MemberPromote: Unary<{ ID: Int64 }> = (call, cb) =>
    answer(cb, () => backend.memberPromote(memberId(call.request.ID)), membersAnswer);

  return { MemberAdd, MemberRemove, MemberUpdate, MemberList, MemberPromote };
}
