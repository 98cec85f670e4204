// Read levels on etcd Range (DESIGN.md §2): the rs-read-level, rs-max-staleness-ms and
// rs-min-revision request metadata in, and rs-applied-revision, rs-staleness-ms and
// rs-served-read-level trailing metadata out.

import { Metadata } from '@grpc/grpc-js';
import {
  APPLIED_REVISION_METADATA_KEY, MAX_STALENESS_METADATA_KEY, MIN_REVISION_METADATA_KEY, READ_LEVEL_METADATA_KEY,
  SERVED_LEVEL_METADATA_KEY, STALENESS_METADATA_KEY, parseReadAsk, type ReadAsk,
} from '../namespace/index.js';

function one(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : String(v).trim();
}

/** The read level a call asks for (undefined: none); throws NamespaceError('invalid') on bad values. */
export function readAskFromMetadata(md: Metadata): ReadAsk | undefined {
  return parseReadAsk(one(md, READ_LEVEL_METADATA_KEY), one(md, MAX_STALENESS_METADATA_KEY), one(md, MIN_REVISION_METADATA_KEY));
}

export function readTrailers(r: { level: string; appliedRevision: number; stalenessMs?: number }): Metadata {
  const md = new Metadata();
  md.set(APPLIED_REVISION_METADATA_KEY, String(r.appliedRevision));
  md.set(SERVED_LEVEL_METADATA_KEY, r.level);
  if (r.stalenessMs !== undefined) md.set(STALENESS_METADATA_KEY, String(r.stalenessMs));
  return md;
}

/** A call's deadline in epoch ms (Infinity: none). */
export function deadlineMsOf(deadline: Date | number): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
