// Reads of the eventual state, from the engine (each a scan of one keyspace range, so one
// consistent view) and the published namespace record. Paged: at most `limit` items and
// `more` when there are others.

import { mvToken, type CrdtRecord, type Dot, type EventRecord, type Hlc } from '../crdt/index.js';
import type { NamespaceDefinition } from '../namespace/index.js';
import { decodeU64, type Engine } from '../storage/index.js';
import { decodeDevice, decodeEvent, decodeIndex, decodeKeyState, decodeSuperseded, type DeviceSummary, type KeyState } from './codec.js';
import { lwwRecordFromEngine, lwwRecordsNow } from './lww-value.js';
import {
  Sub, conflictKey, deviceEventsRange, deviceKey, eventKey, keyOfSubKey, keyStateKey, subRange, supersededRange, textOfSubKey,
} from './layout.js';
import { formatContextToken } from './token.js';

export interface WireHlc { wallMs: number; logical: number }

export type EntryValue =
  | { type: 'lww'; value: Uint8Array; hlc: WireHlc; writer: Dot }
  | { type: 'mv'; values: Uint8Array[]; dots: Dot[]; context: string }
  | { type: 'counter'; value: number; p: number; n: number }
  | { type: 'set'; members: Uint8Array[] };

export interface StoredEvent {
  device: string;
  seq: number;
  tsMs: number;
  eventType: string;
  schemaVersion: number;
  payload: Uint8Array;
  dot: Dot;
}

export function wireHlc(h: Hlc): WireHlc {
  return { wallMs: h.wall, logical: h.logical };
}

const FROM_KEY = 0;

/** etcd's range convention inside one namespace's KeyState-like keyspace. */
function keyRange(ns: string, sub: Sub, key: Uint8Array, rangeEnd: Uint8Array, at: (ns: string, k: Uint8Array) => Uint8Array): { gte: Uint8Array; lt?: Uint8Array; lte?: Uint8Array } {
  const all = subRange(ns, sub);
  if (key.length === 0 && rangeEnd.length === 0) return all;
  if (rangeEnd.length === 0) return { gte: at(ns, key), lte: at(ns, key) };
  const gte = key.length === 0 ? all.gte : at(ns, key);
  if (rangeEnd.length === 1 && rangeEnd[0] === FROM_KEY) return { gte, lt: all.lt };
  return { gte, lt: at(ns, rangeEnd) };
}

export async function readEntries(
  engine: Engine, def: NamespaceDefinition, key: Uint8Array, rangeEnd: Uint8Array, limit: number,
): Promise<{ entries: Array<{ key: Uint8Array; value: EntryValue }>; more: boolean }> {
  const ns = def.name;
  const entries: Array<{ key: Uint8Array; value: EntryValue | undefined }> = [];
  let more = false;
  outer: for await (const chunk of engine.scan(keyRange(ns, Sub.KeyState, key, rangeEnd, keyStateKey))) {
    for (const [k, v] of chunk) {
      const s = decodeKeyState(v);
      // lww values are the keys' mvcc rows: read below, with their states, in one snapshot.
      const value = s.kind === 'lww' ? (s.winner.tombstone ? undefined : LWW_PENDING) : entryValue(s);
      if (value === undefined) continue; // a tombstone: nothing visible
      if (entries.length >= limit) {
        more = true;
        break outer;
      }
      entries.push({ key: keyOfSubKey(ns, k), value: value === LWW_PENDING ? undefined : value });
    }
  }
  const lww = entries.filter((e) => e.value === undefined);
  const recs = await lwwRecordsNow(engine, ns, lww.map((e) => e.key));
  lww.forEach((e, i) => {
    const r = recs[i];
    // Deleted since the scan: left out, as if read a moment later.
    if (r !== undefined && r.value !== null) e.value = { type: 'lww', value: r.value, hlc: wireHlc(r.hlc), writer: { origin: r.origin, seq: r.seq } };
  });
  return { entries: entries.filter((e): e is { key: Uint8Array; value: EntryValue } => e.value !== undefined), more };
}

/** Marks an lww entry whose value is still to be read (readEntries). */
const LWW_PENDING: EntryValue = { type: 'set', members: [] };

function entryValue(s: Exclude<KeyState, { kind: 'lww' }>): EntryValue | undefined {
  switch (s.kind) {
    case 'mv':
      return {
        type: 'mv', values: s.state.siblings.map((x) => x.value), dots: s.state.siblings.map((x) => ({ origin: x.origin, seq: x.seq })),
        context: formatContextToken(mvToken(s.state)),
      };
    case 'counter': {
      let p = 0;
      let n = 0;
      for (const e of s.entries) {
        p += e.p;
        n += e.n;
      }
      return { type: 'counter', value: p - n, p, n };
    }
    case 'set': {
      const members = [...s.state.elems.keys()].sort().map((e) => s.state.elems.get(e)![0]!.elem);
      return members.length === 0 ? undefined : { type: 'set', members };
    }
  }
}

export function storedEvent(e: EventRecord): StoredEvent {
  return {
    device: e.deviceId, seq: e.deviceSeq, tsMs: e.ts, eventType: e.type, schemaVersion: e.schemaVersion ?? 0,
    payload: e.payload, dot: { origin: e.origin, seq: e.seq },
  };
}

/** Events of one device (or every device, by device then seq), seqs fromSeq..toSeq (0: unbounded). */
export async function readEvents(
  engine: Engine, def: NamespaceDefinition, device: string, fromSeq: number, toSeq: number, limit: number,
): Promise<{ events: StoredEvent[]; more: boolean }> {
  const ns = def.name;
  const range = device !== ''
    ? (() => {
      const all = deviceEventsRange(ns, device);
      return { gte: fromSeq > 0 ? eventKey(ns, device, fromSeq) : all.gte, ...(toSeq > 0 ? { lte: eventKey(ns, device, toSeq) } : { lt: all.lt }) };
    })()
    : subRange(ns, Sub.Event);
  const events: StoredEvent[] = [];
  let more = false;
  outer: for await (const chunk of engine.scan(range)) {
    for (const [, v] of chunk) {
      const e = decodeEvent(v);
      if ((fromSeq > 0 && e.deviceSeq < fromSeq) || (toSeq > 0 && e.deviceSeq > toSeq)) continue;
      if (events.length >= limit) {
        more = true;
        break outer;
      }
      events.push(storedEvent(e));
    }
  }
  return { events, more };
}

export interface SupersededItem {
  key: Uint8Array;
  value: Uint8Array;
  tombstone: boolean;
  hlc: WireHlc;
  dot: Dot;
  winner: Dot;
}

export async function readSuperseded(
  engine: Engine, def: NamespaceDefinition, key: Uint8Array, rangeEnd: Uint8Array, limit: number,
): Promise<{ records: SupersededItem[]; more: boolean }> {
  const ns = def.name;
  const all = subRange(ns, Sub.Superseded);
  const range = key.length === 0 && rangeEnd.length === 0
    ? all
    : rangeEnd.length === 0
      ? supersededRange(ns, key, undefined, true)
      : supersededRange(ns, key, rangeEnd.length === 1 && rangeEnd[0] === FROM_KEY ? undefined : rangeEnd, false);
  const records: SupersededItem[] = [];
  let more = false;
  outer: for await (const chunk of engine.scan(range)) {
    for (const [, v] of chunk) {
      if (records.length >= limit) {
        more = true;
        break outer;
      }
      const { rec, winner } = decodeSuperseded(v);
      records.push({
        key: rec.key, value: rec.value ?? new Uint8Array(0), tombstone: rec.value === null, hlc: wireHlc(rec.hlc),
        dot: { origin: rec.origin, seq: rec.seq }, winner,
      });
    }
  }
  return { records, more };
}

export interface DeviceItem {
  device: string;
  contiguous: number;
  highest: number;
  held: number;
  gaps: Array<{ from: number; to: number }>;
  completeness: number;
}

export function deviceItem(device: string, d: DeviceSummary): DeviceItem {
  return {
    device,
    contiguous: d.gaps.length > 0 ? d.gaps[0]![0] - 1 : d.highest,
    highest: d.highest,
    held: d.held,
    gaps: d.gaps.map(([from, to]) => ({ from, to })),
    completeness: d.highest === 0 ? 1 : d.held / d.highest,
  };
}

export async function readDevices(
  engine: Engine, def: NamespaceDefinition, device: string, afterDevice: string, limit: number,
): Promise<{ devices: DeviceItem[]; more: boolean }> {
  const ns = def.name;
  if (device !== '') {
    const v = await engine.get(deviceKey(ns, device));
    return { devices: v === undefined ? [] : [deviceItem(device, decodeDevice(v))], more: false };
  }
  const all = subRange(ns, Sub.Device);
  const range = afterDevice === '' ? all : { gt: deviceKey(ns, afterDevice), lt: all.lt };
  const devices: DeviceItem[] = [];
  let more = false;
  outer: for await (const chunk of engine.scan(range)) {
    for (const [k, v] of chunk) {
      if (devices.length >= limit) {
        more = true;
        break outer;
      }
      devices.push(deviceItem(textOfSubKey(ns, k), decodeDevice(v)));
    }
  }
  return { devices, more };
}

export async function readConflicts(
  engine: Engine, def: NamespaceDefinition, afterKey: Uint8Array, limit: number,
): Promise<{ keys: Array<{ key: Uint8Array; siblings: number }>; more: boolean }> {
  const ns = def.name;
  const all = subRange(ns, Sub.Conflict);
  const range = afterKey.length === 0 ? all : { gt: conflictKey(ns, afterKey), lt: all.lt };
  const keys: Array<{ key: Uint8Array; siblings: number }> = [];
  let more = false;
  outer: for await (const chunk of engine.scan(range)) {
    for (const [k, v] of chunk) {
      if (keys.length >= limit) {
        more = true;
        break outer;
      }
      keys.push({ key: keyOfSubKey(ns, k), siblings: new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(0) });
    }
  }
  return { keys, more };
}


/**
 * The live records of a namespace (not dominated, not collected), per origin in seq order,
 * origins in order, from the per-origin index: what a peer with an empty vector lacks (the
 * delta extraction of issue 14 pages this by the peer's vector).
 */
export async function readLiveRecords(engine: Engine, def: NamespaceDefinition): Promise<CrdtRecord[]> {
  const ns = def.name;
  const out: CrdtRecord[] = [];
  for await (const chunk of engine.scan(subRange(ns, Sub.Index))) {
    for (const [k, v] of chunk) {
      const origin = textOfSubKey(ns, k);
      const seq = decodeU64(k, k.length - 8);
      const e = decodeIndex(v);
      if (e.where === 'record') {
        out.push(e.record);
        continue;
      }
      const found = e.where === 'event'
        ? await liveEvent(engine, ns, e.device, e.seq)
        : await recordsOfKey(engine, ns, e.key);
      const r = found.find((x) => x.origin === origin && x.seq === seq);
      if (r === undefined) throw new Error(`eventual index: ${origin}:${seq} points at state that does not hold it`);
      out.push(r);
    }
  }
  return out;
}

async function liveEvent(engine: Engine, ns: string, device: string, seq: number): Promise<CrdtRecord[]> {
  const v = await engine.get(eventKey(ns, device, seq));
  return v === undefined ? [] : [decodeEvent(v)];
}

async function recordsOfKey(engine: Engine, ns: string, key: Uint8Array): Promise<CrdtRecord[]> {
  const s = decodeKeyState((await engine.get(keyStateKey(ns, key)))!);
  if (s.kind !== 'lww') return recordsOfState(s);
  const r = await lwwRecordFromEngine(engine, key, s.winner);
  return r === undefined ? [] : [r];
}

function recordsOfState(s: Exclude<KeyState, { kind: 'lww' }>): CrdtRecord[] {
  switch (s.kind) {
    case 'mv': return [...s.state.siblings];
    case 'counter': return [...s.entries];
    case 'set': return [...s.state.elems.values()].flat();
  }
}
