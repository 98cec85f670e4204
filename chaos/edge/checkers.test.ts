// The edge checkers, the KPI arithmetic and the fault plan on small made-up histories: each
// rule of issue 15 flags what breaks it and passes what keeps it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkConvergence, checkEvents, checkNoLostWrite, checkProtocol } from './checkers.js';
import type { EdgeFinalRead, ReplicaFinal } from './final.js';
import { computeKpi } from './kpi.js';
import { EDGE_FAULT_KINDS, parseLinkSchedule, planEdgeFaults } from './nemesis.js';
import type { EdgeOp } from './workload.js';

function op(o: Partial<EdgeOp> & Pick<EdgeOp, 'kind'>): EdgeOp {
  return {
    replica: 'e1', process: 'p0', ns: '', key: '', value: null, delta: null, member: null, seen: null, event: null,
    callMs: 0, returnMs: 1, status: 'ok', dot: null, hlc: null, error: null, resend: false, ...o,
  };
}

function replica(name: string, f: Partial<ReplicaFinal> = {}): ReplicaFinal {
  return { replica: name, error: null, hashes: { a: 1 }, lww: {}, mv: {}, counters: {}, sets: {}, events: {}, completeness: {}, ...f };
}

function finals(...replicas: ReplicaFinal[]): EdgeFinalRead {
  return { replicas, quiesced: true, quiesceMs: 1 };
}

/** One replica whose lww key k holds `value` at `wallMs`. */
function final(value: string, wallMs: number): EdgeFinalRead {
  return finals(replica('n1', { lww: { k: { value, hlc: { wallMs, logical: 0 }, writer: 'x:1' } } }));
}

/** An acknowledged event of device d, generated 1 ms before its ack (run clock 0 = epoch 1000). */
function ev(seq: number, returnMs: number): EdgeOp {
  return op({ kind: 'event-append', returnMs, event: { device: 'd', seq, payload: 'xx', tsMs: 1_000 + returnMs - 1 } });
}

describe('edge checkers', () => {
  it('convergence: equal hashes and states pass; a hash or a state apart fails', () => {
    assert.equal(checkConvergence(finals(replica('n1'), replica('edge e1'))).verdict, 'ok');
    assert.equal(checkConvergence(finals(replica('n1'), replica('edge e1', { hashes: { a: 2 } }))).verdict, 'violation');
    const r = checkConvergence(finals(replica('n1', { sets: { s: ['m1'] } }), replica('edge e1', { sets: { s: [] } })));
    assert.match(r.details, /sets s: n1 \["m1"\] vs edge e1 \[\]/);
  });

  it('counters: every acknowledged add once; an add counted twice or lost fails', () => {
    const ops = [op({ kind: 'counter-add', key: 'c', delta: 3 }), op({ kind: 'counter-add', key: 'c', delta: 2, status: 'unknown' })];
    assert.equal(checkNoLostWrite(ops, finals(replica('n1', { counters: { c: 3 } }))).verdict, 'ok');
    assert.equal(checkNoLostWrite(ops, finals(replica('n1', { counters: { c: 5 } }))).verdict, 'ok');
    assert.match(checkNoLostWrite(ops, finals(replica('n1', { counters: { c: 2 } }))).summary, /1 lost/);
    assert.match(checkNoLostWrite(ops, finals(replica('n1', { counters: { c: 6 } }))).summary, /counted twice/);
  });

  it('sets: an acknowledged add stays unless removed after it; nothing nobody added', () => {
    const add = op({ kind: 'set-add', key: 's', member: 'm1', callMs: 10, returnMs: 20 });
    assert.equal(checkNoLostWrite([add], finals(replica('n1', { sets: { s: ['m1'] } }))).verdict, 'ok');
    assert.match(checkNoLostWrite([add], finals(replica('n1', { sets: { s: [] } }))).summary, /lacks m1/);
    const later = op({ kind: 'set-remove', key: 's', member: 'm1', callMs: 3, returnMs: 12 });
    assert.equal(checkNoLostWrite([add, later], finals(replica('n1', { sets: { s: [] } }))).verdict, 'ok');
    const earlier = op({ kind: 'set-remove', key: 's', member: 'm1', callMs: 5, returnMs: 6 });
    assert.equal(checkNoLostWrite([add, earlier], finals(replica('n1', { sets: { s: [] } }))).verdict, 'violation');
    assert.match(checkNoLostWrite([add], finals(replica('n1', { sets: { s: ['m1', 'm9'] } }))).summary, /m9, which nobody added/);
  });

  it('lww: the value, or a winner with a newer HLC', () => {
    const w = op({ kind: 'lww-put', key: 'k', value: 'a', hlc: { wallMs: 100, logical: 0 } });
    const b = op({ kind: 'lww-put', key: 'k', value: 'b', hlc: { wallMs: 200, logical: 0 } });
    assert.equal(checkNoLostWrite([w, b], final('b', 200)).verdict, 'ok');
    assert.match(checkNoLostWrite([w, b], final('a', 100)).summary, /"b".*neither the value nor superseded/);
    assert.match(checkNoLostWrite([w], final('z', 300)).summary, /"z", which nobody wrote/);
  });

  it('mv: a sibling, or seen by a later write\'s context', () => {
    const w = op({ kind: 'mv-put', key: 'k', value: 'a', dot: 'e1:1' });
    const v = op({ kind: 'mv-put', key: 'k', value: 'b', dot: 'e2:1', seen: ['e1:1'] });
    assert.equal(checkNoLostWrite([w, v], finals(replica('n1', { mv: { k: { values: ['b'], dots: ['e2:1'] } } }))).verdict, 'ok');
    assert.match(checkNoLostWrite([w], finals(replica('n1', { mv: { k: { values: [], dots: [] } } }))).summary, /not a sibling/);
  });

  it('events: exactly once with the payload, on every replica, no gap', () => {
    const e = op({ kind: 'event-append', event: { device: 'd', seq: 1, payload: 'p', tsMs: 0 } });
    const good = replica('n1', { events: { d: { 1: ['p'] } }, completeness: { d: { contiguous: 1, highest: 1, held: 1, gaps: 0 } } });
    assert.equal(checkEvents([e], finals(good, { ...good, replica: 'edge e1' })).verdict, 'ok');
    assert.match(checkEvents([e], finals(good, replica('edge e1'))).summary, /edge e1 lacks event d\/1/);
    assert.match(checkEvents([e], finals(replica('n1', { events: { d: { 1: ['p', 'p'] } } }))).summary, /2 times/);
    const gap = replica('n1', { events: { d: { 1: ['p'] } }, completeness: { d: { contiguous: 1, highest: 3, held: 2, gaps: 1 } } });
    assert.match(checkEvents([e], finals(gap)).details, /device d has 1 gap/);
  });

  it('a replaced data dir: exactly the writes acknowledged before it past what the region held then are excused', () => {
    // e1 wrote counter adds at seqs 1..3 and events 1..2 of device d (dots 1..2 of ec-events) before its wipe at
    // 100 ms; the region held seq 1 of the counter origin and event dot 1 then. After the wipe, a new incarnation.
    const adds = [1, 2, 3].map((seq) => op({ kind: 'counter-add', ns: 'c', key: 'k', delta: 1, returnMs: 10 * seq, dot: `edge:e1:5:${seq}` }));
    const later = op({ kind: 'counter-add', ns: 'c', key: 'k', delta: 1, returnMs: 200, dot: 'edge:e1:9:1' });
    const wipe = { edge: 'e1', kind: 'wipe' as const, atMs: 100, regionHeld: { c: { 'edge:e1:5': 1 }, ev: { 'edge:e1:5': 1 } } };
    const ops = [...adds, later];
    assert.match(checkNoLostWrite(ops, finals(replica('n1', { counters: { k: 2 } }))).summary, /2 lost/, 'without the fact the loss is a loss');
    const r = checkNoLostWrite(ops, finals(replica('n1', { counters: { k: 2 } })), [wipe]);
    assert.equal(r.verdict, 'ok', r.details);
    assert.match(r.summary, /2 acknowledged write\(s\) lost by design/);
    assert.equal(checkNoLostWrite(ops, finals(replica('n1', { counters: { k: 1 } })), [wipe]).verdict, 'violation', 'the add after the wipe, or the one the region held, is not excused');
    assert.equal(checkNoLostWrite(ops, finals(replica('n1', { counters: { k: 4 } })), [wipe]).verdict, 'ok', 'an excused add that arrived anyway is no double count');
    // Events: the lost one is excused, and so is the gap it leaves; a gap of another seq is not.
    const e = (seq: number, dot: number, returnMs: number): EdgeOp => op({ kind: 'event-append', ns: 'ev', returnMs, dot: `edge:e1:5:${dot}`, event: { device: 'd', seq, payload: 'p', tsMs: 0 } });
    const evs = [e(1, 1, 10), e(2, 2, 20), op({ kind: 'event-append', ns: 'ev', returnMs: 200, dot: 'edge:e1:9:1', event: { device: 'd', seq: 3, payload: 'p', tsMs: 0 } })];
    const held = replica('n1', { events: { d: { 1: ['p'], 3: ['p'] } }, completeness: { d: { contiguous: 1, highest: 3, held: 2, gaps: 1 } } });
    assert.equal(checkEvents(evs, finals(held)).verdict, 'violation');
    const ok = checkEvents(evs, finals(held), [wipe]);
    assert.equal(ok.verdict, 'ok', ok.details);
    const lacks1 = replica('n1', { events: { d: { 2: ['p'], 3: ['p'] } }, completeness: { d: { contiguous: 0, highest: 3, held: 2, gaps: 1 } } });
    assert.equal(checkEvents(evs, finals(lacks1), [wipe]).verdict, 'violation', 'the event the region held at the wipe must be there');
  });

  it('protocol: full replays, skew refusals outside a window, records taken past the bound, other session errors', () => {
    const base = { fullReplays: 0, edgeEvents: [], skewWindows: [], skews: [], boundMs: 3_000 };
    assert.equal(checkProtocol(base).verdict, 'ok');
    assert.equal(checkProtocol({ ...base, fullReplays: 1 }).verdict, 'violation');
    const refusal = { atMs: 5_000, kind: 'refused' as const, text: 'the region refused a page: clock-skew' };
    assert.equal(checkProtocol({ ...base, edgeEvents: [{ edge: 'e1', events: [refusal] }] }).verdict, 'violation');
    const skews = [{ edge: 'e1', offsetMs: 7_000, startMs: 4_000, endMs: 9_000 }];
    assert.equal(checkProtocol({ ...base, skews, edgeEvents: [{ edge: 'e1', events: [refusal] }] }).verdict, 'ok');
    const window = { edge: 'e1', origin: 'edge:e1:1', offsetMs: 7_000, startMs: 4_000, endMs: 9_000, heldAtStart: { ns: 3 }, heldAtEnd: { ns: 4 } };
    assert.match(checkProtocol({ ...base, skewWindows: [window] }).summary, /took 1 record\(s\) of ns from edge e1/);
    // The vector moved by a range whose record was dominated, while every skewed record was refused: no record taken.
    const refusedSkew = { atMs: 5_000, kind: 'refused' as const, text: '{"code":"clock-skew","msg":"the region refused a page"}' };
    assert.equal(checkProtocol({ ...base, skews: [{ edge: 'e1', offsetMs: 7_000, startMs: 4_000, endMs: 9_000 }], skewWindows: [window], edgeEvents: [{ edge: 'e1', events: [refusedSkew] }] }).verdict, 'ok');
    const down = (text: string) => ({ ...base, edgeEvents: [{ edge: 'e1', events: [{ atMs: 1, kind: 'down' as const, text }] }] });
    assert.equal(checkProtocol(down('14 UNAVAILABLE: read ECONNRESET')).verdict, 'ok');
    assert.equal(checkProtocol(down('peer ended the session: malformed: bad page')).verdict, 'violation');
  });
});

describe('edge KPIs and plan', () => {
  it('completeness within a bound, latency from the device ack, sessions retried to success', () => {
    const k = computeKpi({
      ops: [ev(1, 0), ev(2, 100)], arrivals: new Map([['d/1', 1_010], ['d/2', 20_000]]), epochAtZeroMs: 1_000,
      heldAtEnd: new Set(['d/1', 'd/2']),
      edgeEvents: [{ edge: 'e1', events: [{ atMs: 0, kind: 'open', text: '' }, { atMs: 1, kind: 'down', text: '' }, { atMs: 2, kind: 'down', text: '' }, { atMs: 3, kind: 'open', text: '' }] }],
      wireBytes: 400, wireUpBytes: 100, linkDownMs: 5, linkTotalMs: 20, seed: 1, schedule: 'up:1s,down:1s', edges: 1, ratePerEdge: 1, durationS: 1,
    });
    assert.deepEqual([k.completeness.within1s, k.completeness.within60s, k.completeness.atEnd], [0.5, 1, 1]);
    assert.deepEqual([k.latencyMs.p50, k.latencyMs.max], [10, 18_900]);
    assert.deepEqual(k.syncFailures, { sessionsOpened: 2, endedByError: 1, retriedToSuccess: 1, failedReconnectAttempts: 1 });
    assert.deepEqual([k.wire.bytesPerEvent, k.wire.payloadBytesPerEvent, k.linkDownShare], [200, 2, 0.25]);
  });

  it('a seeded plan: the same seed the same faults, every kind dealt before one repeats', () => {
    const a = planEdgeFaults(7, EDGE_FAULT_KINDS, 3, 200_000);
    assert.deepEqual(planEdgeFaults(7, EDGE_FAULT_KINDS, 3, 200_000), a);
    assert.equal(new Set(a.slice(0, EDGE_FAULT_KINDS.length).map((f) => f.kind)).size, EDGE_FAULT_KINDS.length);
    assert.deepEqual(parseLinkSchedule('up:10s,down:5s'), { upMs: 10_000, downMs: 5_000 });
    assert.throws(() => parseLinkSchedule('up:10s,down:x'), /--link-schedule: expected/);
  });
});
