// An edge's data directory marker (DESIGN §5, §6): the device id and the incarnation this
// directory holds. A new directory gets a new incarnation; so does one the region proves
// was restored from an old copy (its HELLO says it holds more of our origin than we do).
// The incarnation is a wall-clock millisecond at creation (then bumped past the old one),
// so a wiped and recreated directory never reuses an incarnation: a (replica, seq) pair is
// never reused.
//
// The marker is written to a temp file, fsynced, renamed and the directory fsynced: after a
// crash it names the old or the new incarnation, never neither. A directory with state but
// no marker, or another device's marker, is refused: start-up never rewrites what it did not
// create.

import { existsSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';

export const MARKER_FILE = 'edge.json';
export const MARKER_FORMAT = 1;

export interface EdgeMarker {
  format: number;
  deviceId: string;
  incarnation: number;
  /** Incarnations this directory held before, oldest first (their origins are foreign now). */
  previous: number[];
}

export class MarkerError extends Error {
  override name = 'MarkerError';
}

export function replicaId(deviceId: string, incarnation: number): string {
  return `edge:${deviceId}:${incarnation}`;
}

async function writeDurably(dir: string, marker: EdgeMarker): Promise<void> {
  const file = join(dir, MARKER_FILE);
  const tmp = `${file}.tmp`;
  const h = await open(tmp, 'w');
  try {
    await h.writeFile(JSON.stringify(marker));
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, file);
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** The marker of `dir`, created (a new incarnation) when the directory is new or empty. */
export async function loadOrCreateMarker(dir: string, deviceId: string, nowMs: number): Promise<{ marker: EdgeMarker; fresh: boolean }> {
  const file = join(dir, MARKER_FILE);
  if (existsSync(file)) {
    let marker: EdgeMarker;
    try {
      marker = JSON.parse(await readFile(file, 'utf8')) as EdgeMarker;
    } catch (e) {
      throw new MarkerError(`${file} cannot be read (${(e as Error).message}): move the data dir aside and start with a new one (it takes a new incarnation and downloads from the region)`);
    }
    if (marker.format !== MARKER_FORMAT || typeof marker.deviceId !== 'string' || !Number.isSafeInteger(marker.incarnation)) {
      throw new MarkerError(`${file} is not an edge marker of format ${MARKER_FORMAT}`);
    }
    if (marker.deviceId !== deviceId) {
      throw new MarkerError(`${dir} belongs to edge ${JSON.stringify(marker.deviceId)}, not ${JSON.stringify(deviceId)}: give its --name or another --data-dir`);
    }
    return { marker: { ...marker, previous: marker.previous ?? [] }, fresh: false };
  }
  await mkdir(dir, { recursive: true });
  const present = (await readdir(dir)).filter((n) => !n.startsWith(MARKER_FILE));
  if (present.length > 0) {
    throw new MarkerError(`${dir} holds ${present.join(', ')} but no ${MARKER_FILE}: not an edge data dir this process created; give an empty or new --data-dir`);
  }
  const marker: EdgeMarker = { format: MARKER_FORMAT, deviceId, incarnation: Math.max(1, Math.floor(nowMs)), previous: [] };
  await writeDurably(dir, marker);
  return { marker, fresh: true };
}

/** A new incarnation for `dir` (the old one is now a foreign origin), durably. */
export async function bumpIncarnation(dir: string, marker: EdgeMarker, nowMs: number): Promise<EdgeMarker> {
  const next: EdgeMarker = {
    ...marker,
    incarnation: Math.max(marker.incarnation + 1, Math.floor(nowMs)),
    previous: [...marker.previous, marker.incarnation],
  };
  await writeDurably(dir, next);
  return next;
}
