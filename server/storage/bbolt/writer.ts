// A streaming bbolt file writer. Buckets are written one after another from sorted
// entries; each bucket's pages go to the sink as soon as they are full, so memory holds
// one leaf plus one (first key, page id) pair per finished page of the bucket being
// written (about 1/40 of the keys for etcd's `key` bucket), never the file.
//
// Page ids are handed out in write order from FIRST_DATA_PGID: leaves first, then each
// branch level above them. The metas (pages 0 and 1) and the empty freelist (page 2) are
// written last by finish(), once the root and the high-water mark are known; a sink that
// must produce the file front to back writes the data pages to a scratch file first.
//
//   const w = new BboltWriter(sink);
//   await w.bucket(bytes('key'), sortedEntries);   // any order of buckets
//   await w.finish();

export { compareBytes } from '../../util/bytes.js';
import { compareBytes } from '../../util/bytes.js';
import {
  BRANCH_ELEMENT_BYTES, BUCKET_HEADER_BYTES, BUCKET_LEAF_FLAG, DEFAULT_PAGE_SIZE, FIRST_DATA_PGID, FREELIST_PGID,
  LEAF_ELEMENT_BYTES, PAGE_HEADER_BYTES, PageFlag, encodeEmptyFreelistPage, encodeMetaPage, maxInlineBucketBytes,
  writePageHeader,
} from './layout.js';

export type Entry = readonly [key: Uint8Array, value: Uint8Array];

/** Receives every page once; `page.length` is a whole number of pages (overflow included). */
export interface PageSink {
  write(pgid: number, page: Uint8Array): void | Promise<void>;
}

export interface BboltFileInfo {
  /** Pages in the file (the meta's high-water mark). */
  pages: number;
  bytes: number;
}

interface LeafItem {
  flags: number;
  key: Uint8Array;
  value: Uint8Array;
}

interface ChildRef {
  firstKey: Uint8Array;
  pgid: number;
}

/** bbolt keeps a page's element count in a u16. */
const PAGE_ELEMENTS_MAX = 0xffff;

export class BboltWriter {
  private nextPgid = FIRST_DATA_PGID;
  private readonly top: LeafItem[] = [];
  private finished = false;

  constructor(
    private readonly sink: PageSink,
    readonly pageSize = DEFAULT_PAGE_SIZE,
  ) {}

  /** Writes one top-level bucket; `entries` must be in strictly ascending key order. */
  async bucket(name: Uint8Array, entries: Iterable<Entry> | AsyncIterable<Entry>): Promise<void> {
    if (this.finished) throw new Error('bbolt writer: bucket() after finish()');
    if (name.length === 0) throw new Error('bbolt writer: a bucket name must not be empty');
    if (this.top.some((b) => compareBytes(b.key, name) === 0)) {
      throw new Error(`bbolt writer: bucket ${Buffer.from(name).toString()} written twice`);
    }
    const tree = new TreeBuilder(this, true);
    let prev: Uint8Array | undefined;
    for await (const [k, v] of entries) {
      if (k.length === 0) throw new Error('bbolt writer: an empty key');
      if (prev !== undefined && compareBytes(prev, k) >= 0) {
        throw new Error(`bbolt writer: keys out of order in bucket ${Buffer.from(name).toString()}`);
      }
      prev = k;
      await tree.add({ flags: 0, key: k, value: v });
    }
    this.top.push({ flags: BUCKET_LEAF_FLAG, key: Uint8Array.from(name), value: await tree.end() });
  }

  /** Writes the root bucket, the freelist and both metas; returns the file's size. */
  async finish(txid = 1): Promise<BboltFileInfo> {
    if (this.finished) throw new Error('bbolt writer: finish() twice');
    this.finished = true;
    const root = new TreeBuilder(this, false);
    for (const b of [...this.top].sort((a, c) => compareBytes(a.key, c.key))) await root.add(b);
    const rootPgid = await root.endAsPage();
    const pages = this.nextPgid;
    await this.sink.write(FREELIST_PGID, encodeEmptyFreelistPage(FREELIST_PGID, this.pageSize));
    // Both metas point at the same tree; bbolt reads the one with the higher txid.
    for (const id of [0, 1]) {
      const meta = { pageSize: this.pageSize, root: rootPgid, freelist: FREELIST_PGID, pgid: pages, txid: txid + id };
      await this.sink.write(id, encodeMetaPage(id, meta));
    }
    return { pages, bytes: pages * this.pageSize };
  }

  /** @internal Lays out and writes one page (with overflow pages when it is bigger). */
  async emit(flags: number, items: readonly LeafItem[] | readonly ChildRef[]): Promise<number> {
    const pgid = this.nextPgid;
    const page = encodePage(pgid, flags, items, this.pageSize);
    this.nextPgid += page.length / this.pageSize;
    await this.sink.write(pgid, page);
    return pgid;
  }
}

/** Builds one bucket's B+tree bottom-up from entries in key order. */
class TreeBuilder {
  private leaf: LeafItem[] = [];
  private leafBytes = PAGE_HEADER_BYTES;
  private readonly leaves: ChildRef[] = [];
  private hasNestedBucket = false;

  constructor(
    private readonly w: BboltWriter,
    private readonly mayInline: boolean,
  ) {}

  async add(item: LeafItem): Promise<void> {
    const bytes = LEAF_ELEMENT_BYTES + item.key.length + item.value.length;
    const full = this.leafBytes + bytes > this.w.pageSize || this.leaf.length === PAGE_ELEMENTS_MAX;
    if (this.leaf.length > 0 && full) await this.flushLeaf();
    this.leaf.push(item);
    this.leafBytes += bytes;
    if (item.flags & BUCKET_LEAF_FLAG) this.hasNestedBucket = true;
  }

  /** The bucket's value for its parent: a header, with the leaf inline when bbolt would. */
  async end(): Promise<Uint8Array> {
    const inline = this.mayInline && this.leaves.length === 0 && !this.hasNestedBucket &&
      this.leafBytes <= maxInlineBucketBytes(this.w.pageSize);
    if (inline) {
      const page = encodePage(0, PageFlag.leaf, this.leaf, 0);
      const value = Buffer.alloc(BUCKET_HEADER_BYTES + page.length);
      page.copy(value, BUCKET_HEADER_BYTES);
      return value;
    }
    const value = Buffer.alloc(BUCKET_HEADER_BYTES);
    value.writeBigUInt64LE(BigInt(await this.endAsPage()), 0);
    return value;
  }

  /** Flushes the last leaf and builds the branch levels; returns the root page id. */
  async endAsPage(): Promise<number> {
    if (this.leaf.length > 0 || this.leaves.length === 0) await this.flushLeaf();
    let level = this.leaves;
    while (level.length > 1) level = await this.branchLevel(level);
    return level[0]!.pgid;
  }

  private async flushLeaf(): Promise<void> {
    const firstKey = this.leaf[0]?.key ?? new Uint8Array(0);
    const pgid = await this.w.emit(PageFlag.leaf, this.leaf);
    this.leaves.push({ firstKey: Uint8Array.from(firstKey), pgid });
    this.leaf = [];
    this.leafBytes = PAGE_HEADER_BYTES;
  }

  private async branchLevel(children: ChildRef[]): Promise<ChildRef[]> {
    const up: ChildRef[] = [];
    let page: ChildRef[] = [];
    let bytes = PAGE_HEADER_BYTES;
    const flush = async (): Promise<void> => {
      up.push({ firstKey: page[0]!.firstKey, pgid: await this.w.emit(PageFlag.branch, page) });
      page = [];
      bytes = PAGE_HEADER_BYTES;
    };
    for (const c of children) {
      const size = BRANCH_ELEMENT_BYTES + c.firstKey.length;
      // At least two children per branch page, so every level shrinks.
      if (page.length >= 2 && bytes + size > this.w.pageSize) await flush();
      page.push(c);
      bytes += size;
    }
    await flush();
    return up;
  }
}

function isLeafItems(items: readonly LeafItem[] | readonly ChildRef[]): items is readonly LeafItem[] {
  return items.length === 0 || 'value' in items[0]!;
}

/**
 * One page: header, elements, then keys and values in element order. `pageSize` 0 means
 * exactly as long as the content (an inline bucket's page); otherwise whole pages.
 */
function encodePage(
  pgid: number,
  flags: number,
  items: readonly LeafItem[] | readonly ChildRef[],
  pageSize: number,
): Buffer {
  const leaf = isLeafItems(items);
  let content = PAGE_HEADER_BYTES;
  for (const it of items) {
    content += leaf ? LEAF_ELEMENT_BYTES + (it as LeafItem).key.length + (it as LeafItem).value.length
      : BRANCH_ELEMENT_BYTES + (it as ChildRef).firstKey.length;
  }
  const pages = pageSize === 0 ? 0 : Math.max(1, Math.ceil(content / pageSize));
  const buf = Buffer.alloc(pageSize === 0 ? content : pages * pageSize);
  writePageHeader(buf, 0, { id: pgid, flags, count: items.length, overflow: Math.max(0, pages - 1) });
  let data = PAGE_HEADER_BYTES + items.length * (leaf ? LEAF_ELEMENT_BYTES : BRANCH_ELEMENT_BYTES);
  items.forEach((it, i) => {
    const el = PAGE_HEADER_BYTES + i * LEAF_ELEMENT_BYTES;
    if (leaf) {
      const { flags: f, key, value } = it as LeafItem;
      buf.writeUInt32LE(f, el);
      buf.writeUInt32LE(data - el, el + 4);
      buf.writeUInt32LE(key.length, el + 8);
      buf.writeUInt32LE(value.length, el + 12);
      buf.set(key, data);
      buf.set(value, data + key.length);
      data += key.length + value.length;
    } else {
      const { firstKey, pgid: child } = it as ChildRef;
      buf.writeUInt32LE(data - el, el);
      buf.writeUInt32LE(firstKey.length, el + 4);
      buf.writeBigUInt64LE(BigInt(child), el + 8);
      buf.set(firstKey, data);
      data += firstKey.length;
    }
  });
  return buf;
}
