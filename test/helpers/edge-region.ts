// Shared by the edge system tests (edge-resume, edge-faults): a region's and an edge's view
// of an events namespace, connection waits, and the region's sync metrics.

import { Client } from '../../client/index.js';
import { benchEvent, eventBatches } from '../../chaos/bench-edge/workload.js';
import type { EdgeProcess } from './edge.js';
import { eventually, type TestCluster } from './cluster.js';

export { benchEvent, eventBatches };

/** Events a replica holds in `ns`: its vector summed over origins (every origin's seqs are events). */
export async function eventsHeld(client: Client, ns: string): Promise<number> {
  const r = await client.crdt.read(ns, { device: '', limit: 1 }, { serializable: true });
  return Object.values(r.vector).reduce((a, b) => a + b, 0);
}

/** The lowest count over every member (each asked directly). */
export async function heldOnEveryMember(cluster: TestCluster, ns: string): Promise<number[]> {
  return Promise.all(cluster.hostPorts.map(async (hp) => {
    const c = new Client({ endpoints: [hp], timeoutMs: 5_000, attempts: 1 });
    try {
      return await eventsHeld(c, ns);
    } finally {
      c.close();
    }
  }));
}

export async function edgeConnected(e: EdgeProcess, want: boolean, timeoutMs = 60_000): Promise<void> {
  await eventually(`${e.name} ${want ? 'connected with a session' : 'offline'}`, async () => {
    const s = await e.status();
    return s.connected === want && (!want || (s.sync?.sessions ?? 0) > 0) ? true : undefined;
  }, timeoutMs, 200);
}

/** The sum of a counter over every running member's /metrics (label sets added). */
export async function regionMetric(cluster: TestCluster, name: string, labelText = ''): Promise<number> {
  let total = 0;
  for (const n of cluster.nodes.filter((x) => x.running)) {
    const text = await (await fetch(`${n.metricsUrl}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!(line.startsWith(`${name} `) || line.startsWith(`${name}{`)) || !line.includes(labelText)) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/** Appends events [from, to) of the bench workload through `client` (an edge's or the region's). */
export async function appendEvents(client: Client, ns: string, from: number, to: number): Promise<void> {
  for (const batch of eventBatches(from, to)) {
    await client.crdt.eventsAppend(ns, batch.map((e) => ({ device: e.device, seq: e.seq, type: e.type, payload: e.payload })));
  }
}
