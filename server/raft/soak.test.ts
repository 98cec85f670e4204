// A small seeded soak: random drops, reordering, partitions, crashes and restarts,
// proposals, reads and transfers; checks the safety properties after every step. The
// full simulator lives in chaos/sim; this keeps the core honest on its own.

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { SeededRandom } from '../util/random.js';
import { Network, bytes } from './testing/network.js';
import { StateRole } from './types.js';

function checkSafety(net: Network, leadersByTerm: Map<number, number>, seed: number): void {
  for (const t of net.nodes.values()) {
    const s = t.node.status();
    if (s.role !== StateRole.Leader) continue;
    const prev = leadersByTerm.get(s.term);
    assert.ok(prev === undefined || prev === t.id, `seed ${seed}: two leaders in term ${s.term}: ${prev} and ${t.id}`);
    leadersByTerm.set(s.term, t.id);
  }
  // Every node applied the same entry at every index.
  const byIndex = new Map<number, string>();
  for (const t of net.nodes.values()) {
    for (const e of t.applied) {
      const key = `${e.term}/${new TextDecoder().decode(e.data)}`;
      const seen = byIndex.get(e.index);
      assert.ok(seen === undefined || seen === key, `seed ${seed}: index ${e.index} applied as ${seen} and ${key}`);
      byIndex.set(e.index, key);
    }
  }
}

function run(seed: number, steps: number): void {
  const rnd = new SeededRandom(seed);
  const ids = [1, 2, 3, 4, 5];
  const net = new Network(ids, { snapshotTimeoutTicks: 20, electionTicks: 5 }, seed);
  const leadersByTerm = new Map<number, number>();
  let proposals = 0;
  for (let step = 0; step < steps; step++) {
    const r = rnd.next();
    const id = rnd.pick(ids);
    if (r < 0.4) net.tick(id);
    else if (r < 0.55) {
      try {
        net.raw(id).propose(bytes(`s${seed}-${proposals++}`));
      } catch {
        /* refused: fine */
      }
    } else if (r < 0.6) net.isolate(id);
    else if (r < 0.66) net.heal();
    else if (r < 0.68) {
      // Crash: unpersisted state is lost; restart from storage.
      const t = net.get(id);
      net.queue = net.queue.filter((m) => m.to !== id);
      net.restart(t.id);
    } else if (r < 0.7) net.raw(id).transferLeader(rnd.pick(ids));
    else if (r < 0.72) {
      try {
        net.raw(id).readIndex(bytes('r'));
      } catch {
        /* no leader */
      }
    } else if (r < 0.74) {
      // Snapshot the applied state and compact the log.
      const t = net.get(id);
      if (t.appliedIndex > t.storage.snapshot().metadata.index) {
        t.storage.createSnapshot(t.appliedIndex, t.node.status().confState, bytes('snap'));
        t.storage.compact(t.appliedIndex);
      }
    }
    // Deliver a random subset, in a random order; drop a few.
    net.processReady(id);
    const q = net.queue;
    net.queue = [];
    for (const m of q) {
      const x = rnd.next();
      if (x < 0.05) continue;
      if (x < 0.25) net.queue.push(m);
      else net.deliver(m);
    }
    checkSafety(net, leadersByTerm, seed);
  }
  // Liveness: heal and let it settle; a leader must exist and everyone converge.
  net.heal();
  for (let i = 0; i < 100; i++) net.tickAll(1);
  for (const id of ids) {
    const leader = net.leader()!;
    net.raw(leader).propose(bytes(`final-${id}`));
  }
  net.stabilize();
  net.tickAll(3);
  checkSafety(net, leadersByTerm, seed);
  assert.ok(net.leader() !== undefined, `seed ${seed}: no leader after healing`);
  const commits = ids.map((i) => net.raw(i).status().commit);
  assert.ok(commits[0]! > 10, `seed ${seed}: little progress (commit ${commits[0]})`);
  assert.ok(commits.every((c) => c === commits[0]), `seed ${seed}: commits differ after healing: ${commits}`);
}

it('soak: safety under random faults, then convergence (40 seeds)', () => {
  for (let seed = 1; seed <= 40; seed++) run(seed, 600);
});
