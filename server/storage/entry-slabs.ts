// EntrySlabs: the uncompacted raft log kept OUT of the JS heap (issue 20: the leader's GC).
//
// The log store used to hold every entry after the compaction point as an Entry object
// with its own Uint8Array until the next snapshot+compaction (10-15k entries with the
// default cadence): each one outlived the scavenges, was promoted and then cost
// mark-compact work. Here an entry is held as its encoded bytes (the raft.proto bytes the
// `raft/` database stores, so one encoding serves both) appended to large off-heap slabs
// (a Uint8Array's backing store lives outside the V8 heap; a slab is a single heap object
// however many entries it holds), with a compact index in typed arrays: term, slab,
// position, encoded and data length per entry. `term()` reads the index; `entry()` decodes
// a fresh Entry only when asked (apply, or a lagging follower's append).
//
// Slabs are append-only and never reused: a view handed out (the value of a batch op on
// its way to RocksDB) stays valid, and a slab is dropped whole once compaction has passed
// every entry in it (the GC frees its backing store when no view holds it). A truncation
// (a follower's conflicting suffix) only drops index rows; the bytes stay in their slab
// until it is dropped, as wasted space bounded by the truncated entries.
//
// Invariant: rows [head, head + length) of the index hold the entries firstIndex ..
// firstIndex + length - 1, contiguous; every row's bytes lie in a slab still held.

import { decodeEntry, encodeEntryInto, encodedEntryLength } from '../../proto/raft-codec.js';
import type { Entry } from '../raft/types.js';
import { assert } from '../util/assert.js';

/** Bytes of one slab: ~3,000 entries of a 256-byte put; a larger entry gets a slab of its own size. */
export const ENTRY_SLAB_BYTES = 1024 * 1024;
/** Index rows allocated at first; doubled when full (the rows compaction freed are reused first). */
const INDEX_ROWS_INITIAL = 1024;
/** Uint32 fields per index row: slab number, position in it, encoded length, data length. */
const ROW_FIELDS = 4;
const F_SLAB = 0;
const F_POS = 1;
const F_ENCODED = 2;
const F_DATA = 3;

interface Slab {
  readonly bytes: Uint8Array;
  /** Bytes written so far. */
  used: number;
  /** The highest entry index ever written here (truncated ones included): the slab may go once compaction passes it. */
  maxIndex: number;
}

export class EntrySlabs {
  /** Index of the entry in row `head`. */
  private first: number;
  private count = 0;
  private head = 0;
  private terms = new Float64Array(INDEX_ROWS_INITIAL);
  private rows = new Uint32Array(INDEX_ROWS_INITIAL * ROW_FIELDS);
  /** Slabs still held, oldest first; slabs[k] is slab number firstSlab + k. */
  private slabs: Slab[] = [];
  private firstSlab = 0;

  /** `slabBytes`: tests use tiny slabs, so a few entries already span several. */
  constructor(firstIndex: number, private readonly slabSize: number = ENTRY_SLAB_BYTES) {
    assert(Number.isInteger(slabSize) && slabSize > 0, () => `entry slabs: bad slab size ${slabSize}`);
    this.first = firstIndex;
  }

  get firstIndex(): number {
    return this.first;
  }

  get length(): number {
    return this.count;
  }

  /** The index after the last entry held (where the next append goes). */
  get endIndex(): number {
    return this.first + this.count;
  }

  /** Off-heap bytes held in slabs (written or not), for metrics. */
  slabBytes(): number {
    let n = 0;
    for (const s of this.slabs) n += s.bytes.length;
    return n;
  }

  /**
   * Appends `e` (which must be entry endIndex) encoded, and returns a view of its bytes:
   * the value to store under its key. The view stays valid (slabs are never overwritten).
   */
  append(e: Entry): Uint8Array {
    assert(e.index === this.endIndex, () => `entry slabs: appending ${e.index}, expected ${this.endIndex}`);
    const len = encodedEntryLength(e);
    const slab = this.slabFor(len, e.index);
    const pos = slab.used;
    const end = encodeEntryInto(e, slab.bytes, pos);
    assert(end === pos + len, () => `entry ${e.index} encoded to ${end - pos} bytes, expected ${len}`);
    slab.used = end;
    this.pushRow(e.term, pos, len, e.data.length);
    return slab.bytes.subarray(pos, end);
  }

  /** Appends entry endIndex from its stored bytes (copied), when the log is loaded from disk. */
  appendEncoded(e: Entry, encoded: Uint8Array): void {
    assert(e.index === this.endIndex, () => `entry slabs: loading ${e.index}, expected ${this.endIndex}`);
    const slab = this.slabFor(encoded.length, e.index);
    const pos = slab.used;
    slab.bytes.set(encoded, pos);
    slab.used += encoded.length;
    this.pushRow(e.term, pos, encoded.length, e.data.length);
  }

  term(index: number): number {
    return this.terms[this.row(index)] as number;
  }

  /** Data bytes of entry `index` (what entrySize counts), without decoding it. */
  dataLength(index: number): number {
    return this.rows[this.row(index) * ROW_FIELDS + F_DATA] as number;
  }

  /** A fresh Entry decoded from the slab; its data is a copy (it pins no slab). */
  entry(index: number): Entry {
    const r = this.row(index) * ROW_FIELDS;
    const slab = this.slabs[(this.rows[r + F_SLAB] as number) - this.firstSlab] as Slab;
    const pos = this.rows[r + F_POS] as number;
    return decodeEntry(slab.bytes.subarray(pos, pos + (this.rows[r + F_ENCODED] as number)));
  }

  /** Drops entries >= index (a conflicting suffix); returns the sum of their data lengths. */
  truncateFrom(index: number): number {
    assert(index >= this.first && index <= this.endIndex, () =>
      `entry slabs: truncate from ${index} outside [${this.first}, ${this.endIndex}]`);
    let dataBytes = 0;
    for (let i = index; i < this.endIndex; i++) dataBytes += this.dataLength(i);
    this.count = index - this.first;
    return dataBytes;
  }

  /** Drops entries < index (compaction), and every slab that holds nothing at or after it; returns their data lengths. */
  dropBefore(index: number): number {
    assert(index >= this.first && index <= this.endIndex, () =>
      `entry slabs: drop before ${index} outside [${this.first}, ${this.endIndex}]`);
    let dataBytes = 0;
    for (let i = this.first; i < index; i++) dataBytes += this.dataLength(i);
    const n = index - this.first;
    this.head += n;
    this.count -= n;
    this.first = index;
    if (this.count === 0) this.head = 0;
    while (this.slabs.length > 0 && (this.slabs[0] as Slab).maxIndex < index) {
      this.slabs.shift();
      this.firstSlab++;
    }
    return dataBytes;
  }

  /** Drops everything; the next append is entry `firstIndex` (a snapshot was installed). */
  reset(firstIndex: number): void {
    this.first = firstIndex;
    this.count = 0;
    this.head = 0;
    this.firstSlab += this.slabs.length;
    this.slabs = [];
  }

  private row(index: number): number {
    assert(index >= this.first && index < this.endIndex, () =>
      `entry slabs: entry ${index} outside [${this.first}, ${this.endIndex})`);
    return this.head + index - this.first;
  }

  /** The slab the next `len` bytes go to, a new one when the last has no room. */
  private slabFor(len: number, index: number): Slab {
    let slab = this.slabs[this.slabs.length - 1];
    if (slab === undefined || slab.bytes.length - slab.used < len) {
      slab = { bytes: new Uint8Array(Math.max(this.slabSize, len)), used: 0, maxIndex: index };
      this.slabs.push(slab);
    }
    slab.maxIndex = Math.max(slab.maxIndex, index);
    return slab;
  }

  private pushRow(term: number, pos: number, encodedLen: number, dataLen: number): void {
    if (this.head + this.count === this.terms.length) this.makeRoom();
    const row = this.head + this.count;
    this.terms[row] = term;
    const r = row * ROW_FIELDS;
    this.rows[r + F_SLAB] = this.firstSlab + this.slabs.length - 1;
    this.rows[r + F_POS] = pos;
    this.rows[r + F_ENCODED] = encodedLen;
    this.rows[r + F_DATA] = dataLen;
    this.count++;
  }

  /** Moves the rows to the front when compaction freed at least half, else doubles the index. */
  private makeRoom(): void {
    const cap = this.terms.length;
    if (this.head >= cap / 2) {
      this.terms.copyWithin(0, this.head, this.head + this.count);
      this.rows.copyWithin(0, this.head * ROW_FIELDS, (this.head + this.count) * ROW_FIELDS);
    } else {
      const terms = new Float64Array(cap * 2);
      terms.set(this.terms.subarray(this.head, this.head + this.count));
      const rows = new Uint32Array(cap * 2 * ROW_FIELDS);
      rows.set(this.rows.subarray(this.head * ROW_FIELDS, (this.head + this.count) * ROW_FIELDS));
      this.terms = terms;
      this.rows = rows;
    }
    this.head = 0;
  }
}
