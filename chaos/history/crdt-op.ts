// One operation of the crdt workload (chaos/workload/crdt.ts), as a line of its history
// file (crdt-history.jsonl, beside the register workload's history.jsonl, whose nine-field
// format is fixed for outside checkers). One JSON object per line, these fields in this
// order, all present (null when they do not apply):
//
//  - process: the sequential actor that issued it (one operation at a time).
//  - op: counter-add, counter-read, set-add, set-remove, set-read, event-append.
//  - namespace: the eventual namespace; key: the full etcd key ("" for events).
//  - delta (counter-add), member (set-add/remove), event (event-append: device, seq, type,
//    payload as text, tsMs).
//  - identity: the writer identity a write carried (rs-client-id, rs-seq); null for reads.
//    A re-send carries the identity of the write it repeats and has `resend` true: what a
//    client does after a lost response. The server must apply the pair at most once.
//  - call / return: ns since the run started (chaos/history/run-clock.ts).
//  - status: "ok"; "fail" (certainly not applied); "unknown" (indeterminate: may apply at
//    any time after its call, or never).
//  - output (status ok): revision, dots ("origin:seq" per op; empty when the answer had
//    none), and for reads the value (counter) or members (set).
//  - error: the failure's text (status fail or unknown).

import type { LineCodec } from './writer.js';

export const CRDT_OP_KINDS = ['counter-add', 'counter-read', 'set-add', 'set-remove', 'set-read', 'event-append'] as const;
export type CrdtOpKind = (typeof CRDT_OP_KINDS)[number];
export const CRDT_WRITE_KINDS: readonly CrdtOpKind[] = ['counter-add', 'set-add', 'set-remove', 'event-append'];

export type CrdtOpStatus = 'ok' | 'fail' | 'unknown';
const STATUSES: readonly CrdtOpStatus[] = ['ok', 'fail', 'unknown'];

export interface CrdtIdentity {
  clientId: string;
  seq: number;
}

export interface CrdtEventBody {
  device: string;
  /** The device's own sequence number (1, 2, ...). */
  seq: number;
  type: string;
  /** The payload as UTF-8 text (the workload writes JSON). */
  payload: string;
  /** Event time, ms since the epoch. */
  tsMs: number;
}

export interface CrdtOpOutput {
  revision: number;
  /** Writes: the dot each op was stamped with, "origin:seq". */
  dots: string[];
  /** counter-read: the value. */
  value?: number;
  /** set-read: the members, sorted. */
  members?: string[];
}

export interface CrdtHistoryOp {
  process: number;
  op: CrdtOpKind;
  namespace: string;
  key: string;
  delta: number | null;
  member: string | null;
  event: CrdtEventBody | null;
  identity: CrdtIdentity | null;
  resend: boolean;
  call: number;
  return: number;
  status: CrdtOpStatus;
  output: CrdtOpOutput | null;
  error: string | null;
}

export const CRDT_OP_FIELDS = [
  'process', 'op', 'namespace', 'key', 'delta', 'member', 'event', 'identity', 'resend', 'call', 'return', 'status', 'output', 'error',
] as const satisfies ReadonlyArray<keyof CrdtHistoryOp>;

export function isCrdtWrite(op: Pick<CrdtHistoryOp, 'op'>): boolean {
  return CRDT_WRITE_KINDS.includes(op.op);
}

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

function eventError(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null) return '"event" must be an object';
  const o = e as Record<string, unknown>;
  if (typeof o.device !== 'string' || o.device === '') return '"event.device" must be a non-empty string';
  if (!isInt(o.seq, 1)) return '"event.seq" must be a positive integer';
  if (typeof o.type !== 'string' || o.type === '') return '"event.type" must be a non-empty string';
  if (typeof o.payload !== 'string') return '"event.payload" must be a string';
  if (!isInt(o.tsMs, 0)) return '"event.tsMs" must be a non-negative integer';
  return undefined;
}

function outputError(out: unknown): string | undefined {
  if (typeof out !== 'object' || out === null) return '"output" must be an object when status is "ok"';
  const o = out as Record<string, unknown>;
  if (!isInt(o.revision, 0)) return '"output.revision" must be a non-negative integer';
  if (!Array.isArray(o.dots) || !o.dots.every((d) => typeof d === 'string')) return '"output.dots" must be a list of strings';
  if (o.value !== undefined && !isInt(o.value, Number.MIN_SAFE_INTEGER)) return '"output.value" must be an integer';
  if (o.members !== undefined && !(Array.isArray(o.members) && o.members.every((m) => typeof m === 'string'))) return '"output.members" must be a list of strings';
  return undefined;
}

/** What the fields of each kind must be. */
function kindError(o: CrdtHistoryOp): string | undefined {
  const counter = o.op === 'counter-add' || o.op === 'counter-read';
  const set = o.op.startsWith('set-');
  if (counter || set ? o.key === '' : o.key !== '') return `a ${o.op} ${counter || set ? 'needs a key' : 'has key ""'}`;
  if ((o.op === 'counter-add') !== (o.delta !== null)) return `"delta" is for counter-add only (and required there)`;
  if (o.delta !== null && (!isInt(o.delta, Number.MIN_SAFE_INTEGER) || o.delta === 0)) return '"delta" must be a non-zero integer';
  const hasMember = o.op === 'set-add' || o.op === 'set-remove';
  if (hasMember !== (o.member !== null)) return `"member" is for set-add and set-remove only (and required there)`;
  if ((o.op === 'event-append') !== (o.event !== null)) return `"event" is for event-append only (and required there)`;
  if (o.event !== null) return eventError(o.event);
  return undefined;
}

function fieldError(o: CrdtHistoryOp): string | undefined {
  if (!isInt(o.process, 0)) return '"process" must be a non-negative integer';
  if (!(CRDT_OP_KINDS as readonly unknown[]).includes(o.op)) return `"op" must be one of ${CRDT_OP_KINDS.join(', ')}, got ${JSON.stringify(o.op)}`;
  if (typeof o.namespace !== 'string' || o.namespace === '') return '"namespace" must be a non-empty string';
  if (typeof o.key !== 'string') return '"key" must be a string';
  if (o.delta !== null && typeof o.delta !== 'number') return '"delta" must be a number or null';
  if (o.member !== null && typeof o.member !== 'string') return '"member" must be a string or null';
  if (typeof o.resend !== 'boolean') return '"resend" must be a boolean';
  if (!isInt(o.call, 0) || !isInt(o.return, 0)) return '"call" and "return" must be non-negative integers (ns)';
  if (o.return < o.call) return `"return" (${o.return}) is before "call" (${o.call})`;
  if (!STATUSES.includes(o.status)) return `"status" must be one of ${STATUSES.join(', ')}`;
  if (o.error !== null && typeof o.error !== 'string') return '"error" must be a string or null';
  return undefined;
}

function meaningError(o: CrdtHistoryOp): string | undefined {
  const write = isCrdtWrite(o);
  if (write) {
    const id = o.identity as unknown;
    if (typeof id !== 'object' || id === null) return `a ${o.op} carries its writer "identity"`;
    const { clientId, seq } = id as Record<string, unknown>;
    if (typeof clientId !== 'string' || clientId === '' || !isInt(seq, 1)) return '"identity" is {clientId: non-empty string, seq: positive integer}';
  } else {
    if (o.identity !== null) return `a ${o.op} has no "identity" (must be null)`;
    if (o.resend) return `a ${o.op} is never a re-send`;
  }
  if (o.status === 'ok') {
    if (o.error !== null) return '"error" must be null when status is "ok"';
    return outputError(o.output);
  }
  if (o.output !== null) return `"output" must be null when status is "${o.status}"`;
  return undefined;
}

/** Checks one decoded line; returns what is wrong, or undefined when it is a valid CrdtHistoryOp. */
export function crdtOpError(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'expected a JSON object';
  const o = value as Record<string, unknown>;
  for (const f of CRDT_OP_FIELDS) if (!Object.hasOwn(o, f)) return `missing field "${f}"`;
  for (const f of Object.keys(o)) if (!(CRDT_OP_FIELDS as readonly string[]).includes(f)) return `unknown field "${f}"`;
  const op = value as CrdtHistoryOp;
  return fieldError(op) ?? kindError(op) ?? meaningError(op);
}

/** One line (without the newline), fields in the canonical order. */
export function formatCrdtOp(op: CrdtHistoryOp): string {
  const ordered: Record<string, unknown> = {};
  for (const f of CRDT_OP_FIELDS) ordered[f] = op[f];
  return JSON.stringify(ordered);
}

/** Parses a whole crdt history file's text; throws Error naming the line and the defect. */
export function parseCrdtHistory(text: string): CrdtHistoryOp[] {
  const rows = text.split('\n');
  if (rows[rows.length - 1] === '') rows.pop();
  return rows.map((row, i) => {
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch (err) {
      throw new Error(`line ${i + 1}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
    const error = crdtOpError(value);
    if (error !== undefined) throw new Error(`line ${i + 1}: ${error}`);
    return value as CrdtHistoryOp;
  });
}

/** The crdt history's line format for HistoryWriter.createWith. */
export const CRDT_CODEC: LineCodec<CrdtHistoryOp> = { error: crdtOpError, format: formatCrdtOp };
