import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  END_MARGIN_MS, FAULT_KINDS, FIRST_FAULT_MS, GAP_MS_MIN, HOLD_MS_MAX, HOLD_MS_MIN, parseNemesis, planSchedule,
} from './schedule.js';

const NODES = [1, 2, 3];

describe('nemesis schedule', () => {
  it('is the same for the same seed, and differs for another', () => {
    const a = planSchedule({ seed: 42, kinds: FAULT_KINDS, nodes: NODES, durationMs: 60_000 });
    const b = planSchedule({ seed: 42, kinds: FAULT_KINDS, nodes: NODES, durationMs: 60_000 });
    const c = planSchedule({ seed: 43, kinds: FAULT_KINDS, nodes: NODES, durationMs: 60_000 });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('spaces faults out, holds each within bounds and starts none too close to the end', () => {
    const durationMs = 120_000;
    const s = planSchedule({ seed: 7, kinds: FAULT_KINDS, nodes: NODES, durationMs });
    assert.ok(s.length > 10);
    assert.equal(s[0]!.atMs, FIRST_FAULT_MS);
    for (const [i, p] of s.entries()) {
      assert.equal(p.index, i);
      assert.ok(p.atMs <= durationMs - END_MARGIN_MS, `fault ${i} at ${p.atMs}`);
      if (!['transfer', 'membership'].includes(p.kind)) assert.ok(p.holdMs >= HOLD_MS_MIN && p.holdMs <= HOLD_MS_MAX);
      assert.deepEqual([...p.order].sort(), NODES);
      if (i > 0) assert.ok(p.atMs >= s[i - 1]!.atMs + s[i - 1]!.holdMs + GAP_MS_MIN);
    }
  });

  it('deals every kind before repeating one', () => {
    const s = planSchedule({ seed: 1, kinds: FAULT_KINDS, nodes: [1, 2, 3, 4, 5], durationMs: 600_000 });
    assert.deepEqual(new Set(s.slice(0, FAULT_KINDS.length).map((p) => p.kind)), new Set(FAULT_KINDS));
  });

  it('keeps a partition minority a minority', () => {
    for (const nodes of [[1, 2, 3], [1, 2, 3, 4, 5]]) {
      const s = planSchedule({ seed: 3, kinds: ['partition'], nodes, durationMs: 300_000 });
      for (const p of s) assert.ok(p.size >= 1 && p.size <= Math.floor((nodes.length - 1) / 2), `size ${p.size} of ${nodes.length}`);
    }
  });

  it('leaves out faults the cluster is too small for, and plans nothing for none', () => {
    const s = planSchedule({ seed: 1, kinds: ['bridge', 'kill'], nodes: [1, 2], durationMs: 60_000 });
    assert.ok(s.every((p) => p.kind === 'kill'));
    assert.deepEqual(planSchedule({ seed: 1, kinds: [], nodes: NODES, durationMs: 60_000 }), []);
  });
});

describe('--nemesis', () => {
  it('takes kinds and groups, each once, in a fixed order', () => {
    assert.deepEqual(parseNemesis('all'), FAULT_KINDS.filter((k) => k !== 'damage'));
    assert.deepEqual(parseNemesis('none'), []);
    assert.deepEqual(parseNemesis('slow,kills,slow'), ['kill', 'kill-leader', 'crash-cut-off-leader', 'slow']);
    assert.deepEqual(parseNemesis('membership, transfer'), ['membership', 'transfer']);
  });

  it('names what it does not know', () => {
    assert.throws(() => parseNemesis('kill,meteor'), /--nemesis: unknown fault "meteor" \(known: all, none, kills/);
  });
});
