// CrdtBackend answers → regionstore.v1.Crdt wire messages (proto/regionstore/v1/crdt_service.proto).
// 64-bit fields go out as numbers (every one the backend hands over is a safe integer);
// bytes as Buffers over the backend's arrays, without copying.

import type {
  CrdtAnswerBase, CrdtCompletenessResult, CrdtConflictsResult, CrdtDot, CrdtEntryValue, CrdtHashResult, CrdtHlc,
  CrdtOpOutcome, CrdtReadResult, CrdtStoredEvent, CrdtSupersededRecord, CrdtSupersededResult, CrdtWriteResult,
} from './crdt-backend.js';
import { encodeWriteAnswer } from './fast-crdt-codec.js';

const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const dot = (d: CrdtDot): unknown => ({ origin: d.origin, seq: d.seq });
const hlc = (h: CrdtHlc): unknown => ({ wallMs: h.wallMs, logical: h.logical });

function base(r: CrdtAnswerBase): { namespace: string; revision: number; vector: unknown[] } {
  return { namespace: r.namespace, revision: r.revision, vector: r.vector.map(dot) };
}

function outcome(o: CrdtOpOutcome): unknown {
  return {
    dot: o.dot === undefined ? null : dot(o.dot),
    hlc: o.hlc === undefined ? null : hlc(o.hlc),
    eventSeq: o.eventSeq ?? 0,
    duplicate: o.duplicate ?? false,
  };
}

/**
 * A Write's answer: its encoded bytes when the backend handed over the apply's answer
 * (encodeWriteAnswer; the Write serializer passes them on), else the message object.
 */
export function writeToWire(r: CrdtWriteResult): unknown {
  if (r.answer !== undefined) {
    const encoded = encodeWriteAnswer(r as CrdtWriteResult & { answer: Uint8Array });
    if (encoded !== undefined) return encoded;
  }
  return writeObject(r);
}

/** A Write's answer as the message object (what encodeWriteAnswer's bytes decode to). */
export function writeObject(r: CrdtWriteResult): unknown {
  return { ...base(r), results: r.results.map(outcome), memberId: r.memberId };
}

function entryValue(v: CrdtEntryValue): Record<string, unknown> {
  switch (v.type) {
    case 'lww':
      return { lww: { value: buf(v.value), hlc: hlc(v.hlc), writer: dot(v.writer) } };
    case 'mv':
      return { mv: { values: v.values.map(buf), dots: v.dots.map(dot), context: v.context } };
    case 'counter':
      return { counter: { value: v.value, p: v.p, n: v.n } };
    case 'set':
      return { set: { members: v.members.map(buf) } };
  }
}

function storedEvent(e: CrdtStoredEvent): unknown {
  return {
    device: e.device, seq: e.seq, tsMs: e.tsMs, type: e.eventType, schemaVersion: e.schemaVersion,
    payload: buf(e.payload), dot: dot(e.dot),
  };
}

export function readToWire(r: CrdtReadResult): unknown {
  return {
    ...base(r),
    crdtType: r.crdtType,
    entries: r.entries.map((e) => ({ key: buf(e.key), ...entryValue(e.value) })),
    events: r.events.map(storedEvent),
    more: r.more,
    memberId: r.memberId,
  };
}

function superseded(s: CrdtSupersededRecord): unknown {
  return { key: buf(s.key), value: buf(s.value), tombstone: s.tombstone, hlc: hlc(s.hlc), dot: dot(s.dot), winner: dot(s.winner) };
}

export function supersededToWire(r: CrdtSupersededResult): unknown {
  return { ...base(r), records: r.records.map(superseded), more: r.more, total: r.total };
}

export function completenessToWire(r: CrdtCompletenessResult): unknown {
  return {
    ...base(r),
    devices: r.devices.map((d) => ({ ...d, gaps: d.gaps.map((g) => ({ from: g.from, to: g.to })) })),
    more: r.more,
    completeness: r.completeness,
    deviceCount: r.deviceCount,
    gapCount: r.gapCount,
  };
}

export function conflictsToWire(r: CrdtConflictsResult): unknown {
  return { ...base(r), keys: r.keys.map((k) => ({ key: buf(k.key), siblings: k.siblings })), more: r.more, unresolved: r.unresolved };
}

export function hashToWire(r: CrdtHashResult): unknown {
  return { ...base(r), hash: r.hash, appliedIndex: r.appliedIndex, memberId: r.memberId };
}
