// The field KPIs of an edge run (issue 15), in the terms a delta-sync engine over
// intermittent links is measured by: completeness over time (the share of generated events
// the region holds within 1 s, 10 s, 60 s of their generation, and at the end), end-to-end
// latency from the device's acknowledgement (its edge answered) to the region's (a Watch on
// the region delivered it), sync failures (sessions that ended by error) and how many were
// retried to success, bytes on the wire per event against payload bytes.

import type { Client } from '../../client/index.js';
import type { EdgeLogEvent } from './fleet.js';
import { EDGE_NS, type EdgeOp } from './workload.js';

export const COMPLETENESS_WITHIN_S = [1, 10, 60] as const;

/** The published figures the issue compares with (a CRDT delta-sync engine; retry-based full sync). */
export const PUBLISHED = {
  completeness24h: '99.7 % (retry-based full sync: about 92 %)',
  medianLatency: '1.2 s (retry-based full sync: 5 s)',
  syncFailures: 'under 0.5 % (retry-based full sync: 18 %)',
  target: '100 % completeness, zero lost acknowledged writes, median below 50 ms, every failure retried to success',
} as const;

/** Records when each event reaches the region (a Watch on the events prefix). */
export class RegionArrivals {
  /** device/seq → epoch ms of the first arrival. */
  readonly at = new Map<string, number>();
  private stop: (() => void) | undefined;

  async start(region: Client): Promise<void> {
    const w = region.watch(EDGE_NS.events.prefix, { prefix: true });
    await w.ready();
    this.stop = () => w.close();
    void (async () => {
      try {
        for await (const b of w) {
          if (b.type !== 'events') continue;
          const now = Date.now();
          for (const e of b.events) {
            if (e.type !== 'put') continue;
            try {
              const v = JSON.parse(e.kv.value.toString()) as { device?: string; seq?: number };
              if (typeof v.device === 'string' && typeof v.seq === 'number') {
                const id = `${v.device}/${v.seq}`;
                if (!this.at.has(id)) this.at.set(id, now);
              }
            } catch {
              // not an event row
            }
          }
        }
      } catch {
        // the watch ended (the run is over or the region went away); the final read counts the rest
      }
    })();
  }

  close(): void {
    this.stop?.();
  }
}

export interface KpiInputs {
  ops: readonly EdgeOp[];
  arrivals: ReadonlyMap<string, number>;
  /** Epoch ms of the run clock's 0. */
  epochAtZeroMs: number;
  /** device/seq of every event the region holds at the end (final read). */
  heldAtEnd: ReadonlySet<string>;
  edgeEvents: ReadonlyArray<{ edge: string; events: readonly EdgeLogEvent[] }>;
  wireBytes: number;
  /** Of wireBytes: from the edges to the region (uploads), and back (downloads, every other edge's events too). */
  wireUpBytes: number;
  linkDownMs: number;
  linkTotalMs: number;
  seed: number;
  schedule: string;
  edges: number;
  ratePerEdge: number;
  durationS: number;
}

export interface KpiReport {
  seed: number;
  schedule: string;
  edges: number;
  ratePerEdgePerS: number;
  durationS: number;
  eventsGenerated: number;
  eventsAcknowledgedByDevice: number;
  completeness: { within1s: number; within10s: number; within60s: number; atEnd: number };
  latencyMs: { count: number; p50: number; p95: number; p99: number; max: number };
  linkDownShare: number;
  syncFailures: { sessionsOpened: number; endedByError: number; retriedToSuccess: number; failedReconnectAttempts: number };
  wire: { bytes: number; bytesPerEvent: number; upBytesPerEvent: number; downBytesPerEvent: number; payloadBytesPerEvent: number; overhead: number };
  published: typeof PUBLISHED;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export function computeKpi(i: KpiInputs): KpiReport {
  // One event per device/seq: its generation time, its first device acknowledgement.
  const gen = new Map<string, { genMs: number; ackMs: number | undefined; payload: number }>();
  for (const o of i.ops) {
    if (o.kind !== 'event-append' || o.event === null) continue;
    const id = `${o.event.device}/${o.event.seq}`;
    const g = gen.get(id) ?? { genMs: o.event.tsMs, ackMs: undefined, payload: Buffer.byteLength(o.event.payload) };
    if (o.status === 'ok' && g.ackMs === undefined) g.ackMs = i.epochAtZeroMs + o.returnMs;
    gen.set(id, g);
  }
  const n = gen.size;
  const within = (s: number): number => {
    let k = 0;
    for (const [id, g] of gen) {
      const at = i.arrivals.get(id);
      if (at !== undefined && at - g.genMs <= s * 1000) k++;
    }
    return n === 0 ? 1 : k / n;
  };
  const lat: number[] = [];
  for (const [id, g] of gen) {
    const at = i.arrivals.get(id);
    if (at !== undefined && g.ackMs !== undefined) lat.push(Math.max(0, at - g.ackMs));
  }
  lat.sort((a, b) => a - b);
  // A session ended by error: a link-down after a session opened. A link-down with no session
  // since the last one is a reconnect attempt that failed (the link still down).
  let opened = 0;
  let ended = 0;
  let retried = 0;
  let attempts = 0;
  for (const { events } of i.edgeEvents) {
    let open = false;
    events.forEach((e, k) => {
      // Failures of the measured run only (the final reads' load may move the leader at the end);
      // a later open, whenever it came, is the retry's success.
      if (e.atMs > i.durationS * 1000) return;
      if (e.kind === 'open') {
        opened++;
        open = true;
      }
      if (e.kind !== 'down') return;
      if (!open) {
        attempts++;
        return;
      }
      open = false;
      ended++;
      if (events.slice(k + 1).some((x) => x.kind === 'open')) retried++;
    });
  }
  const payload = [...gen.values()].reduce((s, g) => s + g.payload, 0);
  return {
    seed: i.seed, schedule: i.schedule, edges: i.edges, ratePerEdgePerS: i.ratePerEdge, durationS: i.durationS,
    eventsGenerated: n,
    eventsAcknowledgedByDevice: [...gen.values()].filter((g) => g.ackMs !== undefined).length,
    completeness: {
      within1s: within(1), within10s: within(10), within60s: within(60),
      atEnd: n === 0 ? 1 : [...gen.keys()].filter((id) => i.heldAtEnd.has(id)).length / n,
    },
    latencyMs: {
      count: lat.length, p50: Math.round(quantile(lat, 0.5)), p95: Math.round(quantile(lat, 0.95)),
      p99: Math.round(quantile(lat, 0.99)), max: Math.round(lat.at(-1) ?? 0),
    },
    linkDownShare: i.linkTotalMs === 0 ? 0 : i.linkDownMs / i.linkTotalMs,
    syncFailures: { sessionsOpened: opened, endedByError: ended, retriedToSuccess: retried, failedReconnectAttempts: attempts },
    wire: {
      bytes: i.wireBytes, bytesPerEvent: n === 0 ? 0 : i.wireBytes / n,
      upBytesPerEvent: n === 0 ? 0 : i.wireUpBytes / n, downBytesPerEvent: n === 0 ? 0 : (i.wireBytes - i.wireUpBytes) / n, payloadBytesPerEvent: n === 0 ? 0 : payload / n, overhead: payload === 0 ? 0 : i.wireBytes / payload },
    published: PUBLISHED,
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(2)} %`;

/** The KPI table as rows of [measure, this run, published]. */
export function kpiRows(k: KpiReport): Array<[string, string, string]> {
  return [
    ['run', `seed ${k.seed}, ${k.edges} edges × ${k.ratePerEdgePerS} events/s, ${k.durationS} s, links ${k.schedule}`, ''],
    ['events generated / acknowledged by the device', `${k.eventsGenerated} / ${k.eventsAcknowledgedByDevice}`, ''],
    ['completeness within 1 s / 10 s / 60 s', `${pct(k.completeness.within1s)} / ${pct(k.completeness.within10s)} / ${pct(k.completeness.within60s)}`, ''],
    ['completeness at the end', pct(k.completeness.atEnd), PUBLISHED.completeness24h],
    ['latency device ack → region ack p50 / p95 / p99 / max', `${k.latencyMs.p50} / ${k.latencyMs.p95} / ${k.latencyMs.p99} / ${k.latencyMs.max} ms`, PUBLISHED.medianLatency],
    ['link-down share', pct(k.linkDownShare), ''],
    ['sync sessions opened / ended by error / retried to success', `${k.syncFailures.sessionsOpened} / ${k.syncFailures.endedByError} / ${k.syncFailures.retriedToSuccess}`, PUBLISHED.syncFailures],
    ['reconnect attempts refused while the link was down', String(k.syncFailures.failedReconnectAttempts), ''],
    ['bytes on the wire per event (payload)', `${k.wire.bytesPerEvent.toFixed(1)} B (${k.wire.payloadBytesPerEvent.toFixed(1)} B; ×${k.wire.overhead.toFixed(2)})`, ''],
    ['of which edge → region / region → edges (every edge gets every event)', `${k.wire.upBytesPerEvent.toFixed(1)} B / ${k.wire.downBytesPerEvent.toFixed(1)} B`, ''],
  ];
}

export function kpiText(k: KpiReport): string {
  const rows = kpiRows(k);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`).join('\n');
}
