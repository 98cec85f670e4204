// The simulator's event log: a bounded ring of the most recent events, printed when an
// invariant breaks so the steps that led there can be read without replaying.

/** Events kept for a failure report. */
export const EVENT_RING_SIZE = 30;

export interface SimEvent {
  step: number;
  tick: number;
  text: string;
}

export class EventLog {
  private readonly ring: SimEvent[] = [];
  private next = 0;
  step = 0;
  tick = 0;

  constructor(
    private readonly capacity: number = EVENT_RING_SIZE,
    /** Called with every event as it happens (the CLI's --verbose). */
    private readonly sink?: (e: SimEvent) => void,
  ) {}

  add(text: string): void {
    const e: SimEvent = { step: this.step, tick: this.tick, text };
    if (this.ring.length < this.capacity) this.ring.push(e);
    else this.ring[this.next] = e;
    this.next = (this.next + 1) % this.capacity;
    this.sink?.(e);
  }

  /** The last events, oldest first. */
  recent(): SimEvent[] {
    if (this.ring.length < this.capacity) return [...this.ring];
    return [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }
}

export function formatEvent(e: SimEvent): string {
  return `  [step ${e.step} tick ${e.tick}] ${e.text}`;
}
