// Deterministic member and cluster ids. Every founding member computes every other
// founder's id from the same flags (name, token, peer URLs), so a new cluster agrees on
// its ids without talking first — the role etcd's id derivation plays.
//
// Ids are positive integers below 2^53 so they are exact JavaScript numbers (and still
// fit etcd's uint64 member ids on the wire). 52 bits of sha256 make a collision between
// the few members of a cluster vanishingly unlikely.
import { createHash } from 'node:crypto';
import { assert } from '../util/assert.js';

export const ID_BITS = 52;

function normalizeUrl(url: string): string {
  return url.trim().toLowerCase().replace(/\/+$/, '');
}

function idOf(parts: readonly string[]): number {
  // JSON of an array is an unambiguous encoding: ["a,b"] and ["a","b"] hash differently.
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest();
  // The top 52 bits of the first 64.
  const id = Number(digest.readBigUInt64BE(0) >> BigInt(64 - ID_BITS));
  // 0 means "no member" in Raft; the one hash in 2^52 that gives it is moved to 1.
  const result = id === 0 ? 1 : id;
  assert(Number.isSafeInteger(result) && result > 0 && result < 2 ** ID_BITS, () => `bad derived id ${result}`);
  return result;
}

/**
 * The id of a founding member. The order of `peerUrls` does not matter and URLs are
 * compared in normal form (lower case, no trailing slash).
 */
export function memberIdFor(name: string, initialClusterToken: string, peerUrls: readonly string[]): number {
  assert(name !== '', 'memberIdFor: empty name');
  assert(peerUrls.length > 0, () => `memberIdFor: member ${name} has no peer URLs`);
  const urls = peerUrls.map(normalizeUrl).sort();
  return idOf(['member', name, initialClusterToken, ...urls]);
}

export interface FoundingMember {
  name: string;
  peerUrls: readonly string[];
}

/** The cluster id: from the token and the founding members' ids, in any order. */
export function clusterIdFor(initialClusterToken: string, founders: readonly FoundingMember[]): number {
  assert(founders.length > 0, 'clusterIdFor: no founding members');
  const ids = founders.map((m) => memberIdFor(m.name, initialClusterToken, m.peerUrls)).sort((a, b) => a - b);
  return idOf(['cluster', initialClusterToken, ...ids.map(String)]);
}

/** Ids as etcd prints them (`etcdctl member list`): lower-case hex without leading zeros. */
export function formatId(id: number): string {
  return id.toString(16);
}

/**
 * The id of a member added to a running cluster (MemberAdd carries only peer URLs). The
 * node that adds it and the node that joins compute the same id from the token and URLs.
 */
export function addedMemberIdFor(initialClusterToken: string, peerUrls: readonly string[]): number {
  assert(peerUrls.length > 0, 'addedMemberIdFor: no peer URLs');
  return idOf(['added-member', initialClusterToken, ...peerUrls.map(normalizeUrl).sort()]);
}

/**
 * The cluster id, from the token alone, so a member that joins later (and never saw the
 * founders' flags) computes the same id. Peers refuse calls that carry another cluster id.
 */
export function clusterIdForToken(initialClusterToken: string): number {
  return idOf(['cluster', initialClusterToken]);
}
