// HPACK (RFC 7541) header-block decoding with the dynamic table, and an encoder that writes
// only literals that never touch the receiver's dynamic table. Used by authority-fix.ts to
// rewrite the request headers of a client whose :authority Node's HTTP/2 layer refuses;
// it is not on the path of ordinary gRPC calls.

import { huffmanDecode } from './hpack-huffman.js';

/** One decoded header field. `never` marks a "never indexed" literal (RFC 7541 §6.2.3). */
export interface HeaderField {
  name: string;
  value: Buffer;
  never: boolean;
}

/** RFC 7541 Appendix A: the static table, index 1..61. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''],
  ['etag', ''], ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''],
  ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''],
  ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''], ['transfer-encoding', ''],
  ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];
const STATIC_ENTRIES: ReadonlyArray<{ name: string; value: Buffer }> = STATIC_TABLE.map(([name, value]) => ({
  name,
  value: Buffer.from(value, 'latin1'),
}));
/** Static-table index of each name (its first entry), for compact literal names. */
const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
});

/** RFC 7541 §4.1: an entry's size is its name and value lengths plus 32. */
const ENTRY_OVERHEAD_BYTES = 32;
/** The HTTP/2 default SETTINGS_HEADER_TABLE_SIZE, which Node's server keeps (grpc-js does not change it). */
export const HPACK_TABLE_BYTES_DEFAULT = 4096;
/** Integers longer than this many continuation bytes are refused (2^28 is beyond any limit here). */
const INTEGER_CONTINUATION_BYTES_MAX = 4;

export class HpackError extends Error {}

interface Entry {
  name: string;
  value: Buffer;
  size: number;
}

/** Decodes header blocks of one direction of one connection, in order (the table is shared). */
export class HpackDecoder {
  /** Newest first, as HPACK indexes it. */
  private readonly entries: Entry[] = [];
  private size = 0;
  private maxSize: number;

  /** `tableBytesMax`: the SETTINGS_HEADER_TABLE_SIZE the receiving server advertised. */
  constructor(private readonly tableBytesMax = HPACK_TABLE_BYTES_DEFAULT) {
    this.maxSize = tableBytesMax;
  }

  /** Decodes one complete header block (HEADERS plus CONTINUATION fragments, joined). */
  decode(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    const r = { buf: block, pos: 0 };
    while (r.pos < block.length) {
      const b = block[r.pos]!;
      if (b & 0x80) {
        const { name, value } = this.lookup(readInt(r, 7));
        fields.push({ name, value, never: false });
      } else if (b & 0x40) {
        const f = this.readLiteral(r, 6, false);
        this.insert(f.name, f.value);
        fields.push(f);
      } else if (b & 0x20) {
        // RFC 7541 §4.2: a size update may only open a block.
        if (fields.length > 0) throw new HpackError('hpack: dynamic table size update after a header field');
        const size = readInt(r, 5);
        if (size > this.tableBytesMax) throw new HpackError(`hpack: table size ${size} above the ${this.tableBytesMax} allowed`);
        this.maxSize = size;
        this.evict(0);
      } else {
        fields.push(this.readLiteral(r, 4, (b & 0x10) !== 0));
      }
    }
    return fields;
  }

  /** Bytes the dynamic table holds now (RFC 7541 §4.1), for tests. */
  get tableBytes(): number {
    return this.size;
  }

  private readLiteral(r: Reader, prefixBits: number, never: boolean): HeaderField {
    const index = readInt(r, prefixBits);
    const name = index === 0 ? readString(r).toString('latin1') : this.lookup(index).name;
    return { name, value: readString(r), never };
  }

  private lookup(index: number): { name: string; value: Buffer } {
    if (index === 0) throw new HpackError('hpack: index 0');
    if (index <= STATIC_ENTRIES.length) return STATIC_ENTRIES[index - 1]!;
    const e = this.entries[index - STATIC_ENTRIES.length - 1];
    if (e === undefined) throw new HpackError(`hpack: index ${index} is beyond the dynamic table`);
    return e;
  }

  private insert(name: string, value: Buffer): void {
    const size = name.length + value.length + ENTRY_OVERHEAD_BYTES;
    this.evict(size);
    // RFC 7541 §4.4: an entry larger than the table empties it and is not added.
    if (size > this.maxSize) return;
    this.entries.unshift({ name, value, size });
    this.size += size;
  }

  /** Evicts the oldest entries until `incoming` more bytes fit. */
  private evict(incoming: number): void {
    while (this.size + incoming > this.maxSize && this.entries.length > 0) {
      this.size -= this.entries.pop()!.size;
    }
  }
}

interface Reader {
  buf: Uint8Array;
  pos: number;
}

function readInt(r: Reader, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (r.pos >= r.buf.length) throw new HpackError('hpack: block ends inside an integer');
  let value = r.buf[r.pos++]! & max;
  if (value < max) return value;
  for (let shift = 0; shift <= 7 * INTEGER_CONTINUATION_BYTES_MAX; shift += 7) {
    if (r.pos >= r.buf.length) throw new HpackError('hpack: block ends inside an integer');
    const b = r.buf[r.pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return value;
  }
  throw new HpackError('hpack: integer too long');
}

function readString(r: Reader): Buffer {
  if (r.pos >= r.buf.length) throw new HpackError('hpack: block ends before a string');
  const huffman = (r.buf[r.pos]! & 0x80) !== 0;
  const len = readInt(r, 7);
  if (r.pos + len > r.buf.length) throw new HpackError('hpack: string runs past the end of the block');
  const raw = r.buf.subarray(r.pos, r.pos + len);
  r.pos += len;
  if (!huffman) return Buffer.from(raw);
  try {
    return huffmanDecode(raw);
  } catch (err) {
    throw new HpackError(`hpack: ${(err as Error).message}`);
  }
}

function writeInt(out: number[], firstByteFlags: number, prefixBits: number, value: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(firstByteFlags | value);
    return;
  }
  out.push(firstByteFlags | max);
  let rest = value - max;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function writeString(out: number[], bytes: Uint8Array): void {
  writeInt(out, 0, 7, bytes.length);
  for (const b of bytes) out.push(b);
}

/**
 * Encodes fields as literals "without indexing" (or "never indexed" where the field was),
 * plain octets, no Huffman: the receiver's dynamic table is never touched, so the block
 * decodes the same whatever that table holds.
 */
export function encodeLiteralBlock(fields: readonly HeaderField[]): Buffer {
  const out: number[] = [];
  for (const f of fields) {
    const flags = f.never ? 0x10 : 0x00;
    const nameIndex = STATIC_NAME_INDEX.get(f.name);
    if (nameIndex !== undefined) {
      writeInt(out, flags, 4, nameIndex);
    } else {
      writeInt(out, flags, 4, 0);
      writeString(out, Buffer.from(f.name, 'latin1'));
    }
    writeString(out, f.value);
  }
  return Buffer.from(out);
}
