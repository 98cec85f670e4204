// The simulated network: every message a node sends sits here until the scheduler delivers
// it. Faults come from the seed: a message may be dropped, duplicated, delayed by a number
// of ticks and delivered in any order among those due; links can be cut one way or both
// ways (partitions). Nothing here reads a clock: `now` is the simulator's tick counter.

import type { SeededRandom } from '../../server/util/random.js';
import type { Message, NodeId } from '../../server/raft/types.js';

/** Messages in flight at once; past it the network drops (a bounded queue, as everywhere). */
export const NETWORK_INFLIGHT_MAX = 4096;

export interface NetworkFaults {
  /** Probability a sent message is lost. */
  dropProbability: number;
  /** Probability a sent message is delivered twice. */
  duplicateProbability: number;
  /** A message is delayed by a uniform number of ticks in [0, delayTicksMax]. */
  delayTicksMax: number;
  /** Probability the scheduler delivers the oldest due message instead of a random one. */
  fifoProbability: number;
}

export const NO_FAULTS: NetworkFaults = {
  dropProbability: 0,
  duplicateProbability: 0,
  delayTicksMax: 0,
  fifoProbability: 1,
};

export interface InFlight {
  /** Send order, unique: the identity of a message copy in the event log. */
  seq: number;
  deliverAt: number;
  message: Message;
  /** The sender's incarnation (restart count) when it sent this. */
  senderIncarnation: number;
}

/** Why a message never arrived; a Snap's sender is told (reportSnapshot). */
export type DropReason = 'dropped' | 'partitioned' | 'overflow';

export class Network {
  private queue: InFlight[] = [];
  private nextSeq = 1;
  /** Cut links, as `from->to`. */
  private readonly cut = new Set<string>();
  faults: NetworkFaults;

  constructor(
    private readonly rng: SeededRandom,
    faults: NetworkFaults,
  ) {
    this.faults = faults;
  }

  get size(): number {
    return this.queue.length;
  }

  /** Enqueues a message (and maybe a duplicate). Returns the copies enqueued (0 when dropped). */
  send(message: Message, now: number, senderIncarnation: number): { copies: InFlight[]; dropped?: DropReason } {
    if (this.rng.chance(this.faults.dropProbability)) return { copies: [], dropped: 'dropped' };
    const copies: InFlight[] = [];
    const n = this.rng.chance(this.faults.duplicateProbability) ? 2 : 1;
    for (let i = 0; i < n; i++) {
      if (this.queue.length >= NETWORK_INFLIGHT_MAX) return { copies, dropped: 'overflow' };
      const copy: InFlight = {
        seq: this.nextSeq++,
        deliverAt: now + this.rng.int(0, this.faults.delayTicksMax + 1),
        message: cloneMessage(message),
        senderIncarnation,
      };
      this.queue.push(copy);
      copies.push(copy);
    }
    return { copies };
  }

  /** True when some message may be delivered at `now`. */
  hasDue(now: number): boolean {
    for (const f of this.queue) if (f.deliverAt <= now) return true;
    return false;
  }

  /**
   * Takes one due message out of the network, in an order chosen by the seed. The caller
   * learns whether a cut link ate it (`partitioned`).
   */
  takeDue(now: number): { flight: InFlight; partitioned: boolean } | undefined {
    let chosen = -1;
    if (this.rng.chance(this.faults.fifoProbability)) {
      for (let i = 0; i < this.queue.length; i++) {
        if (this.queue[i]!.deliverAt <= now) {
          chosen = i;
          break;
        }
      }
    } else {
      let due = 0;
      for (const f of this.queue) if (f.deliverAt <= now) due++;
      if (due > 0) {
        let k = this.rng.int(0, due);
        for (let i = 0; i < this.queue.length; i++) {
          if (this.queue[i]!.deliverAt <= now && k-- === 0) {
            chosen = i;
            break;
          }
        }
      }
    }
    if (chosen < 0) return undefined;
    const [flight] = this.queue.splice(chosen, 1);
    const m = flight!.message;
    return { flight: flight!, partitioned: this.isCut(m.from, m.to) };
  }

  /** Drops everything in flight (liveness phase start does not need this; tests do). */
  clear(): InFlight[] {
    const all = this.queue;
    this.queue = [];
    return all;
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}->${to}`);
  }

  /** Cuts every link between the two groups, both ways. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.cutLink(x, y);
        this.cutLink(y, x);
      }
    }
  }

  heal(): void {
    this.cut.clear();
  }

  get cutLinks(): string[] {
    return [...this.cut].sort();
  }
}

/** A copy as the wire would make it: the receiver never shares arrays with the sender. */
export function cloneMessage(m: Message): Message {
  const copy: Message = { ...m, entries: m.entries.map((e) => ({ ...e })) };
  if (m.snapshot !== undefined) {
    copy.snapshot = {
      metadata: {
        ...m.snapshot.metadata,
        confState: {
          voters: [...m.snapshot.metadata.confState.voters],
          learners: [...m.snapshot.metadata.confState.learners],
        },
      },
      data: m.snapshot.data,
    };
  }
  return copy;
}
