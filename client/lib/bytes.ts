// Keys and values are bytes on the wire. The API takes strings (UTF-8) or bytes and
// hands back Buffers (a Uint8Array with toString()); these helpers convert, and compute
// the range end of a prefix as etcd does.

/** A key or value as the caller gives it: a UTF-8 string or raw bytes. */
export type BytesLike = string | Uint8Array;

const EMPTY = Buffer.alloc(0);

export function toBuffer(b: BytesLike | undefined): Buffer {
  if (b === undefined) return EMPTY;
  if (typeof b === 'string') return Buffer.from(b, 'utf8');
  if (Buffer.isBuffer(b)) return b;
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** The bytes as UTF-8 text. */
export function text(b: Uint8Array): string {
  return toBuffer(b).toString('utf8');
}

/** "\0": as a range end, every key >= the start key. */
export const FROM_KEY = Buffer.from([0]);

/**
 * The smallest key greater than every key with this prefix: the prefix with its last
 * byte below 0xff incremented and the rest dropped. A prefix of only 0xff bytes (or
 * empty) has no such key, so the range is "every key from here" ("\0").
 */
export function prefixEnd(prefix: BytesLike): Buffer {
  const p = toBuffer(prefix);
  for (let i = p.length - 1; i >= 0; i--) {
    if ((p[i] as number) < 0xff) {
      const end = Buffer.from(p.subarray(0, i + 1));
      end[i] = (p[i] as number) + 1;
      return end;
    }
  }
  return FROM_KEY;
}
