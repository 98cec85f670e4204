// The DELTA page codecs of server/sync (sync.proto's Delta.encoding) over node:zlib, kept
// here because server/sync takes them as inputs and stays free of node:*.
//
// Chosen by measurement (scripts/measure-sync-compression.ts, 10k and 100k small events and
// 2k lww writes, 64 KiB pages): brotli at quality 5 gives 9.2 B/event against deflate's 9.9
// (level 6) at the same CPU (≈ 0.5 ms per 64 KiB page on this machine); brotli's top quality
// (11) saves another 13 % but costs ≈ 100+ ms per page, which a 100k-event catch-up cannot
// pay. So "br" (quality 5) is preferred, "deflate" (zlib format, level 6) is the fallback,
// identity always works. One-record live pages grow under either (≈ 87 → 86–94 B), so the
// session sends pages under SYNC_COMPRESS_MIN_BYTES as identity.
// Decompression stops at the caller's limit (maxOutputLength): a bomb is refused unexpanded.

import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

/** server/sync's PageCodec, structurally (server/transport may not import server/sync). */
export interface PageCodec {
  readonly name: string;
  compress(page: Uint8Array): Promise<Uint8Array>;
  decompress(page: Uint8Array, maxBytes: number): Promise<Uint8Array>;
}

/** Brotli quality of DELTA pages (0–11): see the measurement above. */
export const SYNC_BROTLI_QUALITY = 5;
/** zlib level of the deflate fallback. */
export const SYNC_DEFLATE_LEVEL = 6;

const brotliCompress = promisify(zlib.brotliCompress);
const brotliDecompress = promisify(zlib.brotliDecompress);
const deflate = promisify(zlib.deflate);
const inflate = promisify(zlib.inflate);

const view = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

function tooLarge(e: unknown, maxBytes: number): Error {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
    return new Error(`decompressed page over the limit of ${maxBytes} bytes`);
  }
  return err instanceof Error ? err : new Error(String(e));
}

export const brotliCodec: PageCodec = {
  name: 'br',
  async compress(page) {
    return view(await brotliCompress(page, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: SYNC_BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: page.length },
    }));
  },
  async decompress(page, maxBytes) {
    try {
      return view(await brotliDecompress(page, { maxOutputLength: maxBytes }));
    } catch (e) {
      throw tooLarge(e, maxBytes);
    }
  },
};

export const deflateCodec: PageCodec = {
  name: 'deflate',
  async compress(page) {
    return view(await deflate(page, { level: SYNC_DEFLATE_LEVEL }));
  },
  async decompress(page, maxBytes) {
    try {
      return view(await inflate(page, { maxOutputLength: maxBytes }));
    } catch (e) {
      throw tooLarge(e, maxBytes);
    }
  },
};

/** The codecs a session offers, preferred first (identity is added by the session). */
export const SYNC_PAGE_CODECS: readonly PageCodec[] = [brotliCodec, deflateCodec];
