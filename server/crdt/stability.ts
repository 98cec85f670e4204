// Causal stability from acknowledged vectors (DESIGN §6): what every known replica holds
// durably. The caller passes one ack per known replica, its own durable vector included.

import { meetAll, VersionVector } from './dots.js';
import type { Stability } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

export function causalStability(acks: readonly VersionVector[], unsafe: UnsafeCrdtSwitches = {}): Stability {
  // The broken variant forgets the last replica's ack, as a bug in membership tracking would.
  const counted = unsafe.gcIgnoresOneAck && acks.length > 1 ? acks.slice(0, -1) : acks;
  const horizon = new VersionVector();
  for (const a of counted) horizon.join(a);
  return { stable: meetAll(counted), horizon };
}
