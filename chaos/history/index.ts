// The chaos workloads' histories: the register format (fixed, for outside checkers), the crdt
// workload's format, a writer for either and the register format's strict reader.
export { CAS_FAIL, CAS_OK, OP_FIELDS, OP_KINDS, OP_STATUSES, formatOp, opError } from './op.js';
export type { HistoryOp, OpKind, OpStatus } from './op.js';
export { HistoryFormatError, parseHistory, readHistoryFile, type ParsedHistory } from './reader.js';
export { BUFFER_BYTES_MAX, HistoryWriter, REGISTER_CODEC, type LineCodec } from './writer.js';
export { RunClock } from './run-clock.js';
export {
  CRDT_CODEC, CRDT_OP_FIELDS, CRDT_OP_KINDS, crdtOpError, formatCrdtOp, isCrdtWrite, parseCrdtHistory,
  type CrdtEventBody, type CrdtHistoryOp, type CrdtIdentity, type CrdtOpKind, type CrdtOpOutput, type CrdtOpStatus,
} from './crdt-op.js';
