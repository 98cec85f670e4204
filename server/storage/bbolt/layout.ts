// bbolt's on-disk layout (go.etcd.io/bbolt, the file etcd's backend is): fixed-size pages,
// each starting with a 16-byte header. Pages 0 and 1 are the two meta pages (the reader
// takes the valid one with the higher txid), the freelist has its own page, and every
// bucket is a B+tree of branch and leaf pages. All integers are little-endian (bbolt
// writes its structs in host order, and every platform etcd ships on is little-endian).
//
// Page header:  id u64 | flags u16 | count u16 | overflow u32
// Meta (at 16): magic u32 | version u32 | pageSize u32 | flags u32 | root {pgid u64,
//               sequence u64} | freelist u64 | pgid (high-water mark) u64 | txid u64 |
//               checksum u64 (FNV-1a 64 over the 56 bytes before it)
// Leaf element:   flags u32 | pos u32 | ksize u32 | vsize u32   (pos from the element)
// Branch element: pos u32 | ksize u32 | pgid u64                (pos from the element)
// A bucket's value in its parent: root u64 | sequence u64, then, when root is 0, the
// bucket's whole (leaf) page inline.

export const PAGE_HEADER_BYTES = 16;
export const LEAF_ELEMENT_BYTES = 16;
export const BRANCH_ELEMENT_BYTES = 16;
export const BUCKET_HEADER_BYTES = 16;
/** Meta fields up to the checksum: what the checksum covers. */
export const META_CHECKSUMMED_BYTES = 56;
export const META_BYTES = META_CHECKSUMMED_BYTES + 8;

export const BBOLT_MAGIC = 0xed0cdaed;
export const BBOLT_VERSION = 2;
/** etcd's bbolt files use the OS page size, 4096 on the platforms it ships for. */
export const DEFAULT_PAGE_SIZE = 4096;

export const PageFlag = {
  branch: 0x01,
  leaf: 0x02,
  meta: 0x04,
  freelist: 0x10,
} as const;

/** A leaf element that is a nested bucket (its value is a bucket header). */
export const BUCKET_LEAF_FLAG = 0x01;

/** Page ids 0 and 1 are the metas; the writer puts the freelist at 2 and data after it. */
export const FREELIST_PGID = 2;
export const FIRST_DATA_PGID = 3;

/** A count field of 0xFFFF on a freelist page means the real count is the first u64. */
export const FREELIST_COUNT_OVERFLOW = 0xffff;

/**
 * bbolt stores a bucket inline (inside its parent's leaf) when its single leaf, header
 * included, is at most a quarter page and holds no nested bucket (bucket.inlineable).
 */
export function maxInlineBucketBytes(pageSize: number): number {
  return pageSize / 4;
}

export interface PageHeader {
  id: number;
  flags: number;
  count: number;
  overflow: number;
}

export function writePageHeader(buf: Buffer, at: number, h: PageHeader): void {
  buf.writeBigUInt64LE(BigInt(h.id), at);
  buf.writeUInt16LE(h.flags, at + 8);
  buf.writeUInt16LE(h.count, at + 10);
  buf.writeUInt32LE(h.overflow, at + 12);
}

export function readPageHeader(buf: Buffer, at: number): PageHeader {
  return {
    id: Number(buf.readBigUInt64LE(at)),
    flags: buf.readUInt16LE(at + 8),
    count: buf.readUInt16LE(at + 10),
    overflow: buf.readUInt32LE(at + 12),
  };
}

export interface Meta {
  pageSize: number;
  /** The root bucket's root page. */
  root: number;
  freelist: number;
  /** High-water mark: the number of pages in use (the file holds at least this many). */
  pgid: number;
  txid: number;
}

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const U64_MASK = 0xffffffffffffffffn;

/** FNV-1a, 64-bit (Go's hash/fnv New64a), the meta page checksum. */
export function fnv64a(bytes: Uint8Array): bigint {
  let h = FNV64_OFFSET;
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV64_PRIME) & U64_MASK;
  return h;
}

/** A whole meta page (page header + meta) for page id `id` (0 or 1). */
export function encodeMetaPage(id: number, m: Meta): Buffer {
  const page = Buffer.alloc(m.pageSize);
  writePageHeader(page, 0, { id, flags: PageFlag.meta, count: 0, overflow: 0 });
  const at = PAGE_HEADER_BYTES;
  page.writeUInt32LE(BBOLT_MAGIC, at);
  page.writeUInt32LE(BBOLT_VERSION, at + 4);
  page.writeUInt32LE(m.pageSize, at + 8);
  page.writeUInt32LE(0, at + 12);
  page.writeBigUInt64LE(BigInt(m.root), at + 16);
  page.writeBigUInt64LE(0n, at + 24);
  page.writeBigUInt64LE(BigInt(m.freelist), at + 32);
  page.writeBigUInt64LE(BigInt(m.pgid), at + 40);
  page.writeBigUInt64LE(BigInt(m.txid), at + 48);
  page.writeBigUInt64LE(fnv64a(page.subarray(at, at + META_CHECKSUMMED_BYTES)), at + META_CHECKSUMMED_BYTES);
  return page;
}

/** The meta in a meta page, or a reason it is not valid (bbolt's meta.validate). */
export function decodeMetaPage(page: Buffer): Meta | string {
  const at = PAGE_HEADER_BYTES;
  if (page.length < at + META_BYTES) return 'meta page is truncated';
  if (page.readUInt32LE(at) !== BBOLT_MAGIC) return 'invalid magic (not a bbolt file)';
  if (page.readUInt32LE(at + 4) !== BBOLT_VERSION) return `unsupported bbolt version ${page.readUInt32LE(at + 4)}`;
  const sum = page.readBigUInt64LE(at + META_CHECKSUMMED_BYTES);
  if (sum !== fnv64a(page.subarray(at, at + META_CHECKSUMMED_BYTES))) return 'meta checksum mismatch';
  return {
    pageSize: page.readUInt32LE(at + 8),
    root: Number(page.readBigUInt64LE(at + 16)),
    freelist: Number(page.readBigUInt64LE(at + 32)),
    pgid: Number(page.readBigUInt64LE(at + 40)),
    txid: Number(page.readBigUInt64LE(at + 48)),
  };
}

/** An empty freelist page: the writer allocates every page it uses and frees none. */
export function encodeEmptyFreelistPage(id: number, pageSize: number): Buffer {
  const page = Buffer.alloc(pageSize);
  writePageHeader(page, 0, { id, flags: PageFlag.freelist, count: 0, overflow: 0 });
  return page;
}
