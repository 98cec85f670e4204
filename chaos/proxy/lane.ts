// One direction of a proxied connection: bytes read from `from`, written to `to`, through
// the link's policy. Delayed chunks wait in a bounded queue and leave in order (a chunk
// never overtakes the one before it, whatever its jitter). Backpressure both ways: a
// slow reader pauses the writer's socket, and so does a full delay queue.

import type { Socket } from 'node:net';
import type { LinkPolicy } from './policy.js';

/** Bytes a lane holds back (delayed, not yet written) before it pauses its source. */
export const LANE_QUEUE_BYTES_MAX = 4 * 1024 * 1024;

/** What a lane needs from its connection. */
export interface LaneHost {
  policy(): LinkPolicy;
  /** A delay for the next chunk, ms (delay plus seeded jitter). */
  delayMs(): number;
  /** Bytes were dropped by a blackhole: the stream has a hole now. */
  poison(bytes: number): void;
  forwarded(bytes: number, direction: LaneDirection): void;
}

/** 'up': from the dialling socket to the target; 'down': back. */
export type LaneDirection = 'up' | 'down';

const END = null;
type Item = { due: number; chunk: Buffer | typeof END };

export class Lane {
  private readonly queue: Item[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastDue = 0;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly host: LaneHost,
    private readonly direction: LaneDirection,
  ) {
    from.on('data', (chunk: Buffer) => this.accept(chunk));
    from.on('end', () => this.accept(END));
    to.on('drain', () => this.resumeIfRoom());
  }

  private accept(chunk: Buffer | typeof END): void {
    const policy = this.host.policy();
    if (policy.blackhole) {
      this.host.poison(chunk === END ? 0 : chunk.length);
      return;
    }
    const rate = policy.bytesPerSec ?? 0;
    if (this.queue.length === 0 && policy.delayMs === 0 && policy.jitterMs === 0 && rate === 0) {
      this.deliver(chunk);
      return;
    }
    // A throttled link: each chunk leaves no sooner than the one before it plus its own
    // transmission time at the rate (a token bucket with no burst).
    const sendMs = rate > 0 && chunk !== END ? (chunk.length / rate) * 1000 : 0;
    const due = Math.max(performance.now() + this.host.delayMs(), this.lastDue + sendMs);
    this.lastDue = due;
    this.queue.push({ due, chunk });
    if (chunk !== END) this.queuedBytes += chunk.length;
    if (this.queuedBytes > LANE_QUEUE_BYTES_MAX) this.from.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    const wait = Math.max(0, this.queue[0]!.due - performance.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushDue();
    }, wait);
  }

  private flushDue(): void {
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      const item = this.queue.shift()!;
      if (item.chunk !== END) this.queuedBytes -= item.chunk.length;
      // In flight when the link went dark: lost like the rest.
      if (this.host.policy().blackhole) this.host.poison(item.chunk === END ? 0 : item.chunk.length);
      else this.deliver(item.chunk);
    }
    this.resumeIfRoom();
    this.schedule();
  }

  private deliver(chunk: Buffer | typeof END): void {
    if (this.to.destroyed) return;
    if (chunk === END) {
      this.to.end();
      return;
    }
    this.host.forwarded(chunk.length, this.direction);
    if (!this.to.write(chunk)) this.from.pause();
  }

  private resumeIfRoom(): void {
    if (this.queuedBytes <= LANE_QUEUE_BYTES_MAX && !this.to.writableNeedDrain && !this.from.destroyed) this.from.resume();
  }

  /** Drops whatever is queued (the connection is going away). */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }
}
