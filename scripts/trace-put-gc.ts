// What a put costs the members' garbage collectors (issue 20: event-loop delay peaks): a
// 3-member cluster per variant, loaded by bench:scale's raw client (4 connections, 256
// puts in flight to the leader, 16-byte keys, 256-byte values); over the load window each
// member records every GC (scripts/gc-preload.mjs). Printed per member: bytes allocated and
// promoted (survivors of a scavenge moved to the old space) per put, all bytes that reached
// the old space per put (promoted or pretenured), GC counts, and V8's own GC durations
// summed and at most. The bytes and counts hold up on a loaded machine; the durations are
// wall time inside the collector, inflated by load (the load average is printed with them).
//
//   npx tsx scripts/trace-put-gc.ts [--keys 100000] [--variants default,semi32] [--heap|--heap-live|--heap-promoted] [--timeline] [--keep]
//
// --variants: each a name from VARIANTS, run one after another in this invocation.
// Members run from dist/ (npm run build first). Each Mark-Compact's reason comes from
// --trace-gc, switched on at run time by the preload.
// --heap: also the sampling heap profiler over the window, freed objects included; prints
// the top allocation sites of the leader and a follower (profiles kept in the temp dir).
// --heap-live: the same, but only what was not collected by the window's end (survivors).
// --heap-promoted: the same, but without what a scavenge freed: what reached the old
// generation over the window (promoted, or pretenured), freed by a Mark-Compact later or not:
// what the leader's Mark-Compacts have to find, ranked by allocation site.
// --timeline: every GC of the window per member, as kind:MB allocated since the previous
// GC/MB the old space grew by it (S scavenge, I incremental marking step, M Mark-Compact).
// It showed the chains of Map tables (server/api/session-streams.ts, server/region/proposals.ts,
// server/mvcc/state.ts): ~0.2 MB per scavenge until the first Mark-Compact, ~3.7 after it.
// --mid-load-s N: the window closes N seconds into the load, with puts in flight: --heap-live
// then shows what outlives a put's call (in-flight state, and promoted garbage that no
// Mark-Compact has freed yet) instead of what the load left behind; no GC table.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DIST_SERVE_COMMAND, REPO_ROOT, startCluster, type ServeCommand } from '../cluster/launcher.js';
import { leaderOf, settle as settleWithin } from './cluster-settle.js';
import { loadStage, valueSource } from '../client/bench/scale-load.js';

const { values: args } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000' },
    variants: { type: 'string', default: 'default' },
    heap: { type: 'boolean', default: false },
    'heap-live': { type: 'boolean', default: false },
    'heap-promoted': { type: 'boolean', default: false },
    timeline: { type: 'boolean', default: false },
    'mid-load-s': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});

/**
 * Node flags per variant name, on the members' command line (the launcher's own heap flags,
 * server/util/heap-flags.ts, replaced). `default`: the members as the launcher starts them;
 * `v8default`: V8's own young generation (16 MiB semi-spaces on 64-bit).
 */
const VARIANTS: Record<string, string> = {
  default: '',
  v8default: '--max-semi-space-size=0',
  semi16: '--max-semi-space-size=16',
  semi32: '--max-semi-space-size=32',
  semi64: '--max-semi-space-size=64',
};
/** Puts before the window opens, so JIT warm-up and the first elections are not counted. */
const WARM_KEYS = 5_000;
const TIMINGS = ['--heartbeat-ms', '100', '--election-ms', '1000', '--log-level', 'warn'];
const SETTLE_TIMEOUT_MS = 120_000;
const POLL_MS = 200;
/** Allocation sites printed per member. */
const TOP_SITES = 20;

interface GcRecord { type: string; costUs: number; usedBefore: number; usedAfter: number; oldBefore: number; oldAfter: number }
interface GcFile { windowMs: number; usedAtEnd: number; gc: GcRecord[] }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');


const ms = (us: number): string => (us / 1000).toFixed(0);

function summarize(f: GcFile, puts: number): Record<string, string | number> {
  let allocated = 0;
  let promoted = 0;
  let prevAfter: number | undefined;
  // Bytes that reached the old space: promoted by scavenges, plus allocated there directly
  // between GCs (V8 pretenures allocation sites whose objects tend to survive).
  let oldIn = 0;
  let prevOldAfter: number | undefined;
  const byType: Record<string, { n: number; us: number; maxUs: number }> = {};
  for (const g of f.gc) {
    if (prevAfter !== undefined) allocated += Math.max(0, g.usedBefore - prevAfter);
    prevAfter = g.usedAfter;
    if (prevOldAfter !== undefined) oldIn += Math.max(0, g.oldBefore - prevOldAfter);
    prevOldAfter = g.oldAfter;
    if (g.type === 'Scavenge') {
      promoted += Math.max(0, g.oldAfter - g.oldBefore);
      oldIn += Math.max(0, g.oldAfter - g.oldBefore);
    }
    const t = (byType[g.type] ??= { n: 0, us: 0, maxUs: 0 });
    t.n++;
    t.us += g.costUs;
    t.maxUs = Math.max(t.maxUs, g.costUs);
  }
  if (prevAfter !== undefined) allocated += Math.max(0, f.usedAtEnd - prevAfter);
  const types = Object.entries(byType).map(([k, v]) => `${k} ${v.n}× Σ${ms(v.us)} ms max ${ms(v.maxUs)} ms`).join('; ');
  const gcMs = Object.values(byType).reduce((a, v) => a + v.us, 0) / 1000;
  return {
    'alloc B/put': Math.round(allocated / puts), 'promoted B/put': Math.round(promoted / puts), 'old-space in B/put': Math.round(oldIn / puts),
    'GC ms total': Math.round(gcMs), 'GC µs/put': Math.round((gcMs * 1000) / puts), types,
  };
}

/** kind:MB allocated since the previous GC/MB the old space grew by, for each GC in order. */
function timeline(f: GcFile): string {
  let prevAfter: number | undefined;
  return f.gc.map((g) => {
    const allocated = prevAfter === undefined ? 0 : g.usedBefore - prevAfter;
    prevAfter = g.usedAfter;
    return `${g.type[0]}:${(allocated / 1e6).toFixed(0)}/${((g.oldAfter - g.oldBefore) / 1e6).toFixed(1)}`;
  }).join(' ');
}

interface ProfileNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: ProfileNode[] }

/** Bytes sampled per allocation site (function, file:line), largest first. */
function topSites(file: string): string[] {
  const root = (JSON.parse(readFileSync(file, 'utf8')) as { head: ProfileNode }).head;
  const sites = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode, parent: string): void => {
    const f = n.callFrame;
    const here = `${f.functionName || '(anon)'} ${f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    if (n.selfSize > 0) {
      const key = `${here}  <- ${parent}`;
      sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, here);
  };
  walk(root, '');
  return [...sites.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP_SITES)
    .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
}

async function runVariant(name: string, keys: number): Promise<void> {
  const flags = VARIANTS[name];
  if (flags === undefined) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), `rs-put-gc-${name}-`));
  const preload = join(REPO_ROOT, 'scripts', 'gc-preload.mjs');
  const env = {
    ...process.env, RS_GC_DIR: dir, RS_GC_HEAP_SAMPLE: args['heap-promoted'] ? 'promoted' : args['heap-live'] ? 'live' : args.heap ? '1' : '0',
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${preload}`.trim(), RS_GC_TRACE: '1',
  };
  // Why V8 ran each Mark-Compact, from --trace-gc's lines, per member, over its whole run:
  // V8 prints them through C stdio, block-buffered into the pipe, so a line arrives too late
  // to place it in the window.
  const reasons = new Map<string, Map<string, number>>();
  const starts = new Map<string, Map<string, number>>();
  // RS_GC_ECHO=<regex>: the members' output lines that match it, as they come (with RS_GC_V8_FLAGS).
  const echo = process.env.RS_GC_ECHO === undefined ? undefined : new RegExp(process.env.RS_GC_ECHO);
  const onLine = (node: string, line: string): void => {
    if (echo?.test(line) === true) console.log(`${node}: ${line}`);
    // "[IncrementalMarking] Start (reason)": what started the marking a Mark-Compact finishes.
    const start = /\[IncrementalMarking\] Start \(([^)]*)\)/.exec(line)?.[1];
    if (start !== undefined) {
      const m = starts.get(node) ?? new Map<string, number>();
      starts.set(node, m);
      m.set(start, (m.get(start) ?? 0) + 1);
    }
    if (!line.includes('Mark-Compact')) return;
    const reason = /current mu = [\d.]+\)\s*(.*)$/.exec(line)?.[1]?.trim() ?? '?';
    const m = reasons.get(node) ?? new Map<string, number>();
    reasons.set(node, m);
    m.set(reason, (m.get(reason) ?? 0) + 1);
  };
  const command: ServeCommand | undefined = flags === '' ? undefined
    : { ...DIST_SERVE_COMMAND, args: [flags, ...DIST_SERVE_COMMAND.args.filter((a) => !a.startsWith('--max-semi-space-size') && !a.startsWith('--min-semi-space-size'))] };
  const cluster = await startCluster({
    dataDir: join(dir, 'rs'), nodes: 3, ready: 'healthy', extraArgs: TIMINGS, env, onLine, ...(command === undefined ? {} : { command }),
  });
  try {
    const value = valueSource(false, 1);
    let leader = await leaderOf(cluster);
    const endpoint = (): string => leader.clientUrl.replace(/^http:\/\//, '');
    await loadStage(endpoint(), 0, WARM_KEYS, value);
    await settleWithin(cluster, SETTLE_TIMEOUT_MS);
    for (const n of cluster.nodes) process.kill(n.pid, 'SIGUSR2');
    const loadBefore = load();
    const t0 = performance.now();
    const midLoadS = args['mid-load-s'] === undefined ? undefined : Number(args['mid-load-s']);
    const closeWindow = (): void => {
      for (const n of cluster.nodes) process.kill(n.pid, 'SIGUSR2');
    };
    const midLoad = midLoadS === undefined ? undefined : setTimeout(closeWindow, midLoadS * 1000);
    const loaded = await loadStage(endpoint(), WARM_KEYS, WARM_KEYS + keys, value);
    const loadS = (performance.now() - t0) / 1000;
    clearTimeout(midLoad);
    if (midLoadS !== undefined && loadS < midLoadS) throw new Error(`the load took ${loadS.toFixed(1)} s, less than --mid-load-s ${midLoadS}: give more --keys`);
    await settleWithin(cluster, SETTLE_TIMEOUT_MS);
    if (midLoadS === undefined) closeWindow();
    while (!cluster.nodes.every((n) => existsSync(join(dir, `done-${n.pid}`)))) await sleep(POLL_MS);
    leader = await leaderOf(cluster);
    console.log(`\n## ${name} (${flags || 'no extra flags'}): ${keys} puts in ${loadS.toFixed(1)} s = ${Math.round(keys / loadS)}/s, `
      + `${loaded.failed} failed; load average ${loadBefore} before, ${load()} after`);
    const rows = cluster.nodes.map((n) => ({
      member: `${n.name}${n === leader ? ' (leader)' : ''}`,
      ...summarize(JSON.parse(readFileSync(join(dir, `gc-${n.pid}.json`), 'utf8')) as GcFile, keys),
    }));
    if (midLoadS === undefined) console.table(rows);
    if (args.timeline) {
      for (const n of cluster.nodes) {
        const f = JSON.parse(readFileSync(join(dir, `gc-${n.pid}.json`), 'utf8')) as GcFile;
        console.log(`\nGC timeline, ${n.name}${n === leader ? ' (leader)' : ''}: ${timeline(f)}`);
      }
    }
    if (args.heap || args['heap-live'] || args['heap-promoted']) {
      const follower = cluster.nodes.find((n) => n !== leader);
      for (const n of [leader, follower]) {
        if (n === undefined) continue;
        console.log(`\ntop allocation sites, ${n.name}${n === leader ? ' (leader)' : ' (follower)'} (share of sampled bytes):`);
        for (const line of topSites(join(dir, `heap-${n.pid}.heapprofile`))) console.log(line);
      }
    }
  } finally {
    await cluster.stop(); // flushes the members' stdout, with the last --trace-gc lines
    for (const [node, m] of reasons) console.log(`${node} Mark-Compact reasons (whole run): ${[...m].map(([r, n]) => `${n}× ${r}`).join('; ')}`);
    for (const [node, m] of starts) console.log(`${node} incremental marking started by (whole run): ${[...m].map(([r, n]) => `${n}× ${r}`).join('; ')}`);
    if (args.keep || args.heap || args['heap-live'] || args['heap-promoted']) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

for (const v of args.variants.split(',')) await runVariant(v, Number(args.keys));
