// Random register histories that are linearizable by construction, for tests of the
// checker (and of the report). Each process runs operations one after another; each
// operation takes effect at a point inside its interval, and a sequential register
// applied in the order of those points gives every output. Unknown operations take effect
// at a point anywhere after their call (even after their recorded return) or not at all;
// failed ones never do. Every written value is unique ("v<n>"), which lets an injected
// anomaly be a violation for certain.

import { SeededRandom } from '../../../server/util/random.js';
import type { HistoryOp, OpKind, OpStatus } from '../../history/op.js';

export interface GenerateOptions {
  seed: number;
  processes: number;
  opsPerProcess: number;
  keys: number;
  /** Chance that an operation's result is unknown / that it certainly failed. */
  unknownChance: number;
  failChance: number;
  /** Upper bounds of the pause between a process's operations and of an operation's latency, ns. */
  gapNsMax: number;
  latencyNsMax: number;
}

export const DEFAULT_GENERATE: Omit<GenerateOptions, 'seed'> = {
  processes: 5,
  opsPerProcess: 30,
  keys: 2,
  unknownChance: 0.05,
  failChance: 0.05,
  gapNsMax: 2_000_000,
  latencyNsMax: 5_000_000,
};

/** An operation while generating: its interval, and when (if ever) it takes effect. */
interface Pending {
  op: HistoryOp;
  /** +Infinity when it never takes effect. */
  at: number;
}

const OP_MIX: Array<[OpKind, number]> = [['put', 0.3], ['get', 0.35], ['cas', 0.25], ['delete', 0.1]];

function pickKind(random: SeededRandom): OpKind {
  let r = random.next();
  for (const [kind, weight] of OP_MIX) {
    if (r < weight) return kind;
    r -= weight;
  }
  return 'get';
}

/** Intervals and effect points; values and outputs are filled in by applyInOrder. */
function schedule(random: SeededRandom, o: GenerateOptions): Pending[] {
  const out: Pending[] = [];
  for (let p = 0; p < o.processes; p++) {
    let t = random.int(0, o.gapNsMax);
    for (let i = 0; i < o.opsPerProcess; i++) {
      const call = t;
      const ret = call + 1 + random.int(0, o.latencyNsMax);
      const roll = random.next();
      const status: OpStatus = roll < o.unknownChance ? 'unknown' : roll < o.unknownChance + o.failChance ? 'fail' : 'ok';
      let at = call + random.next() * (ret - call);
      if (status === 'fail') at = Number.POSITIVE_INFINITY;
      // An unknown operation takes effect late (up to five latencies after its call) or never.
      if (status === 'unknown') at = random.chance(0.5) ? call + random.next() * 5 * o.latencyNsMax : Number.POSITIVE_INFINITY;
      const op: HistoryOp = {
        process: p, key: `k${random.int(0, o.keys)}`, op: pickKind(random),
        value: null, expected: null, output: null, call, return: ret, status,
      };
      out.push({ op, at });
      t = ret + random.int(0, o.gapNsMax);
    }
  }
  return out;
}

/** Runs the sequential register in effect order, filling in values, expectations and outputs. */
function applyInOrder(random: SeededRandom, ops: Pending[]): void {
  const state = new Map<string, string>();
  const written: string[] = [];
  let next = 0;
  const byEffect = [...ops].sort((a, b) => a.at - b.at || a.op.call - b.op.call);
  for (const { op, at } of byEffect) {
    const current = state.get(op.key) ?? null;
    const applies = at !== Number.POSITIVE_INFINITY;
    if (op.op === 'put' || op.op === 'cas') op.value = `v${next++}`;
    if (op.op === 'cas') {
      // Mostly the current value, so that many succeed; else absent or an older value.
      op.expected = random.chance(0.6) ? current : random.chance(0.5) || written.length === 0 ? null : random.pick(written);
    }
    if (applies) {
      if (op.op === 'put') state.set(op.key, op.value!);
      if (op.op === 'delete') state.delete(op.key);
      if (op.op === 'cas' && current === op.expected) state.set(op.key, op.value!);
    }
    if (op.status === 'ok') {
      if (op.op === 'get') op.output = current;
      if (op.op === 'cas') op.output = current === op.expected ? 'ok' : 'fail';
    }
    if (op.value !== null) written.push(op.value);
  }
}

/** A linearizable history (ops sorted by call time). */
export function linearizableHistory(options: Partial<GenerateOptions> & { seed: number }): HistoryOp[] {
  const o: GenerateOptions = { ...DEFAULT_GENERATE, ...options };
  const random = new SeededRandom(o.seed);
  const ops = schedule(random, o);
  applyInOrder(random, ops);
  return ops.map((p) => p.op).sort((a, b) => a.call - b.call || a.process - b.process);
}

export const ANOMALIES = ['stale-read', 'stale-cas', 'phantom-read'] as const;
export type Anomaly = (typeof ANOMALIES)[number];

/**
 * `history` with an anomaly added at a random time on a random key, by two new processes:
 * a put of a new value, then (after it returned) a read that cannot follow it: a get or a
 * successful cas of a value whose only writer returned before the put was called (stale),
 * or a get of a value nobody wrote (phantom). Values being unique, no order explains it.
 */
export function withAnomaly(history: readonly HistoryOp[], seed: number, anomaly: Anomaly): HistoryOp[] {
  const random = new SeededRandom(seed);
  const end = Math.max(1, ...history.map((op) => op.return));
  const at = random.int(0, end);
  const key = history.length > 0 ? random.pick(history).key : 'k0';
  const process = Math.max(0, ...history.map((op) => op.process)) + 1;
  const oldWrites = history.filter(
    (op) => op.key === key && op.status === 'ok' && op.value !== null && op.return < at &&
      (op.op === 'put' || op.output === 'ok'),
  );
  const kind: Anomaly = oldWrites.length === 0 ? 'phantom-read' : anomaly;
  const stale = kind === 'phantom-read' ? 'never-written' : random.pick(oldWrites).value;
  const put: HistoryOp = {
    process, key, op: 'put', value: 'injected', expected: null, output: null, call: at, return: at + 10, status: 'ok',
  };
  const read: HistoryOp = kind === 'stale-cas'
    ? { process: process + 1, key, op: 'cas', value: 'injected-2', expected: stale, output: 'ok', call: at + 20, return: at + 30, status: 'ok' }
    : { process: process + 1, key, op: 'get', value: null, expected: null, output: stale, call: at + 20, return: at + 30, status: 'ok' };
  return [...history, put, read].sort((a, b) => a.call - b.call || a.process - b.process);
}
