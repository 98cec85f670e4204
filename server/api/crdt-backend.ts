// What the regionstore.v1.Crdt service (proto/regionstore/v1/crdt_service.proto) needs from
// a region node (and later an edge). The region implements it structurally (server/region
// cannot import server/api): plain data only, keys and values as bytes.
//
// Contract, for every method:
// - Requests arrive validated by server/api (limits, required fields, well-formed bytes);
//   what only the state can decide (unknown namespace, wrong level or type, a malformed
//   context token, an event seq reused with other content, the sibling cap) the backend
//   throws as an Error with `code` one of CrdtBackendErrorCode and a message a person can
//   act on; anything else is answered INTERNAL and never crashes the process.
// - Every answer carries the namespace's vector and the revision it was read or written at.
// - `level` follows the read levels of DESIGN §2 (linearizable by default in the region).

import type { ReadAsk } from '../namespace/index.js';
import type { RequestIdentity } from './backend.js';

export type CrdtBackendErrorCode =
  | 'invalid-argument' // malformed token, bad field the state must judge
  | 'not-found' // no namespace of that name / no namespace owns the key
  | 'failed-precondition' // strong namespace, type mismatch, event conflict, sibling cap
  | 'resource-exhausted'
  | 'no-leader'
  | 'unavailable';

export interface CrdtDot {
  origin: string;
  seq: number;
}
export interface CrdtHlc {
  wallMs: number;
  logical: number;
}
/** Read only: a backend may hand out the same array for every answer until the vector changes. */
export type CrdtVector = ReadonlyArray<Readonly<CrdtDot>>;

export type CrdtOpInput =
  | { type: 'lwwPut'; key: Uint8Array; value: Uint8Array }
  | { type: 'lwwDelete'; key: Uint8Array }
  | { type: 'mvPut'; key: Uint8Array; value: Uint8Array; context: string }
  | { type: 'counterAdd'; key: Uint8Array; delta: number }
  | { type: 'setAdd'; key: Uint8Array; member: Uint8Array }
  | { type: 'setRemove'; key: Uint8Array; member: Uint8Array }
  | { type: 'eventAppend'; device: string; seq: number; eventType: string; schemaVersion: number; payload: Uint8Array; tsMs: number };

export interface CrdtWriteInput {
  /** '' when the keys name it. */
  namespace: string;
  ops: CrdtOpInput[];
}

export interface CrdtOpOutcome {
  dot?: CrdtDot;
  hlc?: CrdtHlc;
  eventSeq?: number;
  duplicate?: boolean;
}

export interface CrdtAnswerBase {
  namespace: string;
  revision: number;
  vector: CrdtVector;
  memberId: number;
}

export interface CrdtWriteResult extends CrdtAnswerBase {
  results: CrdtOpOutcome[];
  /**
   * The apply's answer bytes (server/eventual/entry.ts encodeAnswer of a write), when the
   * backend has them: the wire answer is encoded straight from them (fast-crdt-codec.ts
   * encodeWriteAnswer) and `results` is not read, so a backend may decode it only if asked.
   */
  answer?: Uint8Array;
}

export interface CrdtReadInput {
  namespace: string;
  key: Uint8Array;
  rangeEnd: Uint8Array;
  device: string;
  fromSeq: number;
  toSeq: number;
  limit: number;
}

export type CrdtEntryValue =
  | { type: 'lww'; value: Uint8Array; hlc: CrdtHlc; writer: CrdtDot }
  | { type: 'mv'; values: Uint8Array[]; dots: CrdtDot[]; context: string }
  | { type: 'counter'; value: number; p: number; n: number }
  | { type: 'set'; members: Uint8Array[] };

export interface CrdtStoredEvent {
  device: string;
  seq: number;
  tsMs: number;
  eventType: string;
  schemaVersion: number;
  payload: Uint8Array;
  dot: CrdtDot;
}

export interface CrdtReadResult extends CrdtAnswerBase {
  crdtType: 'lww' | 'mv' | 'counter' | 'set' | 'events';
  entries: Array<{ key: Uint8Array; value: CrdtEntryValue }>;
  events: CrdtStoredEvent[];
  more: boolean;
}

export interface CrdtSupersededRecord {
  key: Uint8Array;
  value: Uint8Array;
  tombstone: boolean;
  hlc: CrdtHlc;
  dot: CrdtDot;
  winner: CrdtDot;
}

export interface CrdtSupersededResult extends CrdtAnswerBase {
  records: CrdtSupersededRecord[];
  more: boolean;
  total: number;
}

export interface CrdtDeviceCompleteness {
  device: string;
  contiguous: number;
  highest: number;
  held: number;
  gaps: Array<{ from: number; to: number }>;
  completeness: number;
}

export interface CrdtCompletenessResult extends CrdtAnswerBase {
  devices: CrdtDeviceCompleteness[];
  more: boolean;
  completeness: number;
  deviceCount: number;
  gapCount: number;
}

export interface CrdtConflictsResult extends CrdtAnswerBase {
  keys: Array<{ key: Uint8Array; siblings: number }>;
  more: boolean;
  unresolved: number;
}

export interface CrdtHashResult extends CrdtAnswerBase {
  hash: number;
  appliedIndex: number;
}

export interface CrdtBackend {
  /** One Raft entry per call; `identity` makes a retried write apply at most once. */
  write(req: CrdtWriteInput, identity: RequestIdentity | undefined): Promise<CrdtWriteResult>;
  read(req: CrdtReadInput, ask: ReadAsk | undefined, deadlineMs: number): Promise<CrdtReadResult>;
  superseded(req: { namespace: string; key: Uint8Array; rangeEnd: Uint8Array; limit: number }, ask: ReadAsk | undefined, deadlineMs: number): Promise<CrdtSupersededResult>;
  completeness(req: { namespace: string; device: string; afterDevice: string; limit: number }, ask: ReadAsk | undefined, deadlineMs: number): Promise<CrdtCompletenessResult>;
  conflicts(req: { namespace: string; afterKey: Uint8Array; limit: number }, ask: ReadAsk | undefined, deadlineMs: number): Promise<CrdtConflictsResult>;
  /** Local (the member's applied state): what tests compare across members. */
  hash(namespace: string): Promise<CrdtHashResult>;
}
