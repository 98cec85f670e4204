// One operation of the register workload, exactly as a line of a history file holds it.
// The format is fixed so that independent checkers (Knossos, Porcupine) can re-check our
// histories: one JSON object per line with these nine fields and nothing else.
//
//  - call / return: integer nanoseconds since the start of the run, from a monotonic clock.
//  - Every key starts absent. A cas with `expected` null means "only if absent".
//  - output: the value a get read (null when absent), "ok" / "fail" for a cas that
//    completed; put and delete have no output (null, or "ok").
//  - status: "ok" completed; "fail" certainly did not take effect; "unknown" may have taken
//    effect (e.g. a timeout), at any time after its call, or never.

export const OP_KINDS = ['put', 'get', 'cas', 'delete'] as const;
export type OpKind = (typeof OP_KINDS)[number];

export const OP_STATUSES = ['ok', 'fail', 'unknown'] as const;
export type OpStatus = (typeof OP_STATUSES)[number];

/** The output of a cas that completed. */
export const CAS_OK = 'ok';
export const CAS_FAIL = 'fail';

export interface HistoryOp {
  /** The client process (a sequential actor) that issued the operation. */
  process: number;
  key: string;
  op: OpKind;
  /** The value written by put and cas; null for get and delete. */
  value: string | null;
  /** What a cas compares against; null means "only if absent". Null for other ops. */
  expected: string | null;
  /** See the module comment. Null unless status is "ok". */
  output: string | null;
  /** Nanoseconds since run start when the operation was invoked. */
  call: number;
  /** Nanoseconds since run start when the result (or the failure) came back. */
  return: number;
  status: OpStatus;
}

/** The field names in the order a history line writes them. */
export const OP_FIELDS = [
  'process', 'key', 'op', 'value', 'expected', 'output', 'call', 'return', 'status',
] as const satisfies ReadonlyArray<keyof HistoryOp>;

function isStringOrNull(v: unknown): v is string | null {
  return v === null || typeof v === 'string';
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Checks the types of each field; returns what is wrong, or undefined. */
function fieldTypeError(o: Record<string, unknown>): string | undefined {
  if (typeof o.process !== 'number' || !Number.isSafeInteger(o.process) || o.process < 0) {
    return `"process" must be a non-negative integer, got ${JSON.stringify(o.process)}`;
  }
  if (typeof o.key !== 'string') return `"key" must be a string, got ${JSON.stringify(o.key)}`;
  if (!(OP_KINDS as readonly unknown[]).includes(o.op)) {
    return `"op" must be one of ${OP_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(o.op)}`;
  }
  for (const f of ['value', 'expected', 'output'] as const) {
    if (!isStringOrNull(o[f])) return `"${f}" must be a string or null, got ${JSON.stringify(o[f])}`;
  }
  for (const f of ['call', 'return'] as const) {
    if (!isTime(o[f])) return `"${f}" must be a non-negative integer (ns), got ${JSON.stringify(o[f])}`;
  }
  if (!(OP_STATUSES as readonly unknown[]).includes(o.status)) {
    return `"status" must be one of ${OP_STATUSES.map((s) => `"${s}"`).join(', ')}, got ${JSON.stringify(o.status)}`;
  }
  return undefined;
}

/** Checks what the fields mean together; the types are already right. */
function meaningError(op: HistoryOp): string | undefined {
  if (op.return < op.call) return `"return" (${op.return}) is before "call" (${op.call})`;
  const writes = op.op === 'put' || op.op === 'cas';
  if (writes && op.value === null) return `a ${op.op} needs a string "value"`;
  if (!writes && op.value !== null) return `a ${op.op} has no "value" (must be null)`;
  if (op.op !== 'cas' && op.expected !== null) return `a ${op.op} has no "expected" (must be null)`;
  if (op.status !== 'ok') {
    if (op.output !== null) return `"output" must be null when status is "${op.status}" (nothing was observed)`;
    return undefined;
  }
  if (op.op === 'cas' && op.output !== CAS_OK && op.output !== CAS_FAIL) {
    return `a cas that completed has output "${CAS_OK}" or "${CAS_FAIL}", got ${JSON.stringify(op.output)}`;
  }
  if ((op.op === 'put' || op.op === 'delete') && op.output !== null && op.output !== CAS_OK) {
    return `a ${op.op} has output null or "ok", got ${JSON.stringify(op.output)}`;
  }
  return undefined;
}

/**
 * Checks one decoded line: exactly the nine fields, of the right types, meaning something.
 * Returns what is wrong, or undefined when `value` is a valid HistoryOp.
 */
export function opError(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'expected a JSON object';
  }
  const o = value as Record<string, unknown>;
  for (const f of OP_FIELDS) {
    if (!Object.hasOwn(o, f)) return `missing field "${f}"`;
  }
  for (const f of Object.keys(o)) {
    if (!(OP_FIELDS as readonly string[]).includes(f)) return `unknown field "${f}"`;
  }
  return fieldTypeError(o) ?? meaningError(o as unknown as HistoryOp);
}

/** One line of a history file (without the newline), fields in the canonical order. */
export function formatOp(op: HistoryOp): string {
  const ordered: Record<string, unknown> = {};
  for (const f of OP_FIELDS) ordered[f] = op[f];
  return JSON.stringify(ordered);
}
