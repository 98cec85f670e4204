// Encoding of SyncMessage (proto/regionstore/v1/sync.proto), hand-written against protobufjs'
// Reader/Writer like crdt-codec.ts (no reflection, no .proto file read at run time), because
// a sync session decodes the peer's bytes itself: garbage is a `SyncCodecError` the session
// answers with SyncError `malformed`, never an exception out of a transport. Every uint64 must
// be a safe integer; unknown fields are skipped (a newer peer may add fields).
// sync-codec.test.ts checks it against the .proto through reflection.

import protobuf from 'protobufjs/minimal.js';

const { Reader, Writer } = protobuf;
type Reader = protobuf.Reader;
type Writer = protobuf.Writer;

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const tag = (field: number, wire: number): number => ((field << 3) | wire) >>> 0;

export interface WireHlc {
  wallMs: number;
  logical: number;
}
export interface WireVectorEntry {
  origin: string;
  seq: number;
}
export interface WireNamespaceVector {
  namespace: string;
  vector: WireVectorEntry[];
}

export interface HelloMessage {
  kind: 'hello';
  protocolVersion: number;
  replicaId: string;
  deviceId: string;
  incarnation: number;
  vectors: WireNamespaceVector[];
  hlc: WireHlc;
  physicalMs: number;
  acceptEncodings: string[];
  window: number;
  sessionId: string;
  registryRevision: number;
  aheadOfYou: WireVectorEntry[];
  resync: string[];
  /** An edge's group (its `--group`; the label of the region's sync metrics); absent on the wire: none. */
  group?: string;
}
export interface DeltaMessage {
  kind: 'delta';
  pageId: number;
  namespace: string;
  encoding: string;
  page: Uint8Array;
  viewIndex: number;
  caughtUp: boolean;
  hlc: WireHlc;
  physicalMs: number;
}
export interface AckMessage {
  kind: 'ack';
  pageId: number;
  namespace: string;
  vector: WireVectorEntry[];
}
export interface ResendFromMessage {
  kind: 'resend-from';
  pageId: number;
  namespace: string;
  origin: string;
  seq: number;
}
export interface HeartbeatMessage {
  kind: 'heartbeat';
  hlc: WireHlc;
  physicalMs: number;
}
export interface ErrorMessage {
  kind: 'error';
  code: string;
  message: string;
  pageId: number;
  fatal: boolean;
  detail: string;
}
export type SyncMessage = HelloMessage | DeltaMessage | AckMessage | ResendFromMessage | HeartbeatMessage | ErrorMessage;

/** Bytes that are not a SyncMessage this codec can read. */
export class SyncCodecError extends Error {
  override name = 'SyncCodecError';
}

const FIELD_OF: Record<SyncMessage['kind'], number> = { hello: 1, delta: 2, ack: 3, 'resend-from': 4, heartbeat: 5, error: 6 };

// ---- writing

function u64(w: Writer, f: number, v: number): void {
  if (v !== 0) w.uint32(tag(f, WIRE_VARINT)).uint64(v);
}
function u32(w: Writer, f: number, v: number): void {
  if (v !== 0) w.uint32(tag(f, WIRE_VARINT)).uint32(v);
}
function str(w: Writer, f: number, v: string): void {
  if (v !== '') w.uint32(tag(f, WIRE_BYTES)).string(v);
}
function bool(w: Writer, f: number, v: boolean): void {
  if (v) w.uint32(tag(f, WIRE_VARINT)).bool(true);
}
function putBytes(w: Writer, f: number, v: Uint8Array): void {
  if (v.length > 0) w.uint32(tag(f, WIRE_BYTES)).bytes(v);
}
function entry(w: Writer, f: number, e: WireVectorEntry): void {
  w.uint32(tag(f, WIRE_BYTES)).fork();
  str(w, 1, e.origin);
  u64(w, 2, e.seq);
  w.ldelim();
}
function hlc(w: Writer, f: number, t: WireHlc): void {
  w.uint32(tag(f, WIRE_BYTES)).fork();
  u64(w, 1, t.wallMs);
  u32(w, 2, t.logical);
  w.ldelim();
}

function writeBody(w: Writer, m: SyncMessage): void {
  switch (m.kind) {
    case 'hello':
      u32(w, 1, m.protocolVersion);
      str(w, 2, m.replicaId);
      str(w, 3, m.deviceId);
      u64(w, 4, m.incarnation);
      for (const nv of m.vectors) {
        w.uint32(tag(5, WIRE_BYTES)).fork();
        str(w, 1, nv.namespace);
        for (const e of nv.vector) entry(w, 2, e);
        w.ldelim();
      }
      hlc(w, 6, m.hlc);
      u64(w, 7, m.physicalMs);
      for (const e of m.acceptEncodings) w.uint32(tag(8, WIRE_BYTES)).string(e);
      u32(w, 9, m.window);
      str(w, 10, m.sessionId);
      u64(w, 11, m.registryRevision);
      for (const e of m.aheadOfYou) entry(w, 12, e);
      for (const ns of m.resync) w.uint32(tag(13, WIRE_BYTES)).string(ns);
      if (m.group !== undefined) str(w, 14, m.group);
      return;
    case 'delta':
      u64(w, 1, m.pageId);
      str(w, 2, m.namespace);
      str(w, 3, m.encoding);
      putBytes(w, 4, m.page);
      u64(w, 5, m.viewIndex);
      bool(w, 6, m.caughtUp);
      hlc(w, 7, m.hlc);
      u64(w, 8, m.physicalMs);
      return;
    case 'ack':
      u64(w, 1, m.pageId);
      str(w, 2, m.namespace);
      for (const e of m.vector) entry(w, 3, e);
      return;
    case 'resend-from':
      u64(w, 1, m.pageId);
      str(w, 2, m.namespace);
      str(w, 3, m.origin);
      u64(w, 4, m.seq);
      return;
    case 'heartbeat':
      hlc(w, 1, m.hlc);
      u64(w, 2, m.physicalMs);
      return;
    case 'error':
      str(w, 1, m.code);
      str(w, 2, m.message);
      u64(w, 3, m.pageId);
      bool(w, 4, m.fatal);
      str(w, 5, m.detail);
      return;
  }
}

export function encodeSyncMessage(m: SyncMessage): Uint8Array {
  const w = Writer.create();
  w.uint32(tag(FIELD_OF[m.kind], WIRE_BYTES)).fork();
  writeBody(w, m);
  w.ldelim();
  return w.finish();
}

// ---- reading

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : (v as { toNumber(unsigned?: boolean): number }).toNumber(true);
  if (!Number.isSafeInteger(n) || n < 0) throw new SyncCodecError(`a number out of range (${String(v)})`);
  return n;
}

/** Walks the fields of one message until `end`; `on` returns false for a field it does not know (skipped). */
function fields(r: Reader, end: number, on: (field: number, wire: number) => boolean): void {
  while (r.pos < end) {
    const t = r.uint32();
    const field = t >>> 3;
    const wire = t & 7;
    if (field === 0) throw new SyncCodecError('field number 0');
    if (!on(field, wire)) r.skipType(wire);
  }
  if (r.pos !== end) throw new SyncCodecError('a field runs past the end of its message');
}

/** The end of a length-delimited field starting at the reader's position, checked against `limit`. */
function sub(r: Reader, limit: number): number {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > limit) throw new SyncCodecError(`a field of ${len} bytes runs past the end of its message`);
  return end;
}

function expect(wire: number, want: number, what: string): void {
  if (wire !== want) throw new SyncCodecError(`${what} has wire type ${wire}, not ${want}`);
}

function readEntry(r: Reader, limit: number): WireVectorEntry {
  const end = sub(r, limit);
  const e: WireVectorEntry = { origin: '', seq: 0 };
  fields(r, end, (f, wire) => {
    if (f === 1) { expect(wire, WIRE_BYTES, 'VectorEntry.origin'); e.origin = r.string(); }
    else if (f === 2) { expect(wire, WIRE_VARINT, 'VectorEntry.seq'); e.seq = num(r.uint64()); }
    else return false;
    return true;
  });
  return e;
}

function readHlc(r: Reader, limit: number): WireHlc {
  const end = sub(r, limit);
  const t: WireHlc = { wallMs: 0, logical: 0 };
  fields(r, end, (f, wire) => {
    if (f === 1) { expect(wire, WIRE_VARINT, 'SyncHlc.wall_ms'); t.wallMs = num(r.uint64()); }
    else if (f === 2) { expect(wire, WIRE_VARINT, 'SyncHlc.logical'); t.logical = r.uint32(); }
    else return false;
    return true;
  });
  return t;
}

const ZERO_HLC = (): WireHlc => ({ wallMs: 0, logical: 0 });

function readHello(r: Reader, end: number): HelloMessage {
  const m: HelloMessage = {
    kind: 'hello', protocolVersion: 0, replicaId: '', deviceId: '', incarnation: 0, vectors: [], hlc: ZERO_HLC(),
    physicalMs: 0, acceptEncodings: [], window: 0, sessionId: '', registryRevision: 0, aheadOfYou: [], resync: [],
  };
  fields(r, end, (f, wire) => {
    switch (f) {
      case 1: expect(wire, WIRE_VARINT, 'Hello.protocol_version'); m.protocolVersion = r.uint32(); return true;
      case 2: expect(wire, WIRE_BYTES, 'Hello.replica_id'); m.replicaId = r.string(); return true;
      case 3: expect(wire, WIRE_BYTES, 'Hello.device_id'); m.deviceId = r.string(); return true;
      case 4: expect(wire, WIRE_VARINT, 'Hello.incarnation'); m.incarnation = num(r.uint64()); return true;
      case 5: {
        expect(wire, WIRE_BYTES, 'Hello.vectors');
        const nvEnd = sub(r, end);
        const nv: WireNamespaceVector = { namespace: '', vector: [] };
        fields(r, nvEnd, (g, w2) => {
          if (g === 1) { expect(w2, WIRE_BYTES, 'NamespaceVector.namespace'); nv.namespace = r.string(); }
          else if (g === 2) { expect(w2, WIRE_BYTES, 'NamespaceVector.vector'); nv.vector.push(readEntry(r, nvEnd)); }
          else return false;
          return true;
        });
        m.vectors.push(nv);
        return true;
      }
      case 6: expect(wire, WIRE_BYTES, 'Hello.hlc'); m.hlc = readHlc(r, end); return true;
      case 7: expect(wire, WIRE_VARINT, 'Hello.physical_ms'); m.physicalMs = num(r.uint64()); return true;
      case 8: expect(wire, WIRE_BYTES, 'Hello.accept_encodings'); m.acceptEncodings.push(r.string()); return true;
      case 9: expect(wire, WIRE_VARINT, 'Hello.window'); m.window = r.uint32(); return true;
      case 10: expect(wire, WIRE_BYTES, 'Hello.session_id'); m.sessionId = r.string(); return true;
      case 11: expect(wire, WIRE_VARINT, 'Hello.registry_revision'); m.registryRevision = num(r.uint64()); return true;
      case 12: expect(wire, WIRE_BYTES, 'Hello.ahead_of_you'); m.aheadOfYou.push(readEntry(r, end)); return true;
      case 13: expect(wire, WIRE_BYTES, 'Hello.resync'); m.resync.push(r.string()); return true;
      case 14: expect(wire, WIRE_BYTES, 'Hello.group'); m.group = r.string(); return true;
      default: return false;
    }
  });
  return m;
}

function readDelta(r: Reader, end: number): DeltaMessage {
  const m: DeltaMessage = {
    kind: 'delta', pageId: 0, namespace: '', encoding: '', page: new Uint8Array(0), viewIndex: 0, caughtUp: false, hlc: ZERO_HLC(), physicalMs: 0,
  };
  fields(r, end, (f, wire) => {
    switch (f) {
      case 1: expect(wire, WIRE_VARINT, 'Delta.page_id'); m.pageId = num(r.uint64()); return true;
      case 2: expect(wire, WIRE_BYTES, 'Delta.namespace'); m.namespace = r.string(); return true;
      case 3: expect(wire, WIRE_BYTES, 'Delta.encoding'); m.encoding = r.string(); return true;
      // A copy: protobufjs may hand out a view into the message's buffer.
      case 4: expect(wire, WIRE_BYTES, 'Delta.page'); m.page = new Uint8Array(r.bytes()); return true;
      case 5: expect(wire, WIRE_VARINT, 'Delta.view_index'); m.viewIndex = num(r.uint64()); return true;
      case 6: expect(wire, WIRE_VARINT, 'Delta.caught_up'); m.caughtUp = r.bool(); return true;
      case 7: expect(wire, WIRE_BYTES, 'Delta.hlc'); m.hlc = readHlc(r, end); return true;
      case 8: expect(wire, WIRE_VARINT, 'Delta.physical_ms'); m.physicalMs = num(r.uint64()); return true;
      default: return false;
    }
  });
  return m;
}

function readAck(r: Reader, end: number): AckMessage {
  const m: AckMessage = { kind: 'ack', pageId: 0, namespace: '', vector: [] };
  fields(r, end, (f, wire) => {
    if (f === 1) { expect(wire, WIRE_VARINT, 'Ack.page_id'); m.pageId = num(r.uint64()); }
    else if (f === 2) { expect(wire, WIRE_BYTES, 'Ack.namespace'); m.namespace = r.string(); }
    else if (f === 3) { expect(wire, WIRE_BYTES, 'Ack.vector'); m.vector.push(readEntry(r, end)); }
    else return false;
    return true;
  });
  return m;
}

function readResend(r: Reader, end: number): ResendFromMessage {
  const m: ResendFromMessage = { kind: 'resend-from', pageId: 0, namespace: '', origin: '', seq: 0 };
  fields(r, end, (f, wire) => {
    if (f === 1) { expect(wire, WIRE_VARINT, 'ResendFrom.page_id'); m.pageId = num(r.uint64()); }
    else if (f === 2) { expect(wire, WIRE_BYTES, 'ResendFrom.namespace'); m.namespace = r.string(); }
    else if (f === 3) { expect(wire, WIRE_BYTES, 'ResendFrom.origin'); m.origin = r.string(); }
    else if (f === 4) { expect(wire, WIRE_VARINT, 'ResendFrom.seq'); m.seq = num(r.uint64()); }
    else return false;
    return true;
  });
  return m;
}

function readHeartbeat(r: Reader, end: number): HeartbeatMessage {
  const m: HeartbeatMessage = { kind: 'heartbeat', hlc: ZERO_HLC(), physicalMs: 0 };
  fields(r, end, (f, wire) => {
    if (f === 1) { expect(wire, WIRE_BYTES, 'Heartbeat.hlc'); m.hlc = readHlc(r, end); }
    else if (f === 2) { expect(wire, WIRE_VARINT, 'Heartbeat.physical_ms'); m.physicalMs = num(r.uint64()); }
    else return false;
    return true;
  });
  return m;
}

function readError(r: Reader, end: number): ErrorMessage {
  const m: ErrorMessage = { kind: 'error', code: '', message: '', pageId: 0, fatal: false, detail: '' };
  fields(r, end, (f, wire) => {
    if (f === 1) { expect(wire, WIRE_BYTES, 'SyncError.code'); m.code = r.string(); }
    else if (f === 2) { expect(wire, WIRE_BYTES, 'SyncError.message'); m.message = r.string(); }
    else if (f === 3) { expect(wire, WIRE_VARINT, 'SyncError.page_id'); m.pageId = num(r.uint64()); }
    else if (f === 4) { expect(wire, WIRE_VARINT, 'SyncError.fatal'); m.fatal = r.bool(); }
    else if (f === 5) { expect(wire, WIRE_BYTES, 'SyncError.detail'); m.detail = r.string(); }
    else return false;
    return true;
  });
  return m;
}

const READERS: Record<number, (r: Reader, end: number) => SyncMessage> = {
  1: readHello, 2: readDelta, 3: readAck, 4: readResend, 5: readHeartbeat, 6: readError,
};

/** Decodes one SyncMessage; throws SyncCodecError on anything else (garbage, a message with no known body). */
export function decodeSyncMessage(bytes: Uint8Array): SyncMessage {
  let found: SyncMessage | undefined;
  try {
    const r = Reader.create(bytes);
    fields(r, bytes.length, (f, wire) => {
      const read = READERS[f];
      if (read === undefined) return false;
      expect(wire, WIRE_BYTES, 'SyncMessage.msg');
      // A oneof: the last one on the wire wins (protobuf's rule).
      found = read(r, sub(r, bytes.length));
      return true;
    });
  } catch (e) {
    if (e instanceof SyncCodecError) throw e;
    throw new SyncCodecError(`not a SyncMessage: ${(e as Error).message}`);
  }
  if (found === undefined) throw new SyncCodecError('a SyncMessage with none of hello, delta, ack, resend_from, heartbeat, error');
  return found;
}
