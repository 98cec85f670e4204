// Starting elections: on election timeout (Hup) or on TimeoutNow (leadership transfer).

import type { Raft } from './raft.js';
import { recoveringStorage } from './storage-loss.js';
import { EntryType, StateRole } from './types.js';

/** Pages scanned while looking for unapplied conf changes. */
const CONF_SCAN_PAGE_BYTES = 1024 * 1024;

export function hup(r: Raft, transfer: boolean): void {
  if (r.role === StateRole.Leader) return;
  if (!r.promotable()) {
    r.logger.debug('raft does not campaign: not a voter', { id: r.id });
    return;
  }
  if (recoveringStorage(r) && r.unsafe.campaignAndVoteWithLostEntries !== true) {
    // Our log lost entries we had acknowledged, or our state is lost: we could win with a
    // log missing committed entries (storage-loss.ts). Catch up from the leader first.
    r.logger.info('raft does not campaign: recovering from a storage fault', { id: r.id, ...r.storageLoss, commit: r.log.committed });
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
