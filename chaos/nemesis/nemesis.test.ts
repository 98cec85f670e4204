// The nemesis against a pretend cluster: what it does to whom, that every fault is healed
// and recorded, and that healAll leaves every node running and resumed.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Client } from '../../client/index.js';
import { RunClock } from '../history/run-clock.js';
import { Nemesis } from './nemesis.js';
import type { FaultKind, PlannedFault } from './schedule.js';
import type { NemesisNetwork, NemesisTarget } from './target.js';

class FakeTarget implements NemesisTarget {
  readonly nodes = [1, 2, 3];
  readonly calls: string[] = [];
  readonly down = new Set<number>();
  readonly paused = new Set<number>();
  leaderNode: number | undefined = 2;
  readonly network: NemesisNetwork;
  /** Only what healAll's membership check asks: every node a voter. */
  readonly admin = {
    cluster: { list: async () => ({ members: this.nodes.map((n) => ({ id: String(n), name: `n${n}`, peerUrls: [], clientUrls: [], isLearner: false })) }) },
  } as unknown as Client;

  constructor() {
    const note = (what: string) => (...args: unknown[]): number => {
      this.calls.push(`${what} ${JSON.stringify(args)}`);
      return 0;
    };
    this.network = {
      partition: note('partition'), isolate: note('isolate'), bridge: note('bridge'), oneWay: note('oneWay'),
      flaky: note('flaky'), slow: note('slow'), cut: note('cut'), heal: note('heal'),
    };
  }

  name(node: number): string {
    return `n${node}`;
  }

  async leader(): Promise<number | undefined> {
    return this.leaderNode;
  }

  running(node: number): boolean {
    return !this.down.has(node);
  }

  async signal(node: number, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    this.calls.push(`${signal} n${node}`);
    if (signal === 'SIGKILL') this.down.add(node);
    if (signal === 'SIGSTOP') this.paused.add(node);
    if (signal === 'SIGCONT') this.paused.delete(node);
  }

  async restart(node: number): Promise<void> {
    this.calls.push(`restart n${node}`);
    this.down.delete(node);
  }

  async reset(): Promise<string> {
    throw new Error('not in this test');
  }

  async join(): Promise<void> {
    throw new Error('not in this test');
  }
}

/** How early a Node timer may fire as seen by a monotonic clock. */
const TIMER_SLACK_MS = 1;

function planned(kind: FaultKind, index: number, over: Partial<PlannedFault> = {}): PlannedFault {
  return { index, kind, atMs: 0, holdMs: 10, order: [3, 1, 2], size: 1, delayMs: 50, jitterMs: 5, fromLeader: false, ...over };
}

describe('nemesis', () => {
  it('injects, holds and heals each fault in turn, recording it', async () => {
    const t = new FakeTarget();
    const schedule = [
      planned('kill-leader', 0), planned('pause', 1), planned('partition', 2), planned('isolate-leader', 3),
      planned('bridge', 4), planned('slow', 5), planned('one-way', 6, { fromLeader: true }),
    ];
    const nemesis = new Nemesis({ target: t, schedule, clock: new RunClock() });
    await nemesis.run(60_000);
    assert.deepEqual(t.calls, [
      'SIGKILL n2', 'restart n2',
      'SIGSTOP n3', 'SIGCONT n3',
      'partition [[[3],[1,2]]]', 'heal []',
      'isolate [2]', 'heal []',
      'bridge [[3],1,[2]]', 'heal []',
      'slow [[1,3],50,5]', 'slow [[2,3],50,5]', 'slow [[3,1],50,5]', 'slow [[3,2],50,5]', 'heal []',
      'oneWay [2,1]', 'oneWay [2,3]', 'heal []',
    ]);
    assert.deepEqual(nemesis.faults.map((f) => [f.kind, f.detail]), [
      ['kill-leader', 'kill -9 n2 (leader)'],
      ['pause', 'SIGSTOP n3'],
      ['partition', '[n3] | [n1 n2]'],
      ['isolate-leader', 'n2 (leader) alone'],
      ['bridge', '[n3] - n1 - [n2]'],
      ['slow', 'links of [n3]: +50 ms ±5'],
      ['one-way', 'n2 (leader) -> everyone dropped'],
    ]);
    // A 10 ms hold, give or take the timer: Node fires timers by the event loop's cached
    // clock, which can be up to a millisecond behind the monotonic clock the run records.
    for (const f of nemesis.faults) assert.ok(f.end >= f.start + (10 - TIMER_SLACK_MS) * 1_000_000, `${f.kind} held ${f.end - f.start} ns`);
  });

  it('targets a plan node when there is no leader, and stops at the end of the run', async () => {
    const t = new FakeTarget();
    t.leaderNode = undefined;
    const nemesis = new Nemesis({ target: t, schedule: [planned('kill-leader', 0), planned('kill', 1, { atMs: 60_000 })], clock: new RunClock() });
    await nemesis.run(1_000);
    assert.deepEqual(t.calls, ['SIGKILL n3', 'restart n3']);
    assert.equal(nemesis.faults[0]?.detail, 'kill -9 n3');
  });

  it('heals what a failed heal left behind', async () => {
    const t = new FakeTarget();
    t.restart = async () => {
      throw new Error('no port');
    };
    const nemesis = new Nemesis({ target: t, schedule: [planned('kill', 0)], clock: new RunClock() });
    await nemesis.run(60_000);
    assert.deepEqual([...t.down], [3]);
    t.restart = FakeTarget.prototype.restart.bind(t);
    await nemesis.healAll();
    assert.deepEqual([...t.down], []);
    assert.ok(t.calls.includes('heal []') && t.calls.includes('SIGCONT n1'));
  });
});
