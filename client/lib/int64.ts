// 64-bit integers on the wire. proto-loader hands them over as decimal strings (longs:
// String), so nothing is rounded on the way in. Revisions, versions, counts and TTLs
// stay far below 2^53 and become numbers (checked); ids (lease, member, cluster) are
// random 64-bit values and stay decimal strings.

import { InvalidResponseError } from './errors.js';

/** A lease id as a decimal string; "0" is "no lease". */
export type LeaseId = string;
/** A member id (uint64) as a decimal string. */
export type MemberId = string;

/** What the API accepts where it wants an id. */
export type IdLike = string | number | bigint;

/** A wire int64/uint64 (string, number or Long-like) as a safe integer number. */
export function toNumber(v: unknown, what: string): number {
  if (v === undefined || v === null || v === '') return 0;
  const n = typeof v === 'number' ? v : Number(String(v));
  if (!Number.isSafeInteger(n)) throw new InvalidResponseError(`${what} ${String(v)} is not a safe integer`);
  return n;
}

/** A wire 64-bit id as a canonical decimal string. */
export function toId(v: unknown): string {
  if (v === undefined || v === null || v === '') return '0';
  return BigInt(String(v)).toString(10);
}

/** An id the caller gave, as the decimal string the wire takes; throws on garbage. */
export function idToWire(id: IdLike, what: string): string {
  let big: bigint;
  try {
    big = BigInt(typeof id === 'number' ? Math.trunc(id) : id);
  } catch {
    throw new RangeError(`${what} must be a decimal integer, got ${JSON.stringify(String(id))}`);
  }
  if (typeof id === 'number' && !Number.isSafeInteger(id)) {
    throw new RangeError(`${what} ${id} is not exact as a number; pass it as a string or bigint`);
  }
  return big.toString(10);
}

/** Hex form, as etcdctl prints member and lease ids. */
export function idToHex(id: IdLike): string {
  return BigInt.asUintN(64, BigInt(id)).toString(16);
}
