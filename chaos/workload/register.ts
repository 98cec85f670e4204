// The register workload: many logical processes doing get / put / cas / delete on a few
// keys at a time, each operation one line of the history (chaos/history's format).
//
//  - A process runs one operation at a time. One whose operation ended "unknown" may
//    still see it take effect at any later time, so it never issues another: the worker
//    goes on under a new process id (Jepsen does the same).
//  - Keys rotate: a key gets at most OPS_PER_KEY_MAX operations, then a fresh key takes
//    its place. Linearizability is checked per key, so this bounds the search.
//  - Every value is written once (worker and sequence number in it), which a cas by
//    mod_revision relies on (register-ops.ts) and which lets the checker tell writes apart.
//  - Each member also has a reader: a process that only gets, through that member. A
//    member cut off from the others keeps being asked, so a stale read has a witness
//    even while the member's writers wait out their timeouts.
//  - After the run and the heal, every key is read once more through every member:
//    a write that was acknowledged and then lost shows there at the latest.

import type { Client } from '../../client/index.js';
import type { SeededRandom } from '../../server/util/random.js';
import type { HistoryOp, OpKind } from '../history/op.js';
import type { HistoryWriter } from '../history/writer.js';
import { clientSet, closeAll, errorText, pace, untilDone, running, type WorkloadContext } from './common.js';
import { runRegisterOp, type CasMode, type RegisterRequest } from './register-ops.js';

export const REGISTER_KEY_PREFIX = 'reg/';
/** Keys in use at once. */
export const ACTIVE_KEYS = 3;
/** Operations a key gets before it is retired. */
export const OPS_PER_KEY_MAX = 150;
/** Share of each operation kind, summing to 1. */
export const OP_MIX: ReadonlyArray<readonly [OpKind, number]> = [['get', 0.4], ['put', 0.22], ['cas', 0.32], ['delete', 0.06]];
/** A cas compares against "absent" this often (create-only), else against the last value seen. */
export const CAS_ABSENT_CHANCE = 0.15;

export interface RegisterOptions {
  /** Concurrent workers (each a sequence of logical processes) doing the whole mix. */
  workers: number;
  history: HistoryWriter;
}

export interface RegisterStats {
  ops: number;
  ok: number;
  fail: number;
  unknown: number;
  keys: number;
  processes: number;
}

class KeySpace {
  private readonly active: Array<{ key: string; used: number }> = [];
  private next = 0;
  readonly all: string[] = [];
  /** The last value anyone saw or wrote per key, for cas expectations. */
  readonly lastSeen = new Map<string, string | null>();

  constructor() {
    for (let i = 0; i < ACTIVE_KEYS; i++) this.active.push({ key: this.fresh(), used: 0 });
  }

  private fresh(): string {
    const key = `${REGISTER_KEY_PREFIX}${this.next++}`;
    this.all.push(key);
    return key;
  }

  take(random: SeededRandom): string {
    const slot = this.active[random.int(0, this.active.length)]!;
    const key = slot.key;
    if (++slot.used >= OPS_PER_KEY_MAX) Object.assign(slot, { key: this.fresh(), used: 0 });
    return key;
  }
}

function pickKind(random: SeededRandom): OpKind {
  let x = random.next();
  for (const [kind, share] of OP_MIX) {
    if (x < share) return kind;
    x -= share;
  }
  return 'get';
}

export class RegisterWorkload {
  readonly ops: HistoryOp[] = [];
  private readonly keys = new KeySpace();
  private readonly clients: Client[];
  private nextProcess: number;

  constructor(private readonly ctx: WorkloadContext, private readonly o: RegisterOptions) {
    this.clients = clientSet(ctx.endpoints);
    this.nextProcess = o.workers + ctx.endpoints.length;
  }

  private record(op: HistoryOp): void {
    this.ops.push(op);
    this.o.history.append(op);
  }

  private request(worker: number, process: number, seq: number, random: SeededRandom): RegisterRequest {
    const kind = worker >= this.o.workers ? 'get' : pickKind(random);
    const key = this.keys.take(random);
    const value = kind === 'put' || kind === 'cas' ? `w${worker}-${seq}` : null;
    const expected = kind === 'cas' && !random.chance(CAS_ABSENT_CHANCE) ? (this.keys.lastSeen.get(key) ?? null) : null;
    const casMode: CasMode = random.chance(0.5) ? 'value' : 'mod';
    return { process, key, op: kind, value, expected, casMode };
  }

  private learn(op: HistoryOp): void {
    if (op.status !== 'ok') return;
    if (op.op === 'get') this.keys.lastSeen.set(op.key, op.output);
    else if (op.op === 'put' || (op.op === 'cas' && op.output === 'ok')) this.keys.lastSeen.set(op.key, op.value);
    else if (op.op === 'delete') this.keys.lastSeen.set(op.key, null);
  }

  /** Workers 0..workers-1 do the mix on clients[w % length]; the rest are the members' readers. */
  private async worker(w: number): Promise<void> {
    const random = this.ctx.random.fork();
    const client = w < this.o.workers ? this.clients[w % this.clients.length]! : this.clients[w - this.o.workers]!;
    let process = w;
    for (let seq = 0; running(this.ctx); seq++) {
      const { op } = await runRegisterOp(client, this.ctx.clock, this.request(w, process, seq, random));
      this.record(op);
      this.learn(op);
      if (op.status === 'unknown') process = this.nextProcess++;
      await pace(random);
    }
  }

  /** Runs the workers until the context's stop time. */
  async run(): Promise<void> {
    const readers = this.ctx.endpoints.length;
    const forks = Array.from({ length: this.o.workers + readers }, (_, w) => this.worker(w));
    await Promise.all(forks);
  }

  /** After the heal: every key read through every client, by a fresh process per client. */
  async finalReads(): Promise<void> {
    await Promise.all(this.clients.map(async (client) => {
      // One process per client: its reads run one after another.
      const process = this.nextProcess++;
      for (const key of this.keys.all) {
        const req: RegisterRequest = { process, key, op: 'get', value: null, expected: null, casMode: 'value' };
        const op = await untilDone(async () => {
          const r = await runRegisterOp(client, this.ctx.clock, req);
          if (r.op.status !== 'ok') throw new Error(`final read of ${key}: ${errorText(r.error)}`);
          return r.op;
        });
        this.record(op);
      }
    }));
  }

  stats(): RegisterStats {
    const count = (s: string): number => this.ops.filter((o) => o.status === s).length;
    return {
      ops: this.ops.length, ok: count('ok'), fail: count('fail'), unknown: count('unknown'),
      keys: this.keys.all.length, processes: new Set(this.ops.map((o) => o.process)).size,
    };
  }

  close(): void {
    closeAll(this.clients);
  }
}
