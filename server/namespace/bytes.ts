// Byte helpers for prefixes; order and prefix ends are server/util's (the engine's order
// is bytewise, as there).

import { compareBytes } from '../util/bytes.js';

export { compareBytes, prefixEnd } from '../util/bytes.js';

export type KeyRange = { start: Uint8Array; /** undefined: no upper bound. */ end: Uint8Array | undefined };

export function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > key.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}



/** [a.start, a.end) and [b.start, b.end) share a key. */
export function overlaps(a: KeyRange, b: KeyRange): boolean {
  const aBeforeB = a.end !== undefined && compareBytes(a.end, b.start) <= 0;
  const bBeforeA = b.end !== undefined && compareBytes(b.end, a.start) <= 0;
  return !aBeforeB && !bBeforeA;
}
