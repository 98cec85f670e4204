// A DELTA's page on the wire: server/crdt's DeltaPage encoded by proto/crdt-codec.ts, then
// compressed by a codec both sides accept. Reading checks every limit before the work it
// bounds: the compressed size, the decompressed size (the codec stops at the limit, so a
// decompression bomb is refused without being expanded), the record count, the kind.

import type { CrdtKind, DeltaPage } from '../crdt/index.js';
import { decodeDeltaPage, encodeDeltaPage } from '../../proto/crdt-codec.js';
import { identityCodec, type PageCodec } from './channel.js';
import { SYNC_COMPRESS_MIN_BYTES, SYNC_PAGE_BYTES_MAX, SYNC_PAGE_RECORDS_MAX } from './limits.js';
import type { SyncErrorCode } from './replica-side.js';

/** A page the session refuses to read (the code goes into the SyncError). */
export class PageError extends Error {
  override name = 'PageError';
  constructor(
    readonly code: SyncErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The codecs in preference order, identity always last. */
export function withIdentity(codecs: readonly PageCodec[]): PageCodec[] {
  const out = codecs.filter((c) => c.name !== identityCodec.name);
  out.push(identityCodec);
  return out;
}

/** The first of our codecs (our preference) the peer reads; identity if none. */
export function chooseCodec(ours: readonly PageCodec[], peerAccepts: readonly string[]): PageCodec {
  return ours.find((c) => peerAccepts.includes(c.name)) ?? identityCodec;
}

export interface EncodedPage {
  readonly raw: number;
  readonly wire: Uint8Array;
  /** The codec used: `codec`, or identity for a page under SYNC_COMPRESS_MIN_BYTES. */
  readonly encoding: string;
}

export async function encodePage(kind: CrdtKind, page: DeltaPage, codec: PageCodec): Promise<EncodedPage> {
  if (page.records.length > SYNC_PAGE_RECORDS_MAX) {
    throw new PageError('page-too-large', `a page of ${page.records.length} records is over SYNC_PAGE_RECORDS_MAX (${SYNC_PAGE_RECORDS_MAX}); lower the page budget`);
  }
  const raw = encodeDeltaPage(kind, page);
  if (raw.length > SYNC_PAGE_BYTES_MAX) {
    throw new PageError('page-too-large', `a page of ${raw.length} bytes is over SYNC_PAGE_BYTES_MAX (${SYNC_PAGE_BYTES_MAX})`);
  }
  if (raw.length < SYNC_COMPRESS_MIN_BYTES) return { raw: raw.length, wire: raw, encoding: identityCodec.name };
  return { raw: raw.length, wire: await codec.compress(raw), encoding: codec.name };
}

export async function decodePage(
  ns: string, expectKind: CrdtKind, encoding: string, wire: Uint8Array, codecs: readonly PageCodec[],
): Promise<{ page: DeltaPage; raw: number }> {
  const codec = codecs.find((c) => c.name === (encoding === '' ? identityCodec.name : encoding));
  if (codec === undefined) throw new PageError('malformed', `page of ${ns} in encoding ${JSON.stringify(encoding)}, which this side did not offer`);
  let raw: Uint8Array;
  try {
    raw = await codec.decompress(wire, SYNC_PAGE_BYTES_MAX);
  } catch (e) {
    // The codec refuses past the limit (or corrupt input): either way the page is not read.
    const msg = (e as Error).message;
    if (/limit|over|exceed|large|RangeError/i.test(msg) || (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new PageError('page-too-large', `page of ${ns} decompresses past SYNC_PAGE_BYTES_MAX (${SYNC_PAGE_BYTES_MAX} bytes): ${msg}`);
    }
    throw new PageError('malformed', `page of ${ns} does not decompress as ${codec.name}: ${msg}`);
  }
  if (raw.length > SYNC_PAGE_BYTES_MAX) throw new PageError('page-too-large', `page of ${ns} is ${raw.length} bytes, over SYNC_PAGE_BYTES_MAX (${SYNC_PAGE_BYTES_MAX})`);
  let decoded: ReturnType<typeof decodeDeltaPage>;
  try {
    decoded = decodeDeltaPage(raw);
  } catch (e) {
    throw new PageError('malformed', `page of ${ns} is not a DeltaPage: ${(e as Error).message}`);
  }
  if (decoded.kind !== expectKind) throw new PageError('malformed', `page of ${ns} holds ${decoded.kind} records, but ${ns} is a ${expectKind} namespace`);
  if (decoded.page.records.length > SYNC_PAGE_RECORDS_MAX) {
    throw new PageError('page-too-large', `page of ${ns} has ${decoded.page.records.length} records, over SYNC_PAGE_RECORDS_MAX (${SYNC_PAGE_RECORDS_MAX})`);
  }
  return { page: decoded.page, raw: raw.length };
}
