// Starting elections: on election timeout (Hup) or on TimeoutNow (leadership transfer).

import type { Raft } from './raft.js';
import { EntryType, StateRole } from './types.js';

/** Pages scanned while looking for unapplied conf changes. */
const CONF_SCAN_PAGE_BYTES = 1024 * 1024;

export function hup(r: Raft, transfer: boolean): void {
  if (r.role === StateRole.Leader) return;
  if (!r.promotable()) {
    r.logger.debug('raft does not campaign: not a voter', { id: r.id });
    return;
  }
  if (hasUnappliedConfChange(r)) {
    // Our membership may be about to change: campaigning under a stale one is unsafe.
    r.logger.info('raft does not campaign: a committed conf change is not applied yet', { id: r.id });
    return;
  }
  if (r.limits.preVote && !transfer) r.campaign('pre-election', false);
  else r.campaign('election', transfer);
}

function hasUnappliedConfChange(r: Raft): boolean {
  let lo = Math.max(r.log.applied + 1, r.log.firstIndex());
  const hi = r.log.committed + 1;
  while (lo < hi) {
    const page = r.log.slice(lo, hi, CONF_SCAN_PAGE_BYTES);
    if (page.some((e) => e.type === EntryType.ConfChange)) return true;
    lo += page.length;
  }
  return false;
}
