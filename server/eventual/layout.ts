// How the eventual store lays out its state in the `state/` engine, all under the reserved
// keyspace StateKeyspace.Crdt (0x15):
//   [0x15][0x00][name]                      meta (the region's last applied HLC)
//   [0x15][0x01][ns]                        the namespace record: its vector and running counts
//   [0x15][0x02][ns][0x00][sub][...]        the namespace's data, one sub-keyspace each:
//     KeyState    [key]                     one key's merged state (lww/mv/counter/set)
//     Index       [origin][0x00][u64 seq]   every live record by dot (delta extraction, issue 14)
//     Superseded  [esc key][origin 0][u64]  lww losers kept until causally stable
//     Event       [device][0x00][u64 seq]   events by device and seq
//     Device      [device]                  per device: highest, held, gaps
//     Conflict    [key]                     mv keys with siblings > 1: their sibling count
//     EventLoser  [device 0][u64 seq][origin 0][u64 oseq]  events that lost a (device, seq)
// A namespace's data is one contiguous range (CrdtHash scans it; a namespace delete clears
// it). Namespace names, origins and device ids hold no 0x00 (validated), so 0x00 ends them;
// a key followed by more parts is escaped (escapeKey) so that key order is kept.

import { StateKeyspace, concatBytes, decodeU64, encodeU64, writeU64 } from '../storage/index.js';
import { PairCache } from './pair-cache.js';

const CRDT = StateKeyspace.Crdt;
const META = 0x00;
const NS_RECORD = 0x01;
const NS_DATA = 0x02;
const SEP = 0x00;
/** A seq in a key: a big-endian u64 (storage's encodeU64). */
const SEQ_BYTES = 8;

export const Sub = {
  KeyState: 0x01,
  Index: 0x02,
  Superseded: 0x03,
  Event: 0x04,
  Device: 0x05,
  Conflict: 0x06,
  EventLoser: 0x07,
} as const;
export type Sub = (typeof Sub)[keyof typeof Sub];

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export function text(s: string): Uint8Array {
  return utf8.encode(s);
}

export function metaKey(name: string): Uint8Array {
  return concatBytes(Uint8Array.of(CRDT, META), text(name));
}

export const NS_RECORDS_RANGE = { gte: Uint8Array.of(CRDT, NS_RECORD), lt: Uint8Array.of(CRDT, NS_RECORD + 1) };

/** nsRecordKey per namespace, built once (every written batch puts its namespaces' records);
 *  shared as HLC_KEY is: keys handed to the engine are never changed. Bounded as subPrefixes. */
const nsRecordKeys = new Map<string, Uint8Array>();

export function nsRecordKey(ns: string): Uint8Array {
  let k = nsRecordKeys.get(ns);
  if (k === undefined) {
    k = concatBytes(Uint8Array.of(CRDT, NS_RECORD), text(ns));
    if (nsRecordKeys.size < SUB_PREFIX_CACHE_MAX) nsRecordKeys.set(ns, k);
  }
  return k;
}

export function nsOfRecordKey(key: Uint8Array): string {
  return utf8Decoder.decode(key.subarray(2));
}

/**
 * [0x15][0x02][ns][0x00][sub] per namespace, indexed by sub, built once: every key of an apply
 * starts so. Looked up by the namespace's name alone (no `${sub}:${ns}` string built and
 * hashed per call: two per lww write, on every member, were 2-4 % of its apply's CPU).
 */
const subPrefixes = new Map<string, Array<Uint8Array | undefined>>();
/** Namespaces whose prefixes are remembered (NAMESPACES_MAX is 1000; past this, built per call). */
const SUB_PREFIX_CACHE_MAX = 8192;

/** [0x15][0x02][ns][0x00]: the start of a namespace's data. */
export function nsDataPrefix(ns: string): Uint8Array {
  return concatBytes(Uint8Array.of(CRDT, NS_DATA), text(ns), Uint8Array.of(SEP));
}

/** Every data key of a namespace. */
export function nsDataRange(ns: string): { gte: Uint8Array; lt: Uint8Array } {
  const p = nsDataPrefix(ns);
  const lt = p.slice();
  lt[lt.length - 1] = SEP + 1;
  return { gte: p, lt };
}

export function subPrefix(ns: string, sub: Sub): Uint8Array {
  let subs = subPrefixes.get(ns);
  let p = subs?.[sub];
  if (p === undefined) {
    p = concatBytes(nsDataPrefix(ns), Uint8Array.of(sub));
    if (subs === undefined && subPrefixes.size < SUB_PREFIX_CACHE_MAX) subPrefixes.set(ns, (subs = []));
    if (subs !== undefined) subs[sub] = p;
  }
  return p;
}

export function subRange(ns: string, sub: Sub): { gte: Uint8Array; lt: Uint8Array } {
  const p = concatBytes(nsDataPrefix(ns), Uint8Array.of(sub));
  const lt = p.slice();
  lt[lt.length - 1] = sub + 1;
  return { gte: p, lt };
}

export function keyStateKey(ns: string, key: Uint8Array): Uint8Array {
  const p = subPrefix(ns, Sub.KeyState);
  const out = new Uint8Array(p.length + key.length);
  out.set(p);
  out.set(key, p.length);
  return out;
}

export function conflictKey(ns: string, key: Uint8Array): Uint8Array {
  return concatBytes(subPrefix(ns, Sub.Conflict), key);
}

/**
 * [index sub prefix][origin][0x00] per (namespace, origin), built once (most writes are the
 * region's). Two map levels (no combined string per call), and the last pair asked for in
 * front of them: an lww write builds two index keys of the same pair (its entry's put at flush
 * and its predecessor's delete), every write of the region's origin too.
 */
const originPrefixes = new PairCache<Uint8Array>(SUB_PREFIX_CACHE_MAX);
let lastOriginPrefix: { ns: string; origin: string; prefix: Uint8Array } | undefined;

function originPrefix(ns: string, origin: string): Uint8Array {
  const last = lastOriginPrefix;
  if (last !== undefined && last.ns === ns && last.origin === origin) return last.prefix;
  let p = originPrefixes.get(ns, origin);
  if (p === undefined) {
    p = concatBytes(subPrefix(ns, Sub.Index), text(origin), Uint8Array.of(SEP));
    // Origins grow with edges: PairCache forgets them all past its bound, and they are built again.
    originPrefixes.set(ns, origin, p);
  }
  lastOriginPrefix = { ns, origin, prefix: p };
  return p;
}

export function indexKey(ns: string, origin: string, seq: number): Uint8Array {
  const p = originPrefix(ns, origin);
  // One allocation (every lww write builds one or two of these).
  const out = new Uint8Array(p.length + SEQ_BYTES);
  out.set(p);
  writeU64(out, p.length, seq);
  return out;
}

/** [event sub prefix][device][0x00] per namespace and device: every event key of a device starts so. */
const eventHeads = new PairCache<Uint8Array>(SUB_PREFIX_CACHE_MAX);

export function eventKey(ns: string, device: string, seq: number): Uint8Array {
  let head = eventHeads.get(ns, device);
  if (head === undefined) {
    head = concatBytes(subPrefix(ns, Sub.Event), text(device), Uint8Array.of(SEP));
    eventHeads.set(ns, device, head);
  }
  // One allocation per key (it was four).
  const out = new Uint8Array(head.length + SEQ_BYTES);
  out.set(head);
  writeU64(out, head.length, seq);
  return out;
}

/** Every event of one device. */
export function deviceEventsRange(ns: string, device: string): { gte: Uint8Array; lt: Uint8Array } {
  const p = concatBytes(subPrefix(ns, Sub.Event), text(device));
  return { gte: concatBytes(p, Uint8Array.of(SEP)), lt: concatBytes(p, Uint8Array.of(SEP + 1)) };
}

export function seqOfEventKey(key: Uint8Array): number {
  return decodeU64(key, key.length - 8);
}

/** Device summary keys per namespace and device, built once: an event apply asks for its
 *  device's key three times (read ahead, held check, summary update), a page for each event. */
const deviceKeys = new PairCache<Uint8Array>(SUB_PREFIX_CACHE_MAX);

/** The returned key is shared: callers never change it. */
export function deviceKey(ns: string, device: string): Uint8Array {
  let key = deviceKeys.get(ns, device);
  if (key === undefined) {
    key = concatBytes(subPrefix(ns, Sub.Device), text(device));
    deviceKeys.set(ns, device, key);
  }
  return key;
}

export function eventLoserKey(ns: string, device: string, seq: number, origin: string, oseq: number): Uint8Array {
  return concatBytes(subPrefix(ns, Sub.EventLoser), text(device), Uint8Array.of(SEP), encodeU64(seq), text(origin), Uint8Array.of(SEP), encodeU64(oseq));
}

export function supersededKey(ns: string, key: Uint8Array, origin: string, seq: number): Uint8Array {
  return concatBytes(subPrefix(ns, Sub.Superseded), escapeKey(key), KEY_END, text(origin), Uint8Array.of(SEP), encodeU64(seq));
}

/** The superseded records of keys in [from, to) (to empty: no upper bound), or of one key. */
export function supersededRange(ns: string, from: Uint8Array, to: Uint8Array | undefined, single: boolean): { gte: Uint8Array; lt: Uint8Array } {
  const p = subPrefix(ns, Sub.Superseded);
  if (single) {
    const k = concatBytes(p, escapeKey(from), KEY_END);
    const lt = k.slice();
    lt[lt.length - 1] = KEY_END[1]! + 1;
    return { gte: k, lt };
  }
  return { gte: concatBytes(p, escapeKey(from)), lt: to === undefined ? subRange(ns, Sub.Superseded).lt : concatBytes(p, escapeKey(to)) };
}

/** The key part of a KeyState / Conflict engine key. */
export function keyOfSubKey(ns: string, engineKey: Uint8Array): Uint8Array {
  return engineKey.slice(nsDataPrefix(ns).length + 1);
}

/** The text part after a sub prefix up to the next 0x00 (or the end). */
export function textOfSubKey(ns: string, engineKey: Uint8Array): string {
  const from = nsDataPrefix(ns).length + 1;
  let to = engineKey.indexOf(SEP, from);
  if (to < 0) to = engineKey.length;
  return utf8Decoder.decode(engineKey.subarray(from, to));
}

// 0x00 → 0x00 0xFF inside a key, 0x00 0x01 after it: escaped keys sort as the keys do, and
// no escaped key is a prefix of another's escaped form followed by its end mark.
const KEY_END = Uint8Array.of(0x00, 0x01);

export function escapeKey(key: Uint8Array): Uint8Array {
  let zeros = 0;
  for (const b of key) if (b === 0) zeros++;
  if (zeros === 0) return key;
  const out = new Uint8Array(key.length + zeros);
  let j = 0;
  for (const b of key) {
    out[j++] = b;
    if (b === 0) out[j++] = 0xff;
  }
  return out;
}

export function hasNul(s: string): boolean {
  return s.includes('\u0000');
}
