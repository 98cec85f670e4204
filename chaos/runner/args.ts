// The command line of `npm run chaos`, and the line that replays a run.
//
//   npm run chaos -- [--nodes 3] [--time 60] [--nemesis all] [--workload register,bank,watch]
//                    [--seed N] [--out chaos-out/] [--unsafe local-reads|ack-before-sync|no-session|crdt-duplicates] [--keep]

import { parseArgs } from 'node:util';
import { NODES_MAX } from '../../cluster/plan.js';
import { parseNemesis, type FaultKind } from '../nemesis/schedule.js';

export const WORKLOADS = ['register', 'bank', 'watch', 'session', 'crdt'] as const;
/** What runs without --workload: session (follower reads with rs-min-revision) and crdt (eventual namespaces) are asked for by name. */
export const DEFAULT_WORKLOADS = ['register', 'bank', 'watch'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];
export const UNSAFE_MODES = ['local-reads', 'ack-before-sync', 'no-session', 'crdt-duplicates'] as const;
export type UnsafeMode = (typeof UNSAFE_MODES)[number];

export const NODES_DEFAULT = 3;
export const TIME_S_DEFAULT = 60;
export const OUT_DEFAULT = 'chaos-out';

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
}

export const USAGE = [
  'usage: npm run chaos -- [--nodes N] [--time S] [--nemesis KINDS] [--workload NAMES] [--seed N] [--out DIR]',
  '                        [--unsafe local-reads|ack-before-sync|no-session|crdt-duplicates] [--keep]',
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
    },
  });
  if (positionals.length > 0) throw new RangeError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const unsafe = values.unsafe;
  if (unsafe !== undefined && !(UNSAFE_MODES as readonly string[]).includes(unsafe)) {
    throw new RangeError(`--unsafe: expected ${UNSAFE_MODES.join(' or ')}, got ${JSON.stringify(unsafe)}`);
  }
  const nemesisText = values.nemesis ?? 'all';
  return {
    nodes: int('nodes', values.nodes, NODES_DEFAULT, 3, NODES_MAX),
    timeS: int('time', values.time, TIME_S_DEFAULT, 1, 24 * 3600),
    nemesisText,
    nemesis: parseNemesis(nemesisText),
    workloads: parseWorkloads(values.workload ?? DEFAULT_WORKLOADS.join(',')),
    seed: int('seed', values.seed, randomSeed(), 0, 2 ** 32 - 1),
    out: values.out ?? OUT_DEFAULT,
    ...(unsafe === undefined ? {} : { unsafe: unsafe as UnsafeMode }),
    keep: values.keep === true,
  };
}

/** The command that replays a run (same cluster size, duration, faults, workloads and seed). */
export function replayLine(c: RunConfig): string {
  const unsafe = c.unsafe === undefined ? '' : ` --unsafe ${c.unsafe}`;
  return `npm run chaos -- --nodes ${c.nodes} --time ${c.timeS} --nemesis ${c.nemesisText} ` +
    `--workload ${c.workloads.join(',')} --seed ${c.seed}${unsafe} --out ${c.out}`;
}
