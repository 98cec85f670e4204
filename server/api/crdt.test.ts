// The regionstore.v1.Crdt handlers over real gRPC on a loopback port, against a recording
// CrdtBackend (the region's is tested end to end in test/crdt-api.test.ts): what each wire
// request becomes, how each answer is encoded, read levels and trailers, identities, the
// validation of everything the request alone can judge, and the mapping of backend errors.

import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import type {
  CrdtBackend, CrdtCompletenessResult, CrdtConflictsResult, CrdtHashResult, CrdtReadResult, CrdtSupersededResult, CrdtWriteInput, CrdtWriteResult,
} from './crdt-backend.js';
import type { RequestIdentity } from './backend.js';
import type { ReadAsk } from '../namespace/index.js';
import { CRDT_OP_BYTES_MAX, DEFAULT_LIMITS } from './limits.js';
import { rawCrdt, type RawCrdt } from './testing/raw-crdt.js';
import { startTestApi, type TestApi } from './testing/start.js';

const b = (s: string): Buffer => Buffer.from(s);
const BASE = { namespace: 'ns', revision: 42, vector: [{ origin: 'region:t', seq: 7 }], memberId: 5 };

/** Records every call; answers with canned results, or throws `failWith`. */
class RecordingCrdt implements CrdtBackend {
  writes: Array<{ req: CrdtWriteInput; identity: RequestIdentity | undefined }> = [];
  asks: Array<ReadAsk | undefined> = [];
  inputs: unknown[] = [];
  failWith: unknown;
  readAnswer: CrdtReadResult = { ...BASE, crdtType: 'lww', entries: [], events: [], more: false };

  private fail(): void {
    if (this.failWith !== undefined) throw this.failWith;
  }
  async write(req: CrdtWriteInput, identity: RequestIdentity | undefined): Promise<CrdtWriteResult> {
    this.fail();
    this.writes.push({ req, identity });
    return { ...BASE, results: req.ops.map((_op, i) => ({ dot: { origin: 'region:t', seq: 8 + i }, hlc: { wallMs: 1_700_000_000_000, logical: i } })) };
  }
  async read(req: unknown, ask: ReadAsk | undefined): Promise<CrdtReadResult> {
    this.fail();
    this.inputs.push(req);
    this.asks.push(ask);
    return this.readAnswer;
  }
  async superseded(req: unknown, ask: ReadAsk | undefined): Promise<CrdtSupersededResult> {
    this.inputs.push(req);
    this.asks.push(ask);
    return {
      ...BASE, more: false, total: 1,
      records: [{ key: b('k'), value: b('old'), tombstone: false, hlc: { wallMs: 1, logical: 0 }, dot: { origin: 'edge:a', seq: 1 }, winner: { origin: 'region:t', seq: 2 } }],
    };
  }
  async completeness(req: unknown): Promise<CrdtCompletenessResult> {
    this.inputs.push(req);
    return {
      ...BASE, more: false, completeness: 0.75, deviceCount: 1, gapCount: 1,
      devices: [{ device: 'd1', contiguous: 1, highest: 4, held: 3, gaps: [{ from: 2, to: 2 }], completeness: 0.75 }],
    };
  }
  async conflicts(req: unknown): Promise<CrdtConflictsResult> {
    this.inputs.push(req);
    return { ...BASE, keys: [{ key: b('mv/k'), siblings: 2 }], more: false, unresolved: 1 };
  }
  async hash(namespace: string): Promise<CrdtHashResult> {
    this.fail();
    this.inputs.push(namespace);
    return { ...BASE, hash: 0xdeadbeef, appliedIndex: 99 };
  }
}

const crdt = new RecordingCrdt();
let api: TestApi;
let c: RawCrdt;

before(async () => {
  api = await startTestApi({ crdt });
  c = rawCrdt(api.endpoint);
});
after(async () => {
  c.close();
  await api.close();
});
beforeEach(() => {
  crdt.writes = [];
  crdt.asks = [];
  crdt.inputs = [];
  crdt.failWith = undefined;
});

async function fails(p: Promise<unknown>, code: status, details: RegExp): Promise<void> {
  await assert.rejects(p, (e: ServiceError) => {
    assert.equal(e.code, code, `${status[e.code]}: ${e.details}`);
    assert.match(e.details, details);
    return true;
  });
}

test('Write: every op type converts; the answer carries dots, HLCs, vector and revision', async () => {
  const ops = [
    { lwwPut: { key: b('l/a'), value: b('1') } },
    { lwwDelete: { key: b('l/b') } },
  ];
  const res = await c.call('Write', { ops }, { 'rs-client-id': 'c1', 'rs-seq': '17' });
  assert.equal(res.revision, '42');
  assert.equal(res.memberId, '5');
  assert.deepEqual(res.vector, [{ origin: 'region:t', seq: '7' }]);
  assert.deepEqual(res.results[1].dot, { origin: 'region:t', seq: '9' });
  assert.deepEqual(res.results[1].hlc, { wallMs: '1700000000000', logical: 1 });
  assert.deepEqual(crdt.writes[0]!.identity, { clientId: 'c1', seq: 17 });
  assert.deepEqual(crdt.writes[0]!.req.ops.map((o) => o.type), ['lwwPut', 'lwwDelete']);

  await c.call('Write', { namespace: 'mvs', ops: [{ mvPut: { key: b('m/a'), value: b('x'), context: 'tok' } }] });
  await c.call('Write', { ops: [{ counterAdd: { key: b('c/a'), delta: '-5' } }, { counterAdd: { key: b('c/a'), delta: 9007199254740991 } }] });
  await c.call('Write', { ops: [{ setAdd: { key: b('s/a'), member: b('m1') } }, { setRemove: { key: b('s/a'), member: b('m2') } }] });
  await c.call('Write', { namespace: 'ev', ops: [{ eventAppend: { device: 'd1', type: 'reading', payload: b('{"t":1}'), seq: '3', tsMs: '1700000000001', schemaVersion: 2 } }] });
  const [mv, counter, set, ev] = crdt.writes.slice(1).map((w) => w.req);
  assert.deepEqual(mv, { namespace: 'mvs', ops: [{ type: 'mvPut', key: b('m/a'), value: b('x'), context: 'tok' }] });
  assert.deepEqual(counter!.ops.map((o) => (o as { delta: number }).delta), [-5, Number.MAX_SAFE_INTEGER]);
  assert.deepEqual(set!.ops.map((o) => o.type), ['setAdd', 'setRemove']);
  assert.deepEqual(ev!.ops[0], { type: 'eventAppend', device: 'd1', eventType: 'reading', payload: b('{"t":1}'), seq: 3, schemaVersion: 2, tsMs: 1_700_000_000_001 });
  assert.equal(crdt.writes[1]!.identity, undefined);
});

test('Read: every entry type and events encode; levels from metadata or the flag; rs-applied-revision trailer', async () => {
  crdt.readAnswer = {
    ...BASE, crdtType: 'mv', more: true,
    entries: [
      { key: b('k1'), value: { type: 'lww', value: b('v'), hlc: { wallMs: 5, logical: 1 }, writer: { origin: 'region:t', seq: 3 } } },
      { key: b('k2'), value: { type: 'mv', values: [b('a'), b('b')], dots: [{ origin: 'o1', seq: 1 }, { origin: 'o2', seq: 1 }], context: 'ctx' } },
      { key: b('k3'), value: { type: 'counter', value: -3, p: 2, n: 5 } },
      { key: b('k4'), value: { type: 'set', members: [b('x'), b('y')] } },
    ],
    events: [{ device: 'd', seq: 4, tsMs: 9, eventType: 't', schemaVersion: 1, payload: b('p'), dot: { origin: 'region:t', seq: 12 } }],
  };
  const { answer, trailers } = await c.callWithTrailers('Read', { namespace: 'ns', limit: 0 });
  assert.equal(trailers.get('rs-applied-revision')[0], '42');
  assert.equal(answer.crdtType, 'mv');
  assert.equal(answer.more, true);
  assert.deepEqual(answer.entries.map((e: { value: string }) => e.value), ['lww', 'mv', 'counter', 'set']);
  assert.equal(answer.entries[0].lww.value.toString(), 'v');
  assert.deepEqual(answer.entries[1].mv.values.map(String), ['a', 'b']);
  assert.equal(answer.entries[1].mv.context, 'ctx');
  assert.deepEqual(answer.entries[2].counter, { value: '-3', p: '2', n: '5' });
  assert.deepEqual(answer.entries[3].set.members.map(String), ['x', 'y']);
  assert.deepEqual({ ...answer.events[0], payload: String(answer.events[0].payload) }, {
    device: 'd', seq: '4', tsMs: '9', type: 't', schemaVersion: 1, payload: 'p', dot: { origin: 'region:t', seq: '12' },
  });
  assert.equal(crdt.asks[0], undefined, 'no level asked: the backend default');
  assert.equal((crdt.inputs[0] as { limit: number }).limit, DEFAULT_LIMITS.crdtReadLimitDefault);

  await c.call('Read', { namespace: 'ns', serializable: true, limit: 1_000_000 });
  assert.deepEqual(crdt.asks[1], { level: 'serializable' });
  assert.equal((crdt.inputs[1] as { limit: number }).limit, DEFAULT_LIMITS.crdtReadLimitMax, 'a limit above the maximum is cut (more says so)');
  const s = await c.callWithTrailers('Read', { namespace: 'ns' }, { 'rs-read-level': 'session', 'rs-min-revision': '40' });
  assert.deepEqual(crdt.asks[2], { level: 'session', minRevision: 40 });
  assert.equal(s.trailers.get('rs-served-read-level')[0], 'session');
});

test('Superseded, Completeness, Conflicts, Hash encode', async () => {
  const sup = await c.call('Superseded', { namespace: 'ns', serializable: true });
  assert.equal(sup.records[0].value.toString(), 'old');
  assert.deepEqual(sup.records[0].winner, { origin: 'region:t', seq: '2' });
  assert.deepEqual(crdt.asks[0], { level: 'serializable' });
  const comp = await c.call('Completeness', { namespace: 'ev' });
  assert.equal(comp.completeness, 0.75);
  assert.deepEqual(comp.devices[0].gaps, [{ from: '2', to: '2' }]);
  assert.equal((crdt.inputs[1] as { limit: number }).limit, DEFAULT_LIMITS.crdtDevicesPageDefault);
  const conf = await c.call('Conflicts', { namespace: 'mvs' });
  assert.deepEqual(conf.keys.map((k: { key: Buffer; siblings: number }) => [String(k.key), k.siblings]), [['mv/k', 2]]);
  const h = await c.call('Hash', { namespace: 'ns' });
  assert.equal(h.hash, 0xdeadbeef);
  assert.equal(h.appliedIndex, '99');
});

test('bad requests: each a status naming what to change; the backend is not called', async () => {
  const tooMany = Array.from({ length: DEFAULT_LIMITS.crdtWriteOpsMax + 1 }, (_, i) => ({ counterAdd: { key: b(`c/${i}`), delta: '1' } }));
  const tooManyEvents = Array.from({ length: DEFAULT_LIMITS.crdtEventsPerAppendMax + 1 }, () => ({ eventAppend: { device: 'd', type: 't' } }));
  const cases: Array<[string, unknown, status, RegExp]> = [
    ['too many events', { namespace: 'ev', ops: tooManyEvents }, status.RESOURCE_EXHAUSTED, /the limit is \d+ \(CRDT_EVENTS_PER_APPEND_MAX\)/],
    ['no ops', { namespace: 'ns', ops: [] }, status.INVALID_ARGUMENT, /at least one op/],
    ['op not set', { ops: [{}] }, status.INVALID_ARGUMENT, /ops\[0\] sets no op: set one of lww_put/],
    ['empty key', { ops: [{ lwwPut: { key: b(''), value: b('v') } }] }, status.INVALID_ARGUMENT, /ops\[0\]\.lww_put\.key is required/],
    ['mixed types', { ops: [{ lwwPut: { key: b('a'), value: b('v') } }, { counterAdd: { key: b('b'), delta: '1' } }] }, status.INVALID_ARGUMENT, /ops\[1\] writes a counter and ops\[0\] a lww/],
    ['too many ops', { ops: tooMany }, status.RESOURCE_EXHAUSTED, /ops, the limit is \d+ \(CRDT_WRITE_OPS_MAX\)/],
    ['oversized op', { ops: [{ lwwPut: { key: b('a'), value: Buffer.alloc(CRDT_OP_BYTES_MAX) } }] }, status.INVALID_ARGUMENT, /ops\[0\]\.lww_put is 1048577 bytes \(key \+ value\), the limit per op is 1048576/],
    ['event without device', { namespace: 'ev', ops: [{ eventAppend: { type: 't' } }] }, status.INVALID_ARGUMENT, /event_append\.device is required/],
    ['event without type', { namespace: 'ev', ops: [{ eventAppend: { device: 'd' } }] }, status.INVALID_ARGUMENT, /event_append\.type is required/],
    ['event without namespace', { ops: [{ eventAppend: { device: 'd', type: 't' } }] }, status.INVALID_ARGUMENT, /name the events namespace/],
    ['device with control chars', { namespace: 'ev', ops: [{ eventAppend: { device: 'd\n', type: 't' } }] }, status.INVALID_ARGUMENT, /control characters/],
    ['garbage namespace', { namespace: 'Not A Name!', ops: [{ lwwPut: { key: b('a'), value: b('v') } }] }, status.INVALID_ARGUMENT, /namespace name "Not A Name!" is not valid/],
    ['counter delta 0', { ops: [{ counterAdd: { key: b('c'), delta: '0' } }] }, status.INVALID_ARGUMENT, /delta is 0 \(or not set\)/],
    ['counter delta past 2^53', { ops: [{ counterAdd: { key: b('c'), delta: '1152921504606846976' } }] }, status.INVALID_ARGUMENT, /delta must be a whole number/],
    ['empty set member', { ops: [{ setAdd: { key: b('s') } }] }, status.INVALID_ARGUMENT, /member is required/],
  ];
  for (const [name, req, code, re] of cases) {
    await fails(c.call('Write', req), code, re).catch((err: Error) => assert.fail(`${name}: ${err.message}`));
  }
  await fails(c.call('Read', {}), status.INVALID_ARGUMENT, /needs a namespace name or a key/);
  await fails(c.call('Read', { namespace: 'ev', fromSeq: '5', toSeq: '2' }), status.INVALID_ARGUMENT, /to_seq 2 is below from_seq 5/);
  await fails(c.call('Read', { namespace: 'ns' }, { 'rs-read-level': 'eventually' }), status.INVALID_ARGUMENT, /unknown read level "eventually"/);
  await fails(c.call('Completeness', {}), status.INVALID_ARGUMENT, /needs the events namespace name/);
  await fails(c.call('Hash', { namespace: '' }), status.INVALID_ARGUMENT, /Hash needs a namespace name/);
  await fails(c.call('Write', { ops: [{ lwwPut: { key: b('a'), value: b('v') } }] }, { 'rs-client-id': 'c1' }), status.INVALID_ARGUMENT, /rs-seq must be a decimal integer/);
  assert.equal(crdt.writes.length, 0);
});

test('backend errors map to statuses with the backend message', async () => {
  const cases: Array<[unknown, status, RegExp]> = [
    [Object.assign(new Error('namespace "cfg" is strong: use etcd Put'), { code: 'failed-precondition' }), status.FAILED_PRECONDITION, /^namespace "cfg" is strong/],
    [Object.assign(new Error('malformed context token'), { code: 'invalid-argument' }), status.INVALID_ARGUMENT, /^malformed context token$/],
    [Object.assign(new Error('no namespace "x"'), { code: 'not-found' }), status.NOT_FOUND, /^no namespace "x"$/],
    [Object.assign(new Error('siblings cap'), { code: 'resource-exhausted' }), status.RESOURCE_EXHAUSTED, /^siblings cap$/],
    [Object.assign(new Error('x'), { code: 'no-leader' }), status.UNAVAILABLE, /^etcdserver: no leader$/],
    [Object.assign(new Error('installing'), { code: 'unavailable' }), status.UNAVAILABLE, /^installing$/],
    [new TypeError('boom'), status.INTERNAL, /internal error: boom/],
  ];
  for (const [err, code, re] of cases) {
    crdt.failWith = err;
    await fails(c.call('Write', { ops: [{ lwwPut: { key: b('a'), value: b('v') } }] }), code, re);
    await fails(c.call('Read', { namespace: 'ns' }), code, re);
  }
  crdt.failWith = undefined;
  assert.equal((await c.call('Hash', { namespace: 'ns' })).hash, 0xdeadbeef, 'the server still answers');
});
