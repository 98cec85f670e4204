// The edge store's commands of a resync from the region's snapshot (server/eventual/resync.ts):
// its reset and its restore, each applied alone in its batch (store.ts, tags 4 and 5).

import { Tag, encodeResync } from './store.js';

export function resyncCommand(step: 'reset' | 'restore', ns: string, regionSeq = 0): Uint8Array {
  return encodeResync(step === 'reset' ? Tag.ResyncReset : Tag.ResyncRestore, ns, regionSeq);
}
