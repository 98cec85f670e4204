// The delta records of the five types (DESIGN §2). Every write is one record: its dot, its
// HLC and a type-specific body. A delta is a list of records; a replica's state is the join
// of the records it holds, so the same records in any order give the same state.

import type { Dot } from './dots.js';
import type { Hlc } from './hlc.js';

export const CRDT_KINDS = ['lww', 'mv', 'counter', 'set', 'events'] as const;
export type CrdtKind = (typeof CRDT_KINDS)[number];

export interface Stamp extends Dot {
  readonly hlc: Hlc;
}

/** lww map: `value` null is a tombstone (a delete); an empty value is a value. */
export interface LwwBody {
  readonly kind: 'lww';
  /** Map keys are bytes like etcd keys (an lww key is an etcd key under the namespace prefix). */
  readonly key: Uint8Array;
  /** Bytes as an etcd client wrote them (Range returns them as stored). */
  readonly value: Uint8Array | null;
}

/** mv map: a write replaces the siblings its context (the reader's token) covers. */
export interface MvBody {
  readonly kind: 'mv';
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Per origin, the highest dot of this key the writer had seen (a version vector). */
  readonly context: Readonly<Record<string, number>>;
}

/** PN-counter: the origin's running totals for the key after this write (state-based entry). */
export interface CounterBody {
  readonly kind: 'counter';
  readonly key: Uint8Array;
  readonly p: number;
  readonly n: number;
}

/** Add-wins OR-set: an add is its dot; a remove lists the add dots it observed. Elements are bytes, equal by content. */
export type SetBody =
  | { readonly kind: 'set'; readonly key: Uint8Array; readonly elem: Uint8Array; readonly op: 'add' }
  | { readonly kind: 'set'; readonly key: Uint8Array; readonly elem: Uint8Array; readonly op: 'remove'; readonly removed: readonly Dot[] };

/** An immutable event, identified by (deviceId, deviceSeq). */
export interface EventBody {
  readonly kind: 'events';
  readonly deviceId: string;
  readonly deviceSeq: number;
  /** Event time, ms since the epoch (the device's clock; not used for ordering). */
  readonly ts: number;
  readonly type: string;
  /** The schema version the namespace declares for it; absent is 0 (the core's own tests). */
  readonly schemaVersion?: number;
  readonly payload: Uint8Array;
}

export type Body = LwwBody | MvBody | CounterBody | SetBody | EventBody;
export type CrdtRecord<B extends Body = Body> = Stamp & B;

export type LwwRecord = CrdtRecord<LwwBody>;
export type MvRecord = CrdtRecord<MvBody>;
export type CounterRecord = CrdtRecord<CounterBody>;
export type SetRecord = CrdtRecord<SetBody>;
export type EventRecord = CrdtRecord<EventBody>;

/** A rough size for page budgets: the binary encoding is smaller, never much larger. */
export function recordSizeEstimate(r: CrdtRecord): number {
  let n = 16 + r.origin.length;
  switch (r.kind) {
    case 'lww':
      return n + r.key.length + (r.value?.length ?? 0);
    case 'mv':
      for (const o of Object.keys(r.context)) n += o.length + 4;
      return n + r.key.length + r.value.length;
    case 'counter':
      return n + r.key.length + 8;
    case 'set':
      if (r.op === 'remove') for (const d of r.removed) n += d.origin.length + 4;
      return n + r.key.length + r.elem.length;
    case 'events':
      return n + r.deviceId.length + r.type.length + r.payload.length + 12;
  }
}
