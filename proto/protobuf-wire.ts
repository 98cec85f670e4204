// Protobuf wire primitives for the hand-written codecs of hot calls: a reader over one
// message and a writer into one preallocated buffer, varint sizes. Shared by the server's
// fast codecs (server/api/fast-codec.ts, fast-crdt-codec.ts) and the client library's
// (client/lib/crdt-codec.ts), so both ends read and write the wire the same way.
//
// They follow protobufjs (what @grpc/proto-loader uses) where it is lenient or odd: a
// codec built on them hands anything outside that common ground (Malformed) to the
// generic codec, so odd input behaves exactly as without them.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;
const TWO_32 = 2 ** 32;
/** A varint's high word below this keeps the value a safe integer (2^53 = 2^21 · 2^32). */
export const SAFE_HIGH_WORD = 2 ** 21;
export const EMPTY = Buffer.alloc(0);
/** Bytes of a varint that protobufjs reads as 32 bits (5 × 7 ≥ 32). */
const UINT32_VARINT_BYTES_MAX = 5;

/** Input the fast codecs leave to the generic one. */
export class Malformed extends Error {}

/** A protobuf reader over one message; `lo`/`hi` hold the last varint's two 32-bit words. */
export class Reader {
  pos = 0;
  lo = 0;
  hi = 0;
  varintBytes = 0;
  constructor(readonly buf: Buffer) {}

  private byte(): number {
    if (this.pos >= this.buf.length) throw new Malformed('truncated');
    return this.buf[this.pos++] as number;
  }

  varint(): void {
    const start = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return this.set(lo, 0, start);
    }
    b = this.byte(); // bits 28..34: four into lo, three into hi
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) return this.set(lo, hi, start);
    for (let shift = 3; shift < 32; shift += 7) {
      b = this.byte();
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) return this.set(lo, hi, start);
    }
    throw new Malformed('varint longer than 10 bytes');
  }

  /**
   * A varint read as protobufjs reads tags, lengths, bools and enums (uint32): longer
   * than 5 bytes it behaves oddly (skips 5 bytes blindly), so that is left to it.
   */
  uint32(): number {
    this.varint();
    if (this.varintBytes > UINT32_VARINT_BYTES_MAX) throw new Malformed('a 32-bit varint longer than 5 bytes');
    return this.lo;
  }

  private set(lo: number, hi: number, start: number): void {
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.varintBytes = this.pos - start;
  }

  /** The last varint as a signed 64-bit decimal string (proto-loader's `longs: String`). */
  int64String(): string {
    if (this.hi === 0) return String(this.lo);
    if (this.hi < SAFE_HIGH_WORD) return String(this.hi * TWO_32 + this.lo);
    return BigInt.asIntN(64, (BigInt(this.hi) << 32n) | BigInt(this.lo)).toString();
  }

  /** The last varint as an unsigned 64-bit decimal string (a uint64 field with `longs: String`). */
  uint64String(): string {
    if (this.hi < SAFE_HIGH_WORD) return String(this.hi * TWO_32 + this.lo);
    return ((BigInt(this.hi) << 32n) | BigInt(this.lo)).toString();
  }

  /** A uint64 varint as a number; Malformed when it is not a safe integer (the generic path then says so). */
  safeUint(): number {
    this.varint();
    if (this.hi >= SAFE_HIGH_WORD) throw new Malformed('a 64-bit integer past 2^53');
    return this.hi * TWO_32 + this.lo;
  }

  /** A length (tag, size): must fit the message. */
  length(): number {
    const n = this.uint32();
    if (this.hi !== 0 || n > this.buf.length - this.pos) throw new Malformed('length past the end');
    return n;
  }

  bytes(): Buffer {
    const n = this.length();
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_BYTES) {
      const n = this.length(); // (not `this.pos += this.length()`: that reads pos before length() moves it)
      this.pos += n;
    }
    else if (wireType === WIRE_FIXED64) this.pos += 8;
    else if (wireType === WIRE_FIXED32) this.pos += 4;
    else throw new Malformed(`wire type ${wireType}`); // groups: left to the generic codec
    if (this.pos > this.buf.length) throw new Malformed('truncated');
  }

  /** Next field: sets lo to the field number, returns the wire type; -1 at the end. */
  tag(): number {
    if (this.pos >= this.buf.length) return -1;
    const tag = this.uint32();
    this.lo = tag >>> 3;
    if (this.lo === 0) throw new Malformed('field number 0');
    return tag & 7;
  }
}

/** Checks a known field's wire type; a mismatch is left to the generic codec. */
export function expect(r: Reader, wireType: number, want: number): boolean {
  if (wireType === want) return true;
  throw new Malformed(`field ${r.lo} has wire type ${wireType}`);
}

export const isUint = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

export function varintSize(n: number): number {
  let size = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 128)) size++;
  return size;
}

/** A tag and a non-negative integer, or nothing for 0 (the default). */
export function uintFieldSize(n: number): number {
  return n === 0 ? 0 : 1 + varintSize(n);
}

export function bytesFieldSize(len: number): number {
  return len === 0 ? 0 : 1 + varintSize(len) + len;
}

/** Writes into one preallocated buffer (fields below 16: their tag is one byte). */
export class Writer {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  varint(n: number): void {
    let v = n;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  uintField(field: number, n: number): void {
    if (n === 0) return;
    this.buf[this.pos++] = (field << 3) | WIRE_VARINT;
    this.varint(n);
  }

  bytesField(field: number, b: Uint8Array): void {
    if (b.length === 0) return;
    this.buf[this.pos++] = (field << 3) | WIRE_BYTES;
    this.varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  messageStart(field: number, size: number): void {
    this.buf[this.pos++] = (field << 3) | WIRE_BYTES;
    this.varint(size);
  }
}
