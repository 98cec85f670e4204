// The register workload's history: the line format, a writer and a strict reader.
export { CAS_FAIL, CAS_OK, OP_FIELDS, OP_KINDS, OP_STATUSES, formatOp, opError } from './op.js';
export type { HistoryOp, OpKind, OpStatus } from './op.js';
export { HistoryFormatError, parseHistory, readHistoryFile, type ParsedHistory } from './reader.js';
export { BUFFER_BYTES_MAX, HistoryWriter } from './writer.js';
export { RunClock } from './run-clock.js';
