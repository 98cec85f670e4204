// Linearizability of one register's history: the search of Wing & Gong as improved by
// Lowe ("Testing for linearizability", 2017) and used by Porcupine.
//
// The history is a list of call and return events in time order. The search walks it:
//  - at a call, it tries to linearize that operation now (the model allows it in the
//    current state, and the (linearized set, new state) pair was not explored before):
//    the operation's call and return are lifted out of the list, the choice is pushed,
//    and the walk restarts from the head;
//  - at a return, the operation returning was not linearized before it returned: the last
//    choice was wrong, so it is popped, its events put back, and the walk goes on after it.
// An empty stack at a return means no order works: not linearizable. Reaching the end of
// the list means every operation with a return is linearized; what is left are calls of
// operations without one (their result unobserved), which may be left out: linearizable.
//
// Events at the same time: calls come first, so such operations count as concurrent
// (never a false alarm from clock granularity).
//
// Symmetry: unobserved operations with the same effect ("twins") are interchangeable once
// both are called, so a later twin is linearized only after the earlier one is. Without
// this, n unknown puts nobody read would multiply the configurations by 2^n.
//
// Two more prunings, each keeping some linearization if there is one:
//  - A value that no operation still to be linearized observes is, from here on, the same
//    as OTHER (register-model.ts), so the state is kept as OTHER then, and configurations
//    that differ only in such a dead value meet in the memo.
//  - An unobserved operation that would leave the state as it is only uses itself up:
//    any order that takes it there works without it, so it is not tried.
//
// Bounds: a step budget, a deadline and a cache size. Hitting one gives "unknown", never
// "ok": the search only says ok when it has found a linearization.

import { Bitset, ConfigCache, FingerprintCache, type Memo } from './bitset.js';
import { ILLEGAL, observedValue, OTHER, step, type ModelOp } from './register-model.js';

export interface SearchLimits {
  /** Steps (events visited) this search may take. */
  maxSteps: number;
  /** performance.now() past which the search gives up. */
  deadline: number;
  /** Bytes the memo cache may hold. */
  cacheBytesMax: number;
  /** Memo whole sets (exact) rather than 64-bit fingerprints; see bitset.ts. */
  exact?: boolean;
}

export type SearchOutcome =
  | { verdict: 'ok'; steps: number }
  | {
      verdict: 'violation';
      steps: number;
      /**
       * The operation whose return no configuration got past, the latest one reached.
       * Every configuration the walk holds when it stops at a return at time t is a
       * linearization of the history known just before t; so the walk reaching t means the
       * history known before t is linearizable, and no walk getting past the latest such
       * return means the history known at its time is not: its operation is the first
       * result no order explains.
       */
      blockedOp: number;
    }
  | { verdict: 'unknown'; steps: number; reason: string };

/** How often (in steps) the deadline is looked at: performance.now() is not free. */
const DEADLINE_CHECK_STEPS = 4096;
const NONE = -1;

/** The event list: call of op i is node 2i, its return 2i+1, the head sentinel 2n. */
function buildList(ops: readonly ModelOp[]): { next: Int32Array; prev: Int32Array; head: number } {
  const n = ops.length;
  const head = 2 * n;
  const nodes: number[] = [];
  ops.forEach((op, i) => {
    nodes.push(2 * i);
    if (op.ret !== Number.POSITIVE_INFINITY) nodes.push(2 * i + 1);
  });
  const time = (node: number): number => (node & 1 ? ops[node >> 1]!.ret : ops[node >> 1]!.call);
  nodes.sort((a, b) => time(a) - time(b) || (a & 1) - (b & 1) || a - b);
  const next = new Int32Array(2 * n + 1).fill(NONE);
  const prev = new Int32Array(2 * n + 1).fill(NONE);
  let last = head;
  for (const node of nodes) {
    next[last] = node;
    prev[node] = last;
    last = node;
  }
  return { next, prev, head };
}

/** For each value id: how many operations observe it (observedValue). */
function countObservers(ops: readonly ModelOp[]): Int32Array {
  let max = OTHER;
  for (const op of ops) max = Math.max(max, op.value, op.expected, op.output);
  const counts = new Int32Array(max + 1);
  for (const op of ops) {
    const v = observedValue(op);
    if (v >= 0) counts[v]!++;
  }
  return counts;
}

/** Searches for a linearization of `ops` from `initialState` (see the module comment). */
export function searchLinearization(ops: readonly ModelOp[], initialState: number, limits: SearchLimits): SearchOutcome {
  const { next, prev, head } = buildList(ops);
  const hasReturn = (i: number): boolean => ops[i]!.ret !== Number.POSITIVE_INFINITY;
  const unlink = (node: number): void => {
    next[prev[node]!] = next[node]!;
    if (next[node] !== NONE) prev[next[node]!] = prev[node]!;
  };
  const relink = (node: number): void => {
    next[prev[node]!] = node;
    if (next[node] !== NONE) prev[next[node]!] = node;
  };

  const linearized = new Bitset(ops.length);
  const cache: Memo = limits.exact === true ? new ConfigCache(ops.length) : new FingerprintCache();
  const stackOps = new Int32Array(ops.length);
  const stackStates = new Int32Array(ops.length);
  const observers = countObservers(ops);
  const canon = (v: number): number => (v >= 0 && observers[v] === 0 ? OTHER : v);
  let depth = 0;
  let state = canon(initialState);
  let node = next[head]!;
  let steps = 0;
  let blockedOp = NONE;

  for (;;) {
    if (node === NONE) return { verdict: 'ok', steps };
    steps++;
    if (steps > limits.maxSteps) return { verdict: 'unknown', steps, reason: `step limit (${limits.maxSteps}) reached` };
    if (steps % DEADLINE_CHECK_STEPS === 0 && performance.now() > limits.deadline) {
      return { verdict: 'unknown', steps, reason: 'time limit reached' };
    }
    const i = node >> 1;
    if ((node & 1) === 0) {
      const op = ops[i]!;
      const seen = observedValue(op);
      if (seen >= 0) observers[seen]!--;
      let after = op.twin !== NONE && !linearized.has(op.twin) ? ILLEGAL : canon(step(state, op));
      if (after === state && !hasReturn(i)) after = ILLEGAL;
      if (after === ILLEGAL && seen >= 0) observers[seen]!++;
      if (after !== ILLEGAL) {
        linearized.set(i);
        if (cache.add(linearized, after)) {
          if (cache.bytes > limits.cacheBytesMax) {
            return { verdict: 'unknown', steps, reason: `memo cache limit (${limits.cacheBytesMax} bytes) reached` };
          }
          stackOps[depth] = i;
          stackStates[depth] = state;
          depth++;
          state = after;
          unlink(node);
          if (hasReturn(i)) unlink(node + 1);
          node = next[head]!;
          continue;
        }
        linearized.clear(i);
        if (seen >= 0) observers[seen]!++;
      }
      node = next[node]!;
      continue;
    }
    // A return whose operation is not linearized yet: undo the last choice.
    if (blockedOp === NONE || ops[i]!.ret > ops[blockedOp]!.ret) blockedOp = i;
    if (depth === 0) return { verdict: 'violation', steps, blockedOp };
    depth--;
    const j = stackOps[depth]!;
    state = stackStates[depth]!;
    linearized.clear(j);
    const seenJ = observedValue(ops[j]!);
    if (seenJ >= 0) observers[seenJ]!++;
    if (hasReturn(j)) relink(2 * j + 1);
    relink(2 * j);
    node = next[2 * j]!;
  }
}
