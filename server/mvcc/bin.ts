// A minimal binary writer/reader for the store's records and commands: varints for
// safe integers (up to 2^53, without Long), length-prefixed bytes. Cheaper than JSON and
// without protobufjs' Long handling for 64-bit numbers.

import { AssertionError, assert } from '../util/assert.js';

const INITIAL_CAPACITY_BYTES = 64;
/** A scratch buffer grown past this (a huge txn) is dropped rather than kept forever. */
const SCRATCH_KEEP_BYTES_MAX = 1024 * 1024;
const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/**
 * One scratch buffer shared by writers that do not overlap (all encoders here run
 * synchronously start to finish), so encoding allocates only the finished copy.
 */
let scratch: Uint8Array | undefined = new Uint8Array(INITIAL_CAPACITY_BYTES * 16);

export class BinWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor() {
    // Take the scratch buffer if free; a nested or abandoned writer just allocates.
    this.buf = scratch ?? new Uint8Array(INITIAL_CAPACITY_BYTES);
    scratch = undefined;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): this {
    this.ensure(1);
    this.buf[this.len++] = b & 0xff;
    return this;
  }

  /** `n` zero bytes, for a head the caller fills in after finish() (encodeCommand's headBytes). */
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  /** A non-negative safe integer as a LEB128 varint. */
  uint(n: number): this {
    // A plain test, not assert(cond, () => message): this runs for every varint of every
    // record, and the message closure was an allocation each time.
    if (!(Number.isSafeInteger(n) && n >= 0)) throw new AssertionError(`varint must be a safe non-negative integer, got ${n}`);
    this.ensure(8);
    while (n >= 0x80) {
      this.buf[this.len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.len++] = n;
    return this;
  }

  /** A safe integer that may be negative (zigzag would lose range; a sign byte is simpler). */
  int(n: number): this {
    return n < 0 ? this.byte(1).uint(-n) : this.byte(0).uint(n);
  }

  bool(b: boolean | undefined): this {
    return this.byte(b === true ? 1 : 0);
  }

  bytes(b: Uint8Array): this {
    this.uint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /**
   * A string as string() writes it (the same bytes), its UTF-8 taken from `memo`: names
   * written again and again (a namespace, the local origin: every answer of every write)
   * are encoded once, not per use.
   */
  stringMemo(s: string, memo: Utf8Memo): this {
    return this.bytes(memo.encode(s));
  }

  string(s: string): this {
    // Short strings (origins, names, types) are encoded in place, with no intermediate copy:
    // at most 3 bytes per UTF-16 unit, so under 0x80 bytes their length is one varint byte.
    const max = s.length * 3;
    if (max >= 0x80) return this.bytes(utf8Encoder.encode(s));
    this.ensure(max + 1);
    const { written } = utf8Encoder.encodeInto(s, this.buf.subarray(this.len + 1, this.len + 1 + max));
    this.buf[this.len] = written;
    this.len += 1 + written;
    return this;
  }

  /**
   * The bytes written with a head before them that `writeHead` writes (told the body's
   * length), in one copy: an envelope around a body encoded here (an external command around
   * an eventual write) without a finished copy of the body first. The writer must not be used
   * afterwards.
   */
  finishWithHead(writeHead: (w: BinWriter, bodyBytes: number) => void): Uint8Array {
    const bodyBytes = this.len;
    writeHead(this, bodyBytes); // written after the body, moved before it below
    const headBytes = this.len - bodyBytes;
    const out = new Uint8Array(this.len);
    out.set(this.buf.subarray(bodyBytes, this.len));
    out.set(this.buf.subarray(0, bodyBytes), headBytes);
    if (this.buf.length <= SCRATCH_KEEP_BYTES_MAX) scratch = this.buf;
    this.len = 0;
    return out;
  }

  /** The bytes written (a copy, in `arena` when given); the writer must not be used afterwards. */
  finish(arena?: ByteArena): Uint8Array {
    let out: Uint8Array;
    if (arena === undefined) out = this.buf.slice(0, this.len);
    else {
      out = arena.alloc(this.len);
      out.set(this.buf.subarray(0, this.len));
    }
    if (this.buf.length <= SCRATCH_KEEP_BYTES_MAX) scratch = this.buf;
    this.len = 0;
    return out;
  }
}

/** Bytes of one arena chunk. */
export const ARENA_CHUNK_BYTES = 64 * 1024;
/** Bytes of an arena's first chunk at least (each next one twice the last, up to ARENA_CHUNK_BYTES). */
export const ARENA_FIRST_CHUNK_BYTES = 2 * 1024;
/** Arena bytes expected per apply item (a put's revision record and latest row, 256 B values). */
const ARENA_ITEM_BYTES = 1024;
/** Larger requests get an array of their own (a chunk is not wasted on one big value). */
const ARENA_OWN_ARRAY_BYTES = ARENA_CHUNK_BYTES / 8;

/**
 * Short-lived byte arrays carved out of shared chunks. V8 keeps a typed array over 64 bytes
 * off its heap: each one is a malloc, a free and a pass of the ArrayBuffer sweeper (perf of
 * a 3-member put load: 2.8 µs per put on a follower, 6.3 on the leader, in allocating and
 * sweeping array buffers). An apply batch encodes two such arrays per put (the revision
 * record and the latest row) that live only until the batch is written: from an arena they
 * cost one chunk per ~100 puts (perf of scripts/bench-mvcc-scale.ts --stages 150000
 * --scatter --random-values, three runs each: array-buffer work 261–304 → 154–189 samples,
 * ~0.7 µs per put; all samples 3234–4246 → 3097–3784). A view keeps its whole chunk alive,
 * so only bytes that die with the batch belong here.
 */
export class ByteArena {
  private chunk = new Uint8Array(0);
  private used = 0;
  /** The next chunk's size, doubling up to ARENA_CHUNK_BYTES. */
  private nextChunkBytes: number;

  /**
   * `items`: the apply batch's entries, to size the first chunk (ARENA_ITEM_BYTES each): a
   * batch of one put at 1 in flight needs about 1 KiB, and a zeroed 64 KiB chunk per such
   * batch cost bench:compare's put-1 row 9 % of its rate (552-563 -> 506-508 puts/s).
   */
  constructor(items = 1) {
    this.nextChunkBytes = Math.min(ARENA_CHUNK_BYTES, Math.max(ARENA_FIRST_CHUNK_BYTES, items * ARENA_ITEM_BYTES));
  }

  alloc(n: number): Uint8Array {
    if (n > ARENA_OWN_ARRAY_BYTES) return new Uint8Array(n);
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint8Array(Math.max(n, this.nextChunkBytes));
      this.nextChunkBytes = Math.min(ARENA_CHUNK_BYTES, this.nextChunkBytes * 2);
      this.used = 0;
    }
    const out = this.chunk.subarray(this.used, this.used + n);
    this.used += n;
    return out;
  }
}

export class BinReader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  byte(): number {
    assert(this.pos < this.buf.length, 'truncated record');
    return this.buf[this.pos++] as number;
  }

  uint(): number {
    let n = 0;
    let mul = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * mul;
      if (b < 0x80) break;
      mul *= 0x80;
      assert(mul <= 2 ** 56, 'varint too long');
    }
    return n;
  }

  int(): number {
    const neg = this.byte() === 1;
    const n = this.uint();
    return neg ? -n : n;
  }

  bool(): boolean {
    return this.byte() === 1;
  }

  /** A view into the buffer (no copy); copy it if the buffer is reused. */
  bytes(): Uint8Array {
    const len = this.uint();
    assert(this.pos + len <= this.buf.length, 'truncated bytes');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    return utf8Decoder.decode(this.bytes());
  }

  /**
   * string(), answered from `memo` when the bytes are those of the string it decoded last
   * (the namespace of every entry of a hot namespace): no view, decode or string per read.
   */
  stringMemo(memo: Utf8Memo): string {
    const len = this.uint();
    assert(this.pos + len <= this.buf.length, 'truncated bytes');
    const start = this.pos;
    this.pos += len;
    return memo.decode(this.buf, start, len);
  }
}

/** Strings a Utf8Memo keeps encoded at most; past it, it starts over (names are few; a flood of new ones costs no memory). */
export const UTF8_MEMO_STRINGS_MAX = 64;

/**
 * UTF-8 of strings that recur (namespace names, origins), both ways: encode() keeps the bytes
 * of up to UTF8_MEMO_STRINGS_MAX strings, decode() remembers the last string it made and its
 * bytes. The bytes it hands out are shared: callers copy them (BinWriter.bytes) and never
 * change them.
 */
export class Utf8Memo {
  private readonly encoded = new Map<string, Uint8Array>();
  private lastBytes = new Uint8Array(0);
  private lastString = '';

  encode(s: string): Uint8Array {
    let b = this.encoded.get(s);
    if (b === undefined) {
      if (this.encoded.size >= UTF8_MEMO_STRINGS_MAX) this.encoded.clear();
      this.encoded.set(s, (b = utf8Encoder.encode(s)));
    }
    return b;
  }

  decode(buf: Uint8Array, start: number, len: number): string {
    const last = this.lastBytes;
    if (last.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (buf[start + i] !== last[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.lastString;
    }
    const bytes = buf.slice(start, start + len); // own copy: buf may be reused
    this.lastString = utf8Decoder.decode(bytes);
    this.lastBytes = bytes;
    return this.lastString;
  }
}
