// HPACK's static Huffman code (RFC 7541 Appendix B), decoding only. The code is canonical
// (codes of one length are consecutive, in symbol order, and each length starts where the
// previous one ended, shifted), so the 257 code lengths below define it completely; the
// tests check the derived codes against values printed in the RFC.

/** Bits per symbol 0..255 and EOS (256), in symbol order, from RFC 7541 Appendix B. */
const CODE_LENGTHS: readonly number[] = [
  // 0-31: control characters
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  // 32-63: ' ' ! " # $ % & ' ( ) * + , - . / 0-9 : ; < = > ?
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  // 64-95: @ A-Z [ \ ] ^ _
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  // 96-127: ` a-z { | } ~ DEL
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  // 128-255
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  // 256: EOS
  30,
];
const EOS = 256;
const MAX_CODE_BITS = 30;

/** Per code length L: the first code of that length, how many there are, where they start in SYMBOLS. */
const FIRST_CODE: number[] = Array.from({ length: MAX_CODE_BITS + 1 }, () => 0);
const COUNT: number[] = Array.from({ length: MAX_CODE_BITS + 1 }, () => 0);
const OFFSET: number[] = Array.from({ length: MAX_CODE_BITS + 1 }, () => 0);
/** Symbols sorted by (code length, symbol): the canonical order. */
const SYMBOLS: number[] = [];

function build(): void {
  if (CODE_LENGTHS.length !== EOS + 1) throw new Error(`hpack huffman: ${CODE_LENGTHS.length} code lengths, want 257`);
  let code = 0;
  for (let len = 1; len <= MAX_CODE_BITS; len++) {
    FIRST_CODE[len] = code;
    OFFSET[len] = SYMBOLS.length;
    for (let sym = 0; sym <= EOS; sym++) {
      if (CODE_LENGTHS[sym] === len) SYMBOLS.push(sym);
    }
    COUNT[len] = SYMBOLS.length - OFFSET[len]!;
    code = (code + COUNT[len]!) * 2;
  }
}
build();

/** The code of `symbol`, right-aligned, and its length: for tests against the RFC's table. */
export function huffmanCode(symbol: number): { code: number; bits: number } {
  const bits = CODE_LENGTHS[symbol];
  if (bits === undefined) throw new RangeError(`no huffman symbol ${symbol}`);
  const index = SYMBOLS.indexOf(symbol) - OFFSET[bits]!;
  return { code: FIRST_CODE[bits]! + index, bits };
}

export class HuffmanError extends Error {}

/**
 * Decodes a Huffman-coded string. Throws HuffmanError on what RFC 7541 §5.2 calls a
 * decoding error: an EOS symbol inside the string, or padding longer than 7 bits or not
 * made of the EOS code's leading 1 bits.
 */
export function huffmanDecode(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil((input.length * 8) / 5));
  let n = 0;
  let code = 0;
  let len = 0;
  let onesOnly = true;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1;
      code = code * 2 + b;
      len++;
      onesOnly &&= b === 1;
      const k = code - FIRST_CODE[len]!;
      if (k >= 0 && k < COUNT[len]!) {
        const sym = SYMBOLS[OFFSET[len]! + k]!;
        if (sym === EOS) throw new HuffmanError('huffman: EOS symbol inside a string');
        out[n++] = sym;
        code = 0;
        len = 0;
        onesOnly = true;
      } else if (len >= MAX_CODE_BITS) {
        throw new HuffmanError('huffman: no symbol matches');
      }
    }
  }
  if (len > 7 || !onesOnly) throw new HuffmanError('huffman: bad padding at the end of a string');
  return out.subarray(0, n);
}
