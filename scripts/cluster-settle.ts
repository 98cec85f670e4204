// What the trace scripts wait for on a local cluster: its leader, and every member having
// applied what the leader committed (so per-member CPU figures include the whole apply).

import type { LocalCluster } from '../cluster/launcher.js';
import { probeStatus } from '../cluster/probe.js';

/** How often the members' status is polled. */
const POLL_MS = 200;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function leaderOf(cluster: LocalCluster): Promise<LocalCluster['nodes'][number]> {
  for (;;) {
    for (const n of cluster.nodes) if ((await probeStatus(n.metricsUrl))?.isLeader === true) return n;
    await sleep(POLL_MS);
  }
}

/** Waits (at most `timeoutMs`) until every member has applied what the leader committed. */
export async function settle(cluster: LocalCluster, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const s = await Promise.all(cluster.nodes.map((n) => probeStatus(n.metricsUrl)));
    const commit = Math.max(...s.map((x) => x?.commitIndex ?? 0));
    if (s.every((x) => x !== undefined && x.appliedIndex === commit)) return;
    await sleep(POLL_MS);
  }
  console.error('members did not settle; figures include an unfinished apply');
}
