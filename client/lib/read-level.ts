// Read levels per call (DESIGN.md §2) and session consistency: the client keeps the
// highest revision it has seen (every response header) and, for serializable reads,
// sends it as rs-min-revision, so a process never reads older than its own writes or
// its earlier reads, from whichever member answers.

import { Metadata } from '@grpc/grpc-js';

export type ReadLevel = 'linearizable' | 'serializable' | 'bounded' | 'session';

/** Per-call read level options of range/get. */
export interface ReadLevelOptions {
  /**
   * The read level (default: the namespace's, or session for `serializable: true` reads
   * while the client's sessionReads is on). bounded uses maxStalenessMs.
   */
  readLevel?: ReadLevel;
  /** bounded: the bound in ms (default: the namespace's max_staleness_ms). */
  maxStalenessMs?: number;
  /** session: the lowest revision to accept (default: the highest this client has seen). */
  minRevision?: number;
}

/** What the serving member said about the read (trailing metadata). */
export interface ReadInfo {
  level: string;
  /** The store revision of the member that served the read. */
  appliedRevision: number;
  /** bounded: how stale the member proved its state (0 after a ReadIndex round). */
  stalenessMs?: number;
}

export class SessionClock {
  private highest = 0;

  /** Highest revision seen in any answer. */
  get revision(): number {
    return this.highest;
  }

  observe(revision: number): void {
    if (Number.isSafeInteger(revision) && revision > this.highest) this.highest = revision;
  }
}

/**
 * The metadata of a read: its read level; undefined for a plain etcd read. `sessionDefault`:
 * serializable reads become session reads at the highest revision seen.
 */
export function readMetadata(opts: ReadLevelOptions & { serializable?: boolean }, clock: SessionClock, sessionDefault: boolean): Metadata | undefined {
  let level = opts.readLevel;
  if (level === undefined && opts.serializable === true && sessionDefault && clock.revision > 0) level = 'session';
  if (level === undefined) return undefined;
  const md = new Metadata();
  md.set('rs-read-level', level);
  if (level === 'bounded' && opts.maxStalenessMs !== undefined) md.set('rs-max-staleness-ms', String(opts.maxStalenessMs));
  if (level === 'session') md.set('rs-min-revision', String(opts.minRevision ?? clock.revision));
  return md;
}

export function readInfoFrom(trailers: Metadata): ReadInfo | undefined {
  const applied = trailers.get('rs-applied-revision')[0];
  if (applied === undefined) return undefined;
  const info: ReadInfo = { level: String(trailers.get('rs-served-read-level')[0] ?? ''), appliedRevision: Number(applied) };
  const st = trailers.get('rs-staleness-ms')[0];
  if (st !== undefined) info.stalenessMs = Number(st);
  return info;
}
