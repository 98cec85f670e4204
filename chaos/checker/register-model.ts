// The register model the search runs: one key's operations compiled to small integers.
//
// A state is an interned value: ABSENT, OTHER, or the id of a string (see Interner). An operation is
// "observed" when its result came back (status ok, and within the window being checked);
// an unobserved put, delete or cas may take effect at any time after its call or never, so
// its return is +infinity and the search may leave it out; an unobserved get changes
// nothing and says nothing, so it is dropped; an operation with status fail certainly did
// not take effect and is dropped too.

import { CAS_OK, type HistoryOp } from '../history/op.js';

export const ABSENT = 0;
/** Every value no operation observes (see Interner). */
export const OTHER = 1;
/** step() result: the operation cannot take effect in this state with its observed output. */
export const ILLEGAL = -1;
/**
 * A state not known yet: whatever the operations before a window left. The first
 * operation that observes it fixes it. A cas that fails on it leaves it ANY, which admits
 * slightly more than the truth ("any value but the expected one"); that can only hide a
 * violation, never invent one, which is the safe side for shrinking a window.
 */
export const ANY = -2;

export const Kind = {
  Put: 0,
  Delete: 1,
  Get: 2,
  /** A cas observed to succeed. */
  CasOk: 3,
  /** A cas observed to fail its comparison: a read that the value is not `expected`. */
  CasFail: 4,
  /** A cas whose result was not observed. */
  CasMaybe: 5,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export interface ModelOp {
  /** Index into the history the caller passed in. */
  source: number;
  kind: Kind;
  /** The interned value written (put, cas). */
  value: number;
  /** The interned value compared against (cas); ABSENT for "only if absent". */
  expected: number;
  /** The interned value read (get). */
  output: number;
  call: number;
  /** +Infinity when the operation may take effect any time after its call, or never. */
  ret: number;
  /**
   * For an unobserved operation: the previous unobserved one (by call) with the same
   * effect, or -1. Such twins are interchangeable once both are called, so the search
   * applies them in call order only (symmetry breaking); see search.ts.
   */
  twin: number;
}

/** One operation of a key's history, and whether its result counts (see module comment). */
export interface KeyOp {
  source: number;
  op: HistoryOp;
  observed: boolean;
}

/**
 * Interns strings as small integers. Values that no operation can tell apart (no get
 * read them, no cas compares with them) all become OTHER: a register holding one of
 * them behaves the same for every operation, so the search need not tell them apart.
 */
export class Interner {
  private readonly ids = new Map<string, number>();

  constructor(private readonly observable: ReadonlySet<string> = new Set()) {}

  id(value: string | null): number {
    if (value === null) return ABSENT;
    if (!this.observable.has(value)) return OTHER;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = OTHER + 1 + this.ids.size;
      this.ids.set(value, id);
    }
    return id;
  }

}

/** Values an operation can observe: read by a get, compared by a cas. */
export function observableValues(keyOps: readonly KeyOp[]): Set<string> {
  const values = new Set<string>();
  for (const k of keyOps) {
    if (k.op.op === 'cas' && k.op.expected !== null) values.add(k.op.expected);
    if (k.op.op === 'get' && k.observed && k.op.status === 'ok' && k.op.output !== null) values.add(k.op.output);
  }
  return values;
}

function kindOf(op: HistoryOp, observed: boolean): Kind | undefined {
  switch (op.op) {
    case 'put':
      return Kind.Put;
    case 'delete':
      return Kind.Delete;
    case 'get':
      return observed ? Kind.Get : undefined;
    case 'cas':
      if (!observed) return Kind.CasMaybe;
      return op.output === CAS_OK ? Kind.CasOk : Kind.CasFail;
  }
}

/** Compiles a key's operations; ops that cannot matter are left out (module comment). */
export function compile(keyOps: readonly KeyOp[], interner: Interner): ModelOp[] {
  const out: ModelOp[] = [];
  for (const k of keyOps) {
    if (k.op.status === 'fail') continue;
    const observed = k.observed && k.op.status === 'ok';
    const kind = kindOf(k.op, observed);
    if (kind === undefined) continue;
    out.push({
      source: k.source,
      kind,
      value: interner.id(k.op.value),
      expected: interner.id(k.op.expected),
      output: interner.id(kind === Kind.Get ? k.op.output : null),
      call: k.op.call,
      ret: observed ? k.op.return : Number.POSITIVE_INFINITY,
      twin: -1,
    });
  }
  linkTwins(out);
  return out;
}

function linkTwins(ops: ModelOp[]): void {
  const last = new Map<string, number>();
  const byCall = ops.map((_, i) => i).sort((a, b) => ops[a]!.call - ops[b]!.call || a - b);
  for (const i of byCall) {
    const op = ops[i]!;
    if (op.ret !== Number.POSITIVE_INFINITY) continue;
    const effect = `${op.kind}/${op.value}/${op.expected}`;
    op.twin = last.get(effect) ?? -1;
    last.set(effect, i);
  }
}

/** The value an operation's result depends on the register holding (or not), or -1. */
export function observedValue(op: ModelOp): number {
  switch (op.kind) {
    case Kind.Get:
      return op.output;
    case Kind.CasOk:
    case Kind.CasFail:
    case Kind.CasMaybe:
      return op.expected;
    default:
      return -1;
  }
}

/** The state after `op` in `state`, or ILLEGAL when its observed output forbids it there. */
export function step(state: number, op: ModelOp): number {
  switch (op.kind) {
    case Kind.Put:
      return op.value;
    case Kind.Delete:
      return ABSENT;
    case Kind.Get:
      return state === op.output || state === ANY ? op.output : ILLEGAL;
    case Kind.CasOk:
      return state === op.expected || state === ANY ? op.value : ILLEGAL;
    case Kind.CasFail:
      return state !== op.expected ? state : ILLEGAL;
    case Kind.CasMaybe:
      // Taking effect where the comparison fails changes nothing: the same as never
      // taking effect, which the search already allows, so that branch is pruned.
      return state === op.expected || state === ANY ? op.value : ILLEGAL;
  }
}
