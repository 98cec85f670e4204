// Test-only switches, each breaking one rule of the CRDT core, so the sync simulator can
// show it catches the break (chaos/sim-sync teeth). Never set outside tests.

export interface UnsafeCrdtSwitches {
  /** lww: an HLC tie keeps whichever record arrived first instead of the larger replica id. */
  lwwTieByArrival?: boolean;
  /** set: a remove also claims add dots it never observed (the next seqs of every origin). */
  setRemoveUnobserved?: boolean;
  /** delta extraction: the last record of every page is left out (its seq still counted). */
  extractSkipsPageTail?: boolean;
  /** GC: the pointwise minimum of acks leaves out one replica's ack. */
  gcIgnoresOneAck?: boolean;
}

export const UNSAFE_CRDT_SWITCHES = ['lwwTieByArrival', 'setRemoveUnobserved', 'extractSkipsPageTail', 'gcIgnoresOneAck'] as const;
export type UnsafeCrdtSwitch = (typeof UNSAFE_CRDT_SWITCHES)[number];
