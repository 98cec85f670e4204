// The limits that have no flag, listed at the end of `regionstore serve --help` with their
// values (issue 16: every limit visible), straight from the constants that enforce them.

import { WATCH_BUFFER_EVENTS_MAX } from '../mvcc/index.js';
import { NAMESPACES_MAX, NAME_BYTES_MAX, PREFIX_BYTES_MAX } from '../namespace/index.js';
import { MAX_APPLY_LAG_ENTRIES_DEFAULT, MAX_PENDING_PROPOSALS_DEFAULT, PROPOSAL_TIMEOUT_MS_DEFAULT } from '../region/limits.js';
import { CRDT_PAGE_RECORDS_MAX } from '../eventual/limits.js';
import { H2_SNIFF_BYTES_MAX } from './front-door.js';
import { MAX_PING_STRIKES } from './connection-limits.js';
import {
  CRDT_CONTEXT_BYTES_MAX, CRDT_EVENTS_PER_APPEND_MAX, CRDT_OP_BYTES_MAX, CRDT_READ_LIMIT_MAX, CRDT_WRITE_OPS_MAX,
  GRPC_OVERHEAD_BYTES, LEASE_TTL_SECONDS_MAX, SNAPSHOT_CHUNK_BYTES_MAX,
} from './limits.js';
import { WATCH_RESET_GRACE_MS } from './watch-guard.js';

const FIXED: ReadonlyArray<[string, string]> = [
  ['gRPC frame beyond --max-request-bytes (refused undecoded past it)', `${GRPC_OVERHEAD_BYTES} bytes`],
  ['lease TTL (etcd\'s MaxLeaseTTL)', `${LEASE_TTL_SECONDS_MAX} s`],
  ['Snapshot response chunk', `${SNAPSHOT_CHUNK_BYTES_MAX} bytes`],
  ['events queued per watcher before it catches up from history', String(WATCH_BUFFER_EVENTS_MAX)],
  ['grace for a slow watch client to read its cancel before its stream is reset', `${WATCH_RESET_GRACE_MS} ms`],
  ['early keepalive pings tolerated (one more: GOAWAY too_many_pings)', String(MAX_PING_STRIKES)],
  ['bytes of a first HTTP/2 request the front door reads before it hands the connection on', `${H2_SNIFF_BYTES_MAX} bytes`],
  ['proposals waiting for apply on one member ("etcdserver: too many requests" past it)', String(MAX_PENDING_PROPOSALS_DEFAULT)],
  ['committed but unapplied entries before proposals are refused', String(MAX_APPLY_LAG_ENTRIES_DEFAULT)],
  ['proposal timeout ("etcdserver: request timed out")', `${PROPOSAL_TIMEOUT_MS_DEFAULT} ms`],
  ['namespaces', String(NAMESPACES_MAX)],
  ['namespace name / prefix', `${NAME_BYTES_MAX} / ${PREFIX_BYTES_MAX} bytes`],
  ['CRDT ops per Write / bytes per op / events per append', `${CRDT_WRITE_OPS_MAX} / ${CRDT_OP_BYTES_MAX} / ${CRDT_EVENTS_PER_APPEND_MAX}`],
  ['CRDT read limit / mv context token', `${CRDT_READ_LIMIT_MAX} / ${CRDT_CONTEXT_BYTES_MAX} bytes`],
  ['records per edge sync page', String(CRDT_PAGE_RECORDS_MAX)],
];

/** Lines for the end of `serve --help`. */
export function fixedLimitsHelp(): string {
  const lines = ['Fixed limits (no flag; named constants in the sources):'];
  for (const [what, value] of FIXED) lines.push(`  ${what}: ${value}`);
  return lines.join('\n') + '\n';
}
