// The checkers of an edge chaos run (issue 15), over the workload's history (workload.ts),
// the final read of every replica (final.ts), the edges' logs and the region's metrics:
//
//  - edge-convergence: every replica's CrdtHash of every namespace equal, and the rendered
//    states (every key of every type, every event) equal;
//  - edge-no-lost-write: every acknowledged write is there, by type (the issue's rules),
//    but for writes lost by design with a replaced data dir (lostWithDataDir):
//    a counter holds every acknowledged add exactly once (and no more than the adds that
//    may have applied); a set holds every acknowledged add unless a remove of that member
//    may have applied after the add did (it returned after the add was called); an lww key holds an acknowledged write's value or a winner with a
//    newer HLC; an acknowledged mv write is a sibling or was seen by a later write's context;
//    nothing is there that nobody wrote;
//  - edge-events: every acknowledged event present exactly once, with its payload, on every
//    replica; every device 100 % complete with no gap;
//  - edge-protocol: no full replay, clock-skew refusals only while an edge's clock was past
//    the bound (and nothing of it taken meanwhile), no session error but link faults, no
//    error line from an edge.

import type { CheckerSummary } from '../checker/summary.js';
import type { Verdict } from '../checker/linearizability.js';
import type { EdgeLogEvent } from './fleet.js';
import type { EdgeFinalRead, ReplicaFinal } from './final.js';
import type { DeviceReplacement, SkewWindow } from './nemesis.js';
import type { EdgeOp } from './workload.js';

/** Problems listed in a checker's details at most (the count is always given). */
export const PROBLEMS_SHOWN_MAX = 40;
/** How far around a skew window a refusal line (timed when the harness read it) still counts as inside it. */
export const SKEW_WINDOW_SLACK_MS = 1_000;
/** After an edge's clock comes back, its records stamped ahead are refused until the region's clock passes them. */
export const SKEW_REFUSAL_GRACE_MS = 15_000;

/**
 * What ends a session and is a fault of the link or of the region's members, not of the
 * protocol: a reset or refused connection, a deadline on a throttled or dark link, a leader
 * change (not-leader, then the edge follows), and the incarnation path after a restore from
 * an old copy (the region holds more of the edge's origin than its data dir does).
 */
export const LINK_FAULT_PATTERN = /UNAVAILABLE|ECONNRESET|ECONNREFUSED|EPIPE|Connection dropped|Failed to connect|not-leader|DEADLINE_EXCEEDED|deadline|CANCELLED|the edge link went down|more than this replica holds of its own writes|GOAWAY|RST_STREAM/;

function summary(checker: string, problems: string[], okText: string, facts: string[]): CheckerSummary {
  const verdict: Verdict = problems.length === 0 ? 'ok' : 'violation';
  const head = verdict === 'ok' ? okText : `${problems.length} problem(s); first: ${problems[0]}`;
  const shown = problems.slice(0, PROBLEMS_SHOWN_MAX).map((p) => `  ${p}`);
  const more = problems.length > PROBLEMS_SHOWN_MAX ? [`  ... and ${problems.length - PROBLEMS_SHOWN_MAX} more`] : [];
  return { checker, verdict, summary: head, details: [`${checker}: ${head}`, ...facts.map((f) => `  ${f}`), ...shown, ...more].join('\n'), highlight: [] };
}

function unreadable(finals: EdgeFinalRead): string[] {
  return finals.replicas.filter((r) => r.error !== null).map((r) => `${r.replica} could not be read: ${r.error}`);
}

function rendered(r: ReplicaFinal): string {
  return JSON.stringify({ lww: r.lww, mv: r.mv, counters: r.counters, sets: r.sets, events: r.events });
}

export function checkConvergence(finals: EdgeFinalRead): CheckerSummary {
  const problems = unreadable(finals);
  const ok = finals.replicas.filter((r) => r.error === null);
  const ref = ok[0];
  if (ref !== undefined) {
    for (const r of ok.slice(1)) {
      for (const [ns, h] of Object.entries(ref.hashes)) {
        if (r.hashes[ns] !== h) problems.push(`CrdtHash of ${ns}: ${r.replica} ${r.hashes[ns]} but ${ref.replica} ${h}${vectorDifference(ns, ref, r)}`);
      }
      if (rendered(r) !== rendered(ref)) problems.push(`rendered state of ${r.replica} differs from ${ref.replica}'s: ${firstDifference(ref, r)}`);
    }
  }
  const facts = [`${finals.replicas.length} replicas; ${finals.quiesced ? `agreed after ${finals.quiesceMs} ms of quiet` : `did NOT agree within ${finals.quiesceMs} ms of quiet`}`];
  return summary('edge-convergence', problems, `${finals.replicas.length} replicas: equal hashes and equal rendered states`, facts);
}

/** The origins whose seq differs between the two replicas' vectors of `ns` ('' when unknown or equal). */
function vectorDifference(ns: string, a: ReplicaFinal, b: ReplicaFinal): string {
  const x = a.vectors?.[ns];
  const y = b.vectors?.[ns];
  if (x === undefined || y === undefined) return '';
  const diff = [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((o) => (x[o] ?? 0) !== (y[o] ?? 0))
    .map((o) => `${o} ${a.replica} ${x[o] ?? 0} vs ${b.replica} ${y[o] ?? 0}`);
  return diff.length === 0 ? ' (equal vectors)' : ` (vectors: ${diff.join(', ')})`;
}

function firstDifference(a: ReplicaFinal, b: ReplicaFinal): string {
  for (const part of ['lww', 'mv', 'counters', 'sets', 'events'] as const) {
    const x = a[part] as Record<string, unknown>;
    const y = b[part] as Record<string, unknown>;
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const sx = JSON.stringify(x[k]);
      const sy = JSON.stringify(y[k]);
      if (sx !== sy) return `${part} ${k}: ${a.replica} ${(sx ?? 'absent').slice(0, 200)} vs ${b.replica} ${(sy ?? 'absent').slice(0, 200)}`;
    }
  }
  return 'order only';
}

/**
 * Acknowledged writes that went with a replaced data dir: made on the edge before a wipe or a
 * restore from an old copy, at a dot (origin:seq) of the device past what the region held of
 * that origin once the edge was dead (nemesis.ts's DeviceReplacement: facts read then, not a
 * guess). Nothing of them can reach the region any more, except a page already proposed, so
 * the checkers take them as "may have applied" (unknown): neither required nor forbidden.
 */
export function lostWithDataDir(ops: readonly EdgeOp[], replacements: readonly DeviceReplacement[]): Set<EdgeOp> {
  const out = new Set<EdgeOp>();
  for (const o of ops) {
    if (o.status !== 'ok' || o.dot === null || o.replica === 'region') continue;
    const cut = o.dot.lastIndexOf(':');
    const origin = o.dot.slice(0, cut);
    const seq = Number(o.dot.slice(cut + 1));
    if (!origin.startsWith(`edge:${o.replica}:`)) continue;
    const lost = replacements.some((r) => r.edge === o.replica && o.returnMs <= r.atMs && seq > (r.regionHeld[o.ns]?.[origin] ?? 0));
    if (lost) out.add(o);
  }
  return out;
}

/** `ops` with the writes lost with a replaced data dir as unknown. */
function excusing(ops: readonly EdgeOp[], replacements: readonly DeviceReplacement[]): { ops: EdgeOp[]; excused: number } {
  const lost = lostWithDataDir(ops, replacements);
  return { ops: ops.map((o) => (lost.has(o) ? { ...o, status: 'unknown' as const } : o)), excused: lost.size };
}

/** A write that may have applied (acknowledged or unknown). */
function attempted(o: EdgeOp): boolean {
  return o.status !== 'fail';
}

function hlcAfter(a: { wallMs: number; logical: number }, b: { wallMs: number; logical: number }): boolean {
  return a.wallMs > b.wallMs || (a.wallMs === b.wallMs && a.logical >= b.logical);
}

/** The no-lost-write rules per type against one replica's final read (convergence covers the others). */
export function checkNoLostWrite(allOps: readonly EdgeOp[], finals: EdgeFinalRead, replacements: readonly DeviceReplacement[] = []): CheckerSummary {
  const { ops, excused } = excusing(allOps, replacements);
  const problems = unreadable(finals);
  const ref = finals.replicas.find((r) => r.error === null);
  if (ref === undefined) return summary('edge-no-lost-write', problems.length > 0 ? problems : ['no replica could be read'], '', []);
  const counts = { lww: 0, mv: 0, counter: 0, set: 0 };
  // counters
  for (const [key, value] of Object.entries(ref.counters)) {
    const adds = ops.filter((o) => o.kind === 'counter-add' && o.key === key);
    const acked = adds.filter((o) => o.status === 'ok').reduce((n, o) => n + o.delta!, 0);
    const maybe = adds.filter((o) => o.status === 'unknown').reduce((n, o) => n + o.delta!, 0);
    counts.counter += adds.filter((o) => o.status === 'ok').length;
    if (value < acked) problems.push(`counter ${key} is ${value} but its acknowledged adds sum to ${acked}: ${acked - value} lost`);
    if (value > acked + maybe) problems.push(`counter ${key} is ${value}, more than every add that may have applied (${acked} acknowledged + ${maybe} unknown): an add counted twice`);
  }
  // sets
  for (const [key, members] of Object.entries(ref.sets)) {
    const ofKey = ops.filter((o) => o.key === key && attempted(o));
    for (const m of members) {
      if (!ofKey.some((o) => o.kind === 'set-add' && o.member === m)) problems.push(`set ${key} holds ${m}, which nobody added`);
    }
    for (const add of ofKey.filter((o) => o.kind === 'set-add' && o.status === 'ok')) {
      counts.set++;
      if (members.includes(add.member!)) continue;
      // A remove takes the adds its replica holds when it applies, any time between its call and
      // its return (an unknown one: any time after its call): it may have taken this add if it
      // returned after the add was called.
      const removed = ofKey.some((o) => o.kind === 'set-remove' && o.member === add.member && (o.status === 'unknown' || o.returnMs > add.callMs));
      if (!removed) problems.push(`set ${key} lacks ${add.member}: added by ${add.replica}/${add.process} (called at ${add.callMs.toFixed(0)} ms, acknowledged at ${add.returnMs.toFixed(0)} ms, dot ${add.dot}) and no remove of it returned after that`);
    }
  }
  // lww
  for (const [key, final] of Object.entries(ref.lww)) {
    const puts = ops.filter((o) => o.kind === 'lww-put' && o.key === key);
    if (final !== null && !puts.some((o) => attempted(o) && o.value === final.value)) problems.push(`lww ${key} holds ${JSON.stringify(final.value)}, which nobody wrote`);
    for (const w of puts.filter((o) => o.status === 'ok')) {
      counts.lww++;
      if (final !== null && final.value === w.value) continue;
      if (final === null || w.hlc === null || !hlcAfter(final.hlc, w.hlc)) {
        problems.push(`lww ${key}: the acknowledged write ${JSON.stringify(w.value)} (hlc ${JSON.stringify(w.hlc)}, by ${w.replica}) is neither the value nor superseded by a newer one (final ${JSON.stringify(final)})`);
      }
    }
  }
  // mv
  for (const [key, final] of Object.entries(ref.mv)) {
    const puts = ops.filter((o) => o.kind === 'mv-put' && o.key === key);
    for (const v of final.values) if (!puts.some((o) => attempted(o) && o.value === v)) problems.push(`mv ${key} holds ${JSON.stringify(v)}, which nobody wrote`);
    for (const w of puts.filter((o) => o.status === 'ok')) {
      counts.mv++;
      if (w.dot !== null && final.dots.includes(w.dot)) continue;
      const seenBy = puts.find((o) => attempted(o) && o !== w && w.dot !== null && (o.seen ?? []).includes(w.dot));
      if (seenBy === undefined) problems.push(`mv ${key}: the acknowledged write ${JSON.stringify(w.value)} (dot ${w.dot}, by ${w.replica}) is not a sibling and no later write's context saw it`);
    }
  }
  const facts = [`acknowledged writes checked: ${counts.counter} counter adds, ${counts.set} set adds, ${counts.lww} lww puts, ${counts.mv} mv puts (against ${ref.replica})` +
    `${excused > 0 ? `; ${excused} acknowledged write(s) lost by design with ${replacements.length} replaced data dir(s) taken as unknown` : ''}`];
  return summary('edge-no-lost-write', problems, facts[0]!, facts);
}

export function checkEvents(allOps: readonly EdgeOp[], finals: EdgeFinalRead, replacements: readonly DeviceReplacement[] = []): CheckerSummary {
  const { ops } = excusing(allOps, replacements);
  // Per device, the seqs of events lost with a replaced data dir: a gap of only those is by design.
  const lostSeqs = new Map<string, Set<number>>();
  for (const o of lostWithDataDir(allOps, replacements)) {
    if (o.kind === 'event-append' && o.event !== null) (lostSeqs.get(o.event.device) ?? lostSeqs.set(o.event.device, new Set()).get(o.event.device)!).add(o.event.seq);
  }
  const problems = unreadable(finals);
  const acked = new Map<string, EdgeOp>();
  const tried = new Map<string, Set<string>>();
  for (const o of ops) {
    if (o.kind !== 'event-append' || o.event === null) continue;
    const id = `${o.event.device}/${o.event.seq}`;
    if (o.status === 'ok') acked.set(id, o);
    if (o.status !== 'fail') (tried.get(id) ?? tried.set(id, new Set()).get(id)!).add(o.event.payload);
  }
  let devices = 0;
  for (const r of finals.replicas.filter((x) => x.error === null)) {
    for (const [id, o] of acked) {
      const held = r.events[o.event!.device]?.[o.event!.seq];
      if (held === undefined || held.length === 0) problems.push(`${r.replica} lacks event ${id} (acknowledged by ${o.replica} at ${o.returnMs.toFixed(0)} ms)`);
      else if (held.length > 1) problems.push(`${r.replica} holds event ${id} ${held.length} times`);
      else if (held[0] !== o.event!.payload) problems.push(`${r.replica} holds event ${id} with payload ${held[0]} but ${o.event!.payload} was acknowledged`);
    }
    for (const [device, seqs] of Object.entries(r.events)) {
      for (const [seq, payloads] of Object.entries(seqs)) {
        const id = `${device}/${seq}`;
        if (!(tried.get(id)?.has(payloads[0]!) ?? false)) problems.push(`${r.replica} holds event ${id}, which nobody appended with that payload`);
      }
    }
    devices = Math.max(devices, Object.keys(r.completeness).length);
    for (const [device, c] of Object.entries(r.completeness)) {
      if (c.gaps === 0 && c.contiguous === c.highest) continue;
      const held = r.events[device] ?? {};
      const missing: number[] = [];
      for (let seq = 1; seq <= c.highest; seq++) if (held[seq] === undefined) missing.push(seq);
      const byDesign = lostSeqs.get(device);
      if (missing.length > 0 && byDesign !== undefined && missing.every((seq) => byDesign.has(seq))) continue;
      problems.push(`${r.replica}: device ${device} has ${c.gaps} gap(s) (contiguous ${c.contiguous}, highest ${c.highest}, held ${c.held}): completeness below 100 %`);
    }
  }
  const lostEvents = [...lostSeqs.values()].reduce((n, x) => n + x.size, 0);
  const ok = `${acked.size} acknowledged events present exactly once on all ${finals.replicas.length} replicas; ${devices} devices 100 % complete, no gap` +
    `${lostEvents > 0 ? ` but ${lostEvents} event(s) lost by design with a replaced data dir` : ''}`;
  return summary('edge-events', problems, ok, [`${acked.size} acknowledged events, ${devices} devices`]);
}

export interface ProtocolInputs {
  fullReplays: number;
  /** Per edge: its log events. */
  edgeEvents: ReadonlyArray<{ edge: string; events: readonly EdgeLogEvent[] }>;
  skewWindows: readonly SkewWindow[];
  /** Every clock offset an edge ran with, and when. */
  skews: ReadonlyArray<{ edge: string; offsetMs: number; startMs: number; endMs: number }>;
  boundMs: number;
}

export function checkProtocol(p: ProtocolInputs): CheckerSummary {
  const problems: string[] = [];
  if (p.fullReplays !== 0) problems.push(`regionstore_sync_full_replays_total is ${p.fullReplays} (must stay 0)`);
  let failures = 0;
  let skewRefusals = 0;
  for (const { edge, events } of p.edgeEvents) {
    const outside = p.skews.filter((s) => s.edge === edge && s.offsetMs > p.boundMs);
    for (const e of events) {
      if (e.kind === 'error') problems.push(`edge ${edge} logged an error at ${e.atMs.toFixed(0)} ms: ${e.text.slice(0, 300)}`);
      if (e.kind === 'down') {
        failures++;
        if (!LINK_FAULT_PATTERN.test(e.text)) problems.push(`edge ${edge}: a session ended by something other than a link fault at ${e.atMs.toFixed(0)} ms: ${e.text.slice(0, 300)}`);
      }
      if (e.kind === 'refused') {
        if (/clock-skew/.test(e.text)) {
          skewRefusals++;
          const explained = outside.some((s) => e.atMs >= s.startMs - 1_000 && e.atMs <= s.endMs + s.offsetMs + SKEW_REFUSAL_GRACE_MS);
          if (!explained) problems.push(`edge ${edge}: a clock-skew refusal at ${e.atMs.toFixed(0)} ms while its clock was inside the bound: ${e.text.slice(0, 300)}`);
        } else if (!/not-leader|unknown-namespace/.test(e.text)) {
          problems.push(`edge ${edge}: a page refused at ${e.atMs.toFixed(0)} ms: ${e.text.slice(0, 300)}`);
        }
      }
    }
  }
  for (const w of p.skewWindows) {
    // The vector also moves for a range whose records the edge's own later writes dominated (a
    // page of ranges only, nothing stamped in it: chaos seed 2, an mv write replaced by the
    // next one): that is no skewed record taken. A region that checks stamps refuses every page
    // holding one, so a window in which it refused the edge's pages for clock skew is one where
    // it took none; a region that took them refused none (the accept-skew tooth).
    const events = p.edgeEvents.find((x) => x.edge === w.edge)?.events ?? [];
    const refused = events.some((e) => e.kind === 'refused' && /clock-skew/.test(e.text) && /the region refused a page/.test(e.text) &&
      e.atMs >= w.startMs - SKEW_WINDOW_SLACK_MS && e.atMs <= w.endMs + SKEW_WINDOW_SLACK_MS);
    if (refused) continue;
    for (const [ns, before] of Object.entries(w.heldAtStart)) {
      const after = w.heldAtEnd[ns] ?? 0;
      if (after > before) problems.push(`the region took ${after - before} record(s) of ${ns} from edge ${w.edge} (${w.origin}) while its clock was +${w.offsetMs} ms, past the bound of ${p.boundMs} ms, refusing none of its pages`);
    }
  }
  const facts = [`full replays ${p.fullReplays}; sessions ended by a link fault ${failures}; clock-skew refusals ${skewRefusals} (windows with the clock past the bound: ${p.skewWindows.length})`];
  return summary('edge-protocol', problems, facts[0]!, facts);
}
