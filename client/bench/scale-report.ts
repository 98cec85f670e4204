// The results of `bench:scale` (what --json writes) and their Markdown rendering: a table
// of figures with the ratio rs/etcd, a table of leader changes and event-loop delay per
// step, and the goals of issue 20 marked met or unmet. Pure: bench-scale.ts measures.

import type { SystemName } from './compare.js';
import { IN_FLIGHT, STAGE_PARTS } from './scale-load.js';

/**
 * A stage smaller than this cannot be timed by tenths: with IN_FLIGHT puts sent at once, a
 * tenth completes in one burst. Its rate is marked and not judged (grows with --keys: the
 * default 1M has a first stage of 10k).
 */
export const STAGE_TIMED_MIN = STAGE_PARTS * IN_FLIGHT;

export interface MemberSample {
  name: string;
  /** Resident memory; undefined when the process could not be read. */
  rssBytes: number | undefined;
  /** Allocated bytes of its data directory. */
  diskBytes: number;
}

export interface StageResult {
  from: number;
  to: number;
  seconds: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  /** Puts per second of each tenth of the stage; the last one is the stage's figure. */
  partRates: number[];
  /** Every member after the stage. */
  members: MemberSample[];
}

/** One-off operations at the top size, each timed in seconds. */
export const TIMINGS = {
  range10k: 'a 10k-key range on the leader (s, median of 3)',
  count: 'count of all keys on the leader (`count_only`, s, median of 3)',
  hashKV: 'HashKV on a follower (s)',
  followerRestart: 'restart one follower until a serializable get answers (s)',
  fullRestart: 'full restart until a linearizable get answers (s)',
  memberAdd: 'new member (`member add` + start) until its raft index is the leader\'s (s)',
} as const;
export type TimingId = keyof typeof TIMINGS;

/** What was watched during one step of the run. */
export interface StepWatch {
  step: string;
  /** Leader changes seen by members that ran through the whole step; null when none did. */
  leaderChanges: number | null;
  /** Per regionstore member: the metric's p99 and max over the step, seconds. */
  eventLoop: { member: string; p99S: number; maxS: number }[];
  /** Share of all cores used by processes other than the benchmark's during the step (cpu-meter.ts). */
  othersCpu: number | undefined;
}

export interface SystemResult {
  name: SystemName;
  /** Every member before the first put. */
  idle: MemberSample[];
  stages: StageResult[];
  getsPerS: number | undefined;
  timings: Partial<Record<TimingId, number>>;
  steps: StepWatch[];
  /** `etcdctl check datascale --load=s` on the leader, last; undefined when not run (etcdctl missing). */
  datascale?: { passed: boolean; memoryMB: number | undefined; detail: string };
  /** Anything that went wrong but did not stop the run (failed calls, wrong counts). */
  problems: string[];
}

export interface ScaleReport {
  started: string;
  settings: string;
  keys: number;
  seed: number;
  systems: Partial<Record<SystemName, SystemResult>>;
}

/** The step in which an election is expected (every member restarts): not held against the leader-change goal. */
export const FULL_RESTART_STEP = 'full restart';

const MIB = 1024 * 1024;
const MB = 1e6;

export function formatCount(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 100 === 0) return `${n / 1e3}k`;
  return String(n);
}

function num(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function seconds(n: number | undefined): string {
  return n === undefined ? '-' : num(n, n < 10 ? 2 : 1);
}

export function ratio(rs: number | undefined, etcd: number | undefined): string {
  return rs === undefined || etcd === undefined || etcd === 0 ? '-' : (rs / etcd).toFixed(2);
}

/** min–max of the members (one figure when they agree at `digits`), and the max. */
function range(values: (number | undefined)[], unit: number, digits = 0): { text: string; max: number | undefined } {
  const v = values.filter((x): x is number => x !== undefined).map((x) => x / unit);
  if (v.length === 0) return { text: '-', max: undefined };
  const lo = num(Math.min(...v), digits);
  const hi = num(Math.max(...v), digits);
  return { text: lo === hi ? lo : `${lo}–${hi}`, max: Math.max(...v) };
}

const lastRate = (s: StageResult | undefined): number | undefined => (s === undefined ? undefined : s.partRates.at(-1));
const loadSeconds = (r: SystemResult | undefined): number | undefined =>
  r === undefined || r.stages.length === 0 ? undefined : r.stages.reduce((t, s) => t + s.seconds, 0);

/** Leader changes over every step but the full restart; undefined when nothing was watched. */
export function leaderChangesOutsideRestart(r: SystemResult | undefined): number | undefined {
  const counted = r?.steps.filter((s) => s.step !== FULL_RESTART_STEP && s.leaderChanges !== null);
  return counted === undefined || counted.length === 0 ? undefined : counted.reduce((t, s) => t + (s.leaderChanges ?? 0), 0);
}

/** The worst event-loop p99 and max of any member in any step (seconds). */
export function worstEventLoop(r: SystemResult | undefined): { p99S: number; maxS: number } | undefined {
  const all = r?.steps.flatMap((s) => s.eventLoop) ?? [];
  if (all.length === 0) return undefined;
  return { p99S: Math.max(...all.map((e) => e.p99S)), maxS: Math.max(...all.map((e) => e.maxS)) };
}

type Line = [label: string, etcd: string, rs: string, ratio: string];

function figureLines(report: ScaleReport): Line[] {
  const e = report.systems.etcd;
  const s = report.systems.regionstore;
  const lines: Line[] = [];
  const stages = (e ?? s)?.stages ?? [];
  stages.forEach((st, i) => {
    const a = lastRate(e?.stages[i]);
    const b = lastRate(s?.stages[i]);
    const mark = st.to - st.from < STAGE_TIMED_MIN ? ` (under ${STAGE_TIMED_MIN} puts: not timed reliably)` : '';
    lines.push([`puts/s, last 10 % of ${formatCount(st.from)}→${formatCount(st.to)}${mark}`, num(a), num(b), ratio(b, a)]);
  });
  const top = stages.at(-1);
  if (top !== undefined) {
    const tenths = (r: SystemResult | undefined): string => r?.stages.at(-1)?.partRates.map((x) => num(x)).join(', ') ?? '-';
    lines.push([`puts/s by tenth of ${formatCount(top.from)}→${formatCount(top.to)}`, tenths(e), tenths(s), '-']);
  }
  const le = loadSeconds(e);
  const ls = loadSeconds(s);
  lines.push([`time to load ${formatCount(report.keys)} keys (s)`, seconds(le), seconds(ls), ratio(ls, le)]);
  const memberRow = (label: string, pick: (r: SystemResult) => MemberSample[] | undefined, field: 'rssBytes' | 'diskBytes', unit: number): void => {
    const digits = field === 'diskBytes' ? 1 : 0;
    const a = range(e === undefined ? [] : (pick(e) ?? []).map((m) => m[field]), unit, digits);
    const b = range(s === undefined ? [] : (pick(s) ?? []).map((m) => m[field]), unit, digits);
    lines.push([label, a.text, b.text, ratio(b.max, a.max)]);
  };
  memberRow('RSS per member at 0 keys (MiB)', (r) => r.idle, 'rssBytes', MIB);
  stages.forEach((st, i) => memberRow(`RSS per member at ${formatCount(st.to)} keys (MiB)`, (r) => r.stages[i]?.members, 'rssBytes', MIB));
  stages.forEach((st, i) => memberRow(`disk per member at ${formatCount(st.to)} keys (MB)`, (r) => r.stages[i]?.members, 'diskBytes', MB));
  lines.push([`linearizable gets/s at ${formatCount(report.keys)} keys, 256 in flight`, num(e?.getsPerS), num(s?.getsPerS), ratio(s?.getsPerS, e?.getsPerS)]);
  for (const id of Object.keys(TIMINGS) as TimingId[]) {
    lines.push([TIMINGS[id], seconds(e?.timings[id]), seconds(s?.timings[id]), ratio(s?.timings[id], e?.timings[id])]);
  }
  const ds = (r: SystemResult | undefined): string =>
    r?.datascale === undefined ? '-' : r.datascale.passed ? `PASS, ${num(r.datascale.memoryMB, 2)} MB` : 'FAIL';
  lines.push(['`etcdctl check datascale --load=s` on the leader (memory it reports)', ds(e), ds(s), ratio(s?.datascale?.memoryMB, e?.datascale?.memoryMB)]);
  const ce = leaderChangesOutsideRestart(e);
  const cs = leaderChangesOutsideRestart(s);
  lines.push(['leader changes, whole run (full restart not counted)', num(ce), num(cs), '-']);
  const w = worstEventLoop(s);
  lines.push(['event-loop delay, worst member and step: p99 / max (ms)', 'n/a (Go)', w === undefined ? '-' : `${num(w.p99S * 1000, 1)} / ${num(w.maxS * 1000)}`, '-']);
  return lines;
}

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n') + '\n';
}

function changesText(w: StepWatch | undefined): string {
  return w === undefined ? '-' : w.leaderChanges === null ? 'n/a' : String(w.leaderChanges);
}

function cpuText(w: StepWatch | undefined): string {
  return w?.othersCpu === undefined ? '-' : `${Math.round(w.othersCpu * 100)} %`;
}

function stepLines(report: ScaleReport): string[][] {
  const e = report.systems.etcd;
  const s = report.systems.regionstore;
  const names = [...new Set([...(e?.steps ?? []), ...(s?.steps ?? [])].map((x) => x.step))];
  return names.map((name) => {
    const a = e?.steps.find((x) => x.step === name);
    const b = s?.steps.find((x) => x.step === name);
    const loop = b === undefined || b.eventLoop.length === 0 ? '-'
      : b.eventLoop.map((m) => `${m.member} ${num(m.p99S * 1000, 1)}/${num(m.maxS * 1000)}`).join(', ');
    return [name, changesText(a), changesText(b), loop, `${cpuText(a)}, ${cpuText(b)}`];
  });
}

export type GoalStatus = 'met' | 'unmet' | 'not measured';

export interface Goal {
  id: string;
  goal: string;
  measured: string;
  status: GoalStatus;
}

/** Event-loop bounds of the issue's goals. */
export const EVENT_LOOP_P99_GOAL_S = 0.02;
export const EVENT_LOOP_MAX_GOAL_S = 0.2;
/** Put rate at the top size as a share of the rate at the smallest stage. */
export const PUT_RATE_KEPT_GOAL = 0.9;
/** count, HashKV and member catch-up may take this many times etcd's. */
export const SLOWER_THAN_ETCD_GOAL = 2;

function goal(id: string, text: string, a: number | undefined, b: number | undefined, holds: (a: number, b: number) => boolean, measured: string): Goal {
  return { id, goal: text, measured, status: a === undefined || b === undefined ? 'not measured' : holds(a, b) ? 'met' : 'unmet' };
}

/** The largest member's RSS at the top size, MiB. */
function topRss(r: SystemResult | undefined): number | undefined {
  return range((r?.stages.at(-1)?.members ?? []).map((m) => m.rssBytes), MIB).max;
}

function timing(r: SystemResult | undefined, id: TimingId): number | undefined {
  return r?.timings[id];
}

function datascaleGoal(s: SystemResult | undefined, e: SystemResult | undefined): Goal {
  const a = s?.datascale;
  const b = e?.datascale;
  const text = '`etcdctl check datascale --load=s` passes and reports no more memory than against etcd';
  if (a === undefined || b === undefined) return { id: 'datascale', goal: text, measured: 'etcdctl did not run', status: 'not measured' };
  const measured = a.passed ? `${num(a.memoryMB, 2)} vs ${b.passed ? `${num(b.memoryMB, 2)} MB` : 'etcd: FAIL'}` : a.detail;
  const met = a.passed && (!b.passed || (a.memoryMB ?? Infinity) <= (b.memoryMB ?? 0));
  return { id: 'datascale', goal: text, measured, status: met ? 'met' : 'unmet' };
}

/** The goals of issue 20, each with the figures it was judged on. */
export function evaluateGoals(report: ScaleReport): Goal[] {
  const e = report.systems.etcd;
  const s = report.systems.regionstore;
  const firstStage = s?.stages[0];
  const first = firstStage === undefined || firstStage.to - firstStage.from < STAGE_TIMED_MIN ? undefined : lastRate(firstStage);
  const top = lastRate(s?.stages.at(-1));
  const etcdTop = lastRate(e?.stages.at(-1));
  const vs = (id: TimingId): string => `${seconds(timing(s, id))} s vs ${seconds(timing(e, id))} s`;
  const changes = leaderChangesOutsideRestart(s);
  const w = worstEventLoop(s);
  return [
    goal('putRateKept', `put rate at the top size ≥ ${PUT_RATE_KEPT_GOAL * 100} % of the rate at the first stage`, top, first, (a, b) => a >= PUT_RATE_KEPT_GOAL * b,
      `${num(top)} vs ${num(first)} puts/s (${ratio(top, first)})`),
    goal('putRateVsEtcd', 'put rate at the top size ≥ etcd\'s', top, etcdTop, (a, b) => a >= b, `${num(top)} vs ${num(etcdTop)} puts/s`),
    goal('rss', 'RSS per member at the top size ≤ etcd\'s (largest member)', topRss(s), topRss(e), (a, b) => a <= b, `${num(topRss(s))} vs ${num(topRss(e))} MiB`),
    goal('fullRestart', 'full restart to serving ≤ etcd\'s time', timing(s, 'fullRestart'), timing(e, 'fullRestart'), (a, b) => a <= b, vs('fullRestart')),
    goal('followerRestart', 'follower restart to serving ≤ etcd\'s time', timing(s, 'followerRestart'), timing(e, 'followerRestart'), (a, b) => a <= b, vs('followerRestart')),
    goal('gets', 'linearizable gets at the top size ≥ etcd\'s', s?.getsPerS, e?.getsPerS, (a, b) => a >= b, `${num(s?.getsPerS)} vs ${num(e?.getsPerS)} gets/s`),
    goal('count', `count of all keys ≤ ${SLOWER_THAN_ETCD_GOAL}× etcd's time`, timing(s, 'count'), timing(e, 'count'), (a, b) => a <= SLOWER_THAN_ETCD_GOAL * b, vs('count')),
    goal('hashKV', `HashKV ≤ ${SLOWER_THAN_ETCD_GOAL}× etcd's time`, timing(s, 'hashKV'), timing(e, 'hashKV'), (a, b) => a <= SLOWER_THAN_ETCD_GOAL * b, vs('hashKV')),
    goal('memberAdd', `new member caught up ≤ ${SLOWER_THAN_ETCD_GOAL}× etcd's time`, timing(s, 'memberAdd'), timing(e, 'memberAdd'), (a, b) => a <= SLOWER_THAN_ETCD_GOAL * b, vs('memberAdd')),
    goal('leaderChanges', '0 leader changes during the whole benchmark (full restart not counted)', changes, 0, (a) => a === 0, `${num(changes)}`),
    goal('eventLoopP99', `event-loop delay p99 ≤ ${EVENT_LOOP_P99_GOAL_S * 1000} ms on every member`, w?.p99S, EVENT_LOOP_P99_GOAL_S, (a, b) => a <= b,
      `worst ${w === undefined ? '-' : num(w.p99S * 1000, 1)} ms`),
    goal('eventLoopMax', `event-loop delay max ≤ ${EVENT_LOOP_MAX_GOAL_S * 1000} ms on every member`, w?.maxS, EVENT_LOOP_MAX_GOAL_S, (a, b) => a <= b,
      `worst ${w === undefined ? '-' : num(w.maxS * 1000)} ms`),
    datascaleGoal(s, e),
  ];
}

/** The whole report as Markdown. */
export function renderScaleReport(report: ScaleReport): string {
  const problems = (['etcd', 'regionstore'] as const).flatMap((n) => (report.systems[n]?.problems ?? []).map((p) => `- ${n}: ${p}`));
  return [
    `bench:scale, ${report.started}; ${report.settings}\n`,
    table(['', 'etcd', 'regionstore', 'rs/etcd'], figureLines(report)),
    'Per step: leader changes seen by members that ran through the step; regionstore event-loop delay p99/max (ms) per member ' +
      '(`regionstore_event_loop_delay_seconds` over the step); other CPU: share of both cores used by processes other than the ' +
      'cluster under test, this benchmark and kernel threads (near 0 %: measured in peace).\n',
    table(['step', 'etcd leader changes', 'rs leader changes', 'rs event-loop delay p99/max ms', 'other CPU (etcd, rs)'], stepLines(report)),
    'Goals (issue 20):\n',
    table(['goal', 'measured', 'status'], evaluateGoals(report).map((g) => [g.goal, g.measured, g.status === 'met' ? 'met' : g.status === 'unmet' ? '**unmet**' : g.status])),
    problems.length === 0 ? 'Problems: none (0 failed calls, every count as loaded).\n' : `Problems:\n${problems.join('\n')}\n`,
  ].join('\n');
}
