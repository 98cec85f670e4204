// Flow control of the sending side: at most `window` DELTAs unacknowledged (DESIGN §6). A
// page holds a permit from before it is read until the peer answers it (ACK, RESEND_FROM
// or a page SyncError); pumps of several namespaces share the permits in FIFO order.

export class Permits {
  private free: number;
  private readonly waiters: Array<(ok: boolean) => void> = [];
  private closed = false;

  constructor(readonly window: number) {
    this.free = window;
  }

  get inUse(): number {
    return this.window - this.free;
  }

  /** Resolves true with a permit, or false once closed. */
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    if (this.closed) return;
    const next = this.waiters.shift();
    if (next !== undefined) next(true);
    else if (this.free < this.window) this.free++;
  }

  /** Wakes every waiter with false; later acquires fail. */
  close(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w(false);
  }
}
