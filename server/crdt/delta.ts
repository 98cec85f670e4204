// Delta pages (DESIGN §6): what a peer lacks, per origin in seq order, bounded in bytes.
// A page says, per origin, which seq range it covers; records dominated or collected
// inside the range are simply absent (the newer record that dominates them is sent too).

import type { CrdtRecord } from './records.js';

/** The default byte budget of one page (before compression). */
export const DELTA_PAGE_BYTES_DEFAULT = 64 * 1024;

export interface PageRange {
  readonly origin: string;
  /** First seq covered; must be at most the receiver's vector + 1 (else a gap). */
  readonly from: number;
  /** Last seq covered: the receiver's vector advances to it once the page is applied. */
  readonly to: number;
}

export interface DeltaPage<R extends CrdtRecord = CrdtRecord> {
  readonly ranges: readonly PageRange[];
  /** Per origin in seq order, origins in the order of `ranges`. */
  readonly records: readonly R[];
}
