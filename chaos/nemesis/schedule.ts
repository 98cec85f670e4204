// The nemesis schedule: which fault comes when, for how long, against which nodes — all
// drawn from the seed before the run starts, so a run is replayed by its seed. Pure.
//
// Faults come one after another (each healed before the next, with a quiet gap between,
// so the cluster shows whether it recovers), except a membership change, which runs in
// the background while the next faults strike ("a membership change during faults").
// Kinds are dealt from a shuffled deck, so a short run still meets many different
// faults rather than the same one drawn twice. Who "the leader" is can only be known when
// the fault strikes; everything else (which node, which side of a partition, which link,
// how slow) comes from the plan.

import { SeededRandom } from '../../server/util/random.js';

export const FAULT_KINDS = [
  'kill', 'kill-leader', 'crash-cut-off-leader', 'pause', 'pause-leader', 'partition', 'isolate-leader', 'bridge', 'one-way',
  'flaky', 'slow', 'membership', 'transfer', 'damage',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * What a `damage` fault does to the stopped member's data dir (DESIGN §5 storage faults):
 * the state database's CURRENT and MANIFEST deleted, the state directory lost, or random
 * bytes written into its files (its SSTs, or its WAL when it has none) or into its WAL
 * alone (the member must repair itself from its peers); or the same to the raft database
 * (raft-current, raft-bytes, raft-wal): a raft/ that cannot be read is refused, and the
 * nemesis runs `regionstore member reseed` as the refusal says, then starts it. The WAL
 * kinds came last (session 8): a seed of `--nemesis storage` from before then may draw
 * another kind for the same fault now.
 */
export const DAMAGE_KINDS = ['state-current', 'state-lost', 'state-bytes', 'raft-current', 'raft-bytes', 'state-wal', 'raft-wal'] as const;
export type DamageKind = (typeof DAMAGE_KINDS)[number];

/** The damage of a planned `damage` fault, from its plan (no extra draw: other schedules stay as they were). */
export function damageKindOf(p: PlannedFault): DamageKind {
  return DAMAGE_KINDS[p.delayMs % DAMAGE_KINDS.length]!;
}

/** Names that stand for several kinds on the command line. */
export const FAULT_GROUPS: Readonly<Record<string, readonly FaultKind[]>> = {
  // Storage damage is asked for by name (`storage`): runs of `all` keep their schedules.
  all: FAULT_KINDS.filter((k) => k !== 'damage'),
  none: [],
  kills: ['kill', 'kill-leader', 'crash-cut-off-leader'],
  pauses: ['pause', 'pause-leader'],
  partitions: ['partition', 'isolate-leader', 'bridge', 'one-way'],
  links: ['flaky', 'slow'],
  storage: ['damage'],
};

/** Faults that need this many nodes (a bridge has two sides and a middle). */
export const MIN_NODES: Partial<Record<FaultKind, number>> = { bridge: 3, membership: 3, partition: 3 };

/** The first fault waits this long: the workloads get going and the history has a baseline. */
export const FIRST_FAULT_MS = 2_000;
/** How long a fault is held, ms. Long enough for an election (and a stale read) to happen. */
export const HOLD_MS_MIN = 2_000;
export const HOLD_MS_MAX = 5_000;
/** A leadership transfer is instantaneous; this is the settle time before the next fault. */
export const TRANSFER_SETTLE_MS = 1_000;
/** A membership change starts, then the next fault follows after this. */
export const MEMBERSHIP_LEAD_MS = 1_000;
/** Quiet time between two faults. */
export const GAP_MS_MIN = 1_000;
export const GAP_MS_MAX = 3_000;
/** No fault starts this close to the end of the run: its hold would outlast the run. */
export const END_MARGIN_MS = HOLD_MS_MIN;

/** Slow links: a delay per chunk, plus jitter. */
export const SLOW_DELAY_MS_MIN = 20;
export const SLOW_DELAY_MS_MAX = 200;
export const SLOW_JITTER_MS_MAX = 50;
/** Flaky links: share of connections refused, and how often open ones are cut. */
export const FLAKY_PCT_MIN = 20;
export const FLAKY_PCT_MAX = 70;
export const FLAKY_CUT_EVERY_MS = 700;

export interface PlannedFault {
  /** Position in the schedule, from 0. */
  index: number;
  kind: FaultKind;
  /** When it is due, ms after the run started (it waits for the previous fault's heal). */
  atMs: number;
  /** How long it is held before it is healed, ms. */
  holdMs: number;
  /** Every node, in a seeded order: targets are taken from the front, partition sides cut from it. */
  order: number[];
  /** Minority size of a random partition; how many links a link fault touches. */
  size: number;
  /** Slow: delay and jitter (ms). Flaky: refusal percent in delayMs. */
  delayMs: number;
  jitterMs: number;
  /** One-way: cut the leader's outgoing links (true) or one link (false). */
  fromLeader: boolean;
}

export interface ScheduleOptions {
  seed: number;
  kinds: readonly FaultKind[];
  nodes: readonly number[];
  durationMs: number;
}

/** Parses "all", "none", "kills,slow", ...: the kinds named, each once, in FAULT_KINDS order. */
export function parseNemesis(text: string): FaultKind[] {
  const chosen = new Set<FaultKind>();
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    const group = FAULT_GROUPS[name];
    if (group !== undefined) {
      for (const k of group) chosen.add(k);
    } else if ((FAULT_KINDS as readonly string[]).includes(name)) {
      chosen.add(name as FaultKind);
    } else {
      const known = [...Object.keys(FAULT_GROUPS), ...FAULT_KINDS].join(', ');
      throw new RangeError(`--nemesis: unknown fault ${JSON.stringify(name)} (known: ${known})`);
    }
  }
  return FAULT_KINDS.filter((k) => chosen.has(k));
}

export function shuffle<T>(items: readonly T[], random: SeededRandom): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(0, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function holdFor(kind: FaultKind, random: SeededRandom): number {
  if (kind === 'transfer') return TRANSFER_SETTLE_MS;
  if (kind === 'membership') return MEMBERSHIP_LEAD_MS;
  return random.int(HOLD_MS_MIN, HOLD_MS_MAX + 1);
}

function plan(index: number, kind: FaultKind, atMs: number, nodes: readonly number[], random: SeededRandom): PlannedFault {
  const holdMs = holdFor(kind, random);
  const order = shuffle(nodes, random);
  const minorityMax = Math.max(1, Math.floor((nodes.length - 1) / 2));
  const flaky = kind === 'flaky';
  return {
    index, kind, atMs, holdMs, order,
    size: kind === 'partition' ? random.int(1, minorityMax + 1) : random.int(1, nodes.length),
    delayMs: flaky ? random.int(FLAKY_PCT_MIN, FLAKY_PCT_MAX + 1) : random.int(SLOW_DELAY_MS_MIN, SLOW_DELAY_MS_MAX + 1),
    jitterMs: random.int(0, SLOW_JITTER_MS_MAX + 1),
    fromLeader: random.chance(0.5),
  };
}

/** The whole schedule of a run. The same options give the same schedule. */
export function planSchedule(o: ScheduleOptions): PlannedFault[] {
  const random = new SeededRandom(o.seed);
  const kinds = o.kinds.filter((k) => o.nodes.length >= (MIN_NODES[k] ?? 2));
  const out: PlannedFault[] = [];
  if (kinds.length === 0) return out;
  let deck: FaultKind[] = [];
  let at = FIRST_FAULT_MS;
  while (at <= o.durationMs - END_MARGIN_MS) {
    if (deck.length === 0) deck = shuffle(kinds, random);
    const kind = deck.shift()!;
    const p = plan(out.length, kind, at, o.nodes, random);
    out.push(p);
    at += p.holdMs + random.int(GAP_MS_MIN, GAP_MS_MAX + 1);
  }
  return out;
}
