// ReadIndex (Raft thesis §6.4) on the leader: linearizable reads without a log entry.
//
// A read's index is the commit index when it arrived; it may be served once the leader
// has proved it was still the leader after that moment. Proof: a heartbeat round sent
// after the read was registered, acknowledged by a quorum. Rounds are numbered by a
// leader-generated counter carried in the heartbeat context (never the client's request
// context, which clients could reuse or collide on). Every read registered between two
// `ready()` calls joins one open round, so one heartbeat round serves the whole batch.
// A follower's ack of round r proves leadership at a moment after every read of rounds
// <= r was registered, so it confirms those — and never a newer round.

import { assert } from '../util/assert.js';
import { committedIndex } from './quorum.js';
import type { NodeId } from './types.js';

export interface ReadRequest {
  /** Who asked: the leader itself, or a follower/learner that forwarded it. */
  from: NodeId;
  requestCtx: Uint8Array;
  /** Commit index when the read arrived. */
  index: number;
}

interface Round {
  id: number;
  requests: ReadRequest[];
}

/** Reads waiting for their heartbeat round. Bounded by the driver's request limits. */
export class ReadOnly {
  private rounds: Round[] = [];
  /** The round the next reads join; its heartbeats are not sent yet. */
  private open: Round | undefined;
  private lastRoundId = 0;
  /** Highest round each member acknowledged in this term. */
  private acked = new Map<NodeId, number>();

  add(req: ReadRequest): void {
    if (this.open === undefined) {
      this.lastRoundId++;
      this.open = { id: this.lastRoundId, requests: [] };
    }
    this.open.requests.push(req);
  }

  hasOpenRound(): boolean {
    return this.open !== undefined;
  }

  /** Closes the open round; its heartbeats must be sent now. Returns its id, or undefined. */
  closeOpenRound(): number | undefined {
    const round = this.open;
    if (round === undefined) return undefined;
    this.open = undefined;
    this.rounds.push(round);
    return round.id;
  }

  /** The newest round heartbeats may carry (retried on every heartbeat while reads wait). */
  newestSentRound(): number | undefined {
    return this.rounds[this.rounds.length - 1]?.id;
  }

  /** Records that `from` acknowledged round `id`. */
  ack(from: NodeId, id: number): void {
    if (id > (this.acked.get(from) ?? 0)) this.acked.set(from, id);
  }

  /**
   * Releases the reads of every round a quorum of `voters` (counting `self`) has
   * acknowledged, oldest first.
   */
  confirmed(voters: ReadonlySet<NodeId>, self: NodeId): ReadRequest[] {
    if (this.rounds.length === 0) return [];
    const quorumRound = committedIndex(voters, (id) => (id === self ? this.lastRoundId : this.acked.get(id) ?? 0));
    const out: ReadRequest[] = [];
    while (this.rounds.length > 0 && this.rounds[0]!.id <= quorumRound) {
      const round = this.rounds.shift()!;
      out.push(...round.requests);
    }
    return out;
  }

  pending(): number {
    let n = this.open?.requests.length ?? 0;
    for (const r of this.rounds) n += r.requests.length;
    return n;
  }

  /** Drops every pending read (on losing leadership); their clients time out and retry. */
  reset(): void {
    this.rounds = [];
    this.open = undefined;
    this.acked.clear();
  }
}

const ROUND_CTX_BYTES = 8;

export function encodeRound(id: number): Uint8Array {
  assert(Number.isSafeInteger(id) && id > 0, () => `bad read round ${id}`);
  const out = new Uint8Array(ROUND_CTX_BYTES);
  new DataView(out.buffer).setBigUint64(0, BigInt(id));
  return out;
}

/** The round a heartbeat response acknowledges, or undefined if it carries none. */
export function decodeRound(ctx: Uint8Array): number | undefined {
  if (ctx.length !== ROUND_CTX_BYTES) return undefined;
  const v = new DataView(ctx.buffer, ctx.byteOffset, ctx.byteLength).getBigUint64(0);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}
