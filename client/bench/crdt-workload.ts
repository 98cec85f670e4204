// The CRDT loops of `rsctl bench lww|counter|set|events` (and bench:compare's eventual put
// row): writes to an eventual namespace through client.crdt, one op per request (events:
// --events-per-append per request), not retried (attempts: 1), latencies in the histogram
// as for KV. The namespace is created when missing (eventual, of the bench's type, its
// prefix the key prefix).
//
// What was applied is counted from the server: every op of a CRDT write gets one dot of the
// region, so the namespace's vector grows by exactly the ops applied (`dots_added`); a put
// bench's revision count does not carry over (a set add of a member already present, or a
// counter's, changes revisions differently). Counter benches also check the sum.

import { Client, NotFoundError, type CrdtVector } from '../index.js';
import { benchClient, currentRevision, keyName, loopReport, runLoops, type BenchOptions, type BenchResult } from './workload.js';

export type CrdtBenchKind = 'lww' | 'counter' | 'set' | 'events';
export const CRDT_BENCH_KINDS: readonly CrdtBenchKind[] = ['lww', 'counter', 'set', 'events'];

export interface CrdtBenchOptions extends BenchOptions {
  /** The namespace written (default bench-<kind>); its prefix must cover keyPrefix. */
  namespace?: string;
  /** set: members are m0..m<memberSpace-1>, picked at random. */
  memberSpace: number;
  /** set: percent of requests that remove a member instead of adding one. */
  removePercent: number;
  /** events: events per append (one Write); devices are dev<0..keySpace-1>. */
  eventsPerAppend: number;
}

export const CRDT_BENCH_DEFAULTS = { memberSpace: 64, removePercent: 0, eventsPerAppend: 1 } as const;

/** Keys whose counters the counter bench sums before and after (larger key spaces are not checked). */
export const COUNTER_CHECK_KEYS_MAX = 1_000;

export function benchNamespaceName(kind: CrdtBenchKind): string {
  return `bench-${kind}`;
}

/**
 * The namespace, created eventual of `kind` with prefix `prefix` when missing. An existing
 * one must be eventual of that kind and own the key prefix.
 */
export async function ensureBenchNamespace(client: Client, name: string, kind: CrdtBenchKind, prefix: string, keyPrefix = prefix): Promise<void> {
  try {
    const ns = await client.namespaces.get(name);
    if (ns.level !== 'eventual' || ns.crdtType !== kind) {
      throw new RangeError(`namespace ${name} is ${ns.level}${ns.level === 'eventual' ? ` ${ns.crdtType}` : ''}, not eventual ${kind}: name another with --namespace`);
    }
    if (!keyPrefix.startsWith(ns.prefix)) throw new RangeError(`namespace ${name} has prefix ${JSON.stringify(ns.prefix)}, which does not cover --key-prefix ${JSON.stringify(keyPrefix)}`);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    await client.namespaces.create({ name, prefix, level: 'eventual', crdtType: kind, description: 'created by rsctl bench' });
  }
}

function vectorSum(v: CrdtVector): number {
  return Object.values(v).reduce((a, b) => a + b, 0);
}

/** The namespace's vector summed over origins, linearizably (every acknowledged write counted). */
export async function namespaceDots(client: Client, namespace: string): Promise<number> {
  return vectorSum((await client.crdt.read(namespace, { limit: 1 })).vector);
}

async function counterSum(client: Client, o: CrdtBenchOptions): Promise<number | undefined> {
  if (o.keySpace > COUNTER_CHECK_KEYS_MAX) return undefined;
  let sum = 0;
  for (let i = 0; i < o.keySpace; i++) sum += (await client.crdt.counterGet(keyName(o.keyPrefix, i, o.keySpace))).value;
  return sum;
}

/** A value of valueSize bytes ending in the request number: every lww put changes the value. */
function uniqueValue(size: number, n: number): Buffer {
  const v = Buffer.alloc(size, 'x');
  const tag = String(n);
  v.write(tag.slice(-size), Math.max(0, size - tag.length));
  return v;
}

export async function runCrdtBench(kind: CrdtBenchKind, o: CrdtBenchOptions): Promise<BenchResult> {
  if (o.memberSpace < 1) throw new RangeError(`--member-space must be at least 1, got ${o.memberSpace}`);
  if (o.removePercent < 0 || o.removePercent > 100) throw new RangeError(`--remove-percent must be 0..100, got ${o.removePercent}`);
  if (o.eventsPerAppend < 1) throw new RangeError(`--events-per-append must be at least 1, got ${o.eventsPerAppend}`);
  const client = benchClient(o);
  const ns = o.namespace ?? benchNamespaceName(kind);
  try {
    await ensureBenchNamespace(client, ns, kind, o.keyPrefix);
    const pick = (n: number): number => (o.sequentialKeys ? n % o.keySpace : Math.floor(Math.random() * o.keySpace));
    const key = (n: number): string => keyName(o.keyPrefix, pick(n), o.keySpace);
    const payload = Buffer.alloc(o.valueSize, 'x');
    const requests: Record<CrdtBenchKind, (n: number) => Promise<unknown>> = {
      lww: (n) => client.crdt.lwwPut(key(n), uniqueValue(o.valueSize, n)),
      counter: (n) => client.crdt.counterAdd(key(n), 1),
      set: (n) => {
        const member = `m${Math.floor(Math.random() * o.memberSpace)}`;
        return Math.random() * 100 < o.removePercent ? client.crdt.setRemove(key(n), member) : client.crdt.setAdd(key(n), member);
      },
      events: (n) => {
        const device = keyName('dev', pick(n), o.keySpace);
        return client.crdt.eventsAppend(ns, Array.from({ length: o.eventsPerAppend }, () => ({ device, type: 'bench', payload })));
      },
    };
    const opsPerRequest = kind === 'events' ? o.eventsPerAppend : 1;
    const sumBefore = kind === 'counter' ? await counterSum(client, o) : undefined;
    const before = await currentRevision(client);
    const dotsBefore = await namespaceDots(client, ns);
    const r = await runLoops(`bench ${kind}`, requests[kind], o);
    const dotsAfter = await namespaceDots(client, ns);
    const after = await currentRevision(client);
    const sumAfter = kind === 'counter' ? await counterSum(client, o) : undefined;
    return {
      ...loopReport(kind, o, r, before, after),
      namespace: ns,
      key_space: o.keySpace,
      value_size: o.valueSize,
      // Every acknowledged op must have its dot; a failed request may have applied too.
      dots_added: dotsAfter - dotsBefore,
      dots_expected: r.ok * opsPerRequest,
      ...(kind === 'counter' && sumBefore !== undefined && sumAfter !== undefined ? { counter_added: sumAfter - sumBefore, counter_expected: r.ok } : {}),
      ...(kind === 'set' ? { member_space: o.memberSpace, remove_percent: o.removePercent } : {}),
      ...(kind === 'events' ? { events_per_append: o.eventsPerAppend } : {}),
    };
  } finally {
    client.close();
  }
}

/** What a CRDT bench's server-side counts say is wrong ('' when they match). */
export function crdtBenchProblem(r: BenchResult): string {
  const problems: string[] = [];
  const dots = r['dots_added'];
  const want = r['dots_expected'];
  // With failures, some failed requests may have applied: only fewer dots than acknowledged ops is wrong.
  if (typeof dots === 'number' && typeof want === 'number' && (dots < want || (r.failed === 0 && dots !== want))) {
    problems.push(`${dots} dots added for ${want} acknowledged ops`);
  }
  const added = r['counter_added'];
  const expected = r['counter_expected'];
  if (typeof added === 'number' && typeof expected === 'number' && (added < expected || (r.failed === 0 && added !== expected))) {
    problems.push(`counters grew by ${added} for ${expected} acknowledged adds`);
  }
  return problems.join('; ');
}
