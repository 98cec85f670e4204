// Hybrid logical clock (Kulkarni et al.): a timestamp is (wall ms, logical counter), it never
// goes backwards, and it stays close to physical time. The physical time is always passed in
// (the core reads no clock). Total order across replicas: (wall, logical), then replica id.

import { assert } from '../util/assert.js';

export interface Hlc {
  /** Milliseconds since the epoch, the largest physical time this clock has seen. */
  readonly wall: number;
  /** Orders events within one wall millisecond. */
  readonly logical: number;
}

/** A remote timestamp further ahead of our physical time than this is refused (DESIGN §6). */
export const MAX_CLOCK_SKEW_MS_DEFAULT = 60_000;
/** The logical counter is 16 bits in the byte encoding. */
export const HLC_LOGICAL_MAX = 0xffff;
/** Wall time is 48 bits in the byte encoding (good until the year 10889). */
const WALL_MAX = 2 ** 48 - 1;
export const HLC_BYTES = 8;

export const HLC_ZERO: Hlc = { wall: 0, logical: 0 };

/** A remote clock is ahead of ours by more than the bound; carries the measured skew. */
export class ClockSkewError extends Error {
  override name = 'ClockSkewError';
  constructor(
    readonly skewMs: number,
    readonly maxSkewMs: number,
    readonly origin: string,
  ) {
    super(`timestamp from ${origin} is ${skewMs} ms ahead of this replica's clock (max_clock_skew_ms ${maxSkewMs}); fix that replica's clock`);
  }
}

export function compareHlc(a: Hlc, b: Hlc): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  return 0;
}

/** The total order of stamped writes: HLC first, the replica id breaks ties. */
export function compareStamp(a: Hlc, aOrigin: string, b: Hlc, bOrigin: string): number {
  const c = compareHlc(a, b);
  if (c !== 0) return c;
  return aOrigin < bOrigin ? -1 : aOrigin > bOrigin ? 1 : 0;
}

/**
 * The timestamp of a local event at physical time `physicalMs` on a clock whose last
 * timestamp is `last` (HybridClock.now without a clock object: the region's apply stamps each
 * write from its batch's last HLC, every member, every write).
 */
export function hlcAfter(last: Hlc, physicalMs: number): Hlc {
  const wall = Math.max(last.wall, Math.floor(physicalMs));
  const logical = wall === last.wall ? last.logical + 1 : 0;
  // More than 65536 events in one millisecond: borrow the next millisecond rather than
  // overflow the 16 bits of the byte encoding (still monotonic; drift stays tiny).
  return logical > HLC_LOGICAL_MAX ? { wall: wall + 1, logical: 0 } : { wall, logical };
}

export class HybridClock {
  private last: Hlc = HLC_ZERO;

  constructor(
    readonly replicaId: string,
    readonly maxSkewMs: number = MAX_CLOCK_SKEW_MS_DEFAULT,
  ) {}

  get current(): Hlc {
    return this.last;
  }

  /** A timestamp for a local event at physical time `physicalMs`. */
  now(physicalMs: number): Hlc {
    this.last = hlcAfter(this.last, physicalMs);
    return this.last;
  }

  /** Throws ClockSkewError if `remote` is further ahead of `physicalMs` than the bound. */
  check(remote: Hlc, physicalMs: number, origin: string): void {
    const skew = remote.wall - Math.floor(physicalMs);
    if (skew > this.maxSkewMs) throw new ClockSkewError(skew, this.maxSkewMs, origin);
  }

  /** Merges a timestamp received from another replica (after check()). */
  update(remote: Hlc, physicalMs: number, origin: string): Hlc {
    this.check(remote, physicalMs, origin);
    const pt = Math.floor(physicalMs);
    const wall = Math.max(this.last.wall, remote.wall, pt);
    let logical: number;
    if (wall === this.last.wall && wall === remote.wall) logical = Math.max(this.last.logical, remote.logical) + 1;
    else if (wall === this.last.wall) logical = this.last.logical + 1;
    else if (wall === remote.wall) logical = remote.logical + 1;
    else logical = 0;
    return this.set({ wall, logical });
  }

  /** Restores a persisted clock; never moves it backwards. */
  restore(saved: Hlc): void {
    if (compareHlc(saved, this.last) > 0) this.last = saved;
  }

  private set(t: Hlc): Hlc {
    // More than 65536 events in one millisecond: borrow the next millisecond rather than
    // overflow the 16 bits of the byte encoding (still monotonic; drift stays tiny).
    this.last = t.logical > HLC_LOGICAL_MAX ? { wall: t.wall + 1, logical: 0 } : t;
    return this.last;
  }
}

/** 8 bytes, big-endian: 48-bit wall ms then 16-bit logical, so byte order is time order. */
export function encodeHlc(t: Hlc): Uint8Array {
  assert(Number.isSafeInteger(t.wall) && t.wall >= 0 && t.wall <= WALL_MAX, () => `HLC wall out of range: ${t.wall}`);
  assert(t.logical >= 0 && t.logical <= HLC_LOGICAL_MAX, () => `HLC logical out of range: ${t.logical}`);
  const out = new Uint8Array(HLC_BYTES);
  const hi = Math.floor(t.wall / 2 ** 16);
  const lo = t.wall % 2 ** 16;
  out[0] = (hi >>> 24) & 0xff;
  out[1] = (hi >>> 16) & 0xff;
  out[2] = (hi >>> 8) & 0xff;
  out[3] = hi & 0xff;
  out[4] = (lo >>> 8) & 0xff;
  out[5] = lo & 0xff;
  out[6] = (t.logical >>> 8) & 0xff;
  out[7] = t.logical & 0xff;
  return out;
}

export function decodeHlc(b: Uint8Array): Hlc {
  assert(b.length === HLC_BYTES, () => `an HLC is ${HLC_BYTES} bytes, got ${b.length}`);
  const hi = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!;
  return { wall: hi * 2 ** 16 + (b[4]! << 8) + b[5]!, logical: (b[6]! << 8) + b[7]! };
}
