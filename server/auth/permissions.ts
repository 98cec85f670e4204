// Permission checks by key range, with etcd's semantics (server/auth/range_perm_cache.go):
// a user's roles are merged into one set of read intervals and one of write intervals; a
// single-key request is allowed when some interval holds the key, a range request when the
// intervals together cover the whole range. A permission on one key covers [key, key+"\0").
// Users with the root role may do anything.

import { compareBytes } from '../util/bytes.js';
import { PermType, ROOT_ROLE, type Permission, type Role, type User } from './types.js';

/** [begin, end); end undefined: no upper bound. */
export interface Interval {
  begin: Uint8Array;
  end: Uint8Array | undefined;
}

/** A user's merged permissions, sorted by begin. */
export interface MergedPerms {
  read: Interval[];
  write: Interval[];
}

export function isOpenEnded(rangeEnd: Uint8Array): boolean {
  return rangeEnd.length === 1 && rangeEnd[0] === 0;
}

function keySuccessor(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/** The interval a stored permission grants. */
export function permissionInterval(p: Permission): Interval {
  if (p.rangeEnd.length === 0) return { begin: p.key, end: keySuccessor(p.key) };
  return { begin: p.key, end: isOpenEnded(p.rangeEnd) ? undefined : p.rangeEnd };
}

/**
 * etcd's isValidPermissionRange: a non-empty key with no range end, a range end after the
 * key, or "\0" (open-ended).
 */
export function isValidPermissionRange(key: Uint8Array, rangeEnd: Uint8Array): boolean {
  if (key.length === 0) return false;
  if (rangeEnd.length === 0) return true;
  if (isOpenEnded(rangeEnd)) return true;
  return compareBytes(key, rangeEnd) < 0;
}

export function hasRootRole(user: User): boolean {
  return user.roles.includes(ROOT_ROLE);
}

function byBegin(a: Interval, b: Interval): number {
  return compareBytes(a.begin, b.begin);
}

/** Merges the permissions of a user's roles (roles that do not exist grant nothing). */
export function mergePerms(user: User, roles: ReadonlyMap<string, Role>): MergedPerms {
  const read: Interval[] = [];
  const write: Interval[] = [];
  for (const name of user.roles) {
    const role = roles.get(name);
    if (role === undefined) continue;
    for (const p of role.perms) {
      const ivl = permissionInterval(p);
      if (p.permType === PermType.Read || p.permType === PermType.ReadWrite) read.push(ivl);
      if (p.permType === PermType.Write || p.permType === PermType.ReadWrite) write.push(ivl);
    }
  }
  return { read: read.sort(byBegin), write: write.sort(byBegin) };
}

function holdsKey(ivls: readonly Interval[], key: Uint8Array): boolean {
  return ivls.some((i) => compareBytes(i.begin, key) <= 0 && (i.end === undefined || compareBytes(key, i.end) < 0));
}

/** Whether the sorted intervals together cover [begin, end) (end undefined: unbounded). */
function covers(ivls: readonly Interval[], begin: Uint8Array, end: Uint8Array | undefined): boolean {
  if (end !== undefined && compareBytes(begin, end) >= 0) return true; // an empty range
  let reached: Uint8Array = begin;
  for (const i of ivls) {
    if (compareBytes(i.begin, reached) > 0) return false; // a gap before this interval
    if (i.end === undefined) return true;
    if (compareBytes(i.end, reached) > 0) reached = i.end;
    if (end !== undefined && compareBytes(reached, end) >= 0) return true;
  }
  return false;
}

/**
 * Whether merged permissions allow an operation on a request's range: `rangeEnd` empty is
 * the one key, "\0" every key from `key` on (as Range, DeleteRange and Watch spell them).
 */
export function rangePermitted(perms: MergedPerms, type: 'read' | 'write', key: Uint8Array, rangeEnd: Uint8Array): boolean {
  const ivls = type === 'read' ? perms.read : perms.write;
  if (rangeEnd.length === 0) return holdsKey(ivls, key);
  return covers(ivls, key, isOpenEnded(rangeEnd) ? undefined : rangeEnd);
}
