// The bank workload: money moves between accounts in transactions, and every read of all
// accounts at once must add up to the same total (chaos/checker/bank.ts).
//
//  - Setup: one Txn creates every account with the same balance, only if none exists.
//  - Transfer: read both accounts (one read-only Txn), then one Txn that compares both
//    mod_revisions with the ones read and writes both new balances. A transfer never
//    overdraws: it moves at most what the source held when read.
//  - Read: every account in one snapshot — a prefix Range, or a read-only Txn of one get
//    per account (both are served at one revision).
// Failed and unknown transfers need no bookkeeping: the total is the invariant.

import { cmp, op, type Client, type KeyValue } from '../../client/index.js';
import type { SeededRandom } from '../../server/util/random.js';
import type { BankOptions, BankRead } from '../checker/bank.js';
import { clientSet, closeAll, errorText, pace, untilDone, running, type WorkloadContext } from './common.js';

export const BANK_PREFIX = 'bank/';
export const ACCOUNTS = 5;
export const INITIAL_BALANCE = 100;
/** Largest amount one transfer moves. */
export const TRANSFER_MAX = 20;
/** Share of operations that are reads of every account (the rest are transfers). */
export const READ_SHARE = 0.4;

export interface BankStats {
  reads: number;
  readFailures: number;
  transfers: { ok: number; conflict: number; fail: number; unknown: number };
}

function account(i: number): string {
  return `${BANK_PREFIX}${i}`;
}

function balancesOf(kvs: readonly KeyValue[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kv of kvs) out[kv.key.toString()] = Number(kv.value.toString());
  return out;
}

export class BankWorkload {
  readonly reads: BankRead[] = [];
  readonly accounts = Array.from({ length: ACCOUNTS }, (_, i) => account(i));
  readonly stats: BankStats = { reads: 0, readFailures: 0, transfers: { ok: 0, conflict: 0, fail: 0, unknown: 0 } };
  private readonly clients: Client[];

  constructor(private readonly ctx: WorkloadContext, private readonly workers: number) {
    this.clients = clientSet(ctx.endpoints);
  }

  get options(): BankOptions {
    return { accounts: this.accounts, total: ACCOUNTS * INITIAL_BALANCE };
  }

  /** Creates the accounts (before the faults start). */
  async setup(): Promise<void> {
    const client = this.clients[this.clients.length - 1]!;
    await untilDone(() => client.txn()
      .when(...this.accounts.map((a) => cmp.version(a, '=', 0)))
      .success(...this.accounts.map((a) => op.put(a, String(INITIAL_BALANCE))))
      .commit());
    const r = await untilDone(() => client.kv.getPrefix(BANK_PREFIX));
    if (r.kvs.length !== ACCOUNTS) throw new Error(`bank setup: ${r.kvs.length} accounts exist, expected ${ACCOUNTS}`);
  }

  private async readAll(client: Client, process: number, random: SeededRandom): Promise<void> {
    const call = this.ctx.clock.nowNs();
    try {
      let kvs: KeyValue[];
      if (random.chance(0.5)) {
        kvs = (await client.kv.getPrefix(BANK_PREFIX)).kvs;
      } else {
        const r = await client.txn().success(...this.accounts.map((a) => op.get(a))).commit();
        kvs = r.responses.flatMap((x) => (x.type === 'range' ? x.kvs : []));
      }
      this.reads.push({ process, call, return: this.ctx.clock.nowNs(), balances: balancesOf(kvs) });
      this.stats.reads++;
    } catch {
      this.stats.readFailures++;
    }
  }

  private async transfer(client: Client, random: SeededRandom): Promise<void> {
    const from = random.int(0, ACCOUNTS);
    const to = (from + random.int(1, ACCOUNTS)) % ACCOUNTS;
    const t = this.stats.transfers;
    let a: KeyValue | undefined;
    let b: KeyValue | undefined;
    try {
      const r = await client.txn().success(op.get(account(from)), op.get(account(to))).commit();
      [a, b] = r.responses.map((x) => (x.type === 'range' ? x.kvs[0] : undefined));
    } catch {
      t.fail++;
      return;
    }
    // A missing account is the reads' to report (missing-account); nothing to move here.
    if (a === undefined || b === undefined) return;
    const balance = Number(a.value.toString());
    if (balance <= 0) return;
    const amount = random.int(1, Math.min(balance, TRANSFER_MAX) + 1);
    try {
      const r = await client.txn()
        .when(cmp.modRevision(a.key, '=', a.modRevision), cmp.modRevision(b.key, '=', b.modRevision))
        .success(op.put(a.key, String(balance - amount)), op.put(b.key, String(Number(b.value.toString()) + amount)))
        .commit();
      if (r.succeeded) t.ok++;
      else t.conflict++;
    } catch (err) {
      if ((err as { maybeApplied?: boolean }).maybeApplied === true) t.unknown++;
      else t.fail++;
    }
  }

  private async worker(w: number): Promise<void> {
    const random = this.ctx.random.fork();
    const client = this.clients[w % this.clients.length]!;
    while (running(this.ctx)) {
      if (random.chance(READ_SHARE)) await this.readAll(client, w, random);
      else await this.transfer(client, random);
      await pace(random);
    }
  }

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.workers }, (_, w) => this.worker(w)));
  }

  /** After the heal: one read of every account through every member. */
  async finalReads(): Promise<void> {
    await Promise.all(this.clients.map((client, i) => untilDone(async () => {
      const before = this.stats.reads;
      await this.readAll(client, this.workers + i, this.ctx.random.fork());
      if (this.stats.reads === before) throw new Error(`bank: final read through client ${i} failed`);
    }).catch((err: unknown) => this.ctx.log(`bank: ${errorText(err)}`))));
  }

  close(): void {
    closeAll(this.clients);
  }
}
