// The retry policy against a scripted server: which failures are retried, that a retry
// carries the same (client id, seq), that concurrent writes use distinct ids, and what
// maybeApplied says when a call gives up. Also watch resume and dedupe, deterministically.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { pickFreePorts } from '../cluster/ports.js';
import {
  CancelledError, Client, ClientClosedError, CompactedError, DeadlineExceededError, InvalidArgumentError, ResourceExhaustedError,
  UnavailableError, type WatchBatch,
} from './index.js';
import { StubServer } from './testing/stub-server.js';

const putAnswer = (rev: number) => ({ answer: { header: { revision: String(rev) } } });
const timedOut = { fail: status.UNAVAILABLE, details: 'etcdserver: request timed out' } as const;

describe('retries against a scripted server', { timeout: 30_000 }, () => {
  let stub: StubServer;
  let client: Client;

  before(async () => {
    stub = await new StubServer().start();
  });
  beforeEach(() => {
    stub.reset();
    client?.close();
    client = new Client({ endpoints: [stub.address], attempts: 4, attemptTimeoutMs: 300, timeoutMs: 5_000 });
  });
  after(async () => {
    client?.close();
    await stub.stop();
  });

  test('a write retried after "request timed out" carries the same client id and seq', async () => {
    stub.unary.set('Put', (_req, _md, n) => (n === 1 ? timedOut : putAnswer(7)));
    const r = await client.put('k', 'v');
    assert.equal(r.revision, 7);
    const puts = stub.callsOf('Put');
    assert.equal(puts.length, 2);
    assert.ok(puts[0]?.clientId?.startsWith(client.clientId));
    assert.equal(puts[0]?.clientId, puts[1]?.clientId);
    assert.equal(puts[0]?.seq, puts[1]?.seq);
  });

  test('sequential writes share a slot with increasing seqs; concurrent ones use distinct ids', async () => {
    stub.unary.set('Put', () => putAnswer(1));
    await client.put('a', '1');
    await client.put('a', '2');
    const [p1, p2] = stub.callsOf('Put');
    assert.equal(p1?.clientId, p2?.clientId);
    assert.deepEqual([p1?.seq, p2?.seq].map(Number), [Number(p1?.seq), Number(p1?.seq) + 1]);
    stub.reset();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    stub.unary.set('Put', async () => {
      await gate;
      return putAnswer(2);
    });
    const both = Promise.all([client.put('x', '1'), client.put('y', '2')]);
    while (stub.callsOf('Put').length < 2) await new Promise((r) => setTimeout(r, 5));
    release();
    await both;
    const ids = new Set(stub.callsOf('Put').map((c) => c.clientId));
    assert.equal(ids.size, 2, 'two writes in flight carry two client ids');
  });

  test('reads carry no identity and are retried on an attempt deadline', async () => {
    stub.unary.set('Range', (_r, _m, n) => (n === 1 ? 'hang' : { answer: { header: { revision: '3' }, kvs: [], count: '0' } }));
    const r = await client.range('k');
    assert.equal(r.revision, 3);
    assert.equal(stub.callsOf('Range')[0]?.clientId, undefined);
    assert.equal(stub.callsOf('Range').length, 2);
  });

  test('an answer code is not retried and says the write did not apply', async () => {
    stub.unary.set('Put', () => ({ fail: status.INVALID_ARGUMENT, details: 'etcdserver: key is not provided' }));
    const err = await client.put('', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof InvalidArgumentError);
    assert.equal(err.maybeApplied, false);
    assert.equal(err.attempts, 1);
    assert.equal(err.details, 'etcdserver: key is not provided');
  });

  test('retries are bounded; a write that timed out every time may have applied', async () => {
    stub.unary.set('Put', () => timedOut);
    const err = await client.put('k', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof UnavailableError);
    assert.equal(err.maybeApplied, true);
    assert.equal(err.attempts, 4);
    assert.equal(stub.callsOf('Put').length, 4);
  });

  test('a refusal for load after a timed-out attempt leaves the write unknown', async () => {
    stub.unary.set('Put', (_r, _m, n) => (n === 1 ? timedOut : { fail: status.RESOURCE_EXHAUSTED, details: 'etcdserver: too many requests' }));
    const err = await client.put('k', 'v').catch((e: unknown) => e);
    assert.ok(err instanceof ResourceExhaustedError);
    assert.equal(err.maybeApplied, true);
  });

  test('MemberAdd is not repeated after a timeout', async () => {
    stub.unary.set('MemberAdd', () => timedOut);
    const err = await client.cluster.add(['http://127.0.0.1:1']).catch((e: unknown) => e);
    assert.ok(err instanceof UnavailableError);
    assert.equal(err.maybeApplied, true);
    assert.equal(stub.callsOf('MemberAdd').length, 1);
  });

  test('the call deadline ends retries with DEADLINE_EXCEEDED', async () => {
    stub.unary.set('Put', () => 'hang');
    const t0 = Date.now();
    const err = await client.put('k', 'v', { timeoutMs: 500 }).catch((e: unknown) => e);
    assert.ok(err instanceof DeadlineExceededError, String(err));
    assert.equal(err.maybeApplied, true);
    assert.ok(Date.now() - t0 < 1_500);
  });

  test('an AbortSignal cancels the call in flight', async () => {
    stub.unary.set('Put', () => 'hang');
    const err = await client.put('k', 'v', { signal: AbortSignal.timeout(100) }).catch((e: unknown) => e);
    assert.ok(err instanceof CancelledError, String(err));
    assert.equal(err.maybeApplied, true);
    const early = await client.get('k', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    assert.ok(early instanceof CancelledError);
  });

  test('close() fails calls in flight and later ones', async () => {
    stub.unary.set('Range', () => 'hang');
    const pending = client.get('k').catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    client.close();
    assert.ok((await pending) instanceof ClientClosedError);
    assert.ok((await client.get('k').catch((e: unknown) => e)) instanceof ClientClosedError);
  });

  test('an endpoint that refuses connections is skipped; nothing was sent there', async () => {
    const [deadPort] = await pickFreePorts(1);
    stub.unary.set('Put', () => putAnswer(5));
    const c2 = new Client({ endpoints: [`127.0.0.1:${deadPort}`, stub.address], attempts: 4 });
    try {
      for (let i = 0; i < 4; i++) assert.equal((await c2.put('k', String(i))).revision, 5);
    } finally {
      c2.close();
    }
    const only = new Client({ endpoints: [`127.0.0.1:${deadPort}`], attempts: 2 });
    try {
      const err = await only.put('k', 'v').catch((e: unknown) => e);
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.maybeApplied, false, 'never sent: certainly not applied');
    } finally {
      only.close();
    }
  });

  test('one endpoint that names no leader (an edge) is not asked for Status before each write', async () => {
    let statuses = 0;
    stub.unary.set('Status', () => {
      statuses++;
      return { answer: { header: { memberId: '77' }, leader: '0', raftTerm: '0' } };
    });
    stub.unary.set('Put', () => putAnswer(3));
    for (let i = 0; i < 5; i++) assert.equal((await client.put('k', String(i))).revision, 3);
    assert.equal(stub.callsOf('Put').length, 5);
    assert.equal(statuses, 0, 'the only endpoint is the pick whoever leads: no Status round trip first');
  });
});

const kv = (key: string, rev: number) => ({ key: Buffer.from(key), value: Buffer.from(`v${rev}`), modRevision: String(rev), createRevision: String(rev), version: '1' });
const hdr = (rev: number) => ({ revision: String(rev), memberId: '77' });

describe('watch resume against a scripted server', { timeout: 30_000 }, () => {
  let stub: StubServer;
  let client: Client;
  before(async () => {
    stub = await new StubServer().start();
    client = new Client({ endpoints: [stub.address] });
  });
  beforeEach(() => stub.reset());
  after(async () => {
    client.close();
    await stub.stop();
  });

  type Call = ServerDuplexStream<Record<string, unknown>, unknown>;
  const onCreate = (call: Call, f: (req: Record<string, unknown>) => void): void => {
    call.on('data', (req: { createRequest?: Record<string, unknown> }) => {
      if (req.createRequest != null) f(req.createRequest);
    });
  };

  test('after a broken stream the watch resumes at the next revision and drops what it has seen', async () => {
    const starts: string[] = [];
    stub.watch = (call: Call, n) => onCreate(call, (req) => {
      starts.push(String(req.startRevision));
      if (n === 1) {
        call.write({ header: hdr(4), watchId: '0', created: true });
        call.write({ header: hdr(6), watchId: '0', events: [{ type: 0, kv: kv('a', 5) }, { type: 0, kv: kv('b', 6) }] });
        setTimeout(() => call.emit('error', { code: status.UNAVAILABLE, details: 'stub: member going away' }), 20);
      } else {
        call.write({ header: hdr(6), watchId: '0', created: true });
        // A member that replays a revision already delivered: the client drops it.
        call.write({ header: hdr(7), watchId: '0', events: [{ type: 0, kv: kv('b', 6) }, { type: 1, kv: kv('c', 7) }] });
        call.write({ header: hdr(9), watchId: '0', events: [] });
      }
    });
    const w = client.watch('', { fromKey: true, sessionMarkers: true });
    const got: WatchBatch[] = [];
    for await (const b of w) {
      got.push(b);
      if (b.type === 'progress') break;
    }
    assert.deepEqual(starts, ['0', '7'], 'the second stream starts after the last delivered revision');
    const revs = got.flatMap((b) => {
      if (b.type === 'events') return b.events.map((e) => `${e.type}@${e.kv.modRevision}`);
      return b.type === 'progress' ? [`progress@${b.revision}`] : [`session@${b.startRevision}`];
    });
    assert.deepEqual(revs, ['session@5', 'put@5', 'put@6', 'session@7', 'delete@7', 'progress@9']);
    assert.equal(w.stats.reconnects, 1);
    assert.equal(w.stats.duplicatesDropped, 1);
    assert.equal(w.resumeRevision, 10);
  });

  test('a watch from now resumes after the revision it was created at', async () => {
    const starts: string[] = [];
    stub.watch = (call: Call, n) => onCreate(call, (req) => {
      starts.push(String(req.startRevision));
      call.write({ header: hdr(n === 1 ? 41 : 45), watchId: '0', created: true });
      if (n === 1) setTimeout(() => call.emit('error', { code: status.UNAVAILABLE, details: 'stub: gone' }), 20);
      else call.write({ header: hdr(45), watchId: '0', events: [{ type: 0, kv: kv('a', 43) }] });
    });
    const w = client.watch('a');
    await w.ready();
    for await (const b of w) {
      assert.equal(b.type === 'events' && b.events[0]?.kv.modRevision, 43);
      break;
    }
    assert.deepEqual(starts, ['0', '42']);
  });

  test('a compacted resume point ends the watch with CompactedError', async () => {
    stub.watch = (call: Call) => onCreate(call, () => {
      call.write({ header: hdr(20), watchId: '0', created: true });
      call.write({ header: hdr(20), watchId: '0', canceled: true, compactRevision: '15', cancelReason: 'etcdserver: mvcc: required revision has been compacted' });
    });
    const w = client.watch('a', { startRevision: 3 });
    await assert.rejects(async () => {
      for await (const b of w) void b;
    }, (e: unknown) => e instanceof CompactedError && e.compactRevision === 15);
  });

  test('a server-side refusal ends the watch with WatchCanceledError', async () => {
    stub.watch = (call: Call) => onCreate(call, () => {
      call.write({ header: hdr(20), watchId: '-1', created: true, canceled: true, cancelReason: 'mvcc: watcher range is empty' });
    });
    const w = client.watch('b', { rangeEnd: 'a' });
    await assert.rejects(w.ready(), /watcher range is empty/);
  });
});
