// Injecting one planned fault, and the way to heal it. Targets come from the plan's seeded
// node order, except "the leader", which is asked for when the fault strikes (a node that
// is busy with a membership change is never a target of another fault).

import { setTimeout as sleep } from 'node:timers/promises';
import type { Link } from '../proxy/index.js';
import { bridgeSplit } from '../proxy/index.js';
import { FLAKY_CUT_EVERY_MS, damageKindOf, type FaultKind, type PlannedFault } from './schedule.js';
import type { NemesisTarget } from './target.js';

/** Deadline of a leadership transfer call. */
export const TRANSFER_TIMEOUT_MS = 10_000;
/**
 * crash-cut-off-leader: how long the leader is cut off before its kill -9. Shorter than an
 * election timeout, so it still leads (and answers) meanwhile: whatever it acknowledged
 * then without a quorum is lost with it. Only an unsafe build acknowledges anything.
 */
export const CUT_OFF_BEFORE_KILL_MS = 500;
/**
 * damage: how long it waits for every member to be healthy (the last damaged one repaired)
 * before striking. Storage faults come one member at a time: a second member damaged while
 * the first still lacks what it acknowledged is two faults in a 3-member cluster, past what
 * Raft (or any recovery) survives: seed 7 of --nemesis storage reseeded all three raft
 * logs in turn and the cluster lost every entry. Not healthy by then: no damage this time.
 */
export const DAMAGE_WAIT_HEALTHY_MS = 20_000;

export interface ActiveFault {
  kind: FaultKind;
  /** For the report, e.g. "n2 (leader)", "[n1] | [n2 n3]". */
  detail: string;
  heal(): Promise<void>;
}

export interface FaultContext {
  target: NemesisTarget;
  /** Nodes another fault must leave alone (a membership change is moving them). */
  busy: ReadonlySet<number>;
}

const NOTHING = async (): Promise<void> => {};

function names(t: NemesisTarget, nodes: readonly number[]): string {
  return `[${nodes.map((n) => t.name(n)).join(' ')}]`;
}

/** The first node of the plan's order that runs and is free. */
function pickNode(p: PlannedFault, ctx: FaultContext): number | undefined {
  return p.order.find((n) => ctx.target.running(n) && !ctx.busy.has(n));
}

/** The leader if it is free, else a node of the plan; and whether it is the leader. */
async function pickLeader(p: PlannedFault, ctx: FaultContext): Promise<{ node: number; leader: boolean } | undefined> {
  const leader = await ctx.target.leader();
  if (leader !== undefined && !ctx.busy.has(leader) && ctx.target.running(leader)) return { node: leader, leader: true };
  const node = pickNode(p, ctx);
  return node === undefined ? undefined : { node, leader: false };
}

/** Every directed link with an end among `nodes`. */
function linksTouching(all: readonly number[], nodes: readonly number[]): Link[] {
  const out: Link[] = [];
  for (const a of all) for (const b of all) if (a !== b && (nodes.includes(a) || nodes.includes(b))) out.push([a, b]);
  return out;
}

async function kill(p: PlannedFault, ctx: FaultContext, leaderWanted: boolean): Promise<ActiveFault | undefined> {
  const t = ctx.target;
  const chosen = leaderWanted ? await pickLeader(p, ctx) : mapNode(pickNode(p, ctx));
  if (chosen === undefined) return undefined;
  await t.signal(chosen.node, 'SIGKILL');
  return {
    kind: p.kind,
    detail: `kill -9 ${t.name(chosen.node)}${chosen.leader ? ' (leader)' : ''}`,
    heal: () => t.restart(chosen.node),
  };
}

async function crashCutOffLeader(p: PlannedFault, ctx: FaultContext): Promise<ActiveFault | undefined> {
  const t = ctx.target;
  const chosen = await pickLeader(p, ctx);
  if (chosen === undefined) return undefined;
  t.network.isolate(chosen.node);
  await sleep(CUT_OFF_BEFORE_KILL_MS);
  await t.signal(chosen.node, 'SIGKILL');
  t.network.heal();
  return {
    kind: p.kind,
    detail: `${t.name(chosen.node)}${chosen.leader ? ' (leader)' : ''} cut off, kill -9 after ${CUT_OFF_BEFORE_KILL_MS} ms`,
    heal: () => t.restart(chosen.node),
  };
}

async function pause(p: PlannedFault, ctx: FaultContext, leaderWanted: boolean): Promise<ActiveFault | undefined> {
  const t = ctx.target;
  const chosen = leaderWanted ? await pickLeader(p, ctx) : mapNode(pickNode(p, ctx));
  if (chosen === undefined) return undefined;
  await t.signal(chosen.node, 'SIGSTOP');
  return {
    kind: p.kind,
    detail: `SIGSTOP ${t.name(chosen.node)}${chosen.leader ? ' (leader)' : ''}`,
    heal: () => t.signal(chosen.node, 'SIGCONT'),
  };
}

function mapNode(node: number | undefined): { node: number; leader: boolean } | undefined {
  return node === undefined ? undefined : { node, leader: false };
}

function networkFault(p: PlannedFault, ctx: FaultContext, detail: string): ActiveFault {
  return { kind: p.kind, detail, heal: async () => ctx.target.network.heal() };
}

async function oneWay(p: PlannedFault, ctx: FaultContext): Promise<ActiveFault> {
  const t = ctx.target;
  if (p.fromLeader) {
    const chosen = await pickLeader(p, ctx);
    const from = chosen?.node ?? p.order[0]!;
    for (const to of t.nodes) if (to !== from) t.network.oneWay(from, to);
    return networkFault(p, ctx, `${t.name(from)}${chosen?.leader === true ? ' (leader)' : ''} -> everyone dropped`);
  }
  const [from, to] = [p.order[0]!, p.order[1]!];
  t.network.oneWay(from, to);
  return networkFault(p, ctx, `${t.name(from)} -> ${t.name(to)} dropped`);
}

function flaky(p: PlannedFault, ctx: FaultContext): ActiveFault {
  const t = ctx.target;
  const around = p.order.slice(0, p.size);
  const links = linksTouching(t.nodes, around);
  for (const link of links) t.network.flaky(link, p.delayMs);
  // A refusal only meets new connections: cutting the open ones now and then makes the
  // nodes reconnect through the fault for as long as it lasts.
  const timer = setInterval(() => {
    for (const link of links) t.network.cut(link);
  }, FLAKY_CUT_EVERY_MS);
  return {
    kind: p.kind,
    detail: `links of ${names(t, around)}: ${p.delayMs}% of connections refused, cut every ${FLAKY_CUT_EVERY_MS} ms`,
    heal: async () => {
      clearInterval(timer);
      t.network.heal();
    },
  };
}

function slow(p: PlannedFault, ctx: FaultContext): ActiveFault {
  const t = ctx.target;
  const around = p.order.slice(0, p.size);
  for (const link of linksTouching(t.nodes, around)) t.network.slow(link, p.delayMs, p.jitterMs);
  return networkFault(p, ctx, `links of ${names(t, around)}: +${p.delayMs} ms ±${p.jitterMs}`);
}

async function transfer(p: PlannedFault, ctx: FaultContext): Promise<ActiveFault | undefined> {
  const t = ctx.target;
  const leader = await t.leader();
  const to = p.order.find((n) => n !== leader && t.running(n) && !ctx.busy.has(n));
  if (leader === undefined || to === undefined) return undefined;
  const members = await t.admin.cluster.list({ timeoutMs: TRANSFER_TIMEOUT_MS });
  const member = members.members.find((m) => m.name === t.name(to) && !m.isLearner);
  if (member === undefined) return undefined;
  let outcome = 'done';
  try {
    await t.admin.maintenance.moveLeader(member.id, { timeoutMs: TRANSFER_TIMEOUT_MS });
  } catch (err) {
    outcome = `refused: ${(err as Error).message}`;
  }
  return { kind: p.kind, detail: `${t.name(leader)} -> ${t.name(to)} (${outcome})`, heal: NOTHING };
}

/**
 * kill -9 a member, damage its data dir while it is down; healed by starting it again (it
 * repairs itself). A damaged raft/ may be refused at start: then the nemesis does what the
 * refusal says (`regionstore member reseed`, from the peers) and starts it again.
 */
async function damage(p: PlannedFault, ctx: FaultContext): Promise<ActiveFault | undefined> {
  const t = ctx.target;
  const node = pickNode(p, ctx);
  const kind = damageKindOf(p);
  if (node === undefined || t.damage === undefined) return undefined;
  if (kind.startsWith('raft-') && t.reseed === undefined) return undefined;
  if (t.waitHealthy !== undefined) {
    try {
      await t.waitHealthy(DAMAGE_WAIT_HEALTHY_MS);
    } catch {
      return undefined;
    }
  }
  await t.signal(node, 'SIGKILL');
  const what = await t.damage(node, kind);
  const fault: ActiveFault = {
    kind: p.kind,
    detail: `kill -9 ${t.name(node)}, ${what}`,
    heal: async () => {
      try {
        await t.restart(node);
      } catch (err) {
        if (!kind.startsWith('raft-')) throw err;
        const said = await t.reseed!(node);
        fault.detail += `; refused at start (${(err as Error).message.split('\n')[0]!.slice(0, 120)}), reseeded: ${said}`;
        await t.restart(node);
      }
    },
  };
  return fault;
}

/**
 * Injects the fault; resolves with how to heal it, or undefined when it found no target
 * (every candidate busy or down). Membership changes are not injected here (membership.ts).
 */
export async function inject(p: PlannedFault, ctx: FaultContext): Promise<ActiveFault | undefined> {
  const t = ctx.target;
  switch (p.kind) {
    case 'kill': return kill(p, ctx, false);
    case 'kill-leader': return kill(p, ctx, true);
    case 'crash-cut-off-leader': return crashCutOffLeader(p, ctx);
    case 'pause': return pause(p, ctx, false);
    case 'pause-leader': return pause(p, ctx, true);
    case 'partition': {
      const minority = p.order.slice(0, p.size);
      const majority = p.order.slice(p.size);
      t.network.partition([minority, majority]);
      return networkFault(p, ctx, `${names(t, minority)} | ${names(t, majority)}`);
    }
    case 'isolate-leader': {
      const chosen = await pickLeader(p, ctx);
      const node = chosen?.node ?? p.order[0]!;
      t.network.isolate(node);
      return networkFault(p, ctx, `${t.name(node)}${chosen?.leader === true ? ' (leader)' : ''} alone`);
    }
    case 'bridge': {
      const { left, middle, right } = bridgeSplit(p.order);
      t.network.bridge(left, middle, right);
      return networkFault(p, ctx, `${names(t, left)} - ${t.name(middle)} - ${names(t, right)}`);
    }
    case 'one-way': return oneWay(p, ctx);
    case 'flaky': return flaky(p, ctx);
    case 'slow': return slow(p, ctx);
    case 'transfer': return transfer(p, ctx);
    case 'damage': return damage(p, ctx);
    case 'membership': throw new Error('inject: a membership change runs in the background (membership.ts)');
  }
}
