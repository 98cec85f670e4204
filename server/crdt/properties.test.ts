// Properties of every type (fast-check; the seed is printed, replay with CRDT_PROP_SEED=<seed>):
// any operations on 2..4 replicas, synced in pages of random size, delivered out of order and
// twice: replicas that hold the same records render the same state, that state is what the
// type's rule says (an independent model below), join is commutative, associative and
// idempotent, and GC at causal stability never changes what is visible.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CRDT_KINDS, HybridClock, VersionVector, causalStability, counterAdd, createReplica, eventAppend, lwwPut,
  mvPut, renderCanonical, setAdd, setRemove, compareStamp, DeltaGapError, canonicalJson, utf8,
  type CrdtKind, type CrdtRecord, type CrdtReplica, type LwwStore, type MvStore,
} from './index.js';

const SEED = Number(process.env.CRDT_PROP_SEED ?? Date.now() % 2 ** 31);
const RUNS = 120;
console.log(`# crdt properties: seed ${SEED} (replay: CRDT_PROP_SEED=${SEED} npm run test:only -- crdt/properties)`);

type Cmd =
  | { t: 'op'; at: number; key: number; val: number; flag: boolean }
  | { t: 'sync'; from: number; to: number; budget: number; reverse: boolean; dup: boolean }
  | { t: 'tick'; ms: number }
  | { t: 'gc'; at: number };

const cmd = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('op' as const), at: fc.nat(3), key: fc.nat(2), val: fc.nat(4), flag: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('sync' as const), from: fc.nat(3), to: fc.nat(3), budget: fc.integer({ min: 1, max: 200 }), reverse: fc.boolean(), dup: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('tick' as const), ms: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('gc' as const), at: fc.nat(3) }) },
);

interface World {
  kind: CrdtKind;
  reps: CrdtReplica[];
  ops: CrdtRecord[];
  now: number;
}

function newWorld(kind: CrdtKind, n: number): World {
  const reps = Array.from({ length: n }, (_, i) => createReplica(kind, `r${i}`, new HybridClock(`r${i}`)));
  return { kind, reps, ops: [], now: 1_000 };
}

// Values are bytes; some are not UTF-8 (0xff..., a truncated sequence), so both canonical
// renderings and equality by content are exercised.
const val = (n: number): Uint8Array => (n === 4 ? Uint8Array.of(0xff, 0x00, n) : utf8(`v${n}`));
const elem = (n: number): Uint8Array => (n === 2 ? Uint8Array.of(0xc3, 0x28) : utf8(`e${n}`));
const payload = (n: number): Uint8Array => (n % 3 === 0 ? Uint8Array.of(0x70, 0xfe, n) : utf8(`p${n}`));

/** The model's own rendering of bytes (Buffer, not the core's code): UTF-8 text, else base64. */
function modelBytes(v: Uint8Array): unknown {
  const text = Buffer.from(v).toString('utf8');
  return Buffer.from(text, 'utf8').equals(Buffer.from(v)) ? text : { base64: Buffer.from(v).toString('base64') };
}

function doOp(w: World, c: Extract<Cmd, { t: 'op' }>): void {
  const r = w.reps[c.at % w.reps.length]!;
  const key = c.key === 2 ? Uint8Array.of(0x6b, 0xff) : utf8(`k${c.key}`); // keys are bytes (etcd keys) too
  let rec: CrdtRecord | undefined;
  switch (w.kind) {
    case 'lww':
      rec = lwwPut(r, key, c.flag && c.val === 0 ? null : val(c.val), w.now);
      break;
    case 'mv': {
      const { token } = (r.store as MvStore).read(key);
      rec = mvPut(r, key, val(c.val), c.flag ? token : {}, w.now);
      break;
    }
    case 'counter':
      rec = counterAdd(r, key, c.flag ? -c.val : c.val, w.now);
      break;
    case 'set':
      rec = c.flag ? setRemove(r, key, elem(c.val % 3), w.now) : setAdd(r, key, elem(c.val % 3), w.now);
      break;
    case 'events':
      // Each replica is the gateway of its own device; seqs may skip (a gap) and fill later.
      rec = eventAppend(r, { deviceId: r.replicaId, deviceSeq: c.val + 1 + c.key * 5, ts: c.val, type: 't', payload: payload(c.val + c.key * 5) }, w.now);
      break;
  }
  if (rec !== undefined) w.ops.push(rec);
}

function sync(w: World, from: CrdtReplica, to: CrdtReplica, budget: number, reverse = false, dup = false): void {
  if (from === to) return;
  const pages = from.extract(to.vector, budget);
  const order = reverse ? [...pages].reverse() : pages;
  for (const p of dup ? [...order, ...order] : order) {
    try {
      to.applyPage(p, w.now);
    } catch (err) {
      if (!(err instanceof DeltaGapError)) throw err; // out of order: refused, resent later
    }
  }
}

function converge(w: World): void {
  for (let round = 0; round < 2; round++) for (const a of w.reps) for (const b of w.reps) sync(w, a, b, 10_000);
}

/** The type's rule computed from the operations alone, independently of the stores. */
function model(w: World): string {
  // Keyed by the key's hex (sorts like the bytes); rendered at the end as [key, value] pairs.
  const out: Record<string, unknown> = {};
  const byKey = new Map<string, CrdtRecord[]>();
  for (const r of w.ops) {
    const k = 'key' in r ? Buffer.from(r.key).toString('hex') : '';
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  for (const [key, rs] of [...byKey].sort()) {
    switch (w.kind) {
      case 'lww': {
        const win = rs.reduce((a, b) => (compareStamp(a.hlc, a.origin, b.hlc, b.origin) >= 0 ? a : b)) as Extract<CrdtRecord, { kind: 'lww' }>;
        if (win.value !== null) out[key] = modelBytes(win.value);
        break;
      }
      case 'counter': {
        const last = new Map<string, Extract<CrdtRecord, { kind: 'counter' }>>();
        for (const r of rs as Array<Extract<CrdtRecord, { kind: 'counter' }>>) last.set(r.origin, r);
        out[key] = [...last.values()].reduce((s, r) => s + r.p - r.n, 0);
        break;
      }
      case 'set': {
        const sr = rs as Array<Extract<CrdtRecord, { kind: 'set' }>>;
        const removed = new Set(sr.flatMap((r) => (r.op === 'remove' ? r.removed.map((d) => `${d.origin}:${d.seq}`) : [])));
        // Equal by content, in byte order: hex strings of the bytes sort like the bytes.
        const hexes = new Set(sr.filter((r) => r.op === 'add' && !removed.has(`${r.origin}:${r.seq}`)).map((r) => Buffer.from(r.elem).toString('hex')));
        const elems = [...hexes].sort().map((h) => modelBytes(Buffer.from(h, 'hex')));
        if (elems.length > 0) out[key] = elems;
        break;
      }
      case 'mv': {
        const mr = rs as Array<Extract<CrdtRecord, { kind: 'mv' }>>;
        const live = mr.filter((r) => !mr.some((o) => (o.context[r.origin] ?? 0) >= r.seq));
        live.sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : a.seq - b.seq));
        if (live.length > 0) out[key] = live.map((r) => modelBytes(r.value));
        break;
      }
      case 'events':
        break;
    }
  }
  if (w.kind === 'events') return canonicalJson(w.ops.length);
  return canonicalJson(Object.keys(out).sort().map((h) => [modelBytes(Buffer.from(h, 'hex')), out[h]]));
}

const render = (x: CrdtReplica): string => renderCanonical(x.store);

function eventsHeld(r: CrdtReplica): number {
  return r.liveRecords().length;
}

function run(kind: CrdtKind, n: number, cmds: Cmd[]): void {
  const w = newWorld(kind, n);
  for (const c of cmds) {
    if (c.t === 'op') doOp(w, c);
    else if (c.t === 'tick') w.now += c.ms;
    else if (c.t === 'gc') {
      // Mid-run GC with every replica's current vector as its ack: nothing visible changes.
      const r = w.reps[c.at % n]!;
      const before = renderCanonical(r.store);
      r.gc(causalStability(w.reps.map((x) => x.vector)));
      assert.equal(renderCanonical(r.store), before, 'GC changed the visible state');
    } else sync(w, w.reps[c.from % n]!, w.reps[c.to % n]!, c.budget, c.reverse, c.dup);
  }
  converge(w);
  // A losing lww write is not lost: its writer still lists it as superseded (until a GC).
  if (kind === 'lww' && !cmds.some((c) => c.t === 'gc')) {
    for (const op of w.ops) {
      const rep = w.reps.find((r) => r.replicaId === op.origin)!;
      const store = rep.store as LwwStore;
      const key = (op as { key: Uint8Array }).key;
      assert.ok(store.winner(key) === op || store.superseded(key).includes(op as never), `lww write ${op.origin}:${op.seq} vanished`);
    }
  }
  const renders = w.reps.map((r) => renderCanonical(r.store));
  for (const r of renders) assert.equal(r, renders[0], 'replicas holding the same records differ');
  if (kind === 'events') assert.equal(eventsHeld(w.reps[0]!), w.ops.length, 'an appended event is missing');
  else assert.equal(renders[0], model(w), 'the state is not what the type rule says');
  // GC at causal stability (every replica's vector acknowledged) changes nothing visible.
  const s = causalStability(w.reps.map((r) => r.vector));
  for (const r of w.reps) r.gc(s);
  for (const r of w.reps) assert.equal(renderCanonical(r.store), renders[0], 'GC changed the visible state');
}

for (const kind of CRDT_KINDS) {
  test(`crdt properties (${kind}): any ops, any delivery order, duplicates: convergence to the type rule, GC invisible`, () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 4 }), fc.array(cmd, { maxLength: 60 }), (n, cmds) => run(kind, n, cmds)), { seed: SEED, numRuns: RUNS });
  });

  test(`crdt properties (${kind}): join is commutative, associative and idempotent`, () => {
    fc.assert(fc.property(fc.array(cmd, { maxLength: 40 }), (cmds) => {
      const w = newWorld(kind, 3);
      for (const c of cmds) {
        if (c.t === 'op') doOp(w, c);
        else if (c.t === 'tick') w.now += c.ms;
      }
      const join = (a: CrdtReplica, b: CrdtReplica): CrdtReplica => {
        const out = a.clone(new HybridClock(`${a.replicaId}+`));
        sync(w, b, out, 50);
        return out;
      };
      const [a, b, c] = w.reps as [CrdtReplica, CrdtReplica, CrdtReplica];
      assert.equal(render(join(a, b)), render(join(b, a)));
      assert.equal(render(join(join(a, b), c)), render(join(a, join(b, c))));
      assert.equal(render(join(a, a)), render(a));
      assert.ok(join(a, b).vector.equals(join(b, a).vector));
    }), { seed: SEED, numRuns: RUNS });
  });
}

test('crdt properties: version vector compare agrees with pointwise order', () => {
  const vec = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.nat(5)).map((d) => VersionVector.from(d));
  fc.assert(fc.property(vec, vec, (a, b) => {
    const j = a.clone().join(b);
    assert.ok(j.dominates(a) && j.dominates(b));
    const c = a.compare(b);
    assert.equal(c === 'equal', a.dominates(b) && b.dominates(a));
    assert.equal(c === 'concurrent', !a.dominates(b) && !b.dominates(a));
    for (const g of a.lacks(b)) assert.ok(g.from === b.get(g.origin) + 1 && g.to === a.get(g.origin));
  }), { seed: SEED, numRuns: 300 });
});
