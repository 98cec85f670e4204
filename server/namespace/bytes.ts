// Byte helpers for prefixes (server/namespace imports only server/util, so these few are
// its own; the engine's order is bytewise, as here).

export type KeyRange = { start: Uint8Array; /** undefined: no upper bound. */ end: Uint8Array | undefined };

export function startsWith(key: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > key.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The smallest key above every key with this prefix; undefined when none (prefix "" or all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = end[i]! + 1;
      return end;
    }
  }
  return undefined;
}

/** [a.start, a.end) and [b.start, b.end) share a key. */
export function overlaps(a: KeyRange, b: KeyRange): boolean {
  const aBeforeB = a.end !== undefined && compareBytes(a.end, b.start) <= 0;
  const bBeforeA = b.end !== undefined && compareBytes(b.end, a.start) <= 0;
  return !aBeforeB && !bBeforeA;
}
