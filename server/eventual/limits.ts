// Limits of the eventual data path, each a named constant an operator can change (issue 13).
// server/api imports them (through server/region) to validate requests before they reach the
// log; the apply path checks what only the state can decide (sibling cap: the namespace's).

/** Ops in one CrdtWrite (one Raft entry). */
export const CRDT_WRITE_OPS_MAX = 512;
/** Bytes of one op (key + value, member or payload). */
export const CRDT_OP_BYTES_MAX = 1024 * 1024;
/** Event appends in one Write. */
export const CRDT_EVENTS_PER_APPEND_MAX = 1000;
/** Devices listed per Completeness page when the request names no limit. */
export const CRDT_DEVICES_PAGE_DEFAULT = 100;
/** Devices per Completeness page at most. */
export const CRDT_DEVICES_PAGE_MAX = 1000;
/** Entries or events per Read answer when the request names no limit. */
export const CRDT_READ_LIMIT_DEFAULT = 1000;
/** Entries or events per Read (and Superseded, Conflicts) answer at most. */
export const CRDT_READ_LIMIT_MAX = 10_000;
/** Bytes of an event's device id and type. */
export const CRDT_EVENT_DEVICE_BYTES_MAX = 256;
export const CRDT_EVENT_TYPE_BYTES_MAX = 256;
/** Records of one foreign page (an edge upload, issue 14). */
export const CRDT_PAGE_RECORDS_MAX = 10_000;
/** Per-key CRDT states kept decoded in memory for the apply path (bounded: issue 20's rule). */
export const CRDT_STATE_CACHE_ENTRIES = 10_000;
/** ... and their encoded bytes at most (a state larger than an eighth of it is not cached). */
export const CRDT_STATE_CACHE_BYTES = 32 * 1024 * 1024;
