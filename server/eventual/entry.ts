// The Raft entry of an eventual write and its answer. An entry is an mvcc `external` command
// (server/mvcc/external.ts) whose body is one of:
//  - a region write: the namespace, the proposer's physical time (apply derives the HLC from
//    it: see apply-write.ts) and the typed ops of one CrdtWrite;
//  - a page of foreign-origin records (an edge upload, issue 14): per origin a seq range and
//    the records in it, stamped with their own dots and HLCs.
// The answer is bytes (the dedupe table stores it for retries): per op its dot, HLC, event seq
// and duplicate flag; or a page's applied count; or an error with a code a person can act on.

import type { CrdtRecord, Dot, Hlc } from '../crdt/index.js';
import { BinReader, BinWriter, Utf8Memo } from '../mvcc/index.js';
import { readRecord, writeRecord } from './codec.js';
import { decodeEdgeUpdate, encodeEdgeUpdate, type EdgeUpdate } from './edges.js';

export type EvOp =
  | { type: 'lwwPut'; key: Uint8Array; value: Uint8Array }
  | { type: 'lwwDelete'; key: Uint8Array }
  | { type: 'mvPut'; key: Uint8Array; value: Uint8Array; context: string }
  | { type: 'counterAdd'; key: Uint8Array; delta: number }
  | { type: 'setAdd'; key: Uint8Array; member: Uint8Array }
  | { type: 'setRemove'; key: Uint8Array; member: Uint8Array }
  | { type: 'eventAppend'; device: string; seq: number; eventType: string; schemaVersion: number; payload: Uint8Array; tsMs: number };

export interface EvWriteBody {
  kind: 'write';
  namespace: string;
  /** The proposer's clock (ms since the epoch) when it proposed. */
  physicalMs: number;
  ops: EvOp[];
}

export interface EvPageRange {
  origin: string;
  from: number;
  to: number;
}

export interface EvPageBody {
  kind: 'page';
  namespace: string;
  physicalMs: number;
  ranges: EvPageRange[];
  records: CrdtRecord[];
}

/** A known edge's session event or ACK batch (edges.ts); namespace is empty. */
export interface EvEdgeBody {
  kind: 'edge';
  namespace: '';
  physicalMs: number;
  update: EdgeUpdate;
}

/** Causal-stability GC of a namespace (gc.ts): the stable vector and the items it makes collectable. */
export interface EvGcBody {
  kind: 'gc';
  namespace: string;
  physicalMs: number;
  stable: Array<{ origin: string; seq: number }>;
  /** Superseded lww losers (their key and dot). */
  superseded: Array<{ key: Uint8Array; origin: string; seq: number }>;
  /** Set remove records (their dot). */
  removes: Array<{ origin: string; seq: number }>;
}

export type EvBody = EvWriteBody | EvPageBody | EvEdgeBody | EvGcBody;

const BodyTag = { write: 1, page: 2, edge: 3, gc: 4 } as const;
const OpTag = { lwwPut: 1, lwwDelete: 2, mvPut: 3, counterAdd: 4, setAdd: 5, setRemove: 6, eventAppend: 7 } as const;

/** The namespace names of bodies written (the leader, per write) and decoded (every member, per entry): the same few. */
const bodyNames = new Utf8Memo();

export function encodeBody(b: EvBody): Uint8Array {
  const w = new BinWriter();
  writeBody(w, b);
  return w.finish();
}

/** encodeBody into a writer (the region leader writes a body straight into its command: mvcc encodeExternalCommand). */
export function writeBody(w: BinWriter, b: EvBody): void {
  w.byte(BodyTag[b.kind]).stringMemo(b.namespace, bodyNames).uint(b.physicalMs);
  if (b.kind === 'edge') {
    encodeEdgeUpdate(w, b.update);
    return;
  }
  if (b.kind === 'gc') {
    w.uint(b.stable.length);
    for (const e of b.stable) w.string(e.origin).uint(e.seq);
    w.uint(b.superseded.length);
    for (const e of b.superseded) w.bytes(e.key).string(e.origin).uint(e.seq);
    w.uint(b.removes.length);
    for (const e of b.removes) w.string(e.origin).uint(e.seq);
    return;
  }
  if (b.kind === 'page') {
    w.uint(b.ranges.length);
    for (const g of b.ranges) w.string(g.origin).uint(g.from).uint(g.to);
    w.uint(b.records.length);
    for (const r of b.records) writeRecord(w, r);
    return;
  }
  w.uint(b.ops.length);
  for (const op of b.ops) {
    w.byte(OpTag[op.type]);
    switch (op.type) {
      case 'lwwPut': w.bytes(op.key).bytes(op.value); break;
      case 'lwwDelete': w.bytes(op.key); break;
      case 'mvPut': w.bytes(op.key).bytes(op.value).string(op.context); break;
      case 'counterAdd': w.bytes(op.key).int(op.delta); break;
      case 'setAdd': case 'setRemove': w.bytes(op.key).bytes(op.member); break;
      case 'eventAppend':
        w.string(op.device).uint(op.seq).string(op.eventType).uint(op.schemaVersion).bytes(op.payload).int(op.tsMs);
        break;
    }
  }
}

/** Throws on bytes no proposer writes (a bug or a corrupted entry). */
export function decodeBody(bytes: Uint8Array): EvBody {
  const r = new BinReader(bytes);
  const tag = r.byte();
  const namespace = r.stringMemo(bodyNames);
  const physicalMs = r.uint();
  if (tag === BodyTag.edge) return { kind: 'edge', namespace: '', physicalMs, update: decodeEdgeUpdate(r) };
  if (tag === BodyTag.gc) {
    const stable: EvGcBody['stable'] = [];
    for (let n = r.uint(); n > 0; n--) stable.push({ origin: r.string(), seq: r.uint() });
    const superseded: EvGcBody['superseded'] = [];
    for (let n = r.uint(); n > 0; n--) superseded.push({ key: r.bytes().slice(), origin: r.string(), seq: r.uint() });
    const removes: EvGcBody['removes'] = [];
    for (let n = r.uint(); n > 0; n--) removes.push({ origin: r.string(), seq: r.uint() });
    return { kind: 'gc', namespace, physicalMs, stable, superseded, removes };
  }
  if (tag === BodyTag.page) {
    const ranges: EvPageRange[] = [];
    for (let n = r.uint(); n > 0; n--) ranges.push({ origin: r.string(), from: r.uint(), to: r.uint() });
    const records: CrdtRecord[] = [];
    for (let n = r.uint(); n > 0; n--) records.push(readRecord(r));
    return { kind: 'page', namespace, physicalMs, ranges, records };
  }
  if (tag !== BodyTag.write) throw new Error(`eventual entry: unknown body tag ${tag}`);
  const ops: EvOp[] = [];
  for (let n = r.uint(); n > 0; n--) {
    const t = r.byte();
    switch (t) {
      // The value is a view into the entry (as a strong put's is, server/mvcc/command-codec.ts):
      // it goes to the mvcc row only (the lww state holds no value), so no copy per put.
      // The key too: apply copies what it keeps of it (the state and index keys, the mvcc
      // put's own copy), so a copy here was one more array per op.
      case OpTag.lwwPut: ops.push({ type: 'lwwPut', key: r.bytes(), value: r.bytes() }); break;
      case OpTag.lwwDelete: ops.push({ type: 'lwwDelete', key: r.bytes() }); break;
      case OpTag.mvPut: ops.push({ type: 'mvPut', key: r.bytes().slice(), value: r.bytes().slice(), context: r.string() }); break;
      case OpTag.counterAdd: ops.push({ type: 'counterAdd', key: r.bytes().slice(), delta: r.int() }); break;
      case OpTag.setAdd: ops.push({ type: 'setAdd', key: r.bytes().slice(), member: r.bytes().slice() }); break;
      case OpTag.setRemove: ops.push({ type: 'setRemove', key: r.bytes().slice(), member: r.bytes().slice() }); break;
      case OpTag.eventAppend: {
        const device = r.string();
        const seq = r.uint();
        const eventType = r.string();
        const schemaVersion = r.uint();
        const payload = r.bytes().slice();
        ops.push({ type: 'eventAppend', device, seq, eventType, schemaVersion, payload, tsMs: r.int() });
        break;
      }
      default: throw new Error(`eventual entry: unknown op tag ${t}`);
    }
  }
  return { kind: 'write', namespace, physicalMs, ops };
}

// ---- answers

/** Codes as server/api/crdt-backend.ts names them (server/region may not import server/api). */
export type EvErrorCode = 'invalid-argument' | 'not-found' | 'failed-precondition' | 'resource-exhausted' | 'no-leader' | 'unavailable';

/** A refusal the state decided; `resendFrom` for a page gap (per-origin prefix order). */
export class EvError extends Error {
  override name = 'EvError';
  constructor(
    readonly code: EvErrorCode,
    message: string,
    readonly resendFrom?: { origin: string; seq: number },
  ) {
    super(message);
  }
}

export interface EvOpOutcome {
  dot?: Dot;
  hlc?: Hlc;
  eventSeq?: number;
  duplicate?: boolean;
}

export type EvAnswer =
  | { kind: 'write'; namespace: string; results: EvOpOutcome[] }
  | { kind: 'page'; namespace: string; applied: number }
  | { kind: 'edge' }
  | { kind: 'gc'; namespace: string; dropped: number }
  | { kind: 'error'; code: EvErrorCode; message: string; resendFrom?: { origin: string; seq: number } };

const AnswerTag = { write: 1, page: 2, error: 3, edge: 4, gc: 5 } as const;
/** Bits of a write answer's per-outcome flags byte (encodeAnswer). */
const OUTCOME_DOT = 1;
const OUTCOME_HLC = 2;
const OUTCOME_DUPLICATE = 4;
const OUTCOME_EVENT_SEQ = 8;

/** The names in write answers (a namespace and an origin in every answer, on every member). */
const answerNames = new Utf8Memo();

export function encodeAnswer(a: EvAnswer): Uint8Array {
  const w = new BinWriter().byte(AnswerTag[a.kind]);
  switch (a.kind) {
    case 'write':
      w.stringMemo(a.namespace, answerNames).uint(a.results.length);
      for (const o of a.results) {
        w.byte((o.dot ? OUTCOME_DOT : 0) | (o.hlc ? OUTCOME_HLC : 0) | (o.duplicate === true ? OUTCOME_DUPLICATE : 0) | (o.eventSeq !== undefined ? OUTCOME_EVENT_SEQ : 0));
        if (o.dot) w.stringMemo(o.dot.origin, answerNames).uint(o.dot.seq);
        if (o.hlc) w.uint(o.hlc.wall).uint(o.hlc.logical);
        if (o.eventSeq !== undefined) w.uint(o.eventSeq);
      }
      break;
    case 'page': w.string(a.namespace).uint(a.applied); break;
    case 'edge': break;
    case 'gc': w.string(a.namespace).uint(a.dropped); break;
    case 'error':
      w.string(a.code).string(a.message).bool(a.resendFrom !== undefined);
      if (a.resendFrom) w.string(a.resendFrom.origin).uint(a.resendFrom.seq);
      break;
  }
  return w.finish();
}

/** Whether encoded answer bytes are a write's answer (its outcomes left undecoded). */
export function isWriteAnswer(bytes: Uint8Array): boolean {
  return bytes[0] === AnswerTag.write;
}

/** A varint longer than this many 7-bit groups is past 2^56: not one encodeAnswer wrote. */
const VARINT_GROUPS_MAX = 8;

/**
 * Steps through a write answer's outcomes without making objects of them: server/api
 * transcodes them straight into the wire answer (no decodeAnswer, outcome objects or origin
 * strings per Write on the leader). The origin is left as the range of its UTF-8 bytes in the
 * answer. Reusable: reset() starts it on an answer. Malformed bytes throw (as decodeAnswer).
 */
export class WriteOutcomes {
  private bytes: Uint8Array = new Uint8Array(0);
  private pos = 0;
  /** Outcomes not yet stepped to. */
  left = 0;
  // The current outcome (after next() answered true).
  hasDot = false;
  /** The dot's origin: bytes [originStart, originEnd) of the answer. */
  originStart = 0;
  originEnd = 0;
  seq = 0;
  hasHlc = false;
  wallMs = 0;
  logical = 0;
  /** The event's seq, 0 when none (as the wire answer has it). */
  eventSeq = 0;
  duplicate = false;

  /** Starts on a write's answer (isWriteAnswer); returns this. */
  reset(bytes: Uint8Array): this {
    if (!isWriteAnswer(bytes)) throw new Error('not a write answer');
    this.bytes = bytes;
    this.pos = 1;
    const namespaceBytes = this.uint();
    this.pos += namespaceBytes; // the namespace, skipped: the caller names it
    this.left = this.uint();
    return this;
  }

  /** Steps to the next outcome; false when there is none. */
  next(): boolean {
    if (this.left === 0) return false;
    this.left--;
    const flags = this.byte();
    this.hasDot = (flags & OUTCOME_DOT) !== 0;
    if (this.hasDot) {
      const len = this.uint();
      this.originStart = this.pos;
      this.originEnd = this.pos + len;
      if (this.originEnd > this.bytes.length) throw new Error('truncated record');
      this.pos = this.originEnd;
      this.seq = this.uint();
    }
    this.hasHlc = (flags & OUTCOME_HLC) !== 0;
    if (this.hasHlc) {
      this.wallMs = this.uint();
      this.logical = this.uint();
    }
    this.duplicate = (flags & OUTCOME_DUPLICATE) !== 0;
    this.eventSeq = (flags & OUTCOME_EVENT_SEQ) !== 0 ? this.uint() : 0;
    return true;
  }

  /** The answer's bytes (for the origin's range). */
  get answer(): Uint8Array {
    return this.bytes;
  }

  private byte(): number {
    if (this.pos >= this.bytes.length) throw new Error('truncated record');
    return this.bytes[this.pos++]!;
  }

  private uint(): number {
    let n = 0;
    let mul = 1;
    for (let groups = 1; ; groups++) {
      const b = this.byte();
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      if (groups === VARINT_GROUPS_MAX) throw new Error('varint too long');
      mul *= 0x80;
    }
  }
}

export function decodeAnswer(bytes: Uint8Array): EvAnswer {
  const r = new BinReader(bytes);
  const tag = r.byte();
  if (tag === AnswerTag.page) return { kind: 'page', namespace: r.string(), applied: r.uint() };
  if (tag === AnswerTag.edge) return { kind: 'edge' };
  if (tag === AnswerTag.gc) return { kind: 'gc', namespace: r.string(), dropped: r.uint() };
  if (tag === AnswerTag.error) {
    const code = r.string() as EvErrorCode;
    const message = r.string();
    return r.bool() ? { kind: 'error', code, message, resendFrom: { origin: r.string(), seq: r.uint() } } : { kind: 'error', code, message };
  }
  const namespace = r.string();
  const results: EvOpOutcome[] = [];
  for (let n = r.uint(); n > 0; n--) {
    const flags = r.byte();
    const o: EvOpOutcome = {};
    if (flags & OUTCOME_DOT) o.dot = { origin: r.string(), seq: r.uint() };
    if (flags & OUTCOME_HLC) o.hlc = { wall: r.uint(), logical: r.uint() };
    if (flags & OUTCOME_DUPLICATE) o.duplicate = true;
    if (flags & OUTCOME_EVENT_SEQ) o.eventSeq = r.uint();
    results.push(o);
  }
  return { kind: 'write', namespace, results };
}
