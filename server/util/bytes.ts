// Byte-string helpers every layer shares (keys are bytes, ordered bytewise as RocksDB and
// etcd order them). Pure: no Buffer, so the pure cores (crdt, namespace) may use them.

/** Bytewise lexicographic order, the order both engines and etcd sort keys in. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The smallest key greater than every key that starts with `prefix`, or undefined when
 * there is none (the prefix is empty or all 0xff): then the range has no upper bound
 * (etcd spells that range end "\0").
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      // A copy even for a Buffer (whose slice() is a view): the caller's prefix stays as it was.
      const end = Uint8Array.prototype.slice.call(prefix, 0, i + 1);
      end[i] = end[i]! + 1;
      return end;
    }
  }
  return undefined;
}
