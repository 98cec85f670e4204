// The workloads of a chaos run, all through the project's client library.
export {
  ATTEMPT_TIMEOUT_MS, OP_TIMEOUT_MS, clientSet, failureStatus, workloadClient, type WorkloadContext,
} from './common.js';
export { RegisterWorkload, type RegisterOptions, type RegisterStats } from './register.js';
export { runRegisterOp, type CasMode, type RegisterRequest } from './register-ops.js';
export { BankWorkload, type BankStats } from './bank.js';
export { WatchWorkload } from './watch.js';
export { checkDurability, summarizeDurability, type DurabilityResult, type WriteAttempt } from './durability.js';
export { CrdtWorkload, CRDT_NAMESPACES, type CrdtStats } from './crdt.js';
export { readFinalStates, type CrdtFinalRead, type CrdtFinalSpec } from './crdt-final.js';
