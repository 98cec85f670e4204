// The convergence checker of the crdt workload (issue 13). Pure: the workload's history
// (chaos/history/crdt-op.ts) and the final read of every member after the heal and a
// quiet phase (chaos/checker/crdt-state.ts) in, a verdict with counts and anomalies out.
//
// A write and its re-sends (same writer identity) are one logical write: applied at most
// once. It is acknowledged when any attempt answered ok, failed when every attempt
// certainly failed, indeterminate otherwise. It took effect, if at all, between its first
// call and the answer of its first ok attempt (an ok re-send may be the stored answer of
// the first attempt), or any time after its first call when indeterminate.
//
// What must hold:
//  - convergence: every readable member has the same CrdtHash per namespace and the same
//    counters, sets, events and completeness;
//  - counters: value = acknowledged adds + a subset of the indeterminate ones, each at most
//    once (and, as p and n, the same for the positive and negative halves apart);
//  - sets: a member with an acknowledged add that no remove can have followed (every
//    non-failed remove answered before the add was called) is present; a member none of
//    whose non-failed adds can have survived (each followed by an acknowledged remove
//    called after it answered), or never added, is absent;
//  - events: every acknowledged append present with its content, nothing present that was
//    not appended (or whose append certainly failed), completeness 1 for every device
//    whose appends were all acknowledged;
//  - re-sends: a re-send of an acknowledged write that answers with other dots than the
//    write applied twice.
// A member that could not be read, or a counter too large to decide, makes the verdict
// "unknown" unless something is already wrong.

import type { CrdtEventBody, CrdtHistoryOp, CrdtOpStatus } from '../history/crdt-op.js';
import { isCrdtWrite } from '../history/crdt-op.js';
import type { Verdict } from './linearizability.js';
import { compareMembers, type CrdtMemberFinal } from './crdt-state.js';
import { reachableWithDeltas, subsetSumReachable } from './subset-sum.js';

export const CRDT_ANOMALY_KINDS = [
  'diverged', 'counter-out-of-range', 'counter-unreachable', 'set-lost', 'set-removed-present', 'set-phantom',
  'event-lost', 'event-wrong-content', 'event-phantom', 'incomplete', 'resend-applied-again', 'resend-differs',
] as const;
export type CrdtAnomalyKind = (typeof CRDT_ANOMALY_KINDS)[number];

export interface CrdtAnomaly {
  kind: CrdtAnomalyKind;
  detail: string;
}

export interface CrdtCounts {
  /** Logical writes (a write and its re-sends are one). */
  writes: number;
  ok: number;
  fail: number;
  unknown: number;
  /** Re-sends with the identity of an earlier attempt; of those, re-sends of an acknowledged write. */
  resends: number;
  resendsAfterOk: number;
  reads: number;
  counters: number;
  setMembers: number;
  events: number;
  devices: number;
  /** Devices whose appends were all acknowledged (their completeness must be 1). */
  completeDevices: number;
  /** Over every device: events held / highest seqs (1 when nothing is missing). */
  completeness: number;
  members: number;
  membersRead: number;
}

export interface CrdtResult {
  verdict: Verdict;
  counts: CrdtCounts;
  /** The first CRDT_ANOMALIES_SHOWN_MAX anomalies; anomalyCount counts them all. */
  anomalies: CrdtAnomaly[];
  anomalyCount: number;
  byKind: Partial<Record<CrdtAnomalyKind, number>>;
  /** Why the verdict is "unknown" (unread members, undecided counters). */
  undecided: string[];
}

export const CRDT_ANOMALIES_SHOWN_MAX = 50;

export interface LogicalWrite {
  first: CrdtHistoryOp;
  attempts: CrdtHistoryOp[];
  status: CrdtOpStatus;
  /** When it may have taken effect: [start, end] (end Infinity when indeterminate). */
  start: number;
  end: number;
}

function identityKey(op: CrdtHistoryOp): string {
  return `${op.identity!.clientId}#${op.identity!.seq}`;
}

/** Groups every write with its re-sends, in the order of their first calls. */
export function logicalWrites(ops: readonly CrdtHistoryOp[]): LogicalWrite[] {
  const groups = new Map<string, CrdtHistoryOp[]>();
  for (const op of ops) {
    if (!isCrdtWrite(op)) continue;
    const k = identityKey(op);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [op]);
    else g.push(op);
  }
  const out: LogicalWrite[] = [];
  for (const attempts of groups.values()) {
    attempts.sort((a, b) => a.call - b.call);
    const first = attempts[0]!;
    const ok = attempts.find((a) => a.status === 'ok');
    const status: CrdtOpStatus = ok !== undefined ? 'ok' : attempts.every((a) => a.status === 'fail') ? 'fail' : 'unknown';
    const end = ok !== undefined ? ok.return : status === 'fail' ? Math.max(...attempts.map((a) => a.return)) : Infinity;
    out.push({ first, attempts, status, start: first.call, end });
  }
  return out.sort((a, b) => a.start - b.start);
}

class Anomalies {
  readonly shown: CrdtAnomaly[] = [];
  count = 0;
  readonly byKind: Partial<Record<CrdtAnomalyKind, number>> = {};

  add(kind: CrdtAnomalyKind, detail: string): void {
    this.count++;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    if (this.shown.length < CRDT_ANOMALIES_SHOWN_MAX) this.shown.push({ kind, detail });
  }
}

function describeWrite(w: LogicalWrite): string {
  const o = w.first;
  const what = o.op === 'counter-add' ? `add ${o.delta} to ${JSON.stringify(o.key)}`
    : o.op === 'event-append' ? `append ${o.event!.device}/${o.event!.seq}`
      : `${o.op === 'set-add' ? 'add' : 'remove'} ${JSON.stringify(o.member)} ${o.op === 'set-add' ? 'to' : 'from'} ${JSON.stringify(o.key)}`;
  return `${what} (process ${o.process}, ${o.identity!.clientId}/${o.identity!.seq}, ${w.status}, ${w.attempts.length} attempt(s))`;
}

function opBody(o: CrdtHistoryOp): string {
  return JSON.stringify([o.op, o.namespace, o.key, o.delta, o.member, o.event]);
}

/** Re-sends must not change the op, and must not be applied again. */
function checkResends(writes: readonly LogicalWrite[], a: Anomalies): void {
  for (const w of writes) {
    for (const r of w.attempts.slice(1)) {
      if (opBody(r) !== opBody(w.first)) a.add('resend-differs', `a re-send of ${describeWrite(w)} carries another op: ${opBody(r)} (a harness bug)`);
    }
    const answered = w.attempts.filter((x) => x.status === 'ok' && x.output !== null && x.output.dots.length > 0);
    const firstDots = answered[0]?.output?.dots.join(',');
    for (const r of answered.slice(1)) {
      const dots = r.output!.dots.join(',');
      if (dots !== firstDots) a.add('resend-applied-again', `${describeWrite(w)}: answered with dot ${firstDots}, its re-send with dot ${dots}: applied twice`);
    }
  }
}

function checkCounters(writes: readonly LogicalWrite[], final: CrdtMemberFinal, a: Anomalies, undecided: string[]): void {
  const byKey = new Map<string, LogicalWrite[]>();
  for (const w of writes) if (w.first.op === 'counter-add') byKey.set(w.first.key, [...(byKey.get(w.first.key) ?? []), w]);
  for (const key of [...new Set([...byKey.keys(), ...Object.keys(final.counters)])].sort()) {
    const ws = byKey.get(key) ?? [];
    const acked = ws.filter((w) => w.status === 'ok').map((w) => w.first.delta!);
    const open = ws.filter((w) => w.status === 'unknown').map((w) => w.first.delta!);
    const base = acked.reduce((x, y) => x + y, 0);
    const lo = base + open.filter((d) => d < 0).reduce((x, y) => x + y, 0);
    const hi = base + open.filter((d) => d > 0).reduce((x, y) => x + y, 0);
    const got = final.counters[key] ?? { value: 0, p: 0, n: 0 };
    const facts = `${acked.length} acknowledged adds summing to ${base}, ${open.length} indeterminate (${JSON.stringify(open.slice(0, 20))}${open.length > 20 ? ' ...' : ''})`;
    if (got.value < lo || got.value > hi) {
      a.add('counter-out-of-range', `counter ${JSON.stringify(key)} = ${got.value} on ${final.node}, outside [${lo}, ${hi}]: ${facts}`);
      continue;
    }
    const reach = reachableWithDeltas(base, open, got.value);
    if (reach === undefined) undecided.push(`counter ${JSON.stringify(key)}: too many indeterminate adds to decide whether ${got.value} is reachable`);
    else if (!reach) a.add('counter-unreachable', `counter ${JSON.stringify(key)} = ${got.value} on ${final.node} is no sum of the acknowledged adds and some indeterminate ones, each once: ${facts}`);
    // The halves apart: an add applied twice and a negative one lost can leave the value right.
    if (reach === true && got.p - got.n === got.value) {
      const half = (sign: 1 | -1, v: number, name: string): void => {
        const ackedHalf = acked.filter((d) => d * sign > 0).reduce((x, y) => x + Math.abs(y), 0);
        const r = subsetSumReachable(open.filter((d) => d * sign > 0).map((d) => Math.abs(d)), v - ackedHalf);
        if (r === false) a.add('counter-unreachable', `counter ${JSON.stringify(key)}: ${name} = ${v} on ${final.node} is no sum of the acknowledged ${name === 'p' ? 'positive' : 'negative'} adds (${ackedHalf}) and some indeterminate ones, each once: ${facts}`);
      };
      half(1, got.p, 'p');
      half(-1, got.n, 'n');
    }
  }
}

function keyOf(key: string, member: string): string {
  return JSON.stringify([key, member]);
}

/** Set members: see the module comment. */
function checkSets(writes: readonly LogicalWrite[], final: CrdtMemberFinal, a: Anomalies): void {
  const byMember = new Map<string, { adds: LogicalWrite[]; removes: LogicalWrite[] }>();
  for (const w of writes) {
    if (w.first.op !== 'set-add' && w.first.op !== 'set-remove') continue;
    if (w.status === 'fail') continue;
    const k = keyOf(w.first.key, w.first.member!);
    const e = byMember.get(k) ?? { adds: [], removes: [] };
    (w.first.op === 'set-add' ? e.adds : e.removes).push(w);
    byMember.set(k, e);
  }
  const present = new Set<string>();
  for (const [key, members] of Object.entries(final.sets)) for (const m of members) present.add(keyOf(key, m));
  for (const k of [...new Set([...byMember.keys(), ...present])].sort()) {
    const [key, member] = JSON.parse(k) as [string, string];
    const e = byMember.get(k) ?? { adds: [], removes: [] };
    const where = `${JSON.stringify(member)} in set ${JSON.stringify(key)} on ${final.node}`;
    if (present.has(k)) {
      if (e.adds.length === 0) a.add('set-phantom', `${where} was never added (or every add of it certainly failed)`);
      else if (e.adds.every((add) => e.removes.some((r) => r.status === 'ok' && r.start > add.end))) {
        a.add('set-removed-present', `${where} is present, yet each of its ${e.adds.length} add(s) was followed by an acknowledged remove called after it answered`);
      }
    } else {
      const survivor = e.adds.find((add) => add.status === 'ok' && e.removes.every((r) => r.end < add.start));
      if (survivor !== undefined) a.add('set-lost', `${where} is missing: ${describeWrite(survivor)} was acknowledged and no remove can have followed it`);
    }
  }
}

function sameEvent(x: CrdtEventBody, y: CrdtEventBody): boolean {
  return x.device === y.device && x.seq === y.seq && x.type === y.type && x.payload === y.payload && x.tsMs === y.tsMs;
}

function checkEvents(writes: readonly LogicalWrite[], final: CrdtMemberFinal, a: Anomalies): { devices: number; complete: number; completeness: number } {
  const appends = new Map<string, LogicalWrite>();
  const byDevice = new Map<string, LogicalWrite[]>();
  for (const w of writes) {
    if (w.first.op !== 'event-append') continue;
    const e = w.first.event!;
    appends.set(`${e.device}/${e.seq}`, w);
    byDevice.set(e.device, [...(byDevice.get(e.device) ?? []), w]);
  }
  const held = new Map<string, CrdtEventBody>();
  for (const e of final.events) {
    held.set(`${e.device}/${e.seq}`, e);
    const w = appends.get(`${e.device}/${e.seq}`);
    if (w === undefined || w.status === 'fail') a.add('event-phantom', `event ${e.device}/${e.seq} on ${final.node} ${w === undefined ? 'was never appended' : `comes from ${describeWrite(w)}, which certainly failed`}`);
    else if (!sameEvent(e, w.first.event!)) a.add('event-wrong-content', `event ${e.device}/${e.seq} on ${final.node} holds ${JSON.stringify(e)}, appended was ${JSON.stringify(w.first.event)}`);
  }
  for (const [k, w] of appends) if (w.status === 'ok' && !held.has(k)) a.add('event-lost', `event ${k} is missing on ${final.node}: ${describeWrite(w)}`);
  let complete = 0;
  for (const [device, ws] of byDevice) {
    if (!ws.every((w) => w.status === 'ok')) continue;
    complete++;
    const top = Math.max(...ws.map((w) => w.first.event!.seq));
    const c = final.completeness[device];
    if (c === undefined || c.completeness !== 1 || c.contiguous !== top || c.highest !== top) {
      a.add('incomplete', `device ${JSON.stringify(device)} on ${final.node}: every append 1..${top} was acknowledged, completeness says ${c === undefined ? 'nothing' : JSON.stringify(c)}`);
    }
  }
  const devices = Object.values(final.completeness);
  const highest = devices.reduce((n, d) => n + d.highest, 0);
  const completeness = highest === 0 ? 1 : devices.reduce((n, d) => n + d.held, 0) / highest;
  return { devices: byDevice.size, complete, completeness };
}

export function checkCrdt(ops: readonly CrdtHistoryOp[], members: readonly CrdtMemberFinal[]): CrdtResult {
  const a = new Anomalies();
  const undecided: string[] = [];
  const writes = logicalWrites(ops);
  for (const m of members) if (m.error !== null) undecided.push(`${m.node} could not be read: ${m.error}`);
  for (const d of compareMembers(members)) {
    a.add('diverged', `${d.what}: ${d.reference} holds ${d.referenceValue}, ${d.other} holds ${d.otherValue}`);
  }
  const ref = members.find((m) => m.error === null);
  let ev = { devices: 0, complete: 0, completeness: 1 };
  if (ref === undefined) undecided.push('no member could be read');
  else {
    checkCounters(writes, ref, a, undecided);
    checkSets(writes, ref, a);
    ev = checkEvents(writes, ref, a);
  }
  // Last: the state's own anomalies are listed first.
  checkResends(writes, a);
  if (writes.length === 0) undecided.push('no write was made');
  const count = (s: CrdtOpStatus): number => writes.filter((w) => w.status === s).length;
  const resends = ops.filter((o) => o.resend);
  const counts: CrdtCounts = {
    writes: writes.length, ok: count('ok'), fail: count('fail'), unknown: count('unknown'),
    resends: resends.length,
    resendsAfterOk: writes.reduce((n, w) => n + w.attempts.filter((x, i) => i > 0 && w.attempts.slice(0, i).some((y) => y.status === 'ok')).length, 0),
    reads: ops.filter((o) => !isCrdtWrite(o)).length,
    counters: Object.keys(ref?.counters ?? {}).length,
    setMembers: Object.values(ref?.sets ?? {}).reduce((n, s) => n + s.length, 0),
    events: ref?.events.length ?? 0,
    devices: ev.devices, completeDevices: ev.complete, completeness: ev.completeness,
    members: members.length, membersRead: members.filter((m) => m.error === null).length,
  };
  const verdict: Verdict = a.count > 0 ? 'violation' : undecided.length > 0 ? 'unknown' : 'ok';
  return { verdict, counts, anomalies: a.shown, anomalyCount: a.count, byKind: a.byKind, undecided };
}
