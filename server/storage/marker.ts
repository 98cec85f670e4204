// The data directory marker (DESIGN.md §5, storage faults): a small JSON file naming the
// format, the cluster and the member a data directory belongs to. Written once, when the
// directory is first used (or, for a directory older than the marker, once its databases
// have opened); read at every start, so a member never starts on another member's or
// another cluster's files, nor on a format it does not know, and so "this directory held
// data" is known even when the databases in it are gone.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurably } from './data-dir.js';

export const DATA_DIR_MARKER_FILE = 'REGIONSTORE_DATA_DIR';
/** 1: raft/ and state[.<n>]/ RocksDB databases, CURRENT_STATE (data-dir.ts). */
export const DATA_DIR_FORMAT_VERSION = 1;

export interface DataDirMarker {
  formatVersion: number;
  /** Hex, as etcd prints ids (JSON has no 64-bit integers). */
  clusterId: string;
  memberId: string;
  createdAt: string;
}

/** A marker that cannot be read or does not fit: the directory is refused. */
export class MarkerError extends Error {
  override readonly name = 'MarkerError';
}

export function markerPath(dataDir: string): string {
  return join(dataDir, DATA_DIR_MARKER_FILE);
}

/** The marker of `dataDir`, or undefined when it has none. */
export async function readMarker(dataDir: string): Promise<DataDirMarker | undefined> {
  let text: string;
  try {
    text = await readFile(markerPath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new MarkerError(`${markerPath(dataDir)} is not JSON (damaged?)`);
  }
  const m = parsed as Partial<DataDirMarker>;
  if (typeof m.formatVersion !== 'number' || typeof m.clusterId !== 'string' || typeof m.memberId !== 'string') {
    throw new MarkerError(`${markerPath(dataDir)} lacks formatVersion, clusterId or memberId (damaged?)`);
  }
  return { formatVersion: m.formatVersion, clusterId: m.clusterId, memberId: m.memberId, createdAt: String(m.createdAt ?? '') };
}

/** Checks that `marker` belongs to this member of this cluster, in a format we know. */
export function checkMarker(dataDir: string, marker: DataDirMarker, expected: { clusterId: number; memberId: number }): void {
  if (marker.formatVersion > DATA_DIR_FORMAT_VERSION) {
    throw new MarkerError(`${markerPath(dataDir)}: data format ${marker.formatVersion} is newer than this regionstore's ` +
      `(${DATA_DIR_FORMAT_VERSION}); run the version that wrote it`);
  }
  const clusterId = expected.clusterId.toString(16);
  const memberId = expected.memberId.toString(16);
  if (marker.clusterId !== clusterId || marker.memberId !== memberId) {
    throw new MarkerError(`${dataDir} belongs to member ${marker.memberId} of cluster ${marker.clusterId}, ` +
      `not member ${memberId} of cluster ${clusterId}: wrong --data-dir?`);
  }
}

/** Writes the marker durably (temp file, fsync, rename, directory fsync). */
export async function writeMarker(dataDir: string, ids: { clusterId: number; memberId: number }): Promise<DataDirMarker> {
  const marker: DataDirMarker = {
    formatVersion: DATA_DIR_FORMAT_VERSION,
    clusterId: ids.clusterId.toString(16),
    memberId: ids.memberId.toString(16),
    createdAt: new Date().toISOString(),
  };
  await writeFileDurably(dataDir, DATA_DIR_MARKER_FILE, `${JSON.stringify(marker, null, 2)}\n`);
  return marker;
}
