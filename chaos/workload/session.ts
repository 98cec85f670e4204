// The session workload (DESIGN.md §2, session reads): processes that write their own key
// and read their own and other processes' keys with serializable reads from any member.
// The client library turns those into session reads (rs-min-revision: the highest revision
// the client has seen), so the checker (chaos/checker/session.ts) can demand, per process:
//  - read-your-writes: a read of its own key shows its last acknowledged write;
//  - monotonic reads: no answer is older than an answer the process had before, and no
//    key's value goes back to an older modification.
// A process whose write ended "unknown" goes on as a new process with a new key (that
// write may still land at any time, so its old key's reads would prove nothing).

import { Client } from '../../client/index.js';
import type { SeededRandom } from '../../server/util/random.js';
import { ATTEMPT_TIMEOUT_MS, OP_TIMEOUT_MS, closeAll, failureStatus, pace, running, type WorkloadContext } from './common.js';

export const SESSION_KEY_PREFIX = 'sess/';
/** Share of reads among a process's operations, and of those, reads of another process's key. */
export const SESSION_READ_SHARE = 0.6;
export const SESSION_OTHER_KEY_SHARE = 0.5;

export interface SessionOp {
  process: number;
  op: 'put' | 'get';
  key: string;
  /** put: the value written; get: the value read (null: absent). */
  value: string | null;
  /** The answer's header revision (0 when there was no answer). */
  revision: number;
  /** get: the key's mod revision (0: absent); put: the write's revision. */
  modRevision: number;
  status: 'ok' | 'fail' | 'unknown';
  /** ns since the run started. */
  call: number;
  return: number;
}

function keyOf(process: number): string {
  return `${SESSION_KEY_PREFIX}${process}`;
}

export class SessionWorkload {
  readonly ops: SessionOp[] = [];
  private readonly clients: Client[];
  private nextProcess: number;
  private readonly live: number[] = [];

  /** @param unsafeNoSession UNSAFE (the harness's teeth): plain serializable reads, no rs-min-revision. */
  constructor(private readonly ctx: WorkloadContext, private readonly workers: number, unsafeNoSession = false) {
    // One client per worker, reading from any member: its session clock is its own.
    this.clients = Array.from({ length: workers }, () => new Client({
      endpoints: [...ctx.endpoints], timeoutMs: OP_TIMEOUT_MS, attemptTimeoutMs: ATTEMPT_TIMEOUT_MS, readFrom: 'any',
      sessionReads: !unsafeNoSession,
    }));
    this.nextProcess = workers;
    for (let w = 0; w < workers; w++) this.live.push(w);
  }

  private async one(client: Client, process: number, seq: number, random: SeededRandom): Promise<SessionOp> {
    const read = random.chance(SESSION_READ_SHARE);
    const other = this.live[random.int(0, this.live.length)]!;
    const key = read && random.chance(SESSION_OTHER_KEY_SHARE) ? keyOf(other) : keyOf(process);
    const call = this.ctx.clock.nowNs();
    const base = { process, key, call };
    if (read) {
      try {
        const r = await client.range(key, { serializable: true });
        const kv = r.kvs[0];
        return { ...base, op: 'get', value: kv === undefined ? null : kv.value.toString(), revision: r.revision, modRevision: kv?.modRevision ?? 0, status: 'ok', return: this.ctx.clock.nowNs() };
      } catch {
        return { ...base, op: 'get', value: null, revision: 0, modRevision: 0, status: 'fail', return: this.ctx.clock.nowNs() };
      }
    }
    const value = `${process}-${seq}`;
    try {
      const w = await client.put(key, value);
      return { ...base, op: 'put', value, revision: w.header.revision, modRevision: w.header.revision, status: 'ok', return: this.ctx.clock.nowNs() };
    } catch (err) {
      return { ...base, op: 'put', value, revision: 0, modRevision: 0, status: failureStatus(err, true), return: this.ctx.clock.nowNs() };
    }
  }

  private async worker(w: number): Promise<void> {
    const random = this.ctx.random.fork();
    const client = this.clients[w]!;
    let process = w;
    for (let seq = 0; running(this.ctx); seq++) {
      const op = await this.one(client, process, seq, random);
      this.ops.push(op);
      if (op.status === 'unknown') {
        const next = this.nextProcess++;
        this.live[this.live.indexOf(process)] = next;
        process = next;
      }
      await pace(random);
    }
  }

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.workers }, (_, w) => this.worker(w)));
  }

  close(): void {
    closeAll(this.clients);
  }
}
