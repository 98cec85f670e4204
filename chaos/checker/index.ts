// Checkers of chaos runs: linearizability of the register history (per key, with the
// smallest violation window), the bank total, the watch order, crdt convergence; and their summaries.
export {
  checkLinearizability, DEFAULT_CACHE_BYTES_MAX, DEFAULT_MAX_STEPS_PER_KEY, DEFAULT_TIME_LIMIT_MS,
  DEFAULT_WINDOW_TIME_LIMIT_MS, type KeyResult, type LinearizabilityOptions, type LinearizabilityResult, type Verdict,
} from './linearizability.js';
export type { ViolationWindow, WindowOp } from './window.js';
export { describeOp, renderLinearizability, renderWindow } from './render.js';
export { checkBank, renderBank, type BankAnomaly, type BankOptions, type BankRead, type BankResult } from './bank.js';
export {
  checkWatch, renderWatch, type WatchAnomaly, type WatchEvent, type WatcherLog, type WatchResult, type WatchSession,
  type WatchWrite,
} from './watch.js';
export { summarizeBank, summarizeLinearizability, summarizeWatch, type CheckerSummary } from './summary.js';
export { checkCrdt, logicalWrites, type CrdtAnomaly, type CrdtAnomalyKind, type CrdtCounts, type CrdtResult } from './crdt.js';
export { compareMembers, type CrdtMemberFinal } from './crdt-state.js';
export { CRDT_CHECKER, summarizeCrdt } from './crdt-render.js';
