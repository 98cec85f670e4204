// Joining a running cluster (--initial-cluster-state existing): before raft starts, the
// new member asks the members named in its flags for the cluster's member list.
//
// Why ask instead of deriving ids from the flags: a founder's id comes from its name, but
// a member added later got an id from its peer URLs (MemberAdd carries no name), and the
// flags cannot tell the two apart. The joiner must know every voter's id and address to
// answer it: a leader whose id the joiner got wrong would never hear back and would keep
// probing a follower that drops every reply. etcd does the same (it fetches the cluster
// from its peers' /members before starting).

import type { Logger } from '../util/logger.js';
import type { MembersResponse, PeerMember } from '../transport/peer-proto.js';

/** How long a joining member keeps asking before it gives up and exits. */
export const JOIN_DISCOVERY_TIMEOUT_MS_DEFAULT = 60_000;
/** Pause between two rounds of asking every candidate. */
export const JOIN_DISCOVERY_RETRY_MS = 500;

export interface JoinCandidate {
  name: string;
  /** The URL to dial (a dial-map override or the advertised peer URL). */
  url: string;
}

export interface JoinDiscoveryDeps {
  selfId: number;
  candidates: readonly JoinCandidate[];
  fetchMembers: (url: string) => Promise<MembersResponse | { error: string }>;
  logger: Logger;
  timeoutMs?: number;
  retryMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export class JoinDiscoveryError extends Error {
  override name = 'JoinDiscoveryError';
}

/**
 * Asks each candidate in turn until one answers with a list that contains this member;
 * rounds repeat until the timeout. A list without this member (a stale member, or a
 * MemberAdd with other URLs) is not trusted: another candidate may know better.
 */
export async function discoverMembers(deps: JoinDiscoveryDeps): Promise<PeerMember[]> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const deadline = now() + (deps.timeoutMs ?? JOIN_DISCOVERY_TIMEOUT_MS_DEFAULT);
  const lastError = new Map<string, string>();
  if (deps.candidates.length === 0) {
    throw new JoinDiscoveryError(
      '--initial-cluster-state existing needs --initial-cluster to name at least one running member to learn the cluster from');
  }
  for (;;) {
    for (const c of deps.candidates) {
      const res = await deps.fetchMembers(c.url);
      if ('error' in res) {
        lastError.set(c.name, res.error);
        continue;
      }
      if (res.members.some((m) => m.id === deps.selfId)) {
        deps.logger.info('learned the cluster members from a peer', { peer: c.name, members: res.members.length });
        return res.members;
      }
      lastError.set(c.name, `its member list (${res.members.length} members) does not include this member (id ${deps.selfId.toString(16)})`);
    }
    if (now() >= deadline) break;
    await sleep(deps.retryMs ?? JOIN_DISCOVERY_RETRY_MS);
  }
  const reasons = deps.candidates.map((c) => `${c.name} at ${c.url}: ${lastError.get(c.name) ?? 'not asked'}`).join('; ');
  throw new JoinDiscoveryError(
    `could not learn the cluster's members from any member in --initial-cluster (${reasons}). ` +
    'Check that the cluster is running and reachable, and that this member was added first ' +
    '(etcdctl member add NAME --peer-urls=URL, with exactly this member\'s --initial-advertise-peer-urls).');
}
