// Runs a schedule (schedule.ts) against a cluster (target.ts): each fault is injected when
// due, held, healed, and recorded as a FaultInterval on the history's clock. A membership
// change runs in the background while the next faults strike. healAll() leaves the
// cluster whole before the final checks: network healed, every process running and
// resumed, every node a voting member.

import { setTimeout as sleep } from 'node:timers/promises';
import type { RunClock } from '../history/run-clock.js';
import type { FaultInterval } from '../report/record.js';
import { inject, type ActiveFault } from './faults.js';
import { ensureVoters, rejoinMember, removeMember } from './membership.js';
import type { PlannedFault } from './schedule.js';
import type { NemesisTarget } from './target.js';

const NS_PER_MS = 1_000_000;

export interface NemesisOptions {
  target: NemesisTarget;
  schedule: readonly PlannedFault[];
  /** The history's clock: fault intervals are recorded on it. */
  clock: RunClock;
  log?: (line: string) => void;
}

export class Nemesis {
  /** Faults injected so far, healed or not (an unhealed one ends at healAll). */
  readonly faults: FaultInterval[] = [];
  /** Planned faults that found no target (e.g. every node busy). */
  skipped = 0;
  private readonly busy = new Set<number>();
  /** The membership change in progress, if any (one at a time). */
  private membership: Promise<void> | undefined;
  private readonly log: (line: string) => void;

  constructor(private readonly o: NemesisOptions) {
    this.log = o.log ?? (() => {});
  }

  private nowMs(): number {
    return this.o.clock.nowNs() / NS_PER_MS;
  }

  /** Plays the schedule until `durationMs` after the run started; every fault it injected is healed when it returns. */
  async run(durationMs: number): Promise<void> {
    for (const p of this.o.schedule) {
      const holdMs = p.kind === 'membership' ? 0 : p.holdMs;
      // A fault that would outlast the run is not started (the run may be behind schedule).
      if (Math.max(p.atMs, this.nowMs()) + holdMs > durationMs) break;
      const wait = p.atMs - this.nowMs();
      if (wait > 0) await sleep(wait);
      try {
        if (p.kind === 'membership') this.startMembership(p);
        else await this.holdOne(p);
      } catch (err) {
        this.log(`nemesis: fault #${p.index} ${p.kind}: ${(err as Error).message}`);
      }
    }
  }

  private async holdOne(p: PlannedFault): Promise<void> {
    const start = this.o.clock.nowNs();
    const fault = await inject(p, { target: this.o.target, busy: this.busy });
    if (fault === undefined) {
      this.skipped++;
      this.log(`nemesis: fault #${p.index} ${p.kind}: no target, skipped`);
      return;
    }
    this.log(`nemesis: ${fault.kind}: ${fault.detail}`);
    const interval: FaultInterval = { start, end: start, kind: fault.kind, detail: fault.detail };
    this.faults.push(interval);
    try {
      await sleep(p.holdMs);
    } finally {
      await this.heal(fault);
      interval.end = this.o.clock.nowNs();
    }
  }

  private async heal(fault: ActiveFault): Promise<void> {
    try {
      await fault.heal();
    } catch (err) {
      // healAll() tries again (restarts what is down, heals the network).
      this.log(`nemesis: healing ${fault.kind} (${fault.detail}) failed: ${(err as Error).message}`);
    }
  }

  /** Removes a node that is not the leader, adds it back as a learner, promotes it. */
  private startMembership(p: PlannedFault): void {
    if (this.membership !== undefined) {
      this.skipped++;
      this.log(`nemesis: fault #${p.index} membership: the previous change is still going on, skipped`);
      return;
    }
    const t = this.o.target;
    this.membership = (async () => {
      const leader = await t.leader();
      const node = p.order.find((n) => n !== leader && t.running(n));
      if (node === undefined) {
        this.skipped++;
        return;
      }
      this.busy.add(node);
      const interval: FaultInterval = {
        start: this.o.clock.nowNs(), end: this.o.clock.nowNs(), kind: 'membership',
        detail: `remove ${t.name(node)}, add it back as a learner, promote`,
      };
      this.faults.push(interval);
      this.log(`nemesis: membership: ${interval.detail}`);
      try {
        await removeMember(node, t, this.log);
        await rejoinMember(node, t, this.log);
        this.log(`nemesis: membership: ${t.name(node)} is a voter again`);
      } catch (err) {
        interval.detail += ` (cut short: ${(err as Error).message})`;
        this.log(`nemesis: membership: ${(err as Error).message}`);
      } finally {
        interval.end = this.o.clock.nowNs();
        this.busy.delete(node);
      }
    })().finally(() => {
      this.membership = undefined;
    });
  }

  /** Leaves the cluster whole: network healed, nodes resumed and running, every node a voter. */
  async healAll(): Promise<void> {
    const t = this.o.target;
    t.network.heal();
    for (const node of t.nodes) if (t.running(node)) await t.signal(node, 'SIGCONT');
    await this.membership;
    for (const node of t.nodes) {
      if (t.running(node) || this.busy.has(node)) continue;
      try {
        await t.restart(node);
      } catch (err) {
        this.log(`nemesis: restarting ${t.name(node)}: ${(err as Error).message}`);
      }
    }
    await ensureVoters(t, this.log);
  }
}
