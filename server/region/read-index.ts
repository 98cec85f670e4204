// Linearizable reads through ReadIndex, batched: every read that arrives while a round is
// in flight waits for the next round, and one round serves all of them (DESIGN §9). A read
// that started after a round was issued must not use that round's index: the index was
// fixed before the read began, so a write acknowledged in between could be missed.

/** How long a ReadIndex round may take before it is issued again (a lost request or a leader change). */
export const READ_INDEX_RETRY_MS_DEFAULT = 500;

interface ReadWaiter {
  resolve(index: number): void;
  reject(err: Error): void;
}

export interface ReadIndexIssuer {
  /** Asks Raft for a read index; throws when the request is refused (no leader). */
  readIndex(ctx: Uint8Array): void;
}

export class ReadIndexBatcher {
  private queued: ReadWaiter[] = [];
  private inFlight: { ctx: number; waiters: ReadWaiter[]; issuedAt: number } | undefined;
  private nextCtx = 1;

  constructor(
    private readonly issuer: ReadIndexIssuer,
    private readonly nowMs: () => number,
    private readonly retryMs = READ_INDEX_RETRY_MS_DEFAULT,
  ) {}

  /** Resolves with an index that is safe to read at once applied >= index. */
  request(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queued.push({ resolve, reject });
      if (this.inFlight === undefined) this.issueRound();
    });
  }

  /** Called with each ReadState from a Ready. */
  onReadState(requestCtx: Uint8Array, index: number): void {
    const ctx = decodeCtx(requestCtx);
    if (this.inFlight === undefined || ctx !== this.inFlight.ctx) return; // an old round's answer
    const { waiters } = this.inFlight;
    this.inFlight = undefined;
    for (const w of waiters) w.resolve(index);
    if (this.queued.length > 0) this.issueRound();
  }

  /** Called on every tick: re-issues a round that has waited too long. */
  tick(): void {
    if (this.inFlight !== undefined && this.nowMs() - this.inFlight.issuedAt >= this.retryMs) {
      const waiters = this.inFlight.waiters;
      this.inFlight = undefined;
      this.queued = waiters.concat(this.queued);
      this.issueRound();
    } else if (this.inFlight === undefined && this.queued.length > 0) {
      this.issueRound();
    }
  }

  failAll(err: Error): void {
    const all = (this.inFlight?.waiters ?? []).concat(this.queued);
    this.inFlight = undefined;
    this.queued = [];
    for (const w of all) w.reject(err);
  }

  private issueRound(): void {
    const ctx = this.nextCtx++;
    const waiters = this.queued;
    this.queued = [];
    try {
      this.issuer.readIndex(encodeCtx(ctx));
      this.inFlight = { ctx, waiters, issuedAt: this.nowMs() };
    } catch (err) {
      for (const w of waiters) w.reject(err as Error);
    }
  }
}

function encodeCtx(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function decodeCtx(b: Uint8Array): number {
  if (b.length !== 8) return -1;
  return Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0));
}
