// The command line of `npm run chaos`, and the line that replays a run.
//
//   npm run chaos -- [--nodes 3] [--time 60] [--nemesis all] [--workload register,bank,watch]
//                    [--seed N] [--out chaos-out/] [--unsafe local-reads|ack-before-sync|no-session|crdt-duplicates] [--keep]

import { parseArgs } from 'node:util';
import { NODES_MAX } from '../../cluster/plan.js';
import { parseNemesis, type FaultKind } from '../nemesis/schedule.js';
import { EDGE_FAULT_KINDS, parseLinkSchedule, type EdgeFaultKind, type LinkSchedule } from '../edge/nemesis.js';

export const WORKLOADS = ['register', 'bank', 'watch', 'session', 'crdt'] as const;
/** What runs without --workload: session (follower reads with rs-min-revision) and crdt (eventual namespaces) are asked for by name. */
export const DEFAULT_WORKLOADS = ['register', 'bank', 'watch'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];
export const UNSAFE_MODES = [
  'local-reads', 'ack-before-sync', 'no-session', 'crdt-duplicates',
  // Edge teeth (server/util/unsafe-edge.ts), with --edges: each breaks one rule of edge sync.
  'edge-drop-last-page', 'edge-skip-fsync', 'edge-early-gc', 'edge-accept-skew',
] as const;
export type UnsafeMode = (typeof UNSAFE_MODES)[number];

export const NODES_DEFAULT = 3;
export const TIME_S_DEFAULT = 60;
export const OUT_DEFAULT = 'chaos-out';
export const EDGES_MAX = 16;
/** The KPI run (issue 15): 5 edges writing events steadily over links flapping on a schedule, 10 minutes. */
export const KPI_EDGES = 5;
export const KPI_TIME_S = 600;
export const KPI_RATE_DEFAULT = 10;
export const KPI_LINK_SCHEDULE = 'up:10s,down:5s';
/** Edge fault groups on the command line. */
export const EDGE_GROUP = 'edges';

export interface RunConfig {
  nodes: number;
  /** Seconds of workload under faults. */
  timeS: number;
  /** As given (for the replay line), and the kinds it names. */
  nemesisText: string;
  nemesis: FaultKind[];
  workloads: WorkloadName[];
  seed: number;
  out: string;
  unsafe?: UnsafeMode;
  /** Keep the nodes' data directories (their path is printed). */
  keep: boolean;
  /** Edges (0: none), their faults, their link schedule, the KPI mode's rate per edge. */
  edges: number;
  edgeNemesis: EdgeFaultKind[];
  linkSchedule?: LinkSchedule;
  linkScheduleText: string;
  kpiRate?: number;
}

export const USAGE = [
  'usage: npm run chaos -- [--nodes N] [--time S] [--nemesis KINDS] [--workload NAMES] [--seed N] [--out DIR]',
  '                        [--unsafe MODE] [--keep] [--edges N] [--link-schedule up:10s,down:5s] [--kpi [--kpi-rate R]]',
  `  --nodes     cluster size, 3..${NODES_MAX} (default ${NODES_DEFAULT})`,
  `  --time      seconds of workload under faults (default ${TIME_S_DEFAULT})`,
  '  --nemesis   all | none | comma list of kinds or groups (default all):',
  '              kill, kill-leader, crash-cut-off-leader, pause, pause-leader, partition, isolate-leader, bridge, one-way,',
  '              flaky, slow, membership, transfer; groups kills, pauses, partitions, links;',
  '              damage (group storage: a stopped member\'s state or raft database damaged, a refused raft/ reseeded; not in all)',
  `  --workload  comma list of ${WORKLOADS.join(', ')} (default ${DEFAULT_WORKLOADS.join(',')})`,
  '  --seed      the run\'s seed (default: random, printed); the same seed replays the same schedule',
  `  --out       where history.jsonl, report.html, summary.json and node logs go (default ${OUT_DEFAULT}/)`,
  '  --unsafe    start the nodes with an unsafe testing flag (REGIONSTORE_UNSAFE=1), or with no-session the session',
  '              workload\'s clients without rs-min-revision; crdt-duplicates: members apply a re-sent CRDT write',
  '              again (--unsafe-crdt-apply-duplicates; use with --workload crdt): the harness must catch it',
  '  --keep      keep the nodes\' data directories',
  `  --edges     N regionstore edge processes (0..${EDGES_MAX}), each through its own proxies to every member, with the`,
  '              edge workload (lww, mv, counters, sets, events on every edge and the region) and its checkers',
  '              (edge-convergence, edge-no-lost-write, edge-events, edge-protocol); --nemesis all then includes the',
  `              edge faults (group ${EDGE_GROUP}: ${EDGE_FAULT_KINDS.join(', ')})`,
  '  --link-schedule  every edge link up and down in turn, e.g. up:10s,down:5s (each edge at its own phase)',
  `  --kpi       the field KPIs: ${KPI_EDGES} edges (or --edges) writing events at --kpi-rate each (default ${KPI_RATE_DEFAULT}/s)`,
  `              over links on --link-schedule (default ${KPI_LINK_SCHEDULE}), --time default ${KPI_TIME_S}, nemesis default none;`,
  '              kpi.json and a table in report.html',
  '  edge teeth (--unsafe, with --edges): edge-drop-last-page, edge-skip-fsync (needs the edge-power-cut nemesis),',
  '              edge-early-gc, edge-accept-skew',
  'exit status: 0 every checker ok, 1 a violation, 2 a checker could not decide (or the run could not be made)',
].join('\n');

function int(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new RangeError(`--${name}: expected an integer in ${min}..${max}, got ${JSON.stringify(text)}`);
  return n;
}

function parseWorkloads(text: string): WorkloadName[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) {
    if (!(WORKLOADS as readonly string[]).includes(n)) throw new RangeError(`--workload: unknown workload ${JSON.stringify(n)} (known: ${WORKLOADS.join(', ')})`);
  }
  if (names.length === 0) throw new RangeError('--workload: name at least one workload');
  return WORKLOADS.filter((w) => names.includes(w));
}

/** Parses the command line; throws RangeError with what is wrong. */
export function parseRunArgs(argv: readonly string[], randomSeed: () => number): RunConfig {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      nodes: { type: 'string' }, time: { type: 'string' }, nemesis: { type: 'string' }, workload: { type: 'string' },
      seed: { type: 'string' }, out: { type: 'string' }, unsafe: { type: 'string' }, keep: { type: 'boolean' },
      edges: { type: 'string' }, 'link-schedule': { type: 'string' }, kpi: { type: 'boolean' }, 'kpi-rate': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new RangeError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const unsafe = values.unsafe;
  if (unsafe !== undefined && !(UNSAFE_MODES as readonly string[]).includes(unsafe)) {
    throw new RangeError(`--unsafe: expected ${UNSAFE_MODES.join(' or ')}, got ${JSON.stringify(unsafe)}`);
  }
  const kpi = values.kpi === true;
  const nemesisText = values.nemesis ?? (kpi ? 'none' : 'all');
  const edges = int('edges', values.edges, kpi ? KPI_EDGES : 0, kpi ? 1 : 0, EDGES_MAX);
  const split = splitNemesis(nemesisText, edges > 0);
  const linkScheduleText = values['link-schedule'] ?? (kpi ? KPI_LINK_SCHEDULE : '');
  if (unsafe?.startsWith('edge-') === true && edges === 0) throw new RangeError(`--unsafe ${unsafe}: an edge tooth needs --edges N`);
  return {
    nodes: int('nodes', values.nodes, NODES_DEFAULT, 3, NODES_MAX),
    timeS: int('time', values.time, kpi ? KPI_TIME_S : TIME_S_DEFAULT, 1, 24 * 3600),
    nemesisText,
    nemesis: split.region,
    edges,
    edgeNemesis: split.edges,
    linkScheduleText,
    ...(linkScheduleText === '' ? {} : { linkSchedule: parseLinkSchedule(linkScheduleText) }),
    ...(kpi ? { kpiRate: int('kpi-rate', values['kpi-rate'], KPI_RATE_DEFAULT, 1, 1000) } : {}),
    // The KPI run measures the edges alone unless region workloads are asked for.
    workloads: kpi && values.workload === undefined ? [] : parseWorkloads(values.workload ?? DEFAULT_WORKLOADS.join(',')),
    seed: int('seed', values.seed, randomSeed(), 0, 2 ** 32 - 1),
    out: values.out ?? OUT_DEFAULT,
    ...(unsafe === undefined ? {} : { unsafe: unsafe as UnsafeMode }),
    keep: values.keep === true,
  };
}

/**
 * --nemesis split into the region's kinds (chaos/nemesis) and the edge kinds: `edges` or an
 * `edge-...` name picks edge faults; `all` picks every edge fault too when edges run.
 */
export function splitNemesis(text: string, withEdges: boolean): { region: FaultKind[]; edges: EdgeFaultKind[] } {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const edgeNames = names.filter((n) => n === EDGE_GROUP || n.startsWith('edge-'));
  const edges = new Set<EdgeFaultKind>();
  for (const n of edgeNames) {
    if (n === EDGE_GROUP) EDGE_FAULT_KINDS.forEach((k) => edges.add(k));
    else if ((EDGE_FAULT_KINDS as readonly string[]).includes(n)) edges.add(n as EdgeFaultKind);
    else throw new RangeError(`--nemesis: unknown edge fault ${JSON.stringify(n)} (known: ${EDGE_GROUP}, ${EDGE_FAULT_KINDS.join(', ')})`);
  }
  if (withEdges && names.includes('all')) EDGE_FAULT_KINDS.forEach((k) => edges.add(k));
  if (!withEdges && edges.size > 0) throw new RangeError('--nemesis: edge faults need --edges N');
  const rest = names.filter((n) => !edgeNames.includes(n));
  return { region: parseNemesis(rest.length === 0 ? 'none' : rest.join(',')), edges: EDGE_FAULT_KINDS.filter((k) => edges.has(k)) };
}

/** The command that replays a run (same cluster size, duration, faults, workloads and seed). */
export function replayLine(c: RunConfig): string {
  const unsafe = c.unsafe === undefined ? '' : ` --unsafe ${c.unsafe}`;
  const edges = c.edges === 0 ? '' : ` --edges ${c.edges}${c.linkScheduleText === '' ? '' : ` --link-schedule ${c.linkScheduleText}`}` +
    `${c.kpiRate === undefined ? '' : ` --kpi --kpi-rate ${c.kpiRate}`}`;
  const workload = c.workloads.length === 0 ? '' : `--workload ${c.workloads.join(',')} `;
  return `npm run chaos -- --nodes ${c.nodes} --time ${c.timeS} --nemesis ${c.nemesisText} ` +
    `${workload}--seed ${c.seed}${unsafe}${edges} --out ${c.out}`;
}
