// The final reads of an edge chaos run, after every fault is healed (fleet.healAll and the
// region's recovery): a quiet phase that polls every replica (each region member on its
// own, every edge) until all answer the same CrdtHash for every namespace, then every
// replica read on its own: hashes, every key of every type, every event, the completeness
// per device. The checkers compare them.

import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../../client/index.js';
import { errorText, untilDone } from '../workload/common.js';
import { COUNTER_KEYS, EDGE_NAMESPACE_NAMES, EDGE_NS, LWW_KEYS, MV_KEYS, SET_KEYS } from './workload.js';

/** How long the quiet phase waits for every replica to agree (a throttled, skewed run catches up in seconds). */
export const EDGE_QUIESCE_TIMEOUT_MS = 120_000;
export const EDGE_QUIESCE_POLL_MS = 500;
/**
 * Replicas that differ and whose hashes have not moved for this long will not agree: the
 * quiet phase ends early (a record refused for a skewed stamp is taken within
 * SKEW_OUTSIDE_MS of the heal, well inside this).
 */
export const EDGE_QUIESCE_STUCK_MS = 25_000;
export const FINAL_CLIENT_TIMEOUT_MS = 10_000;

export interface ReplicaFinal {
  replica: string;
  error: string | null;
  hashes: Record<string, number>;
  /** Per namespace, the version vector the hash was taken with (origin → seq): what a hash difference is made of. */
  vectors?: Record<string, Record<string, number>>;
  lww: Record<string, { value: string; hlc: { wallMs: number; logical: number }; writer: string } | null>;
  mv: Record<string, { values: string[]; dots: string[] }>;
  counters: Record<string, number>;
  sets: Record<string, string[]>;
  /** device → seq → payloads held (more than one: a duplicate). */
  events: Record<string, Record<number, string[]>>;
  completeness: Record<string, { contiguous: number; highest: number; held: number; gaps: number }>;
}

export interface EdgeFinalRead {
  replicas: ReplicaFinal[];
  quiesced: boolean;
  quiesceMs: number;
}

export function lwwKeys(): string[] {
  return Array.from({ length: LWW_KEYS }, (_, i) => `${EDGE_NS.lww.prefix}k${i}`);
}
export function mvKeys(): string[] {
  return Array.from({ length: MV_KEYS }, (_, i) => `${EDGE_NS.mv.prefix}k${i}`);
}
export function counterKeys(): string[] {
  return Array.from({ length: COUNTER_KEYS }, (_, i) => `${EDGE_NS.counter.prefix}k${i}`);
}
export function setKeys(): string[] {
  return Array.from({ length: SET_KEYS }, (_, i) => `${EDGE_NS.set.prefix}k${i}`);
}

async function hashes(c: Client): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const ns of EDGE_NAMESPACE_NAMES) out[ns] = (await c.crdt.hash(ns)).hash;
  return out;
}

async function readReplica(replica: string, c: Client): Promise<ReplicaFinal> {
  const s = { serializable: true };
  const vectors: Record<string, Record<string, number>> = {};
  const hs: Record<string, number> = {};
  for (const ns of EDGE_NAMESPACE_NAMES) {
    const h = await c.crdt.hash(ns);
    hs[ns] = h.hash;
    vectors[ns] = h.vector;
  }
  const f: ReplicaFinal = { replica, error: null, hashes: hs, vectors, lww: {}, mv: {}, counters: {}, sets: {}, events: {}, completeness: {} };
  for (const k of lwwKeys()) {
    const r = await c.crdt.lwwGet(k, s);
    f.lww[k] = r.value === undefined || r.hlc === undefined ? null
      : { value: r.value.toString(), hlc: r.hlc, writer: r.writer === undefined ? '' : `${r.writer.origin}:${r.writer.seq}` };
  }
  for (const k of mvKeys()) {
    const r = await c.crdt.mvGet(k, s);
    f.mv[k] = { values: r.values.map((v) => v.toString()), dots: r.dots.map((d) => `${d.origin}:${d.seq}`) };
  }
  for (const k of counterKeys()) f.counters[k] = (await c.crdt.counterGet(k, s)).value;
  for (const k of setKeys()) f.sets[k] = (await c.crdt.setMemberStrings(k, s)).sort();
  const scan = await c.crdt.eventsScan(EDGE_NS.events.name, { ...s, all: true });
  for (const e of scan.events) {
    const d = (f.events[e.device] ??= {});
    (d[e.seq] ??= []).push(e.payload.toString());
  }
  for (const d of (await c.crdt.completeness(EDGE_NS.events.name, { ...s, all: true })).devices) {
    f.completeness[d.device] = { contiguous: d.contiguous, highest: d.highest, held: d.held, gaps: d.gaps.length };
  }
  return f;
}

/** The quiet phase, then every replica read; `replicas` maps a name to a client of that replica alone. */
export async function readEdgeFinals(replicas: ReadonlyArray<{ name: string; endpoint: string }>, log: (line: string) => void): Promise<EdgeFinalRead> {
  const clients = replicas.map((r) => ({ name: r.name, c: new Client({ endpoints: [r.endpoint], timeoutMs: FINAL_CLIENT_TIMEOUT_MS, attempts: 1 }) }));
  try {
    const t0 = Date.now();
    let quiesced = false;
    let last = '';
    let lastChangeMs = Date.now();
    while (Date.now() - t0 < EDGE_QUIESCE_TIMEOUT_MS && Date.now() - lastChangeMs < EDGE_QUIESCE_STUCK_MS) {
      const all = await Promise.all(clients.map(({ c }) => hashes(c).then((h) => JSON.stringify(h), () => undefined)));
      const now = all.map((h, i) => `${clients[i]!.name} ${h ?? 'no answer'}`).join('; ');
      if (now !== last) lastChangeMs = Date.now();
      last = now;
      if (all.every((h) => h !== undefined && h === all[0])) {
        quiesced = true;
        break;
      }
      await sleep(EDGE_QUIESCE_POLL_MS);
    }
    const quiesceMs = Date.now() - t0;
    log(`edge chaos: ${quiesced ? `every replica agrees after ${quiesceMs} ms` : `replicas still differ after ${quiesceMs} ms: ${last}`}; reading every replica`);
    const finals = await Promise.all(clients.map(async ({ name, c }) => {
      try {
        return await untilDone(() => readReplica(name, c));
      } catch (err) {
        const empty: ReplicaFinal = { replica: name, error: errorText(err), hashes: {}, lww: {}, mv: {}, counters: {}, sets: {}, events: {}, completeness: {} };
        return empty;
      }
    }));
    return { replicas: finals, quiesced, quiesceMs };
  } finally {
    for (const { c } of clients) c.close();
  }
}
