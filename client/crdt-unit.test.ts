// client.crdt against a scripted server: the ops as the wire carries them, the writer
// identity on writes (a retry re-sends the same one), read levels and the session
// revision on reads, the typed answers, and the paging of `all` reads.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { Client, crdtOp, FailedPreconditionError } from './index.js';
import { StubServer } from './testing/stub-server.js';

const REGION = 'region:test';
const vec = (seq: number) => [{ origin: REGION, seq: String(seq) }];
const writeAnswer = (rev: number, results: unknown[]) => ({ answer: { namespace: 'ns', revision: String(rev), vector: vec(rev), results, memberId: '77' } });
const readAnswer = (rev: number, more: Partial<Record<string, unknown>>) => ({ answer: { namespace: 'ns', revision: String(rev), vector: vec(rev), memberId: '77', more: false, ...more } });
const stamped = (seq: number) => ({ dot: { origin: REGION, seq: String(seq) }, hlc: { wallMs: '1700000000000', logical: 1 }, eventSeq: '0', duplicate: false });
const timedOut = { fail: status.UNAVAILABLE, details: 'etcdserver: request timed out' } as const;

describe('client.crdt against a scripted server', { timeout: 30_000 }, () => {
  let stub: StubServer;
  let client: Client;

  before(async () => {
    stub = await new StubServer().start();
  });
  beforeEach(() => {
    stub.reset();
    stub.unary.clear();
    stub.unary.set('Status', () => ({ answer: { header: { memberId: '77' }, leader: '77', raftTerm: '1' } }));
    client?.close();
    client = new Client({ endpoints: [stub.address], attempts: 4, attemptTimeoutMs: 300, timeoutMs: 5_000 });
  });
  after(async () => {
    client?.close();
    await stub.stop();
  });

  test('every op kind as the wire carries it; one Write with the identity; results in order', async () => {
    stub.unary.set('Crdt.Write', (req) => writeAnswer(9, (req['ops'] as unknown[]).map((_, i) => stamped(i + 1))));
    const r = await client.crdt.write('ns', [
      crdtOp.lwwPut('k/a', 'va'), crdtOp.lwwDelete('k/b'), crdtOp.mvPut('k/c', 'vc', 'tok'), crdtOp.counterAdd('k/d', -3),
      crdtOp.setAdd('k/e', 'm1'), crdtOp.setRemove('k/e', new Uint8Array([0xff])),
      crdtOp.eventAppend({ device: 'd1', type: 'temp', payload: { c: 21 }, seq: 4, schemaVersion: 2, tsMs: 123 }),
    ]);
    const [call] = stub.callsOf('Crdt.Write');
    assert.ok(call?.clientId?.startsWith(client.clientId));
    assert.ok(Number(call?.seq) > 0);
    const ops = call!.request['ops'] as Array<Record<string, any>>;
    assert.equal(call!.request['namespace'], 'ns');
    assert.deepEqual(ops.map((o) => o['op']), ['lwwPut', 'lwwDelete', 'mvPut', 'counterAdd', 'setAdd', 'setRemove', 'eventAppend']);
    assert.equal(ops[0]!['lwwPut'].value.toString(), 'va');
    assert.equal(ops[2]!['mvPut'].context, 'tok');
    assert.equal(ops[3]!['counterAdd'].delta, '-3');
    assert.deepEqual([...ops[5]!['setRemove'].member], [0xff]);
    const ev = ops[6]!['eventAppend'];
    assert.deepEqual([ev.device, ev.type, ev.payload.toString(), ev.seq, ev.schemaVersion, ev.tsMs], ['d1', 'temp', '{"c":21}', '4', 2, '123']);
    assert.equal(r.revision, 9);
    assert.deepEqual(r.vector, { [REGION]: 9 });
    assert.equal(r.memberId, '77');
    assert.deepEqual(r.results.map((x) => x.dot?.seq), [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(r.results[0]!.hlc, { wallMs: 1_700_000_000_000, logical: 1 });
    assert.equal(client.sessionRevision, 9);
  });

  test('a write retried after "request timed out" re-sends the same identity', async () => {
    stub.unary.set('Crdt.Write', (_req, _md, n) => (n === 1 ? timedOut : writeAnswer(3, [stamped(1)])));
    const r = await client.crdt.counterAdd('c/x', 1);
    assert.equal(r.dot?.seq, 1);
    const [a, b] = stub.callsOf('Crdt.Write');
    assert.equal(a?.clientId, b?.clientId);
    assert.equal(a?.seq, b?.seq);
    assert.equal(stub.callsOf('Crdt.Write').length, 2);
  });

  test('an answer code is not retried and says the write did not apply', async () => {
    stub.unary.set('Crdt.Write', () => ({ fail: status.FAILED_PRECONDITION, details: 'regionstore: namespace "ns" is a set namespace, not counter' }));
    await assert.rejects(client.crdt.counterAdd('c/x', 1), (e: unknown) => e instanceof FailedPreconditionError && !e.maybeApplied && /set namespace/.test(e.message));
    assert.equal(stub.callsOf('Crdt.Write').length, 1);
  });

  test('bad arguments fail before anything is sent', async () => {
    await assert.rejects(client.crdt.counterAdd('c/x', 1.5), RangeError);
    await assert.rejects(client.crdt.write('ns', []), RangeError);
    await assert.rejects(client.crdt.eventsAppend('', [{ device: 'd', type: 't' }]), RangeError);
    await assert.rejects(client.crdt.eventsAppend('ev', [{ device: 'd', type: 't', seq: -1 }]), RangeError);
    assert.equal(stub.callsOf('Crdt.Write').length, 0);
  });

  test('typed reads: lww, mv, counter, set; absent keys; a type mismatch', async () => {
    const entries: Record<string, unknown> = {
      'l': { key: Buffer.from('l'), lww: { value: Buffer.from('v'), hlc: { wallMs: '5', logical: 0 }, writer: { origin: REGION, seq: '2' } } },
      'm': { key: Buffer.from('m'), mv: { values: [Buffer.from('a'), Buffer.from('b')], dots: [{ origin: 'x', seq: '1' }, { origin: 'y', seq: '1' }], context: 'ctx' } },
      'c': { key: Buffer.from('c'), counter: { value: '-2', p: '3', n: '5' } },
      's': { key: Buffer.from('s'), set: { members: [Buffer.from('m1'), Buffer.from('m2')] } },
    };
    stub.unary.set('Crdt.Read', (req) => {
      const e = entries[(req['key'] as Buffer).toString()];
      return readAnswer(12, { crdtType: 'lww', entries: e === undefined ? [] : [e] });
    });
    const l = await client.crdt.lwwGet('l');
    assert.equal(l.value?.toString(), 'v');
    assert.deepEqual(l.writer, { origin: REGION, seq: 2 });
    assert.equal(await client.crdt.lwwGetString('l'), 'v');
    assert.equal((await client.crdt.lwwGet('none')).value, undefined);
    const m = await client.crdt.mvGet('m');
    assert.deepEqual(m.values.map(String), ['a', 'b']);
    assert.equal(m.context, 'ctx');
    assert.deepEqual(await client.crdt.mvGet('none').then((x) => [x.values, x.context]), [[], '']);
    assert.deepEqual(await client.crdt.counterGet('c').then((x) => [x.value, x.p, x.n]), [-2, 3, 5]);
    assert.equal((await client.crdt.counterGet('none')).value, 0);
    assert.deepEqual(await client.crdt.setMemberStrings('s'), ['m1', 'm2']);
    await assert.rejects(client.crdt.counterGet('s'), /set key, not counter/);
    assert.equal(client.sessionRevision, 12);
  });

  test('read levels: linearizable by default; serializable is a session read at the highest revision seen', async () => {
    const levels: Array<[unknown, unknown, boolean]> = [];
    stub.unary.set('Crdt.Read', (req, md) => {
      levels.push([md.get('rs-read-level')[0], md.get('rs-min-revision')[0], req['serializable'] as boolean]);
      return readAnswer(20, { crdtType: 'counter', entries: [] });
    });
    stub.unary.set('Crdt.Write', () => writeAnswer(15, [stamped(1)]));
    await client.crdt.counterGet('c');
    await client.crdt.counterAdd('c', 1);
    await client.crdt.counterGet('c', { serializable: true });
    await client.crdt.counterGet('c', { readLevel: 'bounded', maxStalenessMs: 50 });
    assert.deepEqual(levels, [[undefined, undefined, false], ['session', '20', true], ['bounded', undefined, false]]);
  });

  test('lwwRange with all: pages from the key after the last one', async () => {
    const keys = ['p/a', 'p/b', 'p/c'];
    const froms: string[] = [];
    stub.unary.set('Crdt.Read', (req) => {
      const from = (req['key'] as Buffer).toString('latin1');
      froms.push(from);
      const rest = keys.filter((k) => k >= from).slice(0, 2);
      const entries = rest.map((k) => ({ key: Buffer.from(k), lww: { value: Buffer.from(k.toUpperCase()), hlc: null, writer: { origin: REGION, seq: '1' } } }));
      return readAnswer(4, { crdtType: 'lww', entries, more: keys.filter((k) => k >= from).length > 2 });
    });
    const r = await client.crdt.lwwRange('p/', undefined, { prefix: true, limit: 2, all: true });
    assert.deepEqual(r.entries.map((e) => e.value.toString()), ['P/A', 'P/B', 'P/C']);
    assert.deepEqual(froms, ['p/', 'p/b\0']);
    assert.equal(r.more, false);
  });

  test('eventsScan with all: every device (listed through completeness), every page', async () => {
    const held: Record<string, number[]> = { d1: [1, 2, 3], d2: [1] };
    stub.unary.set('Crdt.Completeness', (req) => {
      const afterDevice = req['afterDevice'] as string;
      const devs = Object.keys(held).filter((d) => d > afterDevice).slice(0, 1);
      const devices = devs.map((d) => ({ device: d, contiguous: String(held[d]!.length), highest: String(held[d]!.length), held: String(held[d]!.length), gaps: [], completeness: 1 }));
      return readAnswer(8, { devices, more: devs.length > 0 && devs[0] !== 'd2', completeness: 1, deviceCount: '2', gapCount: '0' });
    });
    stub.unary.set('Crdt.Read', (req) => {
      const from = Number(req['fromSeq']);
      const seqs = held[req['device'] as string]!.filter((s) => s >= Math.max(1, from));
      const page = seqs.slice(0, 2);
      const events = page.map((s) => ({ device: req['device'], seq: String(s), tsMs: '1', type: 't', schemaVersion: 1, payload: Buffer.from(`${s}`), dot: null }));
      return readAnswer(8, { crdtType: 'events', events, more: seqs.length > 2 });
    });
    const r = await client.crdt.eventsScan('ev', { all: true, limit: 2 });
    assert.deepEqual(r.events.map((e) => `${e.device}/${e.seq}`), ['d1/1', 'd1/2', 'd1/3', 'd2/1']);
    const c = await client.crdt.completeness('ev', { all: true, limit: 1 });
    assert.deepEqual(c.devices.map((d) => d.device), ['d1', 'd2']);
  });

  test('hashAll asks every endpoint and reports each answer or error', async () => {
    stub.unary.set('Crdt.Hash', () => ({ answer: { namespace: 'ns', revision: '3', vector: vec(3), hash: 42, appliedIndex: '10', memberId: '77' } }));
    const [one] = await client.crdt.hashAll('ns');
    assert.ok(one !== undefined && 'hash' in one);
    assert.deepEqual([one.hash.hash, one.hash.appliedIndex, one.hash.memberId], [42, 10, '77']);
  });
});
