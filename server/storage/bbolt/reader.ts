// Reads a bbolt file page by page (random access through `readAt`), so a file larger
// than memory can be walked: memory holds one path from a root to a leaf.
//
//   const db = BboltReader.open(source);
//   for (const name of db.bucketNames()) for (const [k, v] of db.entries(name)) ...

import {
  BRANCH_ELEMENT_BYTES, BUCKET_HEADER_BYTES, BUCKET_LEAF_FLAG, DEFAULT_PAGE_SIZE, LEAF_ELEMENT_BYTES,
  PAGE_HEADER_BYTES, PageFlag, decodeMetaPage, readPageHeader, type Meta,
} from './layout.js';
import type { Entry } from './writer.js';

/** Random access to the file's bytes; returns fewer bytes only at the end of the file. */
export interface ByteSource {
  readAt(offset: number, length: number): Buffer;
  readonly size: number;
}

export class BboltFormatError extends Error {
  override readonly name = 'BboltFormatError';
}

/** A page (or an inline bucket's page) and where its bytes are. */
interface PageView {
  buf: Buffer;
  at: number;
  flags: number;
  count: number;
}

interface RawLeaf {
  flags: number;
  key: Buffer;
  value: Buffer;
}

/** Deeper than any real tree (a 4 KiB branch holds at least two children): a cycle guard. */
const TREE_DEPTH_MAX = 64;

export class BboltReader {
  private constructor(
    private readonly src: ByteSource,
    readonly meta: Meta,
  ) {}

  static open(src: ByteSource): BboltReader {
    const first = src.readAt(0, DEFAULT_PAGE_SIZE);
    const m0 = decodeMetaPage(first);
    const pageSize = typeof m0 === 'string' ? DEFAULT_PAGE_SIZE : m0.pageSize;
    const m1 = decodeMetaPage(src.readAt(pageSize, pageSize));
    const valid = [m0, m1].filter((m): m is Meta => typeof m !== 'string');
    if (valid.length === 0) {
      throw new BboltFormatError(`not a bbolt file: meta page 0: ${String(m0)}; meta page 1: ${String(m1)}`);
    }
    const meta = valid.reduce((a, b) => (b.txid > a.txid ? b : a));
    if (meta.pgid * meta.pageSize > src.size) {
      throw new BboltFormatError(`truncated bbolt file: ${src.size} bytes, its meta says ${meta.pgid} pages of ${meta.pageSize}`);
    }
    return new BboltReader(src, meta);
  }

  /** The top-level bucket names, in key order. */
  bucketNames(): Uint8Array[] {
    const names: Uint8Array[] = [];
    for (const e of this.walk(this.page(this.meta.root), 0)) {
      if (e.flags & BUCKET_LEAF_FLAG) names.push(e.key);
    }
    return names;
  }

  /** The entries of a top-level bucket in key order (nested buckets skipped); none if absent. */
  *entries(name: Uint8Array | string): Generator<Entry> {
    const want = typeof name === 'string' ? Buffer.from(name) : Buffer.from(name);
    for (const e of this.walk(this.page(this.meta.root), 0)) {
      if (!(e.flags & BUCKET_LEAF_FLAG) || !want.equals(e.key)) continue;
      for (const item of this.walk(this.bucketRoot(e.value), 0)) {
        if (!(item.flags & BUCKET_LEAF_FLAG)) yield [item.key, item.value];
      }
      return;
    }
  }

  private bucketRoot(value: Uint8Array): PageView {
    if (value.length < BUCKET_HEADER_BYTES) throw new BboltFormatError('a bucket value shorter than its header');
    const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    const root = Number(buf.readBigUInt64LE(0));
    if (root !== 0) return this.page(root);
    const h = readPageHeader(buf, BUCKET_HEADER_BYTES);
    return { buf, at: BUCKET_HEADER_BYTES, flags: h.flags, count: h.count };
  }

  private page(pgid: number): PageView {
    const size = this.meta.pageSize;
    if (pgid < 2 || pgid >= this.meta.pgid) throw new BboltFormatError(`page ${pgid} is outside the file's ${this.meta.pgid} pages`);
    let buf = this.src.readAt(pgid * size, size);
    const h = readPageHeader(buf, 0);
    if (h.id !== pgid) throw new BboltFormatError(`page ${pgid} says it is page ${h.id}`);
    if (h.overflow > 0) buf = this.src.readAt(pgid * size, (h.overflow + 1) * size);
    return { buf, at: 0, flags: h.flags, count: h.count };
  }

  private *walk(p: PageView, depth: number): Generator<RawLeaf> {
    if (depth > TREE_DEPTH_MAX) throw new BboltFormatError('bbolt tree deeper than any real one (a page cycle?)');
    const els = p.at + PAGE_HEADER_BYTES;
    if (p.flags & PageFlag.leaf) {
      for (let i = 0; i < p.count; i++) {
        const el = els + i * LEAF_ELEMENT_BYTES;
        const flags = p.buf.readUInt32LE(el);
        const pos = el + p.buf.readUInt32LE(el + 4);
        const ks = p.buf.readUInt32LE(el + 8);
        const vs = p.buf.readUInt32LE(el + 12);
        if (pos + ks + vs > p.buf.length) throw new BboltFormatError('a leaf element runs past its page');
        yield { flags, key: p.buf.subarray(pos, pos + ks), value: p.buf.subarray(pos + ks, pos + ks + vs) };
      }
    } else if (p.flags & PageFlag.branch) {
      for (let i = 0; i < p.count; i++) {
        const el = els + i * BRANCH_ELEMENT_BYTES;
        yield* this.walk(this.page(Number(p.buf.readBigUInt64LE(el + 8))), depth + 1);
      }
    } else {
      throw new BboltFormatError(`page with flags 0x${p.flags.toString(16)} where a branch or leaf belongs`);
    }
  }
}

/** A ByteSource over bytes in memory (tests, small files). */
export function bufferSource(buf: Uint8Array): ByteSource {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return { size: b.length, readAt: (offset, length) => b.subarray(offset, offset + length) };
}
