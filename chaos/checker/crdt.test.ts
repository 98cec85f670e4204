import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SeededRandom } from '../../server/util/random.js';
import { crdtOpError, formatCrdtOp, parseCrdtHistory, type CrdtEventBody, type CrdtHistoryOp, type CrdtOpStatus } from '../history/crdt-op.js';
import { EXIT_OK, EXIT_UNKNOWN, EXIT_VIOLATION, main } from './cli-main.js';
import { checkCrdt, type CrdtResult } from './crdt.js';
import { summarizeCrdt } from './crdt-render.js';
import type { CrdtMemberFinal } from './crdt-state.js';
import { reachableWithDeltas, subsetSumReachable } from './subset-sum.js';

let nextSeq = 1;
let clock = 0;

interface W {
  status?: CrdtOpStatus;
  /** ns of call and return (default: the next slot of a global clock). */
  at?: [number, number];
  process?: number;
  dot?: string;
}

function base(op: CrdtHistoryOp['op'], w: W, fields: Partial<CrdtHistoryOp>): CrdtHistoryOp {
  const [call, ret] = w.at ?? [clock += 10, clock += 10];
  const status = w.status ?? 'ok';
  const write = op !== 'counter-read' && op !== 'set-read';
  return {
    process: w.process ?? 0, op, namespace: 'ns', key: '', delta: null, member: null, event: null,
    identity: write ? { clientId: `c${w.process ?? 0}`, seq: nextSeq++ } : null, resend: false,
    call, return: ret, status,
    output: status === 'ok' ? { revision: 1, dots: write ? [w.dot ?? `region:${nextSeq}`] : [] } : null,
    error: status === 'ok' ? null : 'DEADLINE_EXCEEDED', ...fields,
  };
}

const add = (key: string, delta: number, w: W = {}): CrdtHistoryOp => base('counter-add', w, { namespace: 'ctr', key, delta });
const sadd = (key: string, m: string, w: W = {}): CrdtHistoryOp => base('set-add', w, { namespace: 'set', key, member: m });
const srem = (key: string, m: string, w: W = {}): CrdtHistoryOp => base('set-remove', w, { namespace: 'set', key, member: m });
const ev = (device: string, seq: number, w: W = {}): CrdtHistoryOp => base('event-append', w, { namespace: 'ev', event: event(device, seq) });
const event = (device: string, seq: number): CrdtEventBody => ({ device, seq, type: 't', payload: `{"n":${seq}}`, tsMs: 1000 + seq });

/** The same write again (same identity), as the workload re-sends it. */
function resend(of: CrdtHistoryOp, w: W = {}): CrdtHistoryOp {
  const status = w.status ?? 'ok';
  const [call, ret] = w.at ?? [clock += 10, clock += 10];
  return {
    ...of, resend: true, call, return: ret, status,
    output: status === 'ok' ? { revision: 2, dots: [w.dot ?? of.output?.dots[0] ?? 'region:x'] } : null, error: status === 'ok' ? null : 'UNAVAILABLE',
  };
}

function member(node: string, over: Partial<CrdtMemberFinal> = {}): CrdtMemberFinal {
  return { node, error: null, hashes: { ctr: { hash: 7, appliedIndex: 10, revision: 5 } }, counters: {}, sets: {}, events: [], completeness: {}, ...over };
}

function members(over: Partial<CrdtMemberFinal>): CrdtMemberFinal[] {
  return ['n1', 'n2', 'n3'].map((n) => member(n, over));
}

function counter(value: number, p = Math.max(0, value), n = Math.max(0, -value)): { value: number; p: number; n: number } {
  return { value, p, n };
}

function expectKinds(r: CrdtResult, kinds: Record<string, number>): void {
  assert.equal(r.verdict, 'violation', JSON.stringify(r.anomalies));
  assert.deepEqual(r.byKind, kinds, JSON.stringify(r.anomalies, null, 1));
}

describe('crdt history format', () => {
  it('round-trips every kind, and names the defect of a bad line', () => {
    const ops = [add('k', 3), sadd('s', 'a'), srem('s', 'a', { status: 'unknown' }), ev('d', 1, { status: 'fail' }),
      base('set-read', {}, { namespace: 'set', key: 's', output: { revision: 3, dots: [], members: ['a'] } })];
    const text = ops.map(formatCrdtOp).join('\n') + '\n';
    assert.deepEqual(parseCrdtHistory(text), ops);
    assert.match(crdtOpError({ ...add('k', 1), delta: 0 }) ?? '', /non-zero/);
    assert.match(crdtOpError({ ...add('k', 1), identity: null }) ?? '', /identity/);
    assert.match(crdtOpError({ ...add('k', 1), status: 'fail' }) ?? '', /"output" must be null/);
    assert.match(crdtOpError({ ...add('k', 1), extra: 1 }) ?? '', /unknown field "extra"/);
    assert.throws(() => parseCrdtHistory(`${formatCrdtOp(ops[0]!)}\n{"process":1}\n`), /line 2: missing field/);
  });
});

describe('subset sums', () => {
  it('decides which values some of the indeterminate deltas reach', () => {
    assert.equal(subsetSumReachable([3, 5, 9], 14), true);
    assert.equal(subsetSumReachable([3, 5, 9], 13), false);
    assert.equal(subsetSumReachable([3, 5, 9], 0), true);
    assert.equal(subsetSumReachable([4, 4], 12), false, 'each item at most once');
    assert.equal(reachableWithDeltas(10, [5, -3], 12), true);
    assert.equal(reachableWithDeltas(10, [5, -3], 7), true);
    assert.equal(reachableWithDeltas(10, [5, -3], 11), false);
    assert.equal(subsetSumReachable([1_000_000, 1], 1, 100), undefined);
  });

  it('agrees with brute force on random small cases (seed printed)', () => {
    const seed = Number(process.env.CRDT_CHECK_SEED ?? Date.now() % 1_000_000);
    const random = new SeededRandom(seed);
    for (let round = 0; round < 200; round++) {
      const deltas = Array.from({ length: random.int(0, 8) }, () => random.int(-9, 10) || 1);
      const value = random.int(-30, 31);
      let brute = false;
      for (let mask = 0; mask < 1 << deltas.length; mask++) {
        if (deltas.reduce((s, d, i) => s + ((mask >> i) & 1 ? d : 0), 0) === value) brute = true;
      }
      assert.equal(reachableWithDeltas(0, deltas, value), brute, `seed ${seed}: ${JSON.stringify(deltas)} -> ${value}`);
    }
  });
});

describe('crdt convergence checker', () => {
  it('passes a converged run with acknowledged, failed, indeterminate and re-sent writes', () => {
    const a1 = add('c1', 5);
    const a2 = add('c1', -2, { status: 'unknown' });
    const a3 = add('c1', 4, { status: 'fail' });
    const a4 = add('c2', 7, { status: 'unknown' });
    const s1 = sadd('s1', 'x');
    const s2 = sadd('s1', 'y');
    const r2 = srem('s1', 'y');
    const s3 = sadd('s1', 'z', { status: 'unknown' });
    const e1 = ev('d1', 1);
    const e2 = ev('d1', 2);
    const e3 = ev('d2', 1, { status: 'unknown' });
    const ops = [a1, resend(a1), a2, a3, a4, resend(a4), s1, s2, r2, s3, e1, e2, resend(e2), e3, resend(e3, { status: 'fail' })];
    const final = members({
      counters: { c1: counter(3, 5, 2), c2: counter(7) },
      sets: { s1: ['x', 'z'] },
      events: [event('d1', 1), event('d1', 2)],
      completeness: { d1: { contiguous: 2, highest: 2, held: 2, completeness: 1 } },
    });
    const r = checkCrdt(ops, final);
    assert.equal(r.verdict, 'ok', JSON.stringify(r.anomalies));
    assert.equal(r.counts.writes, 11);
    assert.equal(r.counts.ok, 7, 'a4 answered ok on its re-send');
    assert.equal(r.counts.unknown, 3, 'e3: indeterminate, then a re-send that certainly failed');
    assert.equal(r.counts.fail, 1);
    assert.equal(r.counts.resends, 4);
    assert.equal(r.counts.resendsAfterOk, 2);
    assert.equal(r.counts.completeDevices, 1);
    assert.equal(r.counts.completeness, 1);
    assert.match(summarizeCrdt(r).summary, /^converged: 11 writes \(7 ok, 1 failed, 3 indeterminate; 4 re-sends, 2 of acknowledged writes\)/);
    // The indeterminate ones may also not have applied.
    assert.equal(checkCrdt(ops, members({ ...final[0]!, counters: { c1: counter(5), c2: counter(7) }, sets: { s1: ['x'] } })).verdict, 'ok');
  });

  it('fails a counter with a re-sent add applied twice (the teeth)', () => {
    const a1 = add('c', 5);
    const ops = [a1, resend(a1, { dot: 'region:99' }), add('c', -1)];
    const r = checkCrdt(ops, members({ counters: { c: counter(9, 10, 1) } }));
    expectKinds(r, { 'counter-out-of-range': 1, 'resend-applied-again': 1 });
    assert.match(r.anomalies.find((x) => x.kind === 'counter-out-of-range')!.detail, /counter "c" = 9 on n1, outside \[4, 4\]/);
    const s = summarizeCrdt(r);
    assert.equal(s.verdict, 'violation');
    assert.match(s.details, /resend-applied-again: add 5 to "c" .*applied twice/);
  });

  it('fails a value in range that no subset reaches, and halves that do not add up', () => {
    const ops = [add('c', 10), add('c', 4, { status: 'unknown' }), add('c', 6, { status: 'unknown' })];
    expectKinds(checkCrdt(ops, members({ counters: { c: counter(15) } })), { 'counter-unreachable': 1 });
    assert.equal(checkCrdt(ops, members({ counters: { c: counter(16) } })).verdict, 'ok');
    // The value 10 is reachable (no indeterminate add applied), but p = 13 is not (10 + some of 4, 6): a +3 nobody sent.
    expectKinds(checkCrdt([...ops, add('c', -3, { status: 'unknown' })], members({ counters: { c: counter(10, 13, 3) } })), { 'counter-unreachable': 1 });
    // An acknowledged add missing from the sum.
    expectKinds(checkCrdt([add('c', 10), add('c', 2)], members({ counters: { c: counter(10) } })), { 'counter-out-of-range': 1 });
  });

  it('fails lost, removed-but-present and phantom set members; concurrent removes leave either outcome', () => {
    const x = sadd('s', 'x', { at: [10, 20] });
    const xr = srem('s', 'x', { at: [30, 40] }); // after x answered: x must be gone
    const y = sadd('s', 'y', { at: [10, 20] });
    const yr = srem('s', 'y', { at: [15, 25] }); // concurrent: either
    const z = sadd('s', 'z', { at: [50, 60] }); // acknowledged, never removed: must be present
    const w = sadd('s', 'w', { at: [50, 60], status: 'fail' });
    const ops = [x, xr, y, yr, z, w];
    assert.equal(checkCrdt(ops, members({ sets: { s: ['y', 'z'] } })).verdict, 'ok');
    assert.equal(checkCrdt(ops, members({ sets: { s: ['z'] } })).verdict, 'ok');
    expectKinds(checkCrdt(ops, members({ sets: { s: ['w', 'x', 'y', 'q'] } })), { 'set-phantom': 2, 'set-removed-present': 1, 'set-lost': 1 });
    // A later add after the remove brings it back; an indeterminate remove excuses a missing member.
    const x2 = sadd('s', 'x', { at: [70, 80] });
    assert.equal(checkCrdt([...ops, x2], members({ sets: { s: ['x', 'z'] } })).verdict, 'ok');
    expectKinds(checkCrdt([...ops, x2], members({ sets: { s: ['z'] } })), { 'set-lost': 1 });
    assert.equal(checkCrdt([...ops, x2, srem('s', 'x', { at: [1, 2], status: 'unknown' })], members({ sets: { s: ['z'] } })).verdict, 'ok');
  });

  it('fails lost, altered and phantom events and an incomplete device whose appends were all acknowledged', () => {
    const ops = [ev('a', 1), ev('a', 2), ev('a', 3), ev('b', 1), ev('b', 2, { status: 'fail' }), ev('c', 1, { status: 'unknown' })];
    const good = { events: [event('a', 1), event('a', 2), event('a', 3), event('b', 1)], completeness: { a: { contiguous: 3, highest: 3, held: 3, completeness: 1 }, b: { contiguous: 1, highest: 1, held: 1, completeness: 1 } } };
    assert.equal(checkCrdt(ops, members(good)).verdict, 'ok');
    const bad = {
      events: [event('a', 1), { ...event('a', 3), payload: 'other' }, event('b', 1), event('b', 2), event('z', 1)],
      completeness: { a: { contiguous: 1, highest: 3, held: 2, completeness: 2 / 3 } },
    };
    const r = checkCrdt(ops, members(bad));
    expectKinds(r, { 'event-lost': 1, 'event-wrong-content': 1, 'event-phantom': 2, incomplete: 1 });
    assert.match(summarizeCrdt(r).details, /event-lost: event a\/2 is missing on n1/);
  });

  it('fails members that differ, and is unknown (not ok) when a member could not be read', () => {
    const ops = [add('c', 1)];
    const m = members({ counters: { c: counter(1) } });
    const diverged = [m[0]!, { ...m[1]!, hashes: { ctr: { hash: 8, appliedIndex: 10, revision: 5 } } }, { ...m[2]!, counters: { c: counter(2) } }];
    const r = checkCrdt(ops, diverged);
    expectKinds(r, { diverged: 2 });
    assert.match(r.anomalies[0]!.detail, /hash of namespace "ctr": n1 holds 7, n2 holds 8/);
    assert.match(r.anomalies[1]!.detail, /counter "c": n1 holds \{"value":1,"p":1,"n":0\}, n3 holds \{"value":2/);
    const unread = [m[0]!, m[1]!, member('n3', { error: 'UNAVAILABLE: connection refused' })];
    const u = checkCrdt(ops, unread);
    assert.equal(u.verdict, 'unknown');
    assert.match(summarizeCrdt(u).summary, /^undecided: n3 could not be read: UNAVAILABLE/);
    assert.equal(checkCrdt([], members({})).verdict, 'unknown', 'no write: nothing was tested');
  });
});

describe('chaos:check --crdt', () => {
  it('checks a run\'s crdt files: 0 converged, 1 a violation, 2 a malformed file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'crdt-check-'));
    try {
      const a = add('c', 5);
      const history = join(dir, 'crdt-history.jsonl');
      await writeFile(history, [a, resend(a)].map(formatCrdtOp).join('\n') + '\n');
      const final = async (value: number): Promise<string> => {
        const path = join(dir, `final-${value}.json`);
        await writeFile(path, JSON.stringify({ members: members({ counters: { c: counter(value) } }), quiesced: true, quiesceMs: 1 }));
        return path;
      };
      let out = '';
      const run = async (args: string[]): Promise<number> => main(args, (s) => (out += s + '\n'), (s) => (out += s + '\n'));
      assert.equal(await run(['--crdt', history, await final(5)]), EXIT_OK, out);
      assert.match(out, /converged: 1 writes/);
      assert.equal(await run(['--crdt', history, await final(10)]), EXIT_VIOLATION, out);
      assert.match(out, /counter-out-of-range: counter "c" = 10/);
      await writeFile(join(dir, 'bad.jsonl'), '{"process":1}\n');
      assert.equal(await run(['--crdt', join(dir, 'bad.jsonl'), await final(5)]), EXIT_UNKNOWN);
      assert.match(out, /bad\.jsonl: line 1: missing field "op"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
