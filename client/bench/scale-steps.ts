// The steps of `bench:scale` against one system (etcd or regionstore) behind the small
// ScaleSystem interface that cluster/bench-scale.ts implements with real processes: load
// in stages, then at the top size gets, a 10k-key range, a count, HashKV on a follower,
// a follower restart, a full restart and a member add. Around every step each member's
// /metrics is scraped: the leader-change counter before and after, and (regionstore) the
// event-loop delay gauges, whose window the first scrape opens and the second closes.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../index.js';
import type { SystemName } from './compare.js';
import { CpuMeter } from './cpu-meter.js';
import { RawGrpcPool } from './raw-grpc.js';
import { runDatascale } from './scale-datascale.js';
import { HASHKV_PATH, RANGE_PATH, hashKVFrame, prefixEnd, rangeCount, rangeFrame } from './scale-frames.js';
import { KEY_BYTES, KEY_PREFIX, getRandomKeys, loadStage, partRates, scaleKey, valueSource } from './scale-load.js';
import { diskBytes, rssBytes, scrape } from './scale-probes.js';
import { FULL_RESTART_STEP, type MemberSample, type StepWatch, type SystemResult, type TimingId } from './scale-report.js';

/** Keys the range step reads. */
export const RANGE_KEYS = 10_000;
/** Repeats of the range and count steps (the median is reported). */
export const REPEATS = 3;
/** Deadline of one heavy call (count, HashKV) and of one wait (restart, catch-up). */
export const STEP_TIMEOUT_MS = 10 * 60_000;
/** How long a step waits for a leader (an election in progress). */
export const LEADER_WAIT_MS = 60_000;
/** How often a wait asks again. */
export const POLL_MS = 50;
/** Deadline of one poll call: short, so a member that is not up yet is asked again soon. */
const POLL_CALL_TIMEOUT_MS = 2_000;

export interface ScaleMember {
  name: string;
  /** host:port of its client (gRPC) port. */
  endpoint: string;
  /** Its Prometheus page (etcd: the client port; regionstore: --metrics-addr). */
  metricsUrl: string;
  pid: number;
  dataDir: string;
}

export interface ScaleSystem {
  name: SystemName;
  /** The running members. */
  members(): ScaleMember[];
  /** The counter of leader changes each member exposes. */
  leaderChangesMetric: string;
  /** The event-loop delay gauge (regionstore only). */
  eventLoopMetric?: string;
  /** Stops one member and waits for its exit. */
  stopMember(name: string): Promise<void>;
  /** Starts a stopped member again (same flags and data); may resolve before it serves. */
  startMember(name: string): Promise<void>;
  /**
   * `member add` through the cluster, then starts the new member; resolves once it is
   * spawned, with when the add was accepted (performance.now(): the catch-up clock starts there).
   */
  addMember(): Promise<{ member: ScaleMember; startMs: number }>;
}

/** The steps after the load, in the order they run; `--steps` picks some of them (the load always runs). */
export const SCALE_STEPS = ['gets', 'range', 'count', 'hashkv', 'restarts', 'memberadd', 'datascale'] as const;
export type ScaleStep = (typeof SCALE_STEPS)[number];

export interface ScaleOptions {
  keys: number;
  gets: number;
  randomValues: boolean;
  seed: number;
  log: (line: string) => void;
  /** The steps to run after the load (default: all of SCALE_STEPS). */
  steps?: ReadonlySet<ScaleStep>;
}

function wanted(o: ScaleOptions, step: ScaleStep): boolean {
  return o.steps === undefined || o.steps.has(step);
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] as number;
}

async function sample(members: ScaleMember[]): Promise<MemberSample[]> {
  return Promise.all(members.map(async (m) => ({ name: m.name, rssBytes: await rssBytes(m.pid), diskBytes: await diskBytes(m.dataDir) })));
}

function client(endpoints: string[]): Client {
  return new Client({ endpoints, attempts: 1, timeoutMs: POLL_CALL_TIMEOUT_MS });
}

/** The leader's and the followers' endpoints, from each member's Status; waits out an election. */
export async function roles(sys: ScaleSystem): Promise<{ leader: ScaleMember; followers: ScaleMember[] }> {
  const startMs = performance.now();
  for (;;) {
    const members = sys.members();
    const c = client(members.map((m) => m.endpoint));
    try {
      const all = await c.maintenance.statusAll();
      const lead = all.find((s) => 'status' in s && s.status.isLeader);
      const leader = members.find((m) => m.endpoint === lead?.endpoint);
      if (leader !== undefined) return { leader, followers: members.filter((m) => m !== leader) };
      if (performance.now() - startMs > LEADER_WAIT_MS) {
        throw new Error(`${sys.name} has no leader among ${members.map((m) => m.endpoint).join(', ')} after ${LEADER_WAIT_MS / 1000} s`);
      }
    } finally {
      c.close();
    }
    await sleep(POLL_MS);
  }
}

/** Calls `attempt` every POLL_MS until it resolves true; the seconds since `startMs`. */
async function until(what: string, startMs: number, attempt: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (await attempt().catch(() => false)) return (performance.now() - startMs) / 1000;
    if (performance.now() - startMs > STEP_TIMEOUT_MS) throw new Error(`${what}: not within ${STEP_TIMEOUT_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

/** One get of the loaded `key` on `endpoint` through a fresh connection (the member may have just started). */
async function getAnswers(endpoint: string, key: Buffer, serializable: boolean): Promise<boolean> {
  const pool = new RawGrpcPool(endpoint, 1);
  try {
    return rangeCount(await pool.call(RANGE_PATH, rangeFrame({ key, serializable }), POLL_CALL_TIMEOUT_MS)) === 1;
  } finally {
    pool.close();
  }
}

/** Times `call` on one connection to `endpoint`. */
async function timedCall(endpoint: string, path: string, frame: Buffer): Promise<{ seconds: number; answer: Buffer }> {
  const pool = new RawGrpcPool(endpoint, 1);
  try {
    const t0 = performance.now();
    const answer = await pool.call(path, frame, STEP_TIMEOUT_MS);
    return { seconds: (performance.now() - t0) / 1000, answer };
  } finally {
    pool.close();
  }
}

interface Watch {
  step: string;
  others: () => number | undefined;
  before: Map<string, { pid: number; changes: number | undefined }>;
}

async function scrapeAll(sys: ScaleSystem): Promise<Map<string, { pid: number; metrics: Map<string, number> | undefined }>> {
  const out = new Map<string, { pid: number; metrics: Map<string, number> | undefined }>();
  await Promise.all(sys.members().map(async (m) => out.set(m.name, { pid: m.pid, metrics: await scrape(m.metricsUrl) })));
  return out;
}

async function watchStart(sys: ScaleSystem, step: string): Promise<Watch> {
  const before = new Map<string, { pid: number; changes: number | undefined }>();
  for (const [name, s] of await scrapeAll(sys)) before.set(name, { pid: s.pid, changes: s.metrics?.get(sys.leaderChangesMetric) });
  return { step, before, others: new CpuMeter(() => sys.members().map((m) => m.pid)).start() };
}

async function watchEnd(sys: ScaleSystem, w: Watch): Promise<StepWatch> {
  const othersCpu = w.others();
  const after = await scrapeAll(sys);
  let leaderChanges: number | null = null;
  const eventLoop: StepWatch['eventLoop'] = [];
  for (const [name, s] of after) {
    const b = w.before.get(name);
    const changes = s.metrics?.get(sys.leaderChangesMetric);
    // Only a member that ran through the whole step counts: a started one sees its first leader as a change.
    if (b !== undefined && b.pid === s.pid && b.changes !== undefined && changes !== undefined) {
      leaderChanges = Math.max(leaderChanges ?? 0, changes - b.changes);
    }
    const metric = sys.eventLoopMetric;
    const p99 = metric === undefined ? undefined : s.metrics?.get(`${metric}{quantile="0.99"}`);
    const max = metric === undefined ? undefined : s.metrics?.get(`${metric}{quantile="1"}`);
    if (p99 !== undefined && max !== undefined) eventLoop.push({ member: name, p99S: p99, maxS: max });
  }
  return { step: w.step, leaderChanges, eventLoop, othersCpu };
}

/** Runs `fn` as a watched step: its leader changes and event-loop delay go into `r.steps`. */
async function watched<T>(sys: ScaleSystem, r: SystemResult, name: string, o: ScaleOptions, fn: () => Promise<T>): Promise<T> {
  const w = await watchStart(sys, name);
  try {
    return await fn();
  } finally {
    const seen = await watchEnd(sys, w);
    r.steps.push(seen);
    const loop = seen.eventLoop.map((e) => `${e.member} ${(e.p99S * 1000).toFixed(1)}/${(e.maxS * 1000).toFixed(0)}`).join(', ');
    o.log(`${sys.name} ${name}: leader changes ${seen.leaderChanges ?? 'n/a'}${loop === '' ? '' : `, event-loop p99/max ms ${loop}`}` +
      `, other processes ${seen.othersCpu === undefined ? '?' : `${Math.round(seen.othersCpu * 100)} %`} of the CPU`);
  }
}

/** The stage boundaries: 1 %, 10 % and 100 % of `keys` (fewer stages when they coincide). */
export function stageBounds(keys: number): number[] {
  return [...new Set([Math.floor(keys / 100), Math.floor(keys / 10), keys].filter((n) => n > 0))];
}

/** Loads every stage; returns the indices of the keys whose put failed. */
async function loadAll(sys: ScaleSystem, r: SystemResult, o: ScaleOptions): Promise<Set<number>> {
  const value = valueSource(o.randomValues, o.seed);
  let from = 0;
  const missing = new Set<number>();
  for (const to of stageBounds(o.keys)) {
    const { leader } = await roles(sys);
    const s = await watched(sys, r, `load ${from}→${to}`, o, () => loadStage(leader.endpoint, from, to, value));
    for (const i of s.failedIndices) missing.add(i);
    const rates = partRates(s);
    r.stages.push({ from, to, seconds: s.seconds, ok: s.ok, failed: s.failed, errors: s.errors, partRates: rates, members: await sample(sys.members()) });
    o.log(`${sys.name} loaded ${from}→${to} in ${s.seconds.toFixed(1)} s, puts/s per tenth ${rates.map((x) => Math.round(x)).join(' ')}` +
      `${s.failed > 0 ? `; ${s.failed} FAILED: ${JSON.stringify(s.errors)}` : ''}`);
    if (s.failed > 0) r.problems.push(`${s.failed} failed puts in ${from}→${to}: ${JSON.stringify(s.errors)}`);
    from = to;
  }
  return missing;
}

/** `loaded`: acknowledged puts; `attempted`: all puts (a failed one may still have been applied). */
async function heavyReads(sys: ScaleSystem, r: SystemResult, o: ScaleOptions, loaded: number, attempted: number): Promise<void> {
  const { leader, followers } = await roles(sys);
  const timed = async (id: TimingId, endpoint: string, path: string, frame: Buffer, check: (answer: Buffer) => string): Promise<void> => {
    const runs: number[] = [];
    for (let i = 0; i < (id === 'hashKV' ? 1 : REPEATS); i++) {
      // A heavy call that fails (e.g. UNAVAILABLE after it cost the leader) is a finding, not the end of the run.
      const done = await timedCall(endpoint, path, frame).catch((err: unknown) => {
        r.problems.push(`${id} failed: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
      if (done === undefined) continue;
      const problem = check(done.answer);
      if (problem !== '') r.problems.push(`${id}: ${problem}`);
      runs.push(done.seconds);
    }
    if (runs.length > 0) r.timings[id] = median(runs);
    o.log(`${sys.name} ${id}: ${runs.map((s) => s.toFixed(3)).join(', ')} s`);
  };
  const prefix = Buffer.from(KEY_PREFIX);
  if (wanted(o, 'range')) await watched(sys, r, 'range 10k keys', o, () => timed('range10k', leader.endpoint, RANGE_PATH,
    rangeFrame({ key: prefix, rangeEnd: prefixEnd(prefix), limit: RANGE_KEYS }),
    (a) => (a.length < RANGE_KEYS * KEY_BYTES ? `answer of ${a.length} bytes is too short for ${RANGE_KEYS} keys` : '')));
  const all = Buffer.from([0]);
  if (wanted(o, 'count')) await watched(sys, r, 'count all keys', o, () => timed('count', leader.endpoint, RANGE_PATH, rangeFrame({ key: all, rangeEnd: all, countOnly: true }),
    (a) => (rangeCount(a) >= loaded && rangeCount(a) <= attempted ? '' : `counted ${rangeCount(a)} keys; ${loaded} puts were acknowledged of ${attempted}`)));
  const follower = followers[0];
  if (follower === undefined) throw new Error(`${sys.name} has no follower`);
  if (wanted(o, 'hashkv')) await watched(sys, r, 'HashKV on a follower', o, () => timed('hashKV', follower.endpoint, HASHKV_PATH, hashKVFrame(), () => ''));
}

/** `probe`: a key whose put was acknowledged, read to tell that a member serves. */
async function restarts(sys: ScaleSystem, r: SystemResult, o: ScaleOptions, probe: Buffer): Promise<void> {
  const { followers } = await roles(sys);
  const f = followers[0] as ScaleMember;
  await watched(sys, r, 'follower restart', o, async () => {
    await sys.stopMember(f.name);
    const t0 = performance.now();
    const started = sys.startMember(f.name);
    started.catch(() => undefined); // awaited below; a failure while polling must not go unhandled
    r.timings.followerRestart = await until(`${sys.name} ${f.name} restart`, t0, () => getAnswers(f.endpoint, probe, true));
    await started;
  });
  o.log(`${sys.name} follower ${f.name} restarted: a serializable get answered after ${r.timings.followerRestart?.toFixed(2)} s`);
  await watched(sys, r, FULL_RESTART_STEP, o, async () => {
    const members = sys.members(); // their endpoints stay the same across the restart
    await Promise.all(members.map((m) => sys.stopMember(m.name)));
    const t0 = performance.now();
    const started = Promise.all(members.map((m) => sys.startMember(m.name)));
    started.catch(() => undefined); // awaited below; a failure while polling must not go unhandled
    let next = 0;
    r.timings.fullRestart = await until(`${sys.name} full restart`, t0, () =>
      getAnswers((members[next++ % members.length] as ScaleMember).endpoint, probe, false));
    await started;
  });
  o.log(`${sys.name} full restart: a linearizable get answered after ${r.timings.fullRestart?.toFixed(2)} s`);
}

async function memberAdd(sys: ScaleSystem, r: SystemResult, o: ScaleOptions): Promise<void> {
  await watched(sys, r, 'member add', o, async () => {
    const { member: added, startMs } = await sys.addMember();
    r.timings.memberAdd = await until(`${sys.name} new member ${added.name} catching up`, startMs, async () => {
      const { leader } = await roles(sys);
      const c = client([leader.endpoint, added.endpoint]);
      try {
        const [l, n] = await Promise.all([c.maintenance.status({ endpoint: leader.endpoint }), c.maintenance.status({ endpoint: added.endpoint })]);
        return n.raftIndex >= l.raftIndex && n.raftAppliedIndex >= l.raftIndex;
      } finally {
        c.close();
      }
    });
  });
  o.log(`${sys.name} new member caught up after ${r.timings.memberAdd?.toFixed(2)} s`);
}

/** Every step against `sys`, in order; a step that throws ends the run for this system (the caller reports it). */
export async function runScale(sys: ScaleSystem, o: ScaleOptions, r: SystemResult): Promise<void> {
  r.idle = await sample(sys.members());
  const missing = await loadAll(sys, r, o);
  const loaded = o.keys - r.stages.reduce((n, s) => n + s.failed, 0);
  if (wanted(o, 'gets')) {
    const { leader } = await roles(sys);
    const gets = await watched(sys, r, 'linearizable gets', o, () => getRandomKeys(leader.endpoint, o.keys, missing, o.gets, o.seed));
    r.getsPerS = gets.ok / gets.seconds;
    o.log(`${sys.name} gets: ${Math.round(r.getsPerS)}/s (${gets.ok} in ${gets.seconds.toFixed(1)} s)${gets.failed > 0 ? `; ${gets.failed} FAILED: ${JSON.stringify(gets.errors)}` : ''}`);
    if (gets.failed > 0) r.problems.push(`${gets.failed} failed gets: ${JSON.stringify(gets.errors)}`);
  }
  if (wanted(o, 'range') || wanted(o, 'count') || wanted(o, 'hashkv')) await heavyReads(sys, r, o, loaded, o.keys);
  let probe = 0;
  while (missing.has(probe)) probe++;
  if (wanted(o, 'restarts')) await restarts(sys, r, o, scaleKey(probe));
  if (wanted(o, 'memberadd')) await memberAdd(sys, r, o);
  if (wanted(o, 'datascale')) await datascale(sys, r, o);
}

async function datascale(sys: ScaleSystem, r: SystemResult, o: ScaleOptions): Promise<void> {
  const { leader } = await roles(sys);
  const result = await watched(sys, r, 'etcdctl check datascale', o, () => runDatascale(leader.endpoint));
  if (result === undefined) {
    o.log('!!! SKIPPING etcdctl check datascale: etcdctl is not installed (apt-get install etcd-client) !!!');
    return;
  }
  r.datascale = result;
  o.log(`${sys.name} etcdctl check datascale: ${result.detail}`);
}

export function emptyResult(name: SystemName): SystemResult {
  return { name, idle: [], stages: [], getsPerS: undefined, timings: {}, steps: [], problems: [] };
}
