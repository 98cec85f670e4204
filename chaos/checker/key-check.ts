// Checks one key's operations with the search, from the empty register or from any state
// (what a window cut out of the middle of a history starts from: whatever the operations
// before it left; see ANY in register-model.ts).

import { ABSENT, ANY, compile, Interner, observableValues, type KeyOp } from './register-model.js';
import { searchLinearization, type SearchLimits, type SearchOutcome } from './search.js';

export type StartState = 'absent' | 'any';

export interface KeyOutcome {
  outcome: SearchOutcome;
  /**
   * For a violation: the return no configuration of the search got past, the latest such
   * (see search.ts): the history known at that time is already a violation.
   */
  blocked?: { source: number; time: number };
}

export function checkKeyOps(keyOps: readonly KeyOp[], start: StartState, limits: SearchLimits): KeyOutcome {
  const ops = compile(keyOps, new Interner(observableValues(keyOps)));
  const outcome = searchLinearization(ops, start === 'absent' ? ABSENT : ANY, limits);
  if (outcome.verdict !== 'violation') return { outcome };
  const op = ops[outcome.blockedOp]!;
  return { outcome, blocked: { source: op.source, time: op.ret } };
}
