// regionstore.v1.Crdt on a real 3-member cluster (issue 13), over raw gRPC: every CRDT type
// written and read back end to end (with Completeness, Conflicts, Superseded and every
// member's Hash equal), the same data through etcdctl (get and watch on every type, put and
// del on lww; Txn, leases and other types refused with a message naming what to use), and
// bad input: each a clear status, no crash, nothing acknowledged lost.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import type { RawCrdt } from '../server/api/testing/raw-crdt.js';
import { DEFAULT_LIMITS } from '../server/api/limits.js';
import { etcdctl, eventually, haveTool, runFor, startTestCluster, type TestCluster } from './helpers/cluster.js';
import { b, createCrdtNamespaces, crdtClients, hashesAgree } from './helpers/crdt-cluster.js';

let cluster: TestCluster;
let crdt: RawCrdt[];
let kv: RawClient;
const hasEtcdctl = haveTool('etcdctl', 'etcd-client');

before(async () => {
  cluster = await startTestCluster();
  await createCrdtNamespaces(cluster);
  crdt = crdtClients(cluster);
  kv = rawClient(cluster.hostPorts[0]!);
});
after(async () => {
  for (const c of crdt ?? []) c.close();
  kv?.close();
  await cluster?.cleanup();
});

async function refusal(p: Promise<unknown>): Promise<ServiceError> {
  return p.then(() => assert.fail('expected a refusal'), (e: ServiceError) => e);
}

async function fails(p: Promise<unknown>, code: status, re: RegExp): Promise<void> {
  const e = await refusal(p);
  assert.equal(e.code, code, `${status[e.code]}: ${e.details}`);
  assert.match(e.details, re);
  console.log(`  ${status[code]}: ${e.details}`);
}

/** Every answer carries the namespace, its vector (the region's origin) and a revision. */
function assertAnswerBase(a: { namespace: string; revision: string; vector: Array<{ origin: string; seq: string }> }, ns: string): void {
  assert.equal(a.namespace, ns);
  assert.ok(Number(a.revision) > 0, 'a revision');
  assert.ok(a.vector.some((v) => v.origin.startsWith('region:') && Number(v.seq) > 0), `the region's origin in the vector: ${JSON.stringify(a.vector)}`);
}

const text = (x: Buffer): string => x.toString();
const event = (device: string, seq: number, payload: string): unknown => ({ eventAppend: { device, seq: String(seq), type: 'reading', payload: b(payload), schemaVersion: 1 } });
const ep = (): string[] => cluster.hostPorts;

/** etcdctl get -w json, as key → value text. */
async function get(...args: string[]): Promise<Record<string, string>> {
  const r = await etcdctl(ep(), ['get', ...args, '-w', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const kvs = (JSON.parse(r.stdout) as { kvs?: Array<{ key: string; value: string }> }).kvs ?? [];
  return Object.fromEntries(kvs.map((k) => [Buffer.from(k.key, 'base64').toString(), Buffer.from(k.value, 'base64').toString()]));
}

describe('every CRDT type end to end', () => {
  test('lww: put, read with HLC and writer, overwrite, delete; Superseded answers', async () => {
    const [c0, c1] = crdt;
    const w = await c0!.call('Write', { ops: [{ lwwPut: { key: b('cfg/a'), value: b('1') } }, { lwwPut: { key: b('cfg/b'), value: b('2') } }] });
    assertAnswerBase(w, 'cfg');
    assert.equal(w.results.length, 2);
    assert.ok(w.results[0].dot.origin.startsWith('region:'));
    assert.equal(Number(w.results[1].dot.seq), Number(w.results[0].dot.seq) + 1, 'one entry: consecutive dots');
    await c1!.call('Write', { namespace: 'cfg', ops: [{ lwwPut: { key: b('cfg/a'), value: b('one') } }, { lwwDelete: { key: b('cfg/b') } }] });
    const r = await c1!.callWithTrailers('Read', { namespace: 'cfg' });
    assertAnswerBase(r.answer, 'cfg');
    assert.equal(r.answer.crdtType, 'lww');
    assert.equal(Number(r.trailers.get('rs-applied-revision')[0]), Number(r.answer.revision));
    const live = r.answer.entries.map((e: { key: Buffer; lww: { value: Buffer } }) => [text(e.key), text(e.lww.value)]);
    assert.deepEqual(live, [['cfg/a', 'one']]);
    assert.ok(r.answer.entries[0].lww.writer.origin.startsWith('region:'));
    assert.ok(Number(r.answer.entries[0].lww.hlc.wallMs) > 1_600_000_000_000, 'an HLC from the wall clock');
    const one = await crdt[2]!.call('Read', { key: b('cfg/a'), serializable: true });
    assert.ok(one.entries.length <= 1);
    const sup = await c0!.call('Superseded', { namespace: 'cfg' });
    assertAnswerBase(sup, 'cfg');
    assert.equal(sup.more, false);
    assert.equal(sup.records.length, Number(sup.total));
  });

  test('mv: two puts without context are siblings (Conflicts lists the key); a put with the context resolves them', async () => {
    const [c0, c1, c2] = crdt;
    await c0!.call('Write', { ops: [{ mvPut: { key: b('docs/x'), value: b('a') } }] });
    await c1!.call('Write', { ops: [{ mvPut: { key: b('docs/x'), value: b('b') } }] });
    const r = await c2!.call('Read', { key: b('docs/x') });
    assert.equal(r.crdtType, 'mv');
    const mv = r.entries[0].mv;
    assert.deepEqual(mv.values.map(text).sort(), ['a', 'b']);
    assert.equal(mv.dots.length, 2);
    assert.ok(mv.context.length > 0, 'a context token');
    const conflicts = await c0!.call('Conflicts', { namespace: 'docs' });
    assertAnswerBase(conflicts, 'docs');
    assert.deepEqual(conflicts.keys.map((k: { key: Buffer; siblings: number }) => [text(k.key), k.siblings]), [['docs/x', 2]]);
    assert.equal(conflicts.unresolved, '1');
    await c1!.call('Write', { ops: [{ mvPut: { key: b('docs/x'), value: b('merged'), context: mv.context } }] });
    const resolved = await c0!.call('Read', { key: b('docs/x') });
    assert.deepEqual(resolved.entries[0].mv.values.map(text), ['merged']);
    assert.equal((await c0!.call('Conflicts', { namespace: 'docs' })).keys.length, 0);
  });

  test('counter: adds and subtracts through every member', async () => {
    await crdt[0]!.call('Write', { ops: [{ counterAdd: { key: b('counters/hits'), delta: '5' } }] });
    await crdt[1]!.call('Write', { ops: [{ counterAdd: { key: b('counters/hits'), delta: '-2' } }, { counterAdd: { key: b('counters/hits'), delta: '10' } }] });
    const r = await crdt[2]!.call('Read', { key: b('counters/hits') });
    assert.equal(r.crdtType, 'counter');
    assert.deepEqual(r.entries[0].counter, { value: '13', p: '15', n: '2' });
  });

  test('set: add, add, remove observed', async () => {
    await crdt[0]!.call('Write', { ops: [{ setAdd: { key: b('tags/t'), member: b('m1') } }, { setAdd: { key: b('tags/t'), member: b('m2') } }] });
    await crdt[2]!.call('Write', { ops: [{ setRemove: { key: b('tags/t'), member: b('m1') } }] });
    const r = await crdt[1]!.call('Read', { namespace: 'tags' });
    assert.equal(r.crdtType, 'set');
    assert.deepEqual(r.entries.map((e: { key: Buffer; set: { members: Buffer[] } }) => [text(e.key), e.set.members.map(text)]), [['tags/t', ['m2']]]);
  });

  test('events: append with given and assigned seqs, read by device, Completeness with a gap, a duplicate is one event', async () => {
    const w = await crdt[0]!.call('Write', { namespace: 'ev', ops: [event('d1', 1, '{"t":1}'), event('d1', 2, '{"t":2}'), event('d1', 4, '{"t":4}'), event('d2', 0, '{"t":9}')] });
    assert.deepEqual(w.results.map((r: { eventSeq: string }) => r.eventSeq), ['1', '2', '4', '1'], 'seq 0: the next after the highest held');
    const dup = await crdt[1]!.call('Write', { namespace: 'ev', ops: [event('d1', 2, '{"t":2}')] });
    assert.equal(dup.results[0].duplicate, true);
    const r = await crdt[2]!.call('Read', { namespace: 'ev', device: 'd1' });
    assert.equal(r.crdtType, 'events');
    assert.deepEqual(r.events.map((e: { seq: string; payload: Buffer; type: string }) => [e.seq, text(e.payload), e.type]), [['1', '{"t":1}', 'reading'], ['2', '{"t":2}', 'reading'], ['4', '{"t":4}', 'reading']]);
    const page = await crdt[2]!.call('Read', { namespace: 'ev', device: 'd1', fromSeq: '2', limit: 1 });
    assert.deepEqual(page.events.map((e: { seq: string }) => e.seq), ['2']);
    assert.equal(page.more, true);
    const comp = await crdt[0]!.call('Completeness', { namespace: 'ev' });
    assertAnswerBase(comp, 'ev');
    const d1 = comp.devices.find((d: { device: string }) => d.device === 'd1');
    assert.deepEqual({ ...d1, gaps: d1.gaps.map((g: { from: string; to: string }) => [g.from, g.to]) },
      { device: 'd1', contiguous: '2', highest: '4', held: '3', gaps: [['3', '3']], completeness: 0.75 });
    assert.equal(comp.deviceCount, '2');
    assert.equal(comp.gapCount, '1');
    const one = await crdt[0]!.call('Completeness', { namespace: 'ev', device: 'd2' });
    assert.deepEqual(one.devices.map((d: { device: string; completeness: number }) => [d.device, d.completeness]), [['d2', 1]]);
  });

  test('read levels: session reads on a follower see the write they name; serializable and bounded answer with trailers', async () => {
    const w = await crdt[0]!.call('Write', { ops: [{ counterAdd: { key: b('counters/session'), delta: '1' } }] });
    for (const c of crdt) {
      const s = await c.callWithTrailers('Read', { key: b('counters/session') }, { 'rs-min-revision': w.revision });
      assert.equal(s.answer.entries[0].counter.value, '1', 'read-your-writes on every member');
      assert.ok(Number(s.trailers.get('rs-applied-revision')[0]) >= Number(w.revision));
      assert.equal(s.trailers.get('rs-served-read-level')[0], 'session');
    }
    const ser = await crdt[2]!.callWithTrailers('Read', { key: b('counters/session'), serializable: true });
    assert.equal(ser.trailers.get('rs-served-read-level')[0], 'serializable');
    const bounded = await crdt[1]!.callWithTrailers('Read', { key: b('counters/session') }, { 'rs-read-level': 'bounded', 'rs-max-staleness-ms': '5000' });
    assert.equal(bounded.trailers.get('rs-served-read-level')[0], 'bounded');
    await fails(crdt[1]!.call('Read', { key: b('counters/session') }, { 'rs-min-revision': String(Number(w.revision) + 1_000_000) }, 1_500),
      status.DEADLINE_EXCEEDED, /.*/);
  });

  test('every member holds the same CRDT state (Hash)', async () => {
    const hashes = await hashesAgree(crdt, 'after the writes of every type');
    console.log(`  CrdtHash per namespace: ${JSON.stringify(hashes)}`);
  });
});

describe('etcd clients on eventual namespaces', { skip: !hasEtcdctl && 'etcdctl not installed: apt-get install etcd-client' }, () => {
  test('etcdctl get shows every type: lww as stored, the others as canonical JSON, events one key each', async () => {
    assert.equal((await get('cfg/a'))['cfg/a'], 'one');
    assert.deepEqual(JSON.parse((await get('docs/x'))['docs/x']!), ['merged']);
    assert.equal(JSON.parse((await get('counters/hits'))['counters/hits']!), 13);
    assert.deepEqual(JSON.parse((await get('tags/t'))['tags/t']!), ['m2']);
    const events = await get('ev/', '--prefix');
    assert.deepEqual(Object.keys(events), ['ev/d1/00000000000000000001', 'ev/d1/00000000000000000002', 'ev/d1/00000000000000000004', 'ev/d2/00000000000000000001']);
    const e1 = JSON.parse(events['ev/d1/00000000000000000001']!);
    assert.equal(e1.device, 'd1');
    assert.equal(e1.seq, 1);
    assert.equal(e1.type, 'reading');
    assert.equal(e1.schema_version, 1);
  });

  test('etcdctl watch sees a change of every type', async () => {
    // [c, u) covers cfg/, counters/, docs/, ev/ and tags/.
    const watched = await runFor('etcdctl', [`--endpoints=${ep().join(',')}`, 'watch', 'c', 'u'], 1500, async () => {
      await crdt[1]!.call('Write', { ops: [{ lwwPut: { key: b('cfg/w'), value: b('watched') } }] });
      await crdt[1]!.call('Write', { ops: [{ mvPut: { key: b('docs/w'), value: b('mw') } }] });
      await crdt[1]!.call('Write', { ops: [{ counterAdd: { key: b('counters/w'), delta: '7' } }] });
      await crdt[1]!.call('Write', { ops: [{ setAdd: { key: b('tags/w'), member: b('sw') } }] });
      await crdt[1]!.call('Write', { namespace: 'ev', ops: [{ eventAppend: { device: 'dw', type: 'ping', payload: b('p') } }] });
    });
    for (const line of ['cfg/w\nwatched', 'docs/w\n["mw"]', 'counters/w\n7', 'tags/w\n["sw"]', 'ev/dw/00000000000000000001']) {
      assert.ok(watched.stdout.includes(line), `watch shows ${JSON.stringify(line)}:\n${watched.stdout}\n${watched.stderr}`);
    }
  });

  test('etcdctl put and del on lww are CRDT writes; Txn, leases and other types are refused with what to use', async () => {
    const put = await etcdctl(ep(), ['put', 'cfg/e', 'from-etcdctl']);
    assert.equal(put.code, 0, put.stderr);
    const r = await crdt[2]!.call('Read', { key: b('cfg/e') });
    assert.equal(text(r.entries[0].lww.value), 'from-etcdctl');
    assert.ok(r.entries[0].lww.writer.origin.startsWith('region:'), 'an lww write of the region');
    const prev = await kv.unary('KV', 'Put', { key: b('cfg/e'), value: b('second'), prevKv: true });
    assert.equal(text(prev.prevKv.value), 'from-etcdctl');
    const del = await etcdctl(ep(), ['del', 'cfg/e']);
    assert.equal(del.stdout.trim(), '1');
    await etcdctl(ep(), ['put', 'cfg/p/1', 'x']);
    await etcdctl(ep(), ['put', 'cfg/p/2', 'y']);
    const delPrefix = await etcdctl(ep(), ['del', '--prefix', 'cfg/p/', '--prev-kv']);
    assert.match(delPrefix.stdout, /^2\ncfg\/p\/1\nx\ncfg\/p\/2\ny\n$/);
    assert.equal((await crdt[0]!.call('Read', { key: b('cfg/p/'), rangeEnd: b('cfg/p0') })).entries.length, 0);

    const refused: Array<[string[], RegExp]> = [
      [['put', 'counters/hits', '1'], /namespace "counters" is eventual \(counter\): etcd Put works only on strong and lww namespaces; write with regionstore.v1.Crdt \(rsctl counter add\)/],
      [['del', 'tags/t'], /namespace "tags" is eventual \(set\): etcd DeleteRange works only on strong and lww namespaces; write with regionstore.v1.Crdt \(rsctl set add\|remove\)/],
      [['del', '--prefix', 'c'], /the range spans namespaces .*"counters" \(eventual counter\)/],
      [['del', '', '--from-key'], /the range spans namespaces/],
      [['put', 'cfg/l', 'v', '--lease=1234'], /namespace "cfg" is eventual \(lww\): leases exist only in strong namespaces/],
    ];
    for (const [args, re] of refused) {
      const out = await etcdctl(ep(), args);
      assert.notEqual(out.code, 0, `etcdctl ${args.join(' ')} must fail`);
      assert.match(out.stderr, re);
      console.log(`  etcdctl ${args.join(' ')}: ${out.stderr.trim().split('\n').at(-1)}`);
    }
    const txn = await etcdctl(ep(), ['txn'], 'value("counters/hits") = "13"\n\nput counters/hits 14\n\n\n');
    assert.notEqual(txn.code, 0);
    assert.match(txn.stderr, /namespace "counters" is eventual \(counter\): etcd Txn works only on strong namespaces; write with regionstore.v1.Crdt \(rsctl counter add\)/);
    const txnLww = await etcdctl(ep(), ['txn'], '\nput cfg/t 1\n\n\n');
    assert.match(txnLww.stderr, /namespace "cfg" is eventual \(lww\): etcd Txn works only on strong namespaces/);
    // A strong key next to them works as before.
    assert.equal((await etcdctl(ep(), ['put', 'plain', 'v'])).code, 0);
    assert.equal((await etcdctl(ep(), ['txn'], '\nput plain w\n\n\n')).code, 0);
    await hashesAgree(crdt, 'after etcdctl writes');
  });
});

describe('bad input: a clear status, no crash, nothing acknowledged lost', () => {
  test('each refused with a message to act on; every member still answers and holds the data', async () => {
    const c = crdt[0]!;
    const held = await c.call('Read', { namespace: 'counters' });
    const tooMany = Array.from({ length: DEFAULT_LIMITS.crdtWriteOpsMax + 1 }, (_, i) => ({ counterAdd: { key: b(`counters/${i}`), delta: '1' } }));
    const r = await c.call('Read', { key: b('docs/x') });
    assert.ok(r.entries[0].mv.context.length > 0);
    const cases: Array<[string, unknown, status | status[], RegExp]> = [
      ['a CRDT op on a strong namespace', { ops: [{ counterAdd: { key: b('plain/x'), delta: '1' } }] }, status.FAILED_PRECONDITION, /strong/],
      ['a type mismatch (counter add on a set namespace)', { ops: [{ counterAdd: { key: b('tags/t'), delta: '1' } }] }, status.FAILED_PRECONDITION, /set/],
      ['a namespace that does not own the key', { namespace: 'cfg', ops: [{ lwwPut: { key: b('docs/x'), value: b('v') } }] }, [status.FAILED_PRECONDITION, status.INVALID_ARGUMENT], /docs|cfg/],
      ['a malformed context token', { ops: [{ mvPut: { key: b('docs/x'), value: b('v'), context: '%%% not a token %%%' } }] }, status.INVALID_ARGUMENT, /context/],
      ['an event without device', { namespace: 'ev', ops: [{ eventAppend: { type: 't', payload: b('p') } }] }, status.INVALID_ARGUMENT, /device is required/],
      ['an event without type', { namespace: 'ev', ops: [{ eventAppend: { device: 'd1', payload: b('p') } }] }, status.INVALID_ARGUMENT, /type is required/],
      ['a seq reused with other content', { namespace: 'ev', ops: [{ eventAppend: { device: 'd1', seq: '1', type: 'reading', payload: b('{"t":"other"}'), schemaVersion: 1 } }] }, status.FAILED_PRECONDITION, /d1/],
      ['an unknown schema version', { namespace: 'ev', ops: [{ eventAppend: { device: 'd1', type: 'reading', payload: b('p'), schemaVersion: 99 } }] }, status.FAILED_PRECONDITION, /99|schema/],
      ['an oversized op', { ops: [{ lwwPut: { key: b('cfg/big'), value: Buffer.alloc(DEFAULT_LIMITS.crdtOpBytesMax) } }] }, status.INVALID_ARGUMENT, /CRDT_OP_BYTES_MAX/],
      ['too many ops', { ops: tooMany }, status.RESOURCE_EXHAUSTED, /CRDT_WRITE_OPS_MAX/],
      ['a garbage namespace', { namespace: '../..\u0000', ops: [{ lwwPut: { key: b('cfg/a'), value: b('v') } }] }, status.INVALID_ARGUMENT, /namespace name/],
      ['an unknown namespace', { namespace: 'nope', ops: [{ lwwPut: { key: b('cfg/a'), value: b('v') } }] }, status.NOT_FOUND, /nope/],
      ['an events write to a key namespace', { namespace: 'cfg', ops: [{ eventAppend: { device: 'd', type: 't' } }] }, status.FAILED_PRECONDITION, /cfg/],
    ];
    for (const [name, req, code, re] of cases) {
      const e = await refusal(c.call('Write', req));
      assert.ok((Array.isArray(code) ? code : [code]).includes(e.code), `${name}: ${status[e.code]} ${e.details}`);
      assert.match(e.details, re, name);
      console.log(`  ${name}: ${status[e.code]}: ${e.details}`);
    }
    await fails(c.call('Read', { namespace: 'nope' }), status.NOT_FOUND, /nope/);
    await fails(c.call('Completeness', { namespace: 'cfg' }), status.FAILED_PRECONDITION, /cfg/);
    await fails(c.call('Conflicts', { namespace: 'counters' }), status.FAILED_PRECONDITION, /counters/);
    await fails(c.call('Read', { namespace: 'default' }), status.FAILED_PRECONDITION, /strong/);
    // Every member still answers, with what was acknowledged before.
    await eventually('every member answers', async () => {
      for (const m of crdt) {
        const now = await m.call('Read', { namespace: 'counters' });
        assert.deepEqual(now.entries, held.entries);
      }
      return true;
    });
    const ev = await crdt[2]!.call('Read', { namespace: 'ev', device: 'd1', fromSeq: '1', toSeq: '1' });
    assert.equal(text(ev.events[0].payload), '{"t":1}', 'the first content of a reused seq stays');
    await hashesAgree(crdt, 'after bad input');
  });
});

