// The KV service: reads (range, get, getPrefix, count), writes (put, delete), txn and
// compact. Writes go through the caller as 'write' calls: they carry the writer identity,
// so a retry after a timeout or a lost connection applies at most once.

import { text, type BytesLike } from './bytes.js';
import type { Caller, CallOptions } from './caller.js';
import { deleteResult, header, putResult, rangeResult, txnResult } from './convert.js';
import { etcdMethods } from './proto.js';
import {
  deleteRequest, putRequest, rangeRequest, type DeleteOptions, type PutOptions, type RangeOptions,
} from './requests.js';
import { TxnBuilder } from './txn.js';
import type { Metadata } from '@grpc/grpc-js';
import { SessionClock, readInfoFrom, readMetadata, type ReadInfo, type ReadLevelOptions } from './read-level.js';
import type { DeleteResult, KeyValue, PutResult, RangeResult, ResponseHeader, TxnResult } from './types.js';
import type { WireDeleteRangeResponse, WireHeader, WirePutResponse, WireRangeResponse, WireTxnResponse } from './wire.js';

export type GetOptions = Pick<RangeOptions, 'revision' | 'serializable' | 'keysOnly'> & ReadLevelOptions & CallOptions;

export class KV {
  /**
   * @param session the highest revision this client has seen; `sessionReads` (default on):
   *   serializable reads are sent as session reads at that revision.
   */
  constructor(
    private readonly caller: Caller,
    readonly session: SessionClock = new SessionClock(),
    private readonly sessionReads = true,
  ) {}

  async range(key: BytesLike, opts: RangeOptions & ReadLevelOptions & CallOptions = {}): Promise<RangeResult & { readInfo?: ReadInfo }> {
    let info: ReadInfo | undefined;
    const metadata = readMetadata(opts, this.session, this.sessionReads);
    // Trailers are read for every range: a read without a level still reports the one its namespace gave it.
    const extras = { metadata, onTrailers: (md: Metadata) => (info = readInfoFrom(md)) };
    const r = rangeResult(await this.caller.unary<WireRangeResponse>(etcdMethods().range, rangeRequest(key, opts), 'read', opts, extras));
    this.session.observe(r.revision);
    return info === undefined ? r : { ...r, readInfo: info };
  }

  /** The key, or undefined when it does not exist. */
  async get(key: BytesLike, opts: GetOptions = {}): Promise<KeyValue | undefined> {
    return (await this.range(key, opts)).kvs[0];
  }

  /** The key's value as UTF-8 text, or undefined. */
  async getString(key: BytesLike, opts: GetOptions = {}): Promise<string | undefined> {
    const kv = await this.get(key, opts);
    return kv === undefined ? undefined : text(kv.value);
  }

  /** Every key with this prefix, in key order. */
  getPrefix(prefix: BytesLike, opts: Omit<RangeOptions, 'prefix' | 'fromKey' | 'rangeEnd'> & CallOptions = {}): Promise<RangeResult> {
    return this.range(prefix, { ...opts, prefix: true });
  }

  /** How many keys the range holds. */
  async count(key: BytesLike, opts: Omit<RangeOptions, 'countOnly'> & CallOptions = {}): Promise<number> {
    return (await this.range(key, { ...opts, countOnly: true })).count;
  }

  async put(key: BytesLike, value: BytesLike, opts: PutOptions & CallOptions = {}): Promise<PutResult> {
    const r = putResult(await this.caller.unary<WirePutResponse>(etcdMethods().put, putRequest(key, value, opts), 'write', opts));
    this.session.observe(r.header.revision);
    return r;
  }

  /** Deletes the key (or the range/prefix the options give). */
  async delete(key: BytesLike, opts: DeleteOptions & CallOptions = {}): Promise<DeleteResult> {
    const r = deleteResult(await this.caller.unary<WireDeleteRangeResponse>(etcdMethods().deleteRange, deleteRequest(key, opts), 'write', opts));
    this.session.observe(r.header.revision);
    return r;
  }

  deletePrefix(prefix: BytesLike, opts: Omit<DeleteOptions, 'prefix' | 'fromKey' | 'rangeEnd'> & CallOptions = {}): Promise<DeleteResult> {
    return this.delete(prefix, { ...opts, prefix: true });
  }

  /** A transaction builder; `.commit()` sends it. */
  txn(): TxnBuilder {
    return new TxnBuilder(async (req, opts) => {
      const r = txnResult(await this.caller.unary<WireTxnResponse>(etcdMethods().txn, req, 'write', opts));
      this.session.observe(r.header.revision);
      return r;
    });
  }

  /** Drops history below `revision`; `physical` waits until the space is reclaimed. */
  async compact(revision: number, opts: { physical?: boolean } & CallOptions = {}): Promise<ResponseHeader> {
    if (!Number.isSafeInteger(revision) || revision <= 0) throw new RangeError(`compact revision must be a positive integer, got ${revision}`);
    const req = { revision: String(revision), physical: opts.physical === true };
    const r = await this.caller.unary<{ header: WireHeader | null }>(etcdMethods().compact, req, 'write', opts);
    return header(r.header);
  }
}

export type { TxnResult };
