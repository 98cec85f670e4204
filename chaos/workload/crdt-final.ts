// The crdt workload's final reads, after every fault is healed:
//  1. quiet phase: no more writes; every member's CrdtHash of every namespace is polled
//     until all members answer with the same hashes at the same applied index (they have
//     applied the same log), or QUIESCE_TIMEOUT_MS passes (then the reads go on, and the
//     checker reports what differs);
//  2. every member read on its own (a client of that member alone, serializable: what
//     it has applied): the hashes, every counter and set key the workload used, every
//     event, and per device the completeness.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '../../client/index.js';
import { nodeName } from '../../cluster/plan.js';
import type { CrdtHashState, CrdtMemberFinal } from '../checker/crdt-state.js';
import { errorText, untilDone } from './common.js';

/** How long the quiet phase waits for the members to agree. */
export const QUIESCE_TIMEOUT_MS = 30_000;
export const QUIESCE_POLL_MS = 250;

export interface CrdtFinalSpec {
  counterKeys: readonly string[];
  setKeys: readonly string[];
  /** Every namespace whose CrdtHash is compared. */
  namespaces: readonly string[];
  eventsNamespace: string;
}

export interface CrdtFinalRead {
  members: CrdtMemberFinal[];
  /** The members agreed (hashes and applied index) before they were read. */
  quiesced: boolean;
  quiesceMs: number;
}

async function hashesOf(client: Client, namespaces: readonly string[]): Promise<Record<string, CrdtHashState>> {
  const out: Record<string, CrdtHashState> = {};
  for (const ns of namespaces) {
    const h = await client.crdt.hash(ns);
    out[ns] = { hash: h.hash, appliedIndex: h.appliedIndex, revision: h.revision };
  }
  return out;
}

function hashKey(h: Record<string, CrdtHashState>): string {
  return JSON.stringify(Object.entries(h).map(([ns, x]) => [ns, x.hash, x.appliedIndex]));
}

/** Every member answered, with the same hash per namespace and the same applied index. */
function agree(all: ReadonlyArray<Record<string, CrdtHashState> | undefined>): boolean {
  const [first, ...rest] = all;
  if (first === undefined || rest.some((h) => h === undefined)) return false;
  return rest.every((h) => hashKey(h!) === hashKey(first));
}

async function quiesce(clients: readonly Client[], spec: CrdtFinalSpec): Promise<boolean> {
  const deadline = Date.now() + QUIESCE_TIMEOUT_MS;
  for (;;) {
    const all = await Promise.all(clients.map((c) => hashesOf(c, spec.namespaces).catch(() => undefined)));
    if (agree(all)) return true;
    if (Date.now() > deadline) return false;
    await sleep(QUIESCE_POLL_MS);
  }
}

async function readMember(client: Client, node: string, spec: CrdtFinalSpec): Promise<CrdtMemberFinal> {
  const serializable = { serializable: true };
  const hashes = await hashesOf(client, spec.namespaces);
  const counters: CrdtMemberFinal['counters'] = {};
  for (const key of spec.counterKeys) {
    const c = await client.crdt.counterGet(key, serializable);
    counters[key] = { value: c.value, p: c.p, n: c.n };
  }
  const sets: CrdtMemberFinal['sets'] = {};
  for (const key of spec.setKeys) sets[key] = (await client.crdt.setMembers(key, serializable)).members.map((m) => m.toString()).sort();
  const scan = await client.crdt.eventsScan(spec.eventsNamespace, { ...serializable, all: true });
  const events = scan.events.map((e) => ({ device: e.device, seq: e.seq, type: e.type, payload: e.payload.toString(), tsMs: e.tsMs }));
  const completeness: CrdtMemberFinal['completeness'] = {};
  for (const d of (await client.crdt.completeness(spec.eventsNamespace, { ...serializable, all: true })).devices) {
    completeness[d.device] = { contiguous: d.contiguous, highest: d.highest, held: d.held, completeness: d.completeness };
  }
  return { node, error: null, hashes, counters, sets, events, completeness };
}

/** Steps 1 and 2 of the module comment; `clients[i]` talks to member i alone. */
export async function readFinalStates(clients: readonly Client[], spec: CrdtFinalSpec, log: (line: string) => void): Promise<CrdtFinalRead> {
  const t0 = Date.now();
  const quiesced = await quiesce(clients, spec);
  const quiesceMs = Date.now() - t0;
  log(`crdt: ${quiesced ? 'members agree' : `members still differ after ${QUIESCE_TIMEOUT_MS} ms`}; reading every member`);
  const members = await Promise.all(clients.map(async (client, i) => {
    const node = nodeName(i);
    try {
      return await untilDone(() => readMember(client, node, spec));
    } catch (err) {
      log(`crdt: final read of ${node}: ${errorText(err)}`);
      const empty: CrdtMemberFinal = { node, error: errorText(err), hashes: {}, counters: {}, sets: {}, events: [], completeness: {} };
      return empty;
    }
  }));
  return { members, quiesced, quiesceMs };
}
