// The API's options to etcd request messages (field names as proto-loader takes them).

import { FROM_KEY, prefixEnd, toBuffer, type BytesLike } from './bytes.js';
import { idToWire, type IdLike } from './int64.js';

/** Which keys a request covers, besides its key. At most one of these. */
export interface KeyRange {
  /** Every key with `key` as a prefix. */
  prefix?: boolean;
  /** Every key >= `key`. */
  fromKey?: boolean;
  /** Keys in [key, rangeEnd). */
  rangeEnd?: BytesLike;
}

export const SortTarget = { key: 0, version: 1, create: 2, mod: 3, value: 4 } as const;
export type SortTarget = keyof typeof SortTarget;
export const SortOrder = { none: 0, ascend: 1, descend: 2 } as const;
export type SortOrder = keyof typeof SortOrder;

export interface RangeOptions extends KeyRange {
  /** At most this many keys (0: no limit). */
  limit?: number;
  /** Read at this revision (0: the latest). */
  revision?: number;
  sort?: { target?: SortTarget; order?: SortOrder };
  /** Serve from the member's local state without a ReadIndex round: may be stale. */
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface PutOptions {
  lease?: IdLike;
  /** Answer with the key's previous value. */
  prevKv?: boolean;
  /** Keep the current value (update the lease only). */
  ignoreValue?: boolean;
  /** Keep the current lease. */
  ignoreLease?: boolean;
}

export interface DeleteOptions extends KeyRange {
  prevKv?: boolean;
}

/**
 * The key a request sends. etcd refuses an empty key even with a range end ("key is not
 * provided"), so a range from the empty key, i.e. prefix "" or from-key "" (every key),
 * starts at "\0", the smallest non-empty key, as etcd's Go client (WithPrefix, WithFromKey)
 * and so `etcdctl get "" --prefix` do. An empty key alone or with an explicit range end is
 * sent as given, and the member answers etcd's error.
 */
export function requestKey(key: BytesLike, r: KeyRange): Buffer {
  const k = toBuffer(key);
  return k.length === 0 && (r.prefix === true || r.fromKey === true) ? FROM_KEY : k;
}

export function rangeEndOf(key: BytesLike, r: KeyRange): Buffer {
  const given = [r.prefix === true, r.fromKey === true, r.rangeEnd !== undefined].filter(Boolean).length;
  if (given > 1) throw new RangeError('give at most one of prefix, fromKey and rangeEnd');
  if (r.prefix === true) return toBuffer(key).length === 0 ? FROM_KEY : prefixEnd(key);
  if (r.fromKey === true) return FROM_KEY;
  return toBuffer(r.rangeEnd);
}

function int(n: number | undefined, what: string): string {
  if (n === undefined) return '0';
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
  return String(n);
}

export function rangeRequest(key: BytesLike, o: RangeOptions = {}): object {
  return {
    key: requestKey(key, o),
    rangeEnd: rangeEndOf(key, o),
    limit: int(o.limit, 'limit'),
    revision: int(o.revision, 'revision'),
    sortOrder: SortOrder[o.sort?.order ?? (o.sort === undefined ? 'none' : 'ascend')],
    sortTarget: SortTarget[o.sort?.target ?? 'key'],
    serializable: o.serializable === true,
    keysOnly: o.keysOnly === true,
    countOnly: o.countOnly === true,
    minModRevision: int(o.minModRevision, 'minModRevision'),
    maxModRevision: int(o.maxModRevision, 'maxModRevision'),
    minCreateRevision: int(o.minCreateRevision, 'minCreateRevision'),
    maxCreateRevision: int(o.maxCreateRevision, 'maxCreateRevision'),
  };
}

export function putRequest(key: BytesLike, value: BytesLike, o: PutOptions = {}): object {
  return {
    key: toBuffer(key),
    value: toBuffer(value),
    lease: o.lease === undefined ? '0' : idToWire(o.lease, 'lease'),
    prevKv: o.prevKv === true,
    ignoreValue: o.ignoreValue === true,
    ignoreLease: o.ignoreLease === true,
  };
}

export function deleteRequest(key: BytesLike, o: DeleteOptions = {}): object {
  return { key: requestKey(key, o), rangeEnd: rangeEndOf(key, o), prevKv: o.prevKv === true };
}
