// Event log (DESIGN §6a): immutable events keyed by (device_id, seq). The same event
// carried by two replicas is one event; the same key with other content is a conflict:
// refused where it is written, and, if two replicas ever wrote both, every replica keeps the
// one with the smaller dot and lists the other (both are still sent), so replicas agree.

import { renderBytes } from './bytes.js';
import { DotMap } from './dots.js';
import { EventConflictError } from './errors.js';
import type { EventBody, EventRecord } from './records.js';
import { eventAppendCheck, eventDotBefore, eventMerge } from './rules.js';
import type { TypeStore } from './store.js';
import type { UnsafeCrdtSwitches } from './unsafe.js';

export interface DeviceStatus {
  /** Every seq 1..contiguous is held. */
  readonly contiguous: number;
  readonly highest: number;
  readonly held: number;
  /** Missing seqs as inclusive ranges. */
  readonly gaps: ReadonlyArray<readonly [number, number]>;
  /** held / highest (1 when nothing is missing). */
  readonly completeness: number;
}

export { sameEvent } from './rules.js';

export class EventStore implements TypeStore<EventRecord> {
  private readonly devices = new Map<string, Map<number, EventRecord>>();
  private liveDots = new DotMap<EventRecord>();
  /** Events refused because another with the same (device, seq) and other content won. */
  readonly conflicts: EventRecord[] = [];

  constructor(readonly unsafe: UnsafeCrdtSwitches = {}) {}

  /** Throws EventConflictError when a local write would contradict a held event. */
  checkAppend(e: EventBody): boolean {
    const check = eventAppendCheck(this.devices.get(e.deviceId)?.get(e.deviceSeq), e);
    if (check === 'conflict') throw new EventConflictError(e.deviceId, e.deviceSeq);
    return check === 'write'; // a duplicate: nothing to write
  }

  apply(r: EventRecord): void {
    let seqs = this.devices.get(r.deviceId);
    if (seqs === undefined) this.devices.set(r.deviceId, (seqs = new Map()));
    const held = seqs.get(r.deviceSeq);
    const m = eventMerge(held, r);
    if (m.kind === 'duplicate') {
      // The same event relayed twice; or appended again under another dot (a device re-sent
      // it to its edge's replaced data dir): the smaller dot is kept, whatever the order.
      if (held !== undefined && eventDotBefore(r, held)) {
        seqs.set(r.deviceSeq, r);
        this.liveDots.delete(held);
        this.liveDots.set(r, r);
      }
      return;
    }
    if (m.kind === 'new') {
      seqs.set(r.deviceSeq, r);
      this.liveDots.set(r, r);
      return;
    }
    // Both stay live, so every replica that gets one also gets the other and lists it.
    this.conflicts.push(m.lose);
    seqs.set(r.deviceSeq, m.win);
    this.liveDots.set(r, r);
  }

  live(origin: string, seq: number): EventRecord | undefined {
    return this.liveDots.get(origin, seq);
  }

  get(deviceId: string, deviceSeq: number): EventRecord | undefined {
    return this.devices.get(deviceId)?.get(deviceSeq);
  }

  deviceIds(): string[] {
    return [...this.devices.keys()].sort();
  }

  status(deviceId: string): DeviceStatus {
    const seqs = [...(this.devices.get(deviceId)?.keys() ?? [])].sort((a, b) => a - b);
    const gaps: Array<[number, number]> = [];
    let expect = 1;
    for (const s of seqs) {
      if (s > expect) gaps.push([expect, s - 1]);
      expect = s + 1;
    }
    const highest = seqs.at(-1) ?? 0;
    return {
      contiguous: gaps.length > 0 ? gaps[0]![0] - 1 : highest,
      highest,
      held: seqs.length,
      gaps,
      completeness: highest === 0 ? 1 : seqs.length / highest,
    };
  }

  gc(): void {
    /* events are immutable and kept */
  }

  render(): Record<string, { status: DeviceStatus; events: Array<{ seq: number; ts: number; type: string; payload: ReturnType<typeof renderBytes> }> }> {
    const out: ReturnType<EventStore['render']> = {};
    for (const d of this.deviceIds()) {
      const m = this.devices.get(d)!;
      const events = [...m.values()].sort((a, b) => a.deviceSeq - b.deviceSeq)
        .map((e) => ({ seq: e.deviceSeq, ts: e.ts, type: e.type, payload: renderBytes(e.payload) }));
      out[d] = { status: this.status(d), events };
    }
    return out;
  }

  clone(): EventStore {
    const c = new EventStore(this.unsafe);
    for (const [d, m] of this.devices) c.devices.set(d, new Map(m));
    c.conflicts.push(...this.conflicts);
    c.liveDots = this.liveDots.clone();
    return c;
  }
}
