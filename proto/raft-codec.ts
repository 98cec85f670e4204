// Encoding of the Raft core's types as proto/regionstore/v1/raft.proto describes them.
// Written against protobufjs' Reader/Writer rather than reflection because it runs once
// per entry and per message on the hot path; raft-codec.test.ts checks it against the
// .proto through protobufjs reflection, so the two cannot drift apart.

import protobuf from 'protobufjs/minimal.js';
import type {
  ConfChange,
  ConfChangeType,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  Snapshot,
  SnapshotMetadata,
} from '../server/raft/types.js';

const { Reader, Writer } = protobuf;
type Reader = protobuf.Reader;
type Writer = protobuf.Writer;

const EMPTY = new Uint8Array(0);
const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

function tag(field: number, wire: number): number {
  return ((field << 3) | wire) >>> 0;
}

/** Bytes of the longest varint (a 64-bit value). */
const VARINT_BYTES_MAX = 10;

function readU64(r: Reader): number {
  // A varint read straight into a double: protobufjs' uint64() makes a LongBits and a Long
  // object per field, and terms and indexes are read for every entry of every message.
  // Exact below 2^53 (member ids, terms and indexes are); beyond, rounded as toNumber() did.
  const buf = r.buf;
  let pos = r.pos;
  let result = 0;
  let scale = 1;
  for (let i = 0; i < VARINT_BYTES_MAX; i++) {
    if (pos >= r.len) throw new RangeError(`raft codec: varint runs past the end (${r.len} bytes)`);
    const b = buf[pos++] as number;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      r.pos = pos;
      return result;
    }
    scale *= 128;
  }
  throw new RangeError('raft codec: varint longer than 10 bytes');
}

function putU64(w: Writer, field: number, v: number): void {
  if (v !== 0) w.uint32(tag(field, WIRE_VARINT)).uint64(v);
}

function putBytes(w: Writer, field: number, v: Uint8Array): void {
  if (v.length > 0) w.uint32(tag(field, WIRE_BYTES)).bytes(v);
}

// Decoders: each reads fields until `end`, skipping unknown ones (forward compatibility).
function decodeFields(r: Reader, end: number, onField: (field: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const t = r.uint32();
    const field = t >>> 3;
    const wire = t & 7;
    if (!onField(field, wire)) r.skipType(wire);
  }
}

function copyBytes(r: Reader): Uint8Array {
  // protobufjs returns a view into the input; copy so a stored entry does not pin a whole batch.
  const b = r.bytes();
  return b.length === 0 ? EMPTY : new Uint8Array(b);
}

/** Bytes of a field as a view into the reader's buffer (one the caller owns). */
function viewBytes(r: Reader): Uint8Array {
  const len = r.uint32();
  const start = r.pos;
  if (start + len > r.len) throw new RangeError(`index out of range: ${start} + ${len} > ${r.len}`);
  r.pos += len;
  return len === 0 ? EMPTY : r.buf.subarray(start, start + len);
}

// ---- Entry ----
function writeEntry(w: Writer, e: Entry): void {
  putU64(w, 1, e.term);
  putU64(w, 2, e.index);
  if (e.type !== 0) w.uint32(tag(3, WIRE_VARINT)).int32(e.type);
  putBytes(w, 4, e.data);
}

/**
 * `shared`: the input is a copy this decode owns (decodeMessageBatch's), so data may be a view
 * into it; else data is copied out (decodeEntry of a slab's bytes, which are reused).
 */
function readEntry(r: Reader, end: number, shared: boolean): Entry {
  // decodeFields' loop inlined: entries are decoded once per entry per member (and again
  // from disk), and a closure per entry was garbage at the write rate.
  const e: Entry = { term: 0, index: 0, type: 0, data: EMPTY };
  while (r.pos < end) {
    const t = r.uint32();
    const f = t >>> 3;
    if (f === 1) e.term = readU64(r);
    else if (f === 2) e.index = readU64(r);
    else if (f === 3) e.type = r.int32() as EntryType;
    else if (f === 4) e.data = shared ? viewBytes(r) : copyBytes(r);
    else r.skipType(t & 7);
  }
  return e;
}

export function encodeEntry(e: Entry): Uint8Array {
  const w = Writer.create();
  writeEntry(w, e);
  return w.finish();
}

/** Bytes of a non-negative integer below 2^53 as a varint. */
function varintLength(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function putVarint(buf: Uint8Array, pos: number, v: number): number {
  // Division, not shifts: terms and indexes go past 2^32.
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Bytes encodeEntry(e) makes, without making them. */
export function encodedEntryLength(e: Entry): number {
  let n = 0;
  if (e.term !== 0) n += 1 + varintLength(e.term);
  if (e.index !== 0) n += 1 + varintLength(e.index);
  if (e.type !== 0) n += 1 + varintLength(e.type);
  if (e.data.length > 0) n += 1 + varintLength(e.data.length) + e.data.length;
  return n;
}

/**
 * encodeEntry(e)'s bytes written at `buf[pos..]` (room for encodedEntryLength(e) bytes is the
 * caller's to check); returns the position after them. The raft log store writes entries
 * straight into its off-heap slabs with it, instead of a Writer's buffer per entry.
 * Field order and the omitted zero fields are writeEntry's; raft-codec.test.ts checks both
 * give the same bytes.
 */
export function encodeEntryInto(e: Entry, buf: Uint8Array, pos: number): number {
  if (e.term !== 0) pos = putVarint(buf, putVarint(buf, pos, tag(1, WIRE_VARINT)), e.term);
  if (e.index !== 0) pos = putVarint(buf, putVarint(buf, pos, tag(2, WIRE_VARINT)), e.index);
  if (e.type !== 0) pos = putVarint(buf, putVarint(buf, pos, tag(3, WIRE_VARINT)), e.type);
  if (e.data.length > 0) {
    pos = putVarint(buf, putVarint(buf, pos, tag(4, WIRE_BYTES)), e.data.length);
    buf.set(e.data, pos);
    pos += e.data.length;
  }
  return pos;
}

export function decodeEntry(buf: Uint8Array): Entry {
  const r = Reader.create(buf);
  return readEntry(r, buf.length, false);
}

// ---- HardState ----
export function encodeHardState(hs: HardState): Uint8Array {
  const w = Writer.create();
  putU64(w, 1, hs.term);
  putU64(w, 2, hs.vote);
  putU64(w, 3, hs.commit);
  return w.finish();
}

export function decodeHardState(buf: Uint8Array): HardState {
  const r = Reader.create(buf);
  const hs: HardState = { term: 0, vote: 0, commit: 0 };
  decodeFields(r, buf.length, (f) => {
    if (f === 1) hs.term = readU64(r);
    else if (f === 2) hs.vote = readU64(r);
    else if (f === 3) hs.commit = readU64(r);
    else return false;
    return true;
  });
  return hs;
}

// ---- ConfState / SnapshotMetadata / Snapshot ----
function writeConfState(w: Writer, cs: ConfState): void {
  for (const v of cs.voters) w.uint32(tag(1, WIRE_VARINT)).uint64(v);
  for (const l of cs.learners) w.uint32(tag(2, WIRE_VARINT)).uint64(l);
}

function readRepeatedU64(r: Reader, wire: number, out: number[]): void {
  if (wire === WIRE_BYTES) {
    const end = r.uint32() + r.pos;
    while (r.pos < end) out.push(readU64(r));
  } else {
    out.push(readU64(r));
  }
}

function readConfState(r: Reader, end: number): ConfState {
  const cs: ConfState = { voters: [], learners: [] };
  decodeFields(r, end, (f, wire) => {
    if (f === 1) readRepeatedU64(r, wire, cs.voters);
    else if (f === 2) readRepeatedU64(r, wire, cs.learners);
    else return false;
    return true;
  });
  return cs;
}

function writeNested(w: Writer, field: number, write: (w: Writer) => void): void {
  w.uint32(tag(field, WIRE_BYTES)).fork();
  write(w);
  w.ldelim();
}

function writeSnapshotMetadata(w: Writer, m: SnapshotMetadata): void {
  putU64(w, 1, m.index);
  putU64(w, 2, m.term);
  writeNested(w, 3, (w2) => writeConfState(w2, m.confState));
}

function readSnapshotMetadata(r: Reader, end: number): SnapshotMetadata {
  const m: SnapshotMetadata = { index: 0, term: 0, confState: { voters: [], learners: [] } };
  decodeFields(r, end, (f) => {
    if (f === 1) m.index = readU64(r);
    else if (f === 2) m.term = readU64(r);
    else if (f === 3) m.confState = readConfState(r, r.uint32() + r.pos);
    else return false;
    return true;
  });
  return m;
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  writeNested(w, 1, (w2) => writeSnapshotMetadata(w2, s.metadata));
  putBytes(w, 2, s.data);
}

function readSnapshot(r: Reader, end: number): Snapshot {
  const s: Snapshot = { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: EMPTY };
  decodeFields(r, end, (f) => {
    if (f === 1) s.metadata = readSnapshotMetadata(r, r.uint32() + r.pos);
    else if (f === 2) s.data = copyBytes(r);
    else return false;
    return true;
  });
  return s;
}

export function encodeConfState(cs: ConfState): Uint8Array {
  const w = Writer.create();
  writeConfState(w, cs);
  return w.finish();
}

export function decodeConfState(buf: Uint8Array): ConfState {
  return readConfState(Reader.create(buf), buf.length);
}

export function encodeSnapshotMetadata(m: SnapshotMetadata): Uint8Array {
  const w = Writer.create();
  writeSnapshotMetadata(w, m);
  return w.finish();
}

export function decodeSnapshotMetadata(buf: Uint8Array): SnapshotMetadata {
  return readSnapshotMetadata(Reader.create(buf), buf.length);
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const w = Writer.create();
  writeSnapshot(w, s);
  return w.finish();
}

export function decodeSnapshot(buf: Uint8Array): Snapshot {
  return readSnapshot(Reader.create(buf), buf.length);
}

// ---- ConfChange ----
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const w = Writer.create();
  if (cc.type !== 0) w.uint32(tag(1, WIRE_VARINT)).int32(cc.type);
  putU64(w, 2, cc.nodeId);
  putBytes(w, 3, cc.context);
  return w.finish();
}

export function decodeConfChange(buf: Uint8Array): ConfChange {
  const r = Reader.create(buf);
  const cc: ConfChange = { type: 0, nodeId: 0, context: EMPTY };
  decodeFields(r, buf.length, (f) => {
    if (f === 1) cc.type = r.int32() as ConfChangeType;
    else if (f === 2) cc.nodeId = readU64(r);
    else if (f === 3) cc.context = copyBytes(r);
    else return false;
    return true;
  });
  return cc;
}

// ---- Message / MessageBatch ----
function writeMessage(w: Writer, m: Message): void {
  if (m.type !== 0) w.uint32(tag(1, WIRE_VARINT)).uint32(m.type);
  putU64(w, 2, m.to);
  putU64(w, 3, m.from);
  putU64(w, 4, m.term);
  putU64(w, 5, m.logTerm);
  putU64(w, 6, m.index);
  for (const e of m.entries) writeNested(w, 7, (w2) => writeEntry(w2, e));
  putU64(w, 8, m.commit);
  if (m.snapshot !== undefined) {
    const snap = m.snapshot;
    writeNested(w, 9, (w2) => writeSnapshot(w2, snap));
  }
  if (m.reject) w.uint32(tag(10, WIRE_VARINT)).bool(true);
  putU64(w, 11, m.rejectHint);
  putBytes(w, 12, m.context);
}

function readMessage(r: Reader, end: number, shared: boolean): Message {
  const m: Message = {
    type: 0, to: 0, from: 0, term: 0, logTerm: 0, index: 0, entries: [], commit: 0,
    reject: false, rejectHint: 0, context: EMPTY,
  };
  decodeFields(r, end, (f) => {
    switch (f) {
      case 1: m.type = r.uint32() as MessageType; break;
      case 2: m.to = readU64(r); break;
      case 3: m.from = readU64(r); break;
      case 4: m.term = readU64(r); break;
      case 5: m.logTerm = readU64(r); break;
      case 6: m.index = readU64(r); break;
      case 7: m.entries.push(readEntry(r, r.uint32() + r.pos, shared)); break;
      case 8: m.commit = readU64(r); break;
      case 9: m.snapshot = readSnapshot(r, r.uint32() + r.pos); break;
      case 10: m.reject = r.bool(); break;
      case 11: m.rejectHint = readU64(r); break;
      case 12: m.context = copyBytes(r); break;
      default: return false;
    }
    return true;
  });
  return m;
}

export function encodeMessage(m: Message): Uint8Array {
  const w = Writer.create();
  writeMessage(w, m);
  return w.finish();
}

export function decodeMessage(buf: Uint8Array): Message {
  return readMessage(Reader.create(buf), buf.length, false);
}

/** Bytes of a u64 field (tag below 16) as putU64 writes it: none for 0. */
function u64FieldLength(v: number): number {
  return v === 0 ? 0 : 1 + varintLength(v);
}

/** Bytes writeMessage(m) makes for a message without a snapshot, without making them. */
function messageLength(m: Message): number {
  let n = u64FieldLength(m.type) + u64FieldLength(m.to) + u64FieldLength(m.from) + u64FieldLength(m.term)
    + u64FieldLength(m.logTerm) + u64FieldLength(m.index) + u64FieldLength(m.commit) + u64FieldLength(m.rejectHint);
  for (const e of m.entries) {
    const len = encodedEntryLength(e);
    n += 1 + varintLength(len) + len;
  }
  if (m.reject) n += 2;
  if (m.context.length > 0) n += 1 + varintLength(m.context.length) + m.context.length;
  return n;
}

function putU64At(buf: Uint8Array, pos: number, field: number, v: number): number {
  return v === 0 ? pos : putVarint(buf, putVarint(buf, pos, tag(field, WIRE_VARINT)), v);
}

/** writeMessage's bytes (a message without a snapshot) at `buf[pos..]`, same field order. */
function encodeMessageInto(m: Message, buf: Uint8Array, pos: number): number {
  pos = putU64At(buf, pos, 1, m.type);
  pos = putU64At(buf, pos, 2, m.to);
  pos = putU64At(buf, pos, 3, m.from);
  pos = putU64At(buf, pos, 4, m.term);
  pos = putU64At(buf, pos, 5, m.logTerm);
  pos = putU64At(buf, pos, 6, m.index);
  for (const e of m.entries) {
    pos = putVarint(buf, putVarint(buf, pos, tag(7, WIRE_BYTES)), encodedEntryLength(e));
    pos = encodeEntryInto(e, buf, pos);
  }
  pos = putU64At(buf, pos, 8, m.commit);
  if (m.reject) {
    pos = putVarint(buf, pos, tag(10, WIRE_VARINT));
    buf[pos++] = 1;
  }
  pos = putU64At(buf, pos, 11, m.rejectHint);
  if (m.context.length > 0) {
    pos = putVarint(buf, putVarint(buf, pos, tag(12, WIRE_BYTES)), m.context.length);
    buf.set(m.context, pos);
    pos += m.context.length;
  }
  return pos;
}

/**
 * A batch as a MessageBatch's bytes. Messages without a snapshot (every MsgApp of a put load,
 * once per follower) are written straight into one buffer of the computed size: protobufjs'
 * Writer makes an operation object per field, a LongBits per u64 and a closure per nested
 * entry, about 1 KB per put on a 3-member leader (issue 20). A batch holding a snapshot
 * message (rare) takes the Writer. raft-codec.test.ts checks both give the same bytes.
 */
export function encodeMessageBatch(messages: readonly Message[]): Uint8Array {
  let total = 0;
  for (const m of messages) {
    if (m.snapshot !== undefined) return encodeMessageBatchWithWriter(messages);
    const len = messageLength(m);
    total += 1 + varintLength(len) + len;
  }
  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const m of messages) {
    pos = putVarint(buf, putVarint(buf, pos, tag(1, WIRE_BYTES)), messageLength(m));
    pos = encodeMessageInto(m, buf, pos);
  }
  if (pos !== total) throw new Error(`raft codec: a batch took ${pos} bytes, ${total} computed`);
  return buf;
}

/** encodeMessageBatch through protobufjs' Writer (any message; the reference the test compares to). */
export function encodeMessageBatchWithWriter(messages: readonly Message[]): Uint8Array {
  const w = Writer.create();
  for (const m of messages) writeNested(w, 1, (w2) => writeMessage(w2, m));
  return w.finish();
}

/**
 * A MessageBatch's messages. The batch is copied once and its entries' data are views into
 * that copy: a follower receives every put's entry here, and a copy per entry was an
 * ArrayBuffer per entry (a malloc, a free and a pass of V8's ArrayBuffer sweeper; issue 20).
 * The copy holds only this batch (not the transport's receive buffer), and the entries of a
 * batch are appended, persisted and applied together, so it is freed about when they are.
 */
export function decodeMessageBatch(received: Uint8Array): Message[] {
  const buf = new Uint8Array(received);
  const r = Reader.create(buf);
  const out: Message[] = [];
  decodeFields(r, buf.length, (f) => {
    if (f !== 1) return false;
    out.push(readMessage(r, r.uint32() + r.pos, true));
    return true;
  });
  return out;
}
