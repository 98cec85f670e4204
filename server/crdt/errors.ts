// Typed errors of the CRDT core. The api layer maps them to gRPC statuses (a skew and a
// sibling cap are FAILED_PRECONDITION / RESOURCE_EXHAUSTED, an event conflict is ALREADY_EXISTS).

import { renderBytes } from './bytes.js';

export { ClockSkewError } from './hlc.js';

/** An mv write would leave more siblings than the namespace's cap. */
export class SiblingCapError extends Error {
  override name = 'SiblingCapError';
  constructor(
    readonly key: Uint8Array,
    readonly siblings: number,
    readonly cap: number,
  ) {
    super(`key ${JSON.stringify(renderBytes(key))} would have ${siblings} siblings, over the cap of ${cap}; read it and write back with its context token to resolve them`);
  }
}

/** A second event with the same (device_id, seq) and other content. */
export class EventConflictError extends Error {
  override name = 'EventConflictError';
  constructor(
    readonly deviceId: string,
    readonly deviceSeq: number,
  ) {
    super(`event (device ${JSON.stringify(deviceId)}, seq ${deviceSeq}) already exists with other content; events are immutable, use a new seq`);
  }
}

/** A page does not start where the receiver's vector ends: the sender must resend from `from`. */
export class DeltaGapError extends Error {
  override name = 'DeltaGapError';
  constructor(
    readonly origin: string,
    readonly from: number,
    readonly held: number,
  ) {
    super(`delta for origin ${origin} starts at seq ${from} but this replica holds up to ${held}; resend from ${held + 1}`);
  }
}

/** A page whose records do not lie inside its ranges in seq order: a sender bug or bad input. */
export class MalformedDeltaError extends Error {
  override name = 'MalformedDeltaError';
  constructor(readonly detail: string) {
    super(`malformed delta page: ${detail}`);
  }
}
