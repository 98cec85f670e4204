// The crdt workload (issue 13): many processes write eventual namespaces through every
// member while the nemesis plays; after the heal and a quiet phase every member is read
// (crdt-final.ts) and chaos/checker/crdt.ts decides whether they converged on exactly what
// was acknowledged.
//
//  - Three namespaces, one per type: counters (random deltas, either sign), sets (adds, and
//    removes only of a member the process saw in its last read of that set), events
//    (each process appends for its own devices, seqs 1, 2, 3 ... per device, explicit).
//  - Each process is one writer identity (rs-client-id `chaos-crdt-p<N>`, rs-seq counting its
//    writes), given to the client explicitly (CallOptions.identity), so the workload can
//    re-send a write as a client does after a lost response: after an acknowledged write
//    with RESEND_AFTER_OK_CHANCE, after a failed or indeterminate one with
//    RESEND_AFTER_FAILURE_CHANCE, up to RESENDS_MAX times; an event append that did not
//    answer ok is re-sent until it does (up to EVENT_RESENDS_MAX times: a gateway keeps a
//    device's events until the region has them). The server must apply each (id, seq) at
//    most once; with --unsafe crdt-duplicates it does not, and the counters show it.
//  - Every invocation and outcome is a line of crdt-history.jsonl (chaos/history/crdt-op.ts).

import { crdtOp, RegionstoreError, type Client, type CrdtOp } from '../../client/index.js';
import type { SeededRandom } from '../../server/util/random.js';
import type { CrdtEventBody, CrdtHistoryOp, CrdtIdentity, CrdtOpKind } from '../history/crdt-op.js';
import type { HistoryWriter } from '../history/writer.js';
import { clientSet, closeAll, errorText, failureStatus, pace, running, untilDone, type WorkloadContext } from './common.js';
import { readFinalStates, type CrdtFinalRead } from './crdt-final.js';

/** The namespaces the workload creates (eventual, one CRDT type each). */
export const CRDT_NAMESPACES = {
  counter: { name: 'chaos-counter', prefix: 'chaos-crdt/counter/' },
  set: { name: 'chaos-set', prefix: 'chaos-crdt/set/' },
  events: { name: 'chaos-events', prefix: 'chaos-crdt/events/' },
} as const;
export const COUNTER_KEYS = 4;
export const SET_KEYS = 3;
/** Members a set add picks from (few, so removes and re-adds of the same member happen). */
export const SET_MEMBER_POOL = 8;
export const DEVICES_PER_PROCESS = 2;
/** Largest |delta| of a counter add (small, so the checker's subset sums stay small). */
export const COUNTER_DELTA_MAX = 9;
/** Share of each operation; a set-remove with nothing observed becomes a set-read. */
export const CRDT_OP_MIX: ReadonlyArray<readonly [CrdtOpKind, number]> = [
  ['counter-add', 0.3], ['counter-read', 0.05], ['set-add', 0.22], ['set-read', 0.13], ['set-remove', 0.12], ['event-append', 0.18],
];
export const RESEND_AFTER_OK_CHANCE = 0.15;
export const RESEND_AFTER_FAILURE_CHANCE = 0.6;
/** Re-sends of one write at most (each one op of the process). */
export const RESENDS_MAX = 3;
/** Re-sends of an event append that has not answered ok (a fault lasts seconds; a re-send that fails fast costs a pace). */
export const EVENT_RESENDS_MAX = 20;
/** The event type the workload appends (the namespace's first schema version). */
export const EVENT_TYPE = 'reading';

export interface CrdtStats {
  ops: number;
  writes: number;
  ok: number;
  fail: number;
  unknown: number;
  resends: number;
  processes: number;
}

export function counterKey(i: number): string {
  return `${CRDT_NAMESPACES.counter.prefix}${i}`;
}

export function setKey(i: number): string {
  return `${CRDT_NAMESPACES.set.prefix}${i}`;
}

function pickKind(random: SeededRandom): CrdtOpKind {
  let x = random.next();
  for (const [kind, share] of CRDT_OP_MIX) {
    if (x < share) return kind;
    x -= share;
  }
  return 'counter-read';
}

/** What one process remembers between its operations. */
interface ProcessState {
  process: number;
  clientId: string;
  /** The rs-seq of its last write. */
  seq: number;
  /** Per set key: the members its last read of that set showed. */
  observed: Map<string, string[]>;
  /** Per device: the last seq appended. */
  deviceSeq: Map<string, number>;
  /** The write to re-send next, and how many times it was re-sent. */
  pending: { op: CrdtHistoryOp; resends: number } | undefined;
}

function dotText(d: { origin: string; seq: number } | undefined): string[] {
  return d === undefined ? [] : [`${d.origin}:${d.seq}`];
}

export class CrdtWorkload {
  readonly ops: CrdtHistoryOp[] = [];
  finals: CrdtFinalRead | undefined;
  private readonly clients: Client[];

  constructor(private readonly ctx: WorkloadContext, private readonly workers: number, private readonly history: HistoryWriter<CrdtHistoryOp>) {
    this.clients = clientSet(ctx.endpoints);
  }

  /** Creates the three namespaces (before the faults start); a create retried after it applied is fine. */
  async setup(): Promise<void> {
    const admin = this.clients[this.clients.length - 1]!;
    const specs = [
      { ...CRDT_NAMESPACES.counter, crdtType: 'counter' as const },
      { ...CRDT_NAMESPACES.set, crdtType: 'set' as const },
      { ...CRDT_NAMESPACES.events, crdtType: 'events' as const },
    ];
    for (const spec of specs) {
      await untilDone(async () => {
        try {
          await admin.namespaces.create({ ...spec, level: 'eventual' });
        } catch (err) {
          if (!(err instanceof RegionstoreError && err.codeName === 'ALREADY_EXISTS')) throw err;
        }
      });
    }
  }

  private record(op: CrdtHistoryOp): void {
    this.ops.push(op);
    this.history.append(op);
  }

  /** A new write of the process's mix (or a read), as a history op without its outcome. */
  private plan(p: ProcessState, random: SeededRandom): Omit<CrdtHistoryOp, 'call' | 'return' | 'status' | 'output' | 'error'> {
    let kind = pickKind(random);
    const setK = setKey(random.int(0, SET_KEYS));
    const observed = p.observed.get(setK) ?? [];
    if (kind === 'set-remove' && observed.length === 0) kind = 'set-read';
    const base = { process: p.process, op: kind, namespace: '', key: '', delta: null, member: null, event: null, identity: null, resend: false };
    const identity = (): CrdtIdentity => ({ clientId: p.clientId, seq: ++p.seq });
    switch (kind) {
      case 'counter-add': {
        const magnitude = random.int(1, COUNTER_DELTA_MAX + 1);
        return { ...base, namespace: CRDT_NAMESPACES.counter.name, key: counterKey(random.int(0, COUNTER_KEYS)), delta: random.chance(0.5) ? magnitude : -magnitude, identity: identity() };
      }
      case 'counter-read':
        return { ...base, namespace: CRDT_NAMESPACES.counter.name, key: counterKey(random.int(0, COUNTER_KEYS)) };
      case 'set-add':
        return { ...base, namespace: CRDT_NAMESPACES.set.name, key: setK, member: `m${random.int(0, SET_MEMBER_POOL)}`, identity: identity() };
      case 'set-remove': {
        const member = random.pick(observed);
        p.observed.set(setK, observed.filter((m) => m !== member));
        return { ...base, namespace: CRDT_NAMESPACES.set.name, key: setK, member, identity: identity() };
      }
      case 'set-read':
        return { ...base, namespace: CRDT_NAMESPACES.set.name, key: setK };
      case 'event-append': {
        const device = `d${p.process}-${random.int(0, DEVICES_PER_PROCESS)}`;
        const seq = (p.deviceSeq.get(device) ?? 0) + 1;
        p.deviceSeq.set(device, seq);
        const event: CrdtEventBody = { device, seq, type: EVENT_TYPE, payload: JSON.stringify({ p: p.process, v: random.int(0, 1000) }), tsMs: Date.now() };
        return { ...base, namespace: CRDT_NAMESPACES.events.name, event, identity: identity() };
      }
    }
  }

  /** Runs one op (a new one or a re-send) through `client`; returns it with its outcome. */
  private async execute(client: Client, op: Omit<CrdtHistoryOp, 'call' | 'return' | 'status' | 'output' | 'error'>): Promise<CrdtHistoryOp> {
    const call = this.ctx.clock.nowNs();
    const done = (o: Pick<CrdtHistoryOp, 'status' | 'output' | 'error'>): CrdtHistoryOp => ({ ...op, call, return: this.ctx.clock.nowNs(), ...o });
    const write = op.identity !== null;
    try {
      if (op.op === 'counter-read') {
        const r = await client.crdt.counterGet(op.key);
        return done({ status: 'ok', output: { revision: r.revision, dots: [], value: r.value }, error: null });
      }
      if (op.op === 'set-read') {
        const r = await client.crdt.setMembers(op.key);
        const members = r.members.map((m) => m.toString()).sort();
        return done({ status: 'ok', output: { revision: r.revision, dots: [], members }, error: null });
      }
      const r = await client.crdt.write(op.namespace, [this.crdtOpOf(op)], { identity: op.identity! });
      return done({ status: 'ok', output: { revision: r.revision, dots: r.results.flatMap((x) => dotText(x.dot)) }, error: null });
    } catch (err) {
      return done({ status: failureStatus(err, write), output: null, error: errorText(err) });
    }
  }

  private crdtOpOf(op: Pick<CrdtHistoryOp, 'op' | 'key' | 'delta' | 'member' | 'event'>): CrdtOp {
    switch (op.op) {
      case 'counter-add': return crdtOp.counterAdd(op.key, op.delta!);
      case 'set-add': return crdtOp.setAdd(op.key, op.member!);
      case 'set-remove': return crdtOp.setRemove(op.key, op.member!);
      case 'event-append': {
        const e = op.event!;
        return crdtOp.eventAppend({ device: e.device, seq: e.seq, type: e.type, payload: e.payload, tsMs: e.tsMs });
      }
      default: throw new Error(`${op.op} is not a write`);
    }
  }

  /** Whether the op just done is re-sent next (and how often it has been). */
  private nextResend(p: ProcessState, done: CrdtHistoryOp, resends: number, random: SeededRandom): void {
    p.pending = undefined;
    if (done.identity === null) return;
    const event = done.op === 'event-append' && done.status !== 'ok';
    if (resends >= (event ? EVENT_RESENDS_MAX : RESENDS_MAX)) return;
    const chance = done.status === 'ok' ? RESEND_AFTER_OK_CHANCE : event ? 1 : RESEND_AFTER_FAILURE_CHANCE;
    if (random.chance(chance)) p.pending = { op: done, resends };
  }

  private async worker(w: number): Promise<void> {
    const random = this.ctx.random.fork();
    const client = this.clients[w % this.clients.length]!;
    const p: ProcessState = { process: w, clientId: `chaos-crdt-p${w}`, seq: 0, observed: new Map(), deviceSeq: new Map(), pending: undefined };
    while (running(this.ctx)) {
      const resend = p.pending;
      const planned = resend === undefined
        ? this.plan(p, random)
        : { ...resend.op, resend: true };
      const done = await this.execute(client, planned);
      this.record(done);
      if (done.op === 'set-read' && done.status === 'ok') p.observed.set(done.key, done.output!.members!);
      this.nextResend(p, done, resend === undefined ? 0 : resend.resends + 1, random);
      await pace(random);
    }
  }

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.workers }, (_, w) => this.worker(w)));
  }

  /** After the heal: the quiet phase, then every member read on its own (crdt-final.ts). */
  async finalReads(): Promise<void> {
    const perMember = this.clients.slice(0, this.ctx.endpoints.length);
    this.finals = await readFinalStates(perMember, {
      counterKeys: Array.from({ length: COUNTER_KEYS }, (_, i) => counterKey(i)),
      setKeys: Array.from({ length: SET_KEYS }, (_, i) => setKey(i)),
      namespaces: Object.values(CRDT_NAMESPACES).map((n) => n.name),
      eventsNamespace: CRDT_NAMESPACES.events.name,
    }, this.ctx.log);
  }

  stats(): CrdtStats {
    const writes = this.ops.filter((o) => o.identity !== null);
    const count = (s: string): number => writes.filter((o) => o.status === s).length;
    return {
      ops: this.ops.length, writes: writes.length, ok: count('ok'), fail: count('fail'), unknown: count('unknown'),
      resends: writes.filter((o) => o.resend).length, processes: this.workers,
    };
  }

  close(): void {
    closeAll(this.clients);
  }
}
