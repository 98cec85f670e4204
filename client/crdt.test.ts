// client.crdt and rsctl's CRDT commands end to end on a 3-member cluster: every type
// written and read through the client library (typed answers, vectors, the change feed as
// etcd reads it, refusals), the same through rsctl (in-process, and one command per type
// as a real process), and every member's CrdtHash equal afterwards.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, startTestCluster, type TestCluster } from '../test/helpers/cluster.js';
import { Client, FailedPreconditionError, InvalidArgumentError, crdtOp, text } from './index.js';
import { ExitCode } from './rsctl/exit.js';
import { rsctl, rsctlProcess, type RsctlResult } from './rsctl/testing/run.js';

const NAMESPACES = [
  { name: 'e2e-lww', prefix: 'lww/', crdtType: 'lww' },
  { name: 'e2e-mv', prefix: 'mv/', crdtType: 'mv' },
  { name: 'e2e-ctr', prefix: 'ctr/', crdtType: 'counter' },
  { name: 'e2e-set', prefix: 'set/', crdtType: 'set' },
  { name: 'e2e-ev', prefix: 'ev/', crdtType: 'events' },
] as const;

/** The etcd key of an event in the change feed: <prefix><device>/<seq as 20 digits>. */
const eventKey = (prefix: string, device: string, seq: number): string => `${prefix}${device}/${String(seq).padStart(20, '0')}`;

describe('CRDT types end to end on a 3-member cluster', { timeout: 180_000 }, () => {
  let c: TestCluster;
  let client: Client;
  let ep: string[];

  const run = (args: string[], opts: Parameters<typeof rsctl>[1] = {}): Promise<RsctlResult> => rsctl(['--endpoints', ep.join(','), ...args], opts);
  const ok = async (args: string[], opts: Parameters<typeof rsctl>[1] = {}): Promise<string> => {
    const r = await run(args, opts);
    assert.equal(r.code, 0, `rsctl ${args.join(' ')} exited ${String(r.code)}: ${r.stderr}`);
    return r.stdout;
  };
  const okProcess = async (args: string[], stdin?: string): Promise<string> => {
    const r = await rsctlProcess(['--endpoints', ep.join(','), ...args], stdin === undefined ? {} : { stdin });
    assert.equal(r.code, 0, `rsctl ${args.join(' ')} (process) exited ${String(r.code)}: ${r.stderr}`);
    return r.stdout;
  };
  const json = async (args: string[]): Promise<any> => JSON.parse(await ok(['-w', 'json', ...args]));

  before(async () => {
    c = await startTestCluster();
    ep = c.hostPorts;
    client = new Client({ endpoints: ep });
    for (const ns of NAMESPACES) await client.namespaces.create({ ...ns, level: 'eventual' });
  });
  after(async () => {
    client?.close();
    await c?.cleanup();
  });

  describe('through the client library', () => {
    test('lww: put, get with HLC and writer, range, delete; etcd reads the value as stored', async () => {
      const w1 = await client.crdt.lwwPut('lww/a', 'one');
      assert.ok(w1.dot !== undefined && w1.dot.origin.startsWith('region:'), JSON.stringify(w1.dot));
      assert.equal(w1.namespace, 'e2e-lww');
      assert.equal(w1.vector[w1.dot.origin], w1.dot.seq);
      const w2 = await client.crdt.lwwPut('lww/a', 'two');
      assert.equal(w2.dot?.seq, w1.dot.seq + 1);
      assert.ok(w2.revision > w1.revision);
      await client.crdt.lwwPut('lww/b', new Uint8Array([0, 1, 2]));
      const g = await client.crdt.lwwGet('lww/a');
      assert.equal(g.value?.toString(), 'two');
      assert.deepEqual(g.writer, w2.dot);
      assert.ok(g.hlc !== undefined && g.hlc.wallMs > 0);
      assert.ok(g.revision >= w2.revision);
      assert.equal(await client.crdt.lwwGetString('lww/a'), 'two');
      assert.equal(await client.getString('lww/a'), 'two');
      const range = await client.crdt.lwwRange('lww/', undefined, { prefix: true, all: true, limit: 1 });
      assert.deepEqual(range.entries.map((e) => text(e.key)), ['lww/a', 'lww/b']);
      assert.deepEqual([...range.entries[1]!.value], [0, 1, 2]);
      await client.crdt.lwwDelete('lww/b');
      assert.equal((await client.crdt.lwwGet('lww/b')).value, undefined);
      assert.equal(await client.get('lww/b'), undefined);
      const s = await client.crdt.superseded('e2e-lww');
      assert.ok(s.total >= 0 && s.records.length <= s.total, JSON.stringify(s));
    });

    test('mv: concurrent puts become siblings, a put with the context resolves them; conflicts', async () => {
      await client.crdt.mvPut('mv/k', 'left');
      await client.crdt.mvPut('mv/k', 'right');
      const both = await client.crdt.mvGet('mv/k');
      assert.deepEqual(both.values.map(String).sort(), ['left', 'right']);
      assert.equal(both.dots.length, 2);
      assert.notEqual(both.context, '');
      assert.deepEqual(JSON.parse((await client.getString('mv/k'))!).sort(), ['left', 'right']);
      const conflicts = await client.crdt.conflicts('e2e-mv', { all: true });
      assert.deepEqual(conflicts.keys.map((k) => [text(k.key), k.siblings]), [['mv/k', 2]]);
      assert.equal(conflicts.unresolved, 1);
      await client.crdt.mvPut('mv/k', 'merged', both.context);
      const one = await client.crdt.mvGet('mv/k');
      assert.deepEqual(one.values.map(String), ['merged']);
      assert.equal((await client.crdt.conflicts('e2e-mv')).unresolved, 0);
      await assert.rejects(client.crdt.mvPut('mv/k', 'x', 'not a token'), InvalidArgumentError);
    });

    test('counter: adds and subtracts; p and n; etcd reads the JSON number', async () => {
      await client.crdt.counterAdd('ctr/hits', 5);
      await client.crdt.counterAdd('ctr/hits', -2);
      const r = await client.crdt.counterGet('ctr/hits');
      assert.deepEqual([r.value, r.p, r.n], [3, 5, 2]);
      assert.equal(await client.getString('ctr/hits'), '3');
      assert.equal((await client.crdt.counterGet('ctr/never')).value, 0);
    });

    test('set: add, remove, members in byte order; etcd reads the JSON array', async () => {
      await client.crdt.write('e2e-set', [crdtOp.setAdd('set/s', 'b'), crdtOp.setAdd('set/s', 'a'), crdtOp.setAdd('set/s', 'c')]);
      await client.crdt.setRemove('set/s', 'c');
      assert.deepEqual(await client.crdt.setMemberStrings('set/s'), ['a', 'b']);
      assert.deepEqual(JSON.parse((await client.getString('set/s'))!), ['a', 'b']);
    });

    test('events: seqs assigned and relayed, duplicates, gaps, completeness, scan; etcd reads each event', async () => {
      const a = await client.crdt.eventsAppend('e2e-ev', [
        { device: 'pump-1', type: 'temp', payload: { c: 20 } },
        { device: 'pump-1', type: 'temp', payload: { c: 21 } },
        { device: 'pump-2', type: 'temp', payload: 'raw', seq: 1, tsMs: 1_700_000_000_000 },
      ]);
      assert.deepEqual(a.results.map((x) => [x.seq, x.duplicate]), [[1, false], [2, false], [1, false]]);
      await client.crdt.eventsAppend('e2e-ev', [{ device: 'pump-1', type: 'temp', payload: { c: 25 }, seq: 5 }]);
      const again = await client.crdt.eventsAppend('e2e-ev', [{ device: 'pump-1', type: 'temp', payload: { c: 25 }, seq: 5 }]);
      assert.equal(again.results[0]!.duplicate, true);
      await assert.rejects(client.crdt.eventsAppend('e2e-ev', [{ device: 'pump-1', type: 'temp', payload: { c: 99 }, seq: 5 }]), FailedPreconditionError);
      const comp = await client.crdt.completeness('e2e-ev', { all: true });
      const p1 = comp.devices.find((d) => d.device === 'pump-1')!;
      assert.deepEqual([p1.contiguous, p1.highest, p1.held, p1.gaps], [2, 5, 3, [{ from: 3, to: 4 }]]);
      assert.equal(comp.deviceCount, 2);
      assert.equal(comp.gapCount, 1);
      const scan = await client.crdt.eventsScan('e2e-ev', { all: true, limit: 1 });
      assert.deepEqual(scan.events.map((e) => `${e.device}/${e.seq}`), ['pump-1/1', 'pump-1/2', 'pump-1/5', 'pump-2/1']);
      assert.equal(scan.events[3]!.tsMs, 1_700_000_000_000);
      assert.equal(scan.events[0]!.payload.toString(), '{"c":20}');
      const one = await client.crdt.eventsScan('e2e-ev', { device: 'pump-1', fromSeq: 2, toSeq: 4 });
      assert.deepEqual(one.events.map((e) => e.seq), [2]);
      const feed = JSON.parse((await client.getString(eventKey('ev/', 'pump-2', 1)))!);
      assert.deepEqual([feed.device, feed.seq, feed.type, feed.payload], ['pump-2', 1, 'temp', 'raw']);
    });

    test('refusals: a type mismatch, a strong namespace, an unknown namespace', async () => {
      await assert.rejects(client.crdt.counterAdd('set/s', 1), (e: unknown) => e instanceof FailedPreconditionError && !e.maybeApplied);
      await assert.rejects(client.crdt.lwwPut('plain/key', 'v'), (e: unknown) => e instanceof FailedPreconditionError || e instanceof InvalidArgumentError);
      await assert.rejects(client.crdt.eventsAppend('no-such-ns', [{ device: 'd', type: 't' }]), /no-such-ns/);
    });

    test('a serializable read from any member is a session read: it sees this client\'s writes', async () => {
      const any = new Client({ endpoints: ep, readFrom: 'any' });
      try {
        for (let i = 1; i <= 6; i++) {
          await any.crdt.counterAdd('ctr/session', 1);
          assert.equal((await any.crdt.counterGet('ctr/session', { serializable: true })).value, i);
        }
      } finally {
        any.close();
      }
    });
  });

  describe('through rsctl', () => {
    test('lww put|get|del in simple, json and table', async () => {
      assert.equal(await okProcess(['lww', 'put', 'lww/r', 'hello']), 'OK\n');
      assert.equal(await ok(['lww', 'put', 'lww/r2'], { stdin: 'from stdin' }), 'OK\n');
      assert.equal(await ok(['lww', 'get', 'lww/r']), 'lww/r\nhello\n');
      assert.equal(await ok(['lww', 'get', 'lww/r', '--prefix', '--print-value-only']), 'hello\nfrom stdin\n');
      const j = await json(['lww', 'get', 'lww/r']);
      assert.equal(Buffer.from(j.entries[0].value, 'base64').toString(), 'hello');
      assert.match(j.entries[0].writer.origin, /^region:/);
      assert.equal(typeof j.vector[j.entries[0].writer.origin], 'number');
      assert.match(await ok(['-w', 'table', 'lww', 'get', 'lww/r']), /\| lww\/r \| hello \|/);
      const put = await json(['lww', 'put', 'lww/r', 'again']);
      assert.ok(put.revision > 0 && put.results[0].dot.seq > 0);
      assert.equal(await ok(['lww', 'del', 'lww/r']), 'OK\n');
      assert.equal(await ok(['lww', 'get', 'lww/r']), '');
      assert.match(await ok(['superseded', 'e2e-lww']), /total: \d+\n$/);
    });

    test('mv get|put --context, conflicts', async () => {
      await ok(['mv', 'put', 'mv/r', 'a']);
      await okProcess(['mv', 'put', 'mv/r', 'b']);
      const out = await ok(['mv', 'get', 'mv/r']);
      const lines = out.trimEnd().split('\n');
      assert.deepEqual(lines.slice(0, 2).sort(), ['a', 'b']);
      const token = /^context: (\S+)$/.exec(lines[2] ?? '')?.[1];
      assert.ok(token !== undefined, out);
      assert.match(await ok(['conflicts', 'e2e-mv']), /^mv\/r 2\nunresolved: 1\n$/);
      assert.equal(await ok(['mv', 'put', 'mv/r', 'c', '--context', token]), 'OK\n');
      assert.equal((await ok(['mv', 'get', 'mv/r'])).split('\n')[0], 'c');
      assert.equal((await json(['conflicts', 'e2e-mv'])).unresolved, 0);
    });

    test('counter add (negative too) | get', async () => {
      assert.equal(await ok(['counter', 'add', 'ctr/r', '5']), 'OK\n');
      assert.equal(await okProcess(['counter', 'add', 'ctr/r', '-2']), 'OK\n');
      assert.equal(await ok(['counter', 'get', 'ctr/r']), '3\n');
      const j = await json(['counter', 'get', 'ctr/r']);
      assert.deepEqual([j.value, j.p, j.n], [3, 5, 2]);
      assert.match(await ok(['-w', 'table', 'counter', 'get', 'ctr/r']), /\| ctr\/r \| 3 +\| 5 \| 2 \|/);
    });

    test('set add|remove|members', async () => {
      await ok(['set', 'add', 'set/r', 'x']);
      await okProcess(['set', 'add', 'set/r', 'y']);
      await ok(['set', 'remove', 'set/r', 'x']);
      assert.equal(await ok(['set', 'members', 'set/r']), 'y\n');
      assert.deepEqual((await json(['set', 'members', 'set/r'])).members.map((m: string) => Buffer.from(m, 'base64').toString()), ['y']);
    });

    test('events append (flags, --file from stdin) | scan | completeness', async () => {
      assert.equal(await okProcess(['events', 'append', 'e2e-ev', '--type', 't', '--payload', '{"a":1}', '--device', 'dz']), 'dz 1\n');
      const file = '{"device":"dz","type":"t","payload":{"a":2}}\n\n{"device":"dz","type":"t","payload":{"a":4},"seq":4}\n';
      assert.equal(await ok(['events', 'append', 'e2e-ev', '--file', '-'], { stdin: file }), 'dz 2\ndz 4\n');
      assert.equal(await ok(['events', 'append', 'e2e-ev', '--file', '-'], { stdin: file.split('\n\n')[1]! }), 'dz 4 (duplicate)\n');
      const scan = await ok(['events', 'scan', 'e2e-ev', '--device', 'dz']);
      assert.match(scan, /^dz 1 \S+Z t v\d+ \{"a":1\}\ndz 2 \S+ t v\d+ \{"a":2\}\ndz 4 \S+ t v\d+ \{"a":4\}\n$/);
      assert.equal((await json(['events', 'scan', 'e2e-ev', '--device', 'dz', '--limit', '1'])).more, true);
      assert.match(await ok(['events', 'completeness', 'e2e-ev', '--device', 'dz']),
        /^dz: contiguous 2, highest 4, held 3, gaps 3, completeness 75%\ntotal: /);
      assert.match(await ok(['-w', 'table', 'events', 'completeness', 'e2e-ev', '--device', 'dz']), /\| dz +\| 2 +\| 4 +\| 3 +\| 3 +\| 75% +\|/);
    });

    test('a refused write exits 1 with the server\'s message', async () => {
      const r = await run(['counter', 'add', 'set/s', '1']);
      assert.equal(r.code, ExitCode.failed, r.stderr);
      assert.match(r.stderr, /^Error \(counter add\): /);
    });
  });

  test('rsctl bench lww|counter|set|events: every acknowledged op has its dot (a smoke run, no timing)', async () => {
    const smoke = ['--total', '60', '--clients', '4', '--key-space', '3'];
    for (const [kind, extra] of [['lww', []], ['counter', []], ['set', ['--remove-percent', '30']], ['events', ['--events-per-append', '3']]] as const) {
      const r = await run(['bench', kind, ...smoke, ...extra]);
      assert.equal(r.code, 0, `bench ${kind}: ${r.stdout}${r.stderr}`);
      const report = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!);
      assert.equal(report.ok, 60, `bench ${kind}: ${JSON.stringify(report)}`);
      assert.equal(report.dots_added, report.dots_expected, `bench ${kind}: ${JSON.stringify(report)}`);
      if (kind === 'events') assert.equal(report.dots_expected, 180);
      if (kind === 'counter') assert.equal(report.counter_added, 60);
    }
    const ns = await client.namespaces.get('bench-counter');
    assert.deepEqual([ns.level, ns.crdtType, ns.prefix], ['eventual', 'counter', 'bench-counter/']);
    const wrong = await run(['bench', 'counter', '--namespace', 'e2e-set', '--key-prefix', 'set/', '--total', '1']);
    assert.equal(wrong.code, ExitCode.usage, wrong.stderr);
    assert.match(wrong.stderr, /not eventual counter/);
  });

  test('every member ends with the same CrdtHash of every namespace (client and rsctl crdt hash)', async () => {
    for (const ns of NAMESPACES) {
      await eventually(`equal hashes of ${ns.name}`, async () => {
        const all = await client.crdt.hashAll(ns.name);
        const hashes = all.map((a) => ('hash' in a ? `${a.hash.hash}@${a.hash.appliedIndex}` : `error ${a.error.message}`));
        return new Set(hashes.map((h) => h.split('@')[0])).size === 1 && !hashes.some((h) => h.startsWith('error')) ? true : undefined;
      });
    }
    const out = await okProcess(['crdt', 'hash', 'e2e-ctr']);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 3, out);
    assert.equal(new Set(lines.map((l) => l.split(', ')[1])).size, 1, out);
  });
});
