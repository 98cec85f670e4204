// Read levels asked for per request (DESIGN.md §2): through the etcd API as gRPC metadata
// on Range, so any etcd client can use them. Parsing is here (pure); the API reads the
// metadata and the region serves the level.

import { MAX_STALENESS_MS_MAX } from './limits.js';
import { NamespaceError, READ_LEVELS, type ReadLevel } from './types.js';

export const READ_LEVEL_METADATA_KEY = 'rs-read-level';
export const MAX_STALENESS_METADATA_KEY = 'rs-max-staleness-ms';
export const MIN_REVISION_METADATA_KEY = 'rs-min-revision';
/** Trailing metadata of every leveled Range: the revision the serving member had applied. */
export const APPLIED_REVISION_METADATA_KEY = 'rs-applied-revision';
/** Trailing metadata of bounded reads: the staleness the member proved (0 after a ReadIndex). */
export const STALENESS_METADATA_KEY = 'rs-staleness-ms';
/** Trailing metadata: the level the read was served at (a namespace default when none was asked). */
export const SERVED_LEVEL_METADATA_KEY = 'rs-served-read-level';

/** A read level a request asks for; bounds left out come from the namespace. */
export interface ReadAsk {
  level: ReadLevel;
  /** bounded: the bound (absent: the namespace's max_staleness_ms). */
  maxStalenessMs?: number;
  /** session: the lowest revision the answer may reflect (absent or 0: any). */
  minRevision?: number;
}

function invalid(message: string): NamespaceError {
  return new NamespaceError('invalid', message);
}

function positiveInt(key: string, text: string, max: number): number {
  const n = /^[0-9]{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) throw invalid(`${key} must be a whole number from 0 to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

/**
 * The ask from the three metadata values (undefined when absent). Undefined when no level
 * is named: the namespace's default applies. `rs-min-revision` alone asks for session.
 */
export function parseReadAsk(level: string | undefined, maxStalenessMs: string | undefined, minRevision: string | undefined): ReadAsk | undefined {
  if (level === undefined && minRevision === undefined) {
    if (maxStalenessMs !== undefined) throw invalid(`${MAX_STALENESS_METADATA_KEY} needs ${READ_LEVEL_METADATA_KEY}: bounded`);
    return undefined;
  }
  const name = level ?? 'session';
  if (!(READ_LEVELS as readonly string[]).includes(name)) {
    throw invalid(`unknown read level ${JSON.stringify(name)} in ${READ_LEVEL_METADATA_KEY}: use one of ${READ_LEVELS.join(', ')}`);
  }
  const ask: ReadAsk = { level: name as ReadLevel };
  if (maxStalenessMs !== undefined) {
    if (ask.level !== 'bounded') throw invalid(`${MAX_STALENESS_METADATA_KEY} applies to ${READ_LEVEL_METADATA_KEY}: bounded only`);
    const ms = positiveInt(MAX_STALENESS_METADATA_KEY, maxStalenessMs, MAX_STALENESS_MS_MAX);
    if (ms === 0) throw invalid(`${MAX_STALENESS_METADATA_KEY} must be at least 1 (use linearizable for no staleness)`);
    ask.maxStalenessMs = ms;
  }
  if (minRevision !== undefined) {
    if (ask.level !== 'session') throw invalid(`${MIN_REVISION_METADATA_KEY} applies to ${READ_LEVEL_METADATA_KEY}: session only`);
    ask.minRevision = positiveInt(MIN_REVISION_METADATA_KEY, minRevision, Number.MAX_SAFE_INTEGER);
  }
  return ask;
}
