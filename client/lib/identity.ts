// The writer identity every write carries (DESIGN §4; server/api/identity.ts): gRPC
// metadata rs-client-id (opaque, <= 128 chars) and rs-seq (decimal, > 0). The server
// remembers, per client id, the LAST applied seq and its answer: a write with that seq
// again gets the stored answer, an older seq is refused as stale.
//
// That is exact for a writer with one write outstanding at a time, so this client gives
// every in-flight write its own "slot": a sub-id `<client id>-<slot>` that carries one
// write at a time, with seqs increasing per slot. A retry reuses its slot and seq; a
// slot is handed to the next write only once its write has finished (answered, or given
// up on). With a single id, concurrent writes could reach the leader out of seq order
// (fail-over, forwarding) and be refused as stale, and the retry of a write overtaken by
// a newer seq could never learn its answer.
//
// Slots are reused most-recently-freed first, so a client with little concurrency uses
// few ids (the server forgets the least recently used ids past its bound).

import { randomBytes } from 'node:crypto';
import { assert } from '../../server/util/assert.js';

export const CLIENT_ID_METADATA_KEY = 'rs-client-id';
export const SEQ_METADATA_KEY = 'rs-seq';
/** Random bytes of a client id (hex-encoded: 32 characters). */
export const CLIENT_ID_RANDOM_BYTES = 16;
/** Writes one client keeps in flight; more wait for a slot (a bound on memory and on server-side ids). */
export const WRITE_SLOTS_MAX = 512;

export interface WriteTicket {
  /** The slot's id: what rs-client-id carries. */
  clientId: string;
  seq: number;
}

interface Slot {
  id: string;
  lastSeq: number;
}

export class WriterIdentity {
  readonly clientId: string;
  private readonly free: Slot[] = [];
  private readonly busy = new Map<WriteTicket, Slot>();
  private readonly waiters: Array<(slot: Slot) => void> = [];
  private created = 0;

  constructor(clientId = randomBytes(CLIENT_ID_RANDOM_BYTES).toString('hex'), private readonly slotsMax = WRITE_SLOTS_MAX) {
    this.clientId = clientId;
  }

  get inFlight(): number {
    return this.busy.size;
  }

  /** A ticket for one write; waits while every slot is busy. */
  acquire(signal?: AbortSignal): WriteTicket | Promise<WriteTicket> {
    const slot = this.free.pop() ?? (this.created < this.slotsMax ? this.newSlot() : undefined);
    if (slot !== undefined) return this.ticket(slot);
    return new Promise<WriteTicket>((resolve, reject) => {
      const take = (s: Slot): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.ticket(s));
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(take);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(take);
    });
  }

  /** The write of this ticket is over (answered or abandoned): its slot may carry the next. */
  release(t: WriteTicket): void {
    const slot = this.busy.get(t);
    assert(slot !== undefined, () => `release of a ticket not in flight: ${t.clientId}/${t.seq}`);
    this.busy.delete(t);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(slot);
    else this.free.push(slot);
  }

  private newSlot(): Slot {
    return { id: `${this.clientId}-${(this.created++).toString(36)}`, lastSeq: 0 };
  }

  private ticket(slot: Slot): WriteTicket {
    slot.lastSeq += 1;
    const t = { clientId: slot.id, seq: slot.lastSeq };
    this.busy.set(t, slot);
    return t;
  }
}
