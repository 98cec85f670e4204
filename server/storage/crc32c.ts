// CRC-32C (Castagnoli), the checksum RocksDB writes into every WAL record header (and that
// wal-check.ts verifies before a database is opened). Node 20 has no CRC-32C of its own
// (zlib's crc32 is the other polynomial, and only from Node 22), so it is computed here:
// the reflected polynomial 0x82F63B78, eight lookup tables so that the loop consumes eight
// bytes per step ("slicing-by-8"), which reads a WAL at several hundred MiB/s in V8.
//
// RocksDB stores the CRC "masked" (rotated and offset, so a CRC computed over data that
// itself holds CRCs does not come out trivially): maskCrc32c / unmaskCrc32c.

/** The reflected CRC-32C polynomial. */
const CRC32C_POLY_REFLECTED = 0x82f63b78;
/** Tables for the slicing-by-8 loop: TABLES[k][b] is the CRC of byte b followed by k zero bytes. */
const SLICES = 8;
const TABLES: readonly Uint32Array[] = makeTables();
/** RocksDB's mask: rotate right by 15, then add this constant (util/crc32c.h, "kMaskDelta"). */
const CRC_MASK_DELTA = 0xa282ead8;

function makeTables(): Uint32Array[] {
  const tables = Array.from({ length: SLICES }, () => new Uint32Array(256));
  const t0 = tables[0]!;
  for (let b = 0; b < 256; b++) {
    let c = b;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY_REFLECTED : c >>> 1;
    t0[b] = c >>> 0;
  }
  for (let k = 1; k < SLICES; k++) {
    const prev = tables[k - 1]!;
    const cur = tables[k]!;
    for (let b = 0; b < 256; b++) cur[b] = (t0[prev[b]! & 0xff]! ^ (prev[b]! >>> 8)) >>> 0;
  }
  return tables;
}

/** CRC-32C of bytes[start, end). */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let crc = 0xffffffff;
  let i = start;
  // Eight bytes per step: the low four are folded into the running CRC, the high four
  // looked up as they are; each byte's table says how far it still has to travel.
  for (const stop = end - SLICES; i <= stop; i += SLICES) {
    const lo = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc = t7[lo & 0xff]! ^ t6[(lo >>> 8) & 0xff]! ^ t5[(lo >>> 16) & 0xff]! ^ t4[lo >>> 24]! ^
      t3[bytes[i + 4]!]! ^ t2[bytes[i + 5]!]! ^ t1[bytes[i + 6]!]! ^ t0[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = t0[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The masked form RocksDB stores. */
export function maskCrc32c(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + CRC_MASK_DELTA) >>> 0;
}

/** The CRC a stored (masked) value stands for. */
export function unmaskCrc32c(masked: number): number {
  const rot = (masked - CRC_MASK_DELTA) >>> 0;
  return ((rot >>> 17) | (rot << 15)) >>> 0;
}
