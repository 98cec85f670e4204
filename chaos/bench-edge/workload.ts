// The workload both systems of bench:edge get: small sensor events, the shape of
// scripts/bench-crdt.ts's events row (DESIGN §6's "10k small events"): DEVICES devices,
// each with its own increasing seq, type "temp", a payload like {"c":21.3}.

/** Devices the events are spread over. */
export const DEVICES = 100;
/** Events per write (one Crdt Write on the edge, one bulkDocs in PouchDB) while offline. */
export const EVENTS_PER_WRITE = 500;
/** Event time of event 0; event i is i ms later (deterministic, so runs compare). */
export const T0_MS = 1_765_000_000_000;
export const EVENT_TYPE = 'temp';

export interface BenchEvent {
  device: string;
  /** The device's own seq, from 1. */
  seq: number;
  ts: number;
  type: string;
  /** JSON text, e.g. {"c":21.3}. */
  payload: string;
}

/** Event number i (0-based) of a run. */
export function benchEvent(i: number): BenchEvent {
  return {
    device: `sensor-${String(i % DEVICES).padStart(3, '0')}`,
    seq: Math.floor(i / DEVICES) + 1,
    ts: T0_MS + i,
    type: EVENT_TYPE,
    payload: `{"c":${(i % 400) / 10}}`,
  };
}

/** Events [from, to) in writes of at most EVENTS_PER_WRITE. */
export function* eventBatches(from: number, to: number): Generator<BenchEvent[]> {
  for (let start = from; start < to; start += EVENTS_PER_WRITE) {
    const batch: BenchEvent[] = [];
    for (let i = start; i < Math.min(to, start + EVENTS_PER_WRITE); i++) batch.push(benchEvent(i));
    yield batch;
  }
}

/** Bytes of the event's user content (device, seq, ts, type, payload) as plain text: what "payload" means in the resume bound. */
export function eventContentBytes(e: BenchEvent): number {
  return Buffer.byteLength(`${e.device}${e.seq}${e.ts}${e.type}${e.payload}`);
}

/** Exact percentiles (nearest rank) of a small sample, in the sample's unit. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}
