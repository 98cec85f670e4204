// How rsctl prints the answers of the Crdt service. json: snake_case names as on the wire,
// bytes (keys, values, members, payloads) in base64 as `rsctl get -w json` prints etcd's,
// the namespace's vector as {origin: seq}, member ids as exact numbers. simple: lines a
// person reads and a script can cut (bytes as they are). table: one row per entry.

import type {
  AppendedEvent, CompletenessResult, ConflictsResult, CounterGetResult, CrdtAnswer, CrdtHashResult, CrdtWriteResult, DeviceCompleteness, Dot,
  Hlc, LwwEntry, MvGetResult, SetMembersResult, StoredEvent, SupersededRecord, SupersededResult,
} from '../index.js';
import { RawNumber } from './output.js';

type Json = Record<string, unknown>;

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export function dotJson(d: Dot | undefined): Json | undefined {
  return d === undefined ? undefined : { origin: d.origin, seq: d.seq };
}

export function hlcJson(h: Hlc | undefined): Json | undefined {
  return h === undefined ? undefined : { wall_ms: h.wallMs, logical: h.logical };
}

/** What every answer carries: namespace, revision, vector. */
export function answerJson(a: CrdtAnswer): Json {
  return { namespace: a.namespace, revision: a.revision, vector: a.vector };
}

export function writeJson(r: CrdtWriteResult): Json {
  return {
    ...answerJson(r),
    member_id: new RawNumber(r.memberId),
    results: r.results.map((x) => ({
      dot: dotJson(x.dot), hlc: hlcJson(x.hlc), ...(x.eventSeq === 0 ? {} : { event_seq: x.eventSeq }), ...(x.duplicate ? { duplicate: true } : {}),
    })),
  };
}

export function lwwEntryJson(e: LwwEntry): Json {
  return { key: b64(e.key), value: b64(e.value), hlc: hlcJson(e.hlc), writer: dotJson(e.writer) };
}

export function mvJson(r: MvGetResult): Json {
  return { ...answerJson(r), key: b64(r.key), values: r.values.map(b64), dots: r.dots.map(dotJson), context: r.context };
}

export function counterJson(r: CounterGetResult): Json {
  return { ...answerJson(r), key: b64(r.key), value: r.value, p: r.p, n: r.n };
}

export function setJson(r: SetMembersResult): Json {
  return { ...answerJson(r), key: b64(r.key), members: r.members.map(b64) };
}

export function eventJson(e: StoredEvent): Json {
  return { device: e.device, seq: e.seq, ts_ms: e.tsMs, type: e.type, schema_version: e.schemaVersion, payload: b64(e.payload), dot: dotJson(e.dot) };
}

export function appendedJson(r: AppendedEvent): Json {
  return { seq: r.seq, duplicate: r.duplicate, dot: dotJson(r.dot), hlc: hlcJson(r.hlc) };
}

export function deviceJson(d: DeviceCompleteness): Json {
  return { device: d.device, contiguous: d.contiguous, highest: d.highest, held: d.held, gaps: d.gaps, completeness: d.completeness };
}

export function completenessJson(r: CompletenessResult): Json {
  return {
    ...answerJson(r), devices: r.devices.map(deviceJson), more: r.more, completeness: r.completeness, device_count: r.deviceCount, gap_count: r.gapCount,
  };
}

export function conflictsJson(r: ConflictsResult): Json {
  return { ...answerJson(r), keys: r.keys.map((k) => ({ key: b64(k.key), siblings: k.siblings })), more: r.more, unresolved: r.unresolved };
}

export function supersededRecordJson(s: SupersededRecord): Json {
  return { key: b64(s.key), value: b64(s.value), tombstone: s.tombstone, hlc: hlcJson(s.hlc), dot: dotJson(s.dot), winner: dotJson(s.winner) };
}

export function supersededJson(r: SupersededResult): Json {
  return { ...answerJson(r), records: r.records.map(supersededRecordJson), more: r.more, total: r.total };
}

export function hashJson(endpoint: string, r: CrdtHashResult): Json {
  return { endpoint, ...answerJson(r), hash: r.hash, applied_index: r.appliedIndex, member_id: new RawNumber(r.memberId) };
}

// ---- text for simple and table output ----

/** origin/seq, as a dot is written in rsctl's text output. */
export function dotText(d: Dot | undefined): string {
  return d === undefined ? '' : `${d.origin}/${d.seq}`;
}

/** An HLC as ISO time plus the logical counter when it is not 0. */
export function hlcText(h: Hlc | undefined): string {
  if (h === undefined) return '';
  return `${msText(h.wallMs)}${h.logical === 0 ? '' : `+${h.logical}`}`;
}

/** ms since the epoch as ISO-8601 (a number out of Date's range as it is). */
export function msText(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** Seq ranges as "3-5,9". */
export function gapsText(gaps: ReadonlyArray<{ from: number; to: number }>): string {
  return gaps.map((g) => (g.from === g.to ? String(g.from) : `${g.from}-${g.to}`)).join(',');
}

/** A ratio as a percentage with up to two decimals ("99.5%"). */
export function percentText(ratio: number): string {
  return `${Math.round(ratio * 10_000) / 100}%`;
}

export function vectorText(v: Record<string, number>): string {
  return Object.entries(v).map(([o, s]) => `${o}=${s}`).join(',');
}

/** One line per event: device, seq, time, type, schema version, payload as text. */
export function eventLine(e: StoredEvent): string {
  return `${e.device} ${e.seq} ${msText(e.tsMs)} ${e.type} v${e.schemaVersion} ${e.payload.toString('utf8')}`;
}

export const EVENT_HEADERS = ['DEVICE', 'SEQ', 'TIME', 'TYPE', 'SCHEMA', 'PAYLOAD', 'DOT'];
export function eventRow(e: StoredEvent): string[] {
  return [e.device, String(e.seq), msText(e.tsMs), e.type, String(e.schemaVersion), e.payload.toString('utf8'), dotText(e.dot)];
}

export function deviceLine(d: DeviceCompleteness): string {
  return `${d.device}: contiguous ${d.contiguous}, highest ${d.highest}, held ${d.held}, gaps ${d.gaps.length === 0 ? 'none' : gapsText(d.gaps)}, ` +
    `completeness ${percentText(d.completeness)}`;
}

export const DEVICE_HEADERS = ['DEVICE', 'CONTIGUOUS', 'HIGHEST', 'HELD', 'GAPS', 'COMPLETENESS'];
export function deviceRow(d: DeviceCompleteness): string[] {
  return [d.device, String(d.contiguous), String(d.highest), String(d.held), gapsText(d.gaps), percentText(d.completeness)];
}

export function supersededLine(s: SupersededRecord): string {
  return `${s.key.toString('utf8')} ${s.tombstone ? '(deleted)' : s.value.toString('utf8')} at ${hlcText(s.hlc)} by ${dotText(s.dot)}, lost to ${dotText(s.winner)}`;
}

export const SUPERSEDED_HEADERS = ['KEY', 'VALUE', 'HLC', 'DOT', 'LOST TO'];
export function supersededRow(s: SupersededRecord): string[] {
  return [s.key.toString('utf8'), s.tombstone ? '(deleted)' : s.value.toString('utf8'), hlcText(s.hlc), dotText(s.dot), dotText(s.winner)];
}
