// Reading the persisted key index (kv-layout.ts) from the two places that read it:
//  - readers (Range, read txns, watch prev_kv): the engine as of `published`. The applier's
//    batch write becomes visible inside RocksDB before its callback runs, so a reader opens
//    its engine views only while no write is in flight (withReaderView), in the same tick
//    as it reads `published`: the views and the revision then agree.
//  - the applier: the engine (only the applier writes it, and its write is at the end of
//    the batch) merged with the batch's overlays in MvccState.
// Every scan goes by engine chunks (Engine.scan), so the work between awaits is bounded.

import type { Bytes } from '../storage/engine.js';
import {
  type HistEntry, SUB_MAX, decodeHist, decodeLatest, histBounds, histKey, histKeyPart, histPrefix, keyOfString, keyString,
  latestBounds, latestKey, unescapeKey, userKeyOfLatest,
} from './kv-layout.js';
import type { MvccState } from './state.js';
import type { KeyValue } from './types.js';

/** Runs `open` (which must open its engine views synchronously) once no applier write is
 *  in flight, so what it opens is exactly the state at `st.published`. */
export async function withReaderView<T>(st: MvccState, open: () => T): Promise<T> {
  while (st.writing !== undefined) await st.writing;
  return open();
}

/** The live kv of `key` at `published` and that revision (reader). */
export async function readerGet(st: MvccState, key: Uint8Array): Promise<{ kv: KeyValue | undefined; at: number }> {
  const ks = keyString(key);
  const cached = st.latestCache.lookup(key, ks);
  if (cached !== undefined) return { kv: cached ?? undefined, at: st.published };
  const got = await pointGet(st, key, ks);
  if (got !== undefined) return got;
  return seekGet(st, key, ks);
}

/**
 * The row of `key` by a point Get, answered as of `published` when that is certain, else
 * undefined (the caller seeks in a view instead). Why (issue 20, linearizable gets at 1M
 * keys; scripts/bench-mvcc-get.ts on a 1M-key store): RocksDB answers a seek by seeking
 * every memtable, level-0 file and level, reading a data block from each (an iterator has
 * no bloom filter to skip them), where a Get skips every file whose filter says no and
 * reads one block: 73 µs of CPU per read against 16-25. A Get runs on the thread pool,
 * though, against whatever is written by then, so it reads the state at `published` only
 * - when the row it finds was last modified at or before that revision: any write to the
 *   key after it carries a later mod revision, so the row is the same as at `published`;
 * - or, for a row not found or newer, when no batch was written from the call to the
 *   answer (none in flight at either end, and none published between: `writing` is
 *   cleared and `publications` counted in the same turn).
 */
async function pointGet(st: MvccState, key: Uint8Array, ks: string): Promise<{ kv: KeyValue | undefined; at: number } | undefined> {
  const at = st.published;
  const publications = st.publications;
  const quietAtStart = st.writing === undefined;
  const bytes = await st.engine.get(latestKey(key));
  const kv = bytes === undefined ? undefined : decodeLatest(key.slice(), bytes);
  const unchanged = quietAtStart && st.writing === undefined && st.publications === publications;
  if (!unchanged && (kv === undefined || kv.modRevision > at)) return undefined;
  // Cache only if no batch was published meanwhile (it may have changed this key).
  if (st.publications === publications) st.latestCache.remember(ks, kv ?? null);
  return { kv, at };
}

/** The row of `key` in a view opened while no write is in flight (exactly `published`). */
async function seekGet(st: MvccState, key: Uint8Array, ks: string): Promise<{ kv: KeyValue | undefined; at: number }> {
  const { scan, at, publications } = await withReaderView(st, () => ({
    scan: st.engine.scan({ gte: latestKey(key), lte: latestKey(key), limit: 1 }),
    at: st.published,
    publications: st.publications,
  }));
  let kv: KeyValue | undefined;
  for await (const chunk of scan) for (const [k, v] of chunk) kv = decodeLatest(userKeyOfLatest(k).slice(), v);
  // Cache only if no batch was published meanwhile (it may have changed this key).
  if (publications === st.publications) st.latestCache.remember(ks, kv ?? null);
  return { kv, at };
}

const NO_BYTES = new Uint8Array(0);

/**
 * The live kv of `key` in the applier's view when it is known without an engine read (the
 * batch's overlay, the read ahead, the latest cache): null when not live, undefined when only
 * the engine knows. `ks` is keyString(key).
 */
export function applierGetNow(st: MvccState, key: Uint8Array, ks: string): KeyValue | null | undefined {
  const own = st.latestOverlay.get(ks);
  if (own !== undefined) return own;
  const pre = st.prefetched.get(ks);
  if (pre !== undefined) return pre;
  return st.latestCache.lookup(key, ks);
}

/** The live kv of `key` in the applier's view (its current revision). */
export async function applierGet(st: MvccState, key: Uint8Array): Promise<KeyValue | undefined> {
  const ks = keyString(key);
  const known = applierGetNow(st, key, ks);
  if (known !== undefined) return known ?? undefined;
  const bytes = await st.engine.get(latestKey(key));
  const kv = bytes === undefined ? undefined : decodeLatest(key.slice(), bytes);
  st.prefetched.set(ks, kv ?? null);
  return kv;
}

/** Reads ahead, in one engine round trip, the live kvs of keys the batch will touch and the
 *  raw engine values its external commands will read (`raw`). */
export async function prefetchLatest(st: MvccState, keys: Uint8Array[], raw: Uint8Array[] = []): Promise<void> {
  const want: Uint8Array[] = [];
  const seen = new Set<string>();
  for (const key of keys) {
    const ks = keyString(key);
    if (seen.has(ks) || st.latestOverlay.has(ks) || st.prefetched.has(ks)) continue;
    seen.add(ks);
    // A hit marks the entry used, which is what a read ahead should do.
    if (st.latestCache.get(ks) !== undefined) continue;
    want.push(key);
  }
  const wantRaw: Uint8Array[] = [];
  for (const key of raw) {
    const ks = keyString(key);
    if (seen.has(`raw:${ks}`) || st.rawOverlay.has(ks) || st.rawPrefetched.has(ks)) continue;
    seen.add(`raw:${ks}`);
    wantRaw.push(key);
  }
  if (want.length === 0 && wantRaw.length === 0) return;
  const values = await st.engine.getMany([...want.map(latestKey), ...wantRaw]);
  for (let i = 0; i < want.length; i++) {
    const key = want[i] as Uint8Array;
    const v = values[i];
    st.prefetched.set(keyString(key), v === undefined ? null : decodeLatest(key.slice(), v));
  }
  for (let i = 0; i < wantRaw.length; i++) st.rawPrefetched.set(keyString(wantRaw[i]!), values[want.length + i] ?? null);
}

export interface LatestScanOptions {
  /** false: keys only (kvs carry only their key). */
  values?: boolean;
  /** false (with values false): nothing but the count of pairs. */
  keys?: boolean;
  reverse?: boolean;
  limit?: number;
}

/** Opens (synchronously) a scan of live kvs in [key, rangeEnd) of the engine. */
export function openLatestScan(st: MvccState, key: Uint8Array, rangeEnd: Uint8Array | undefined, o: LatestScanOptions = {}): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
  return st.engine.scan({
    ...latestBounds(key, rangeEnd),
    ...(o.values === false ? { values: false } : {}),
    ...(o.keys === false ? { keys: false } : {}),
    ...(o.reverse === true ? { reverse: true } : {}),
    ...(o.limit !== undefined && Number.isFinite(o.limit) ? { limit: o.limit } : {}),
  });
}

/** Live kvs of an opened latest scan, chunk by chunk. */
export async function* latestChunks(scan: AsyncIterableIterator<Array<[Bytes, Bytes]>>, values: boolean): AsyncGenerator<KeyValue[]> {
  for await (const chunk of scan) {
    const out: KeyValue[] = [];
    for (const [k, v] of chunk) {
      const key = userKeyOfLatest(k);
      out.push(values ? decodeLatest(key, v) : { key, value: NO_BYTES, createRevision: 0, modRevision: 0, version: 0, lease: 0 });
    }
    yield out;
  }
}

/** Counts the pairs of an opened scan (keys-only scans make this as cheap as it gets). */
export async function countScan(scan: AsyncIterableIterator<Array<[Bytes, Bytes]>>): Promise<number> {
  let n = 0;
  for await (const chunk of scan) n += chunk.length;
  return n;
}

function inRange(ks: string, from: string, to: string | undefined, single: boolean): boolean {
  if (single) return ks === from;
  return ks >= from && (to === undefined || ks < to);
}

function rangeStrings(key: Uint8Array, rangeEnd: Uint8Array | undefined): { from: string; to: string | undefined; single: boolean } {
  const single = rangeEnd === undefined || rangeEnd.length === 0;
  const to = single || (rangeEnd.length === 1 && rangeEnd[0] === 0) ? undefined : keyString(rangeEnd);
  return { from: keyString(key), to, single };
}

/**
 * Every live kv in [key, rangeEnd) in the applier's view, in key order. `values: false`:
 * the engine's kvs come without their value (empty), for a caller that needs only keys,
 * revisions and leases (a delete without prev_kv): a delete of 10k keys of 1 KiB
 * (etcdctl check datascale's clean-up) then copies 10 MB less, which would live through
 * the whole delete and be promoted to the old generation on every member.
 */
export async function applierRange(
  st: MvccState, key: Uint8Array, rangeEnd: Uint8Array | undefined, o: { values?: boolean } = {},
): Promise<KeyValue[]> {
  const values = o.values !== false;
  if (rangeEnd === undefined || rangeEnd.length === 0) {
    const kv = await applierGet(st, key);
    return kv === undefined ? [] : [kv];
  }
  const { from, to, single } = rangeStrings(key, rangeEnd);
  const own = [...st.latestOverlay.keys()].filter((ks) => inRange(ks, from, to, single)).sort();
  const out: KeyValue[] = [];
  let oi = 0;
  const emitOwnBelow = (bound: string | undefined): void => {
    for (; oi < own.length; ) {
      if (bound !== undefined && (own[oi] as string) >= bound) return;
      const kv = st.latestOverlay.get(own[oi++] as string);
      if (kv) out.push(kv);
    }
  };
  for await (const chunk of latestChunks(openLatestScan(st, key, rangeEnd), true)) {
    for (const kv of chunk) {
      const ks = keyString(kv.key);
      emitOwnBelow(ks);
      if (oi < own.length && own[oi] === ks) {
        const mine = st.latestOverlay.get(own[oi++] as string);
        if (mine) out.push(mine);
      } else out.push({ ...kv, key: kv.key.slice(), value: values ? kv.value.slice() : NO_BYTES });
    }
  }
  emitOwnBelow(undefined);
  return out;
}

/** What a read at an old revision finds of one key. */
export interface Hit extends HistEntry {
  key: Uint8Array;
}

/**
 * The live entries of [key, rangeEnd) at revision `at`, from the history, in key order:
 * per key, the newest entry at or before `at`, unless it is a tombstone. `withOverlay`:
 * the applier's view (its batch's entries are not in the engine yet).
 */
export async function hitsAtRevision(
  st: MvccState, key: Uint8Array, rangeEnd: Uint8Array | undefined, at: number, withOverlay: boolean,
): Promise<Hit[]> {
  const found = new Map<string, Hit | null>();
  let part: Uint8Array | undefined;
  let partStr = '';
  let best: Hit | null = null;
  const flush = (): void => {
    if (part !== undefined && best !== null) found.set(keyString(best.key), best);
  };
  for await (const chunk of st.engine.scan(histBounds(key, rangeEnd))) {
    for (const [k, v] of chunk) {
      const p = histKeyPart(k);
      const ps = keyString(p);
      if (part === undefined || ps !== partStr) {
        flush();
        part = p;
        partStr = ps;
        best = null;
      }
      const e = decodeHist(k, v);
      if (e.main > at) continue;
      best = e.tombstone ? null : { ...e, key: unescapeKey(p) };
    }
  }
  flush();
  if (withOverlay && at > st.published) {
    const { from, to, single } = rangeStrings(key, rangeEnd);
    for (const [ks, entries] of st.histOverlay) {
      if (!inRange(ks, from, to, single)) continue;
      let newest: HistEntry | undefined;
      for (const e of entries) if (e.main <= at) newest = e;
      if (newest !== undefined) found.set(ks, newest.tombstone ? null : { ...newest, key: keyOfString(ks) });
    }
  }
  const out: Hit[] = [];
  for (const ks of [...found.keys()].sort()) {
    const h = found.get(ks);
    if (h) out.push(h);
  }
  return out;
}

/** The live entry of one key at revision `at` (<= published), from the history. */
export async function hitAt(st: MvccState, key: Uint8Array, at: number): Promise<Hit | undefined> {
  const scan = st.engine.scan({ gte: histPrefix(key), lte: histKey(key, at, SUB_MAX), reverse: true, limit: 1 });
  for await (const chunk of scan) {
    for (const [k, v] of chunk) {
      const e = decodeHist(k, v);
      return e.tombstone ? undefined : { ...e, key };
    }
  }
  return undefined;
}
