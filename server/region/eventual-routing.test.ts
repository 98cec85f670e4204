// The routing of etcd KV writes by namespace level and type (eventual-routing.ts), over a
// real MvccStore on the in-memory engine and a real registry. The CRDT write path is a
// stand-in that records the ops and projects them into the store as the region's apply
// does for lww (a put is the value, a delete removes the key), so the answers' revisions,
// deleted counts and prev_kv can be checked; the real path is tested in test/crdt-api.test.ts.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MvccStore, type TxnRequest } from '../mvcc/index.js';
import { NamespaceRegistry, completeDefinition, type NamespaceSpec } from '../namespace/index.js';
import { openMemoryEngine, type Engine } from '../storage/index.js';
import { EventualRouting, type LwwOp, type RoutingNode } from './eventual-routing.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (u: Uint8Array): string => new TextDecoder().decode(u);

const eventual = (name: string, prefix: string, crdtType: NonNullable<NamespaceSpec['crdtType']>): NamespaceSpec => ({ name, prefix, level: 'eventual', crdtType });

let engine: Engine;
let store: MvccStore;
let index = 0;
let writes: Array<{ namespace: string; ops: LwwOp[]; identity: unknown }> = [];
let barriers = 0;
let registry = NamespaceRegistry.of([
  completeDefinition(eventual('cfg', 'cfg/', 'lww')),
  completeDefinition(eventual('counters', 'counters/', 'counter')),
  completeDefinition(eventual('ev', 'ev/', 'events')),
  completeDefinition({ name: 'pinned', prefix: 'cfg/pinned/' }),
]);

const node: RoutingNode = {
  get namespaces() {
    return registry;
  },
  linearizableBarrier: async () => {
    barriers++;
  },
  readLocal: (read) => Promise.resolve(read(store)),
};

async function exec(cmd: Parameters<MvccStore['apply']>[1]): Promise<number> {
  await store.apply(++index, cmd);
  return store.currentRevision;
}

/** Applies lww ops as the projection does: one txn, one revision. */
const writer = {
  async write(req: { namespace: string; ops: LwwOp[] }, identity: unknown) {
    writes.push({ ...req, identity });
    const success = req.ops.map((op) => (op.type === 'lwwPut'
      ? { type: 'put' as const, put: { key: op.key, value: op.value } }
      : { type: 'deleteRange' as const, deleteRange: { key: op.key } }));
    return { revision: await exec({ type: 'txn', txn: { compare: [], success, failure: [] } }) };
  },
};

const routing = (): EventualRouting => new EventualRouting(node, writer, { opsMax: 3, opBytesMax: 64 });

async function refused(p: Promise<unknown> | (() => unknown), code: string, re: RegExp): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (e: { code: string; message: string }) => {
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

before(async () => {
  engine = await openMemoryEngine();
  store = await MvccStore.open(engine);
});
after(async () => {
  await store.idle();
  await engine.close();
});
beforeEach(() => {
  writes = [];
  barriers = 0;
});

describe('etcd KV on eventual namespaces', () => {
  test('strong keys are not routed (the mvcc path answers)', () => {
    const r = routing();
    assert.equal(r.put({ key: b('plain'), value: b('v') }, undefined), undefined);
    assert.equal(r.put({ key: b('cfg/pinned/x'), value: b('v') }, undefined), undefined, 'a strong namespace nested in an lww one');
    assert.equal(r.deleteRange({ key: b('a'), rangeEnd: b('c') }, undefined), undefined);
    r.checkTxn({ compare: [], success: [{ type: 'put', put: { key: b('plain'), value: b('v') } }], failure: [] });
  });

  test('Put on lww: one lww put with the identity; prev_kv and ignore_value read after a barrier', async () => {
    const r = routing();
    const first = await r.put({ key: b('cfg/a'), value: b('1') }, { clientId: 'c', seq: 1 })!;
    assert.deepEqual(writes[0], { namespace: 'cfg', ops: [{ type: 'lwwPut', key: b('cfg/a'), value: b('1') }], identity: { clientId: 'c', seq: 1 } });
    assert.equal(first.revision, store.currentRevision);
    assert.equal(barriers, 0, 'a plain put reads nothing');
    const second = await r.put({ key: b('cfg/a'), value: b('2'), prevKv: true }, undefined)!;
    assert.equal(text(second.prevKv!.value), '1');
    assert.equal(barriers, 1);
    await r.put({ key: b('cfg/a'), value: new Uint8Array(0), ignoreValue: true }, undefined);
    assert.equal(text(writes[2]!.ops[0]!.type === 'lwwPut' ? writes[2]!.ops[0]!.value : b('')), '2', 'ignore_value keeps the current value');
    await refused(r.put({ key: b('cfg/none'), value: new Uint8Array(0), ignoreValue: true }, undefined)!, 'key-not-found', /^etcdserver: key not found$/);
  });

  test('Put refusals: other types, a lease, an oversized value', async () => {
    const r = routing();
    await refused(r.put({ key: b('counters/x'), value: b('1') }, undefined)!, 'failed-precondition',
      /^namespace "counters" is eventual \(counter\): etcd Put works only on strong and lww namespaces; write with regionstore.v1.Crdt \(rsctl counter add\)$/);
    await refused(r.put({ key: b('cfg/x'), value: b('1'), lease: 7 }, undefined)!, 'failed-precondition',
      /^namespace "cfg" is eventual \(lww\): leases exist only in strong namespaces; put the key without a lease/);
    await refused(r.put({ key: b('cfg/x'), value: new Uint8Array(100) }, undefined)!, 'invalid', /at most 64 bytes of key \+ value \(CRDT_OP_BYTES_MAX\), this one is 105/);
    assert.equal(writes.length, 0);
  });

  test('DeleteRange on lww: each live key, one write; deleted and prev_kvs; nothing live: no write', async () => {
    const r = routing();
    await r.put({ key: b('cfg/d1'), value: b('x') }, undefined);
    await r.put({ key: b('cfg/d2'), value: b('y') }, undefined);
    writes = [];
    const res = await r.deleteRange({ key: b('cfg/d'), rangeEnd: b('cfg/e'), prevKv: true }, { clientId: 'c', seq: 9 })!;
    assert.equal(res.deleted, 2);
    assert.deepEqual(res.prevKvs.map((kv) => text(kv.value)), ['x', 'y']);
    assert.deepEqual(writes[0]!.ops, [{ type: 'lwwDelete', key: b('cfg/d1') }, { type: 'lwwDelete', key: b('cfg/d2') }]);
    assert.equal(res.revision, store.currentRevision);
    const none = await r.deleteRange({ key: b('cfg/d1') }, undefined);
    assert.deepEqual(none, { revision: store.currentRevision, deleted: 0, prevKvs: [] });
    assert.equal(writes.length, 1);
  });

  test('DeleteRange refusals: spanning levels or namespaces, other types, over the ops limit', async () => {
    const r = routing();
    await refused(r.deleteRange({ key: b('a'), rangeEnd: b('z') }, undefined)!, 'failed-precondition',
      /^the range spans namespaces "default" \(strong\), "cfg" \(eventual lww\)|the range spans namespaces .*"cfg" \(eventual lww\).*"default" \(strong\)/);
    await refused(r.deleteRange({ key: b('\0'), rangeEnd: b('\0') }, undefined)!, 'failed-precondition', /the range spans namespaces/);
    await refused(r.deleteRange({ key: b('cfg/'), rangeEnd: b('cfg0') }, undefined)!, 'failed-precondition', /"pinned" \(strong\)/);
    await refused(r.deleteRange({ key: b('ev/d/1') }, undefined)!, 'failed-precondition',
      /^namespace "ev" is eventual \(events\): etcd DeleteRange works only on strong and lww namespaces; write with regionstore.v1.Crdt \(rsctl events append\)$/);
    for (const k of ['cfg/m1', 'cfg/m2', 'cfg/m3', 'cfg/m4']) await r.put({ key: b(k), value: b('v') }, undefined);
    writes = [];
    await refused(r.deleteRange({ key: b('cfg/m'), rangeEnd: b('cfg/n') }, undefined)!, 'resource-exhausted', /at most 3 ops \(CRDT_WRITE_OPS_MAX\).*4 live keys or more: delete it in smaller ranges/);
    assert.equal(writes.length, 0);
  });

  test('Txn touching an eventual key anywhere is refused, naming the namespace and what to use', () => {
    const r = routing();
    const put = (k: string) => ({ type: 'put' as const, put: { key: b(k), value: b('v') } });
    const txns: TxnRequest[] = [
      { compare: [{ key: b('counters/a'), result: 0, target: 0, version: 0 }], success: [], failure: [] },
      { compare: [], success: [put('plain'), put('counters/a')], failure: [] },
      { compare: [], success: [], failure: [{ type: 'range', range: { key: b('counters/'), rangeEnd: b('counters0') } }] },
      { compare: [], success: [{ type: 'txn', txn: { compare: [], success: [put('counters/b')], failure: [] } }], failure: [] },
    ];
    for (const t of txns) {
      assert.throws(() => r.checkTxn(t), (e: { code: string; message: string }) => {
        assert.equal(e.code, 'failed-precondition');
        assert.equal(e.message, 'namespace "counters" is eventual (counter): etcd Txn works only on strong namespaces; write with regionstore.v1.Crdt (rsctl counter add)');
        return true;
      });
    }
  });

  test('a strong-only registry skips the checks', async () => {
    const saved = registry;
    registry = NamespaceRegistry.empty();
    try {
      assert.equal(routing().put({ key: b('cfg/a'), value: b('v') }, undefined), undefined);
    } finally {
      registry = saved;
    }
  });
});
