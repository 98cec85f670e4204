// Waiting for a freshly started cluster (etcd or regionstore: both answer etcd's
// Maintenance.Status) to elect a leader, for the benchmarks that start them.

import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../client/index.js';

/** How long a cluster gets to elect a leader after its processes start. */
export const LEADER_WAIT_MS = 60_000;
const LEADER_POLL_MS = 200;

export async function waitForLeader(name: string, endpoints: string[], timeoutMs = LEADER_WAIT_MS): Promise<void> {
  const client = new Client({ endpoints, attempts: 1, timeoutMs: 1_000 });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const all = await client.maintenance.statusAll().catch(() => []);
      if (all.some((s) => 'status' in s && s.status.isLeader)) return;
      await sleep(LEADER_POLL_MS);
    }
    throw new Error(`${name} elected no leader within ${timeoutMs} ms`);
  } finally {
    client.close();
  }
}
