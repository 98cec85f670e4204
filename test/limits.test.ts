// The client port's limits (issue 16) against real `regionstore serve` processes: each limit
// is crossed, the refusal's status and text checked (etcd's where etcd has one, else one
// naming the limit and its flag), other clients are served meanwhile, and every write that
// was acknowledged is read back from every member at the end.
//
// Cluster A (3 members): request size, txn ops, watchers per stream and per connection, slow
// watch receivers (pending bytes, stall). Cluster B (1 member): concurrent streams per
// connection, connections per address, the handshake deadline, the idle timeout, keepalive
// ping enforcement.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { DEFAULT_CONNECTION_LIMITS } from '../server/api/connection-limits.js';
import { DEFAULT_LIMITS } from '../server/api/limits.js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { parseServeFlags } from '../server/config/serve-flags.js';
import { etcdctl, eventually, haveTool, sleep, startTestCluster, type TestCluster } from './helpers/cluster.js';

const b = (s: string): Buffer => Buffer.from(s);
/** A connection of its own (grpc-js shares one per target otherwise). */
const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 };
const TOO_LARGE = 'etcdserver: request is too large';
const TOO_MANY_OPS = 'etcdserver: too many operations in txn request';

async function fails(p: Promise<unknown>, code: status, details: string | RegExp): Promise<void> {
  const err = await p.then(() => assert.fail(`expected ${String(details)}`), (e: ServiceError) => e);
  assert.equal(err.code, code, err.details);
  if (typeof details === 'string') assert.equal(err.details, details);
  else assert.match(err.details, details);
}

/** Every write a member acknowledged: checked on every member at the end. */
class Acked {
  readonly values = new Map<string, string>();
  async put(c: RawClient, key: string, value: string | Buffer): Promise<void> {
    await c.unary('KV', 'Put', { key: b(key), value: typeof value === 'string' ? b(value) : value });
    this.values.set(key, typeof value === 'string' ? value : `<${value.length} bytes ${value[0]}>`);
  }
  async verify(clients: RawClient[]): Promise<void> {
    for (const c of clients) {
      for (const [key, want] of this.values) {
        const r = await c.unary('KV', 'Range', { key: b(key) });
        const v = r.kvs[0]?.value as Buffer | undefined;
        assert.ok(v !== undefined, `acknowledged ${key} is missing`);
        assert.equal(want.startsWith('<') ? `<${v.length} bytes ${v[0]}>` : v.toString(), want, key);
      }
    }
  }
}

interface WatchAnswer {
  watchId: string;
  created: boolean;
  canceled: boolean;
  cancelReason: string;
  events: unknown[];
}

/** A Watch stream that records what it receives. */
function watchStream(c: RawClient): { s: ClientDuplexStream<unknown, WatchAnswer>; got: WatchAnswer[]; error: Promise<ServiceError> } {
  const s = c.duplex('Watch', 'Watch') as ClientDuplexStream<unknown, WatchAnswer>;
  const got: WatchAnswer[] = [];
  s.on('data', (m: WatchAnswer) => got.push(m));
  const error = new Promise<ServiceError>((resolve) => s.on('error', resolve));
  return { s, got, error };
}

async function created(w: { s: ClientDuplexStream<unknown, WatchAnswer>; got: WatchAnswer[] }, key: string): Promise<WatchAnswer> {
  const seen = w.got.length;
  w.s.write({ createRequest: { key: b(key), rangeEnd: b(key + '0') } }); // [key, key + '0'): key and the keys under key/
  return eventually(`created answer for ${key}`, async () => w.got.slice(seen).find((m) => m.created));
}

async function limitCount(metricsUrl: string, limit: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  const m = new RegExp(`^regionstore_limit_refusals_total\\{limit="${limit}"\\} (\\d+)`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

test('the limit flags default to the limits server/api enforces (etcd\'s where etcd has one)', () => {
  const r = parseServeFlags([]);
  assert.equal(r.kind, 'config');
  if (r.kind !== 'config') return;
  const l = r.config.limits;
  assert.equal(l.requestBytesMax, DEFAULT_LIMITS.requestBytesMax);
  assert.equal(l.requestBytesMax, 1572864, 'etcd\'s --max-request-bytes');
  assert.equal(l.txnOpsMax, DEFAULT_LIMITS.txnOpsMax);
  assert.equal(l.watchersPerStreamMax, DEFAULT_LIMITS.watchersPerStreamMax);
  assert.equal(l.watchersPerConnectionMax, DEFAULT_LIMITS.watchersPerConnectionMax);
  assert.equal(l.watchPendingBytesMax, DEFAULT_LIMITS.watchPendingBytesMax);
  assert.equal(l.watchStallMs, DEFAULT_LIMITS.watchStallMs);
  const { concurrentStreamsMax, keepaliveMinTimeMs, keepaliveIntervalMs, keepaliveTimeoutMs, handshakeTimeoutMs, idleTimeoutMs, connectionsPerAddressMax } = l;
  assert.deepEqual(
    { concurrentStreamsMax, keepaliveMinTimeMs, keepaliveIntervalMs, keepaliveTimeoutMs, handshakeTimeoutMs, idleTimeoutMs, connectionsPerAddressMax },
    { ...DEFAULT_CONNECTION_LIMITS },
  );
  const set = parseServeFlags(['--max-request-bytes', '100', '--grpc-keepalive-min-time', '250ms', '--watch-stall-timeout', '1m']);
  assert.equal(set.kind, 'config');
  if (set.kind === 'config') assert.deepEqual([set.config.limits.requestBytesMax, set.config.limits.keepaliveMinTimeMs, set.config.limits.watchStallMs], [100, 250, 60_000]);
  const bad = parseServeFlags(['--max-txn-ops', '0', '--grpc-keepalive-timeout', 'soon']);
  assert.equal(bad.kind, 'error');
  if (bad.kind === 'error') assert.equal(bad.errors.length, 2, bad.errors.join('\n'));
});

describe('request and watch limits (3 members)', { timeout: 300_000 }, () => {
  let cluster: TestCluster;
  let clients: RawClient[] = [];
  const acked = new Acked();
  const extra: RawClient[] = [];
  const client = (i: number, own = false): RawClient => {
    const c = rawClient(cluster.hostPorts[i]!, own ? OWN_CONNECTION : {});
    extra.push(c);
    return c;
  };

  before(async () => {
    cluster = await startTestCluster({
      timings: 'etcd',
      extraArgs: [
        '--max-request-bytes', '65536', '--max-txn-ops', '4', '--max-watchers-per-stream', '3', '--max-watchers-per-connection', '5',
        '--max-watch-pending-bytes', '262144', '--watch-stall-timeout', '3s',
      ],
    });
    clients = cluster.hostPorts.map((hp) => rawClient(hp));
  });

  after(async () => {
    try {
      if (clients.length > 0) await acked.verify(clients);
    } finally {
      for (const c of [...clients, ...extra]) c.close();
      await cluster?.cleanup();
    }
  });

  test('--max-request-bytes: etcd\'s "request is too large", a frame far over it refused undecoded; others are served', async () => {
    const [c0, c1] = [clients[0]!, clients[1]!];
    await acked.put(c0, 'big/under', Buffer.alloc(60_000, 1));
    await fails(c0.unary('KV', 'Put', { key: b('big/over'), value: Buffer.alloc(65_536, 2) }), status.INVALID_ARGUMENT, TOO_LARGE);
    await fails(c0.unary('KV', 'Txn', { success: [
      { requestPut: { key: b('big/t1'), value: Buffer.alloc(40_000) } }, { requestPut: { key: b('big/t2'), value: Buffer.alloc(40_000) } },
    ] }), status.INVALID_ARGUMENT, TOO_LARGE);
    // Over the limit plus gRPC's allowance (512 KiB): grpc-js refuses the frame itself.
    await fails(c0.unary('KV', 'Put', { key: b('big/huge'), value: Buffer.alloc(700_000) }), status.RESOURCE_EXHAUSTED, /larger than max/);
    await acked.put(c0, 'big/after', 'the connection still serves');
    await acked.put(c1, 'big/other', 'another client too');
    assert.equal((await c1.unary('KV', 'Range', { key: b('big/over') })).count, '0', 'nothing of a refused request was written');
  });

  test('etcdctl sees etcd\'s own errors for both', async (t) => {
    if (!haveTool('etcdctl', 'etcd-client')) return t.skip('etcdctl is not installed: apt-get install etcd-client');
    const ep = cluster.hostPorts[0]!;
    const put = await etcdctl(ep, ['put', 'big/etcdctl', 'x'.repeat(70_000)]);
    assert.notEqual(put.code, 0);
    assert.match(put.stderr, /etcdserver: request is too large/);
    const txn = await etcdctl(ep, ['txn'], '\n' + [0, 1, 2, 3, 4].map((i) => `put txn/e${i} ${i}`).join('\n') + '\n\n\n');
    assert.notEqual(txn.code, 0);
    assert.match(txn.stderr, /etcdserver: too many operations in txn request/);
    const ok = await etcdctl(ep, ['put', 'big/etcdctl', 'small']);
    assert.equal(ok.code, 0, ok.stderr);
    acked.values.set('big/etcdctl', 'small');
    return undefined;
  });

  test('--max-txn-ops: etcd\'s "too many operations in txn request"', async () => {
    const c = clients[1]!;
    const put = (i: number) => ({ requestPut: { key: b(`txn/${i}`), value: b(String(i)) } });
    await fails(c.unary('KV', 'Txn', { success: [0, 1, 2, 3, 4].map(put) }), status.INVALID_ARGUMENT, TOO_MANY_OPS);
    const compares = [0, 1, 2, 3, 4].map((i) => ({ key: b(`txn/${i}`), target: 'VERSION', result: 'EQUAL', version: '0' }));
    await fails(c.unary('KV', 'Txn', { compare: compares, success: [] }), status.INVALID_ARGUMENT, TOO_MANY_OPS);
    const ok = await c.unary('KV', 'Txn', { success: [0, 1, 2, 3].map(put) });
    assert.equal(ok.succeeded, true);
    for (const i of [0, 1, 2, 3]) acked.values.set(`txn/${i}`, String(i));
    assert.equal((await c.unary('KV', 'Range', { key: b('txn/4') })).count, '0');
  });

  test('--max-watchers-per-stream and --max-watchers-per-connection: refused in-band, the others keep watching', async () => {
    const c = client(2, true);
    const a = watchStream(c);
    const bStream = watchStream(c); // same client, same connection
    for (const k of ['wa', 'wb', 'wc']) assert.equal((await created(a, k)).canceled, false, k);
    const overStream = await created(a, 'wd');
    assert.equal(overStream.canceled, true);
    assert.match(overStream.cancelReason, /too many watchers on this stream \(limit 3, --max-watchers-per-stream\)/);
    for (const k of ['wa', 'wb']) assert.equal((await created(bStream, k)).canceled, false, k);
    const overConnection = await created(bStream, 'we');
    assert.equal(overConnection.canceled, true);
    assert.match(overConnection.cancelReason, /too many watchers on this connection \(limit 5, --max-watchers-per-connection\)/);
    // Another connection to the same member is not held back by this one's count.
    const other = watchStream(client(2, true));
    assert.equal((await created(other, 'wa')).canceled, false);
    // The admitted watchers still deliver.
    await acked.put(clients[0]!, 'wa', 'seen by every watcher of wa');
    await eventually('events on all three streams', async () =>
      [a, bStream, other].every((w) => w.got.some((m) => m.events.length > 0)) ? true : undefined);
    // A watcher canceled frees a place on the connection.
    const first = a.got.find((m) => m.created && !m.canceled)!;
    a.s.write({ cancelRequest: { watchId: first.watchId } });
    await eventually('the cancel', async () => (a.got.some((m) => m.canceled && m.watchId === first.watchId) ? true : undefined));
    assert.equal((await created(bStream, 'wf')).canceled, false, 'admitted once a place is free');
    for (const w of [a, bStream, other]) w.s.cancel();
  });

  test('--max-watch-pending-bytes: a client that reads too slowly has its watch canceled with a status naming the flag', async () => {
    const metrics = cluster.nodes[0]!.metricsUrl;
    const countBefore = await limitCount(metrics, 'watch-slow-receiver');
    const w = watchStream(client(0, true));
    await created(w, 'slow');
    w.s.pause();
    const writer = clients[1]!;
    // 40 × 50 kB: far more than the client's buffers and HTTP/2 windows plus 256 KiB.
    for (let i = 0; i < 40; i++) await acked.put(writer, `slow/${i}`, Buffer.alloc(50_000, i));
    await eventually('the trip counted', async () => ((await limitCount(metrics, 'watch-slow-receiver')) > countBefore ? true : undefined), 20_000);
    w.s.resume();
    const err = await w.error;
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /has not read \d+ bytes of watch responses, over the limit of 262144 \(--max-watch-pending-bytes\)/);
    // grpc-js may surface the status before the messages still in its buffer.
    const cancel = await eventually('the in-band cancel', async () => w.got.find((m) => m.canceled), 5_000);
    assert.equal(cancel.cancelReason, err.details);
    // The member serves others throughout, and a new watch of the same range works.
    const again = watchStream(client(0, true));
    await created(again, 'slow');
    await acked.put(writer, 'slow/after', 'x');
    await eventually('the new watcher sees it', async () => (again.got.some((m) => m.events.length > 0) ? true : undefined));
    again.s.cancel();
  });

  test('--watch-stall-timeout: a client that reads nothing is canceled, then reset', async () => {
    const metrics = cluster.nodes[1]!.metricsUrl;
    const countBefore = await limitCount(metrics, 'watch-slow-receiver');
    const w = watchStream(client(1, true));
    await created(w, 'stall');
    w.s.pause();
    // 60 × 4 kB: under the pending-bytes limit, over what the client's buffers take.
    for (let i = 0; i < 60; i++) await acked.put(clients[2]!, `stall/${i}`, Buffer.alloc(4_000, i));
    await eventually('the stall counted', async () => ((await limitCount(metrics, 'watch-slow-receiver')) > countBefore ? true : undefined), 20_000);
    // The client never read: it learns nothing in-band; its stream is reset within the grace.
    const err = await w.error;
    assert.equal(err.code, status.CANCELLED, err.details);
    await acked.put(clients[1]!, 'stall/after', 'served');
  });
});

/** An HTTP/2 session that has made one call, so the front door has handed it to gRPC. */
async function h2Session(hostPort: string): Promise<http2.ClientHttp2Session> {
  const s = http2.connect(`http://${hostPort}`);
  s.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    s.once('connect', () => resolve());
    s.once('error', reject);
  });
  const req = s.request({ ':path': '/etcdserverpb.Maintenance/Status', ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' });
  req.end(Buffer.alloc(5)); // one empty StatusRequest
  req.resume();
  await new Promise((resolve) => req.once('close', resolve));
  return s;
}

describe('connection limits (1 member)', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let c: RawClient;
  const acked = new Acked();
  let hostPort = '';
  let port = 0;

  before(async () => {
    cluster = await startTestCluster({
      nodes: 1,
      extraArgs: [
        '--max-concurrent-streams', '4', '--max-connections-per-address', '12', '--client-handshake-timeout', '1s', '--grpc-keepalive-min-time', '1s',
        '--client-idle-timeout', '2s',
      ],
    });
    hostPort = cluster.hostPorts[0]!;
    port = Number(hostPort.split(':')[1]);
    c = rawClient(hostPort);
  });

  after(async () => {
    try {
      if (c !== undefined) await acked.verify([c]);
    } finally {
      c?.close();
      await cluster?.cleanup();
    }
  });

  test('--max-concurrent-streams: advertised in SETTINGS; a fifth call waits for a free stream, other connections do not', async () => {
    const s = await h2Session(hostPort);
    assert.equal(s.remoteSettings.maxConcurrentStreams, 4);
    s.destroy();
    const own = rawClient(hostPort, OWN_CONNECTION);
    try {
      const watches = [0, 1, 2, 3].map(() => watchStream(own));
      for (const [i, w] of watches.entries()) await created(w, `cs${i}`);
      // Every stream of `own`'s Watch client shares one connection: a fifth waits there.
      const fifth = watchStream(own);
      fifth.s.write({ createRequest: { key: b('cs4'), rangeEnd: b('cs40') } });
      await sleep(1_500);
      assert.equal(fifth.got.length, 0, 'the fifth stream waits while four are open');
      watches[0]!.s.cancel();
      await eventually('the fifth stream is served once one closes', async () => (fifth.got.some((m) => m.created) ? true : undefined));
      for (const w of [...watches, fifth]) w.s.cancel();
      await acked.put(c, 'cs/after', 'served');
    } finally {
      own.close();
    }
  });

  test('--client-handshake-timeout: nothing, half a preface, or a preface without a request is closed; others are served', async () => {
    const countBefore = await limitCount(cluster.nodes[0]!.metricsUrl, 'handshake');
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const emptySettings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const sends: Record<string, Buffer> = {
      nothing: Buffer.alloc(0), half: preface.subarray(0, 10), preface: Buffer.concat([preface, emptySettings]),
    };
    const closed = Object.entries(sends).map(([what, bytes]) =>
      new Promise<string>((resolve) => {
        const sock = net.connect(port, '127.0.0.1', () => {
          if (bytes.length > 0) sock.write(bytes);
        });
        sock.on('error', () => undefined);
        sock.resume();
        sock.on('close', () => resolve(what));
      }));
    await acked.put(c, 'hs/during', 'served while the slow clients wait');
    const done = await Promise.race([Promise.all(closed), sleep(15_000).then(() => 'timeout' as const)]);
    assert.notEqual(done, 'timeout', 'every slow connection was closed');
    assert.ok((await limitCount(cluster.nodes[0]!.metricsUrl, 'handshake')) >= countBefore + 3);
    await acked.put(c, 'hs/after', 'served');
  });

  test('--max-connections-per-address: one more is answered GOAWAY ENHANCE_YOUR_CALM (HTTP/1.1: 429) naming the flag', async () => {
    const held: http2.ClientHttp2Session[] = [];
    try {
      let refused: { code: number; text: string } | undefined;
      for (let i = 0; i < 14 && refused === undefined; i++) {
        const s = http2.connect(`http://${hostPort}`);
        s.on('error', () => undefined);
        const outcome = await new Promise<{ code: number; text: string } | 'ok'>((resolve) => {
          s.once('goaway', (code, _last, data) => resolve({ code, text: data?.toString() ?? '' }));
          const req = s.request({ ':path': '/etcdserverpb.Maintenance/Status', ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers' });
          req.on('error', () => undefined);
          req.end(Buffer.alloc(5));
          req.resume();
          req.once('close', () => resolve('ok'));
        });
        held.push(s);
        if (outcome !== 'ok') refused = outcome;
      }
      assert.ok(refused !== undefined, 'refused within 14 connections');
      assert.equal(refused.code, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      assert.match(refused.text, /too many connections from 127\.0\.0\.1 \(limit 12, --max-connections-per-address\)/);
      const res = await fetch(`http://${hostPort}/health`);
      assert.equal(res.status, 429);
      assert.match(await res.text(), /--max-connections-per-address/);
    } finally {
      for (const s of held) s.destroy();
    }
    await eventually('served again once connections closed', async () => {
      await acked.put(c, 'cpa/after', 'served');
      return true;
    });
  });

  test('--client-idle-timeout: a connection with no call open is sent GOAWAY; clients reconnect', async () => {
    const s = await h2Session(hostPort);
    const goaway = await Promise.race([
      new Promise<number>((resolve) => s.once('goaway', (code) => resolve(code))),
      sleep(20_000).then(() => -1),
    ]);
    assert.equal(goaway, http2.constants.NGHTTP2_NO_ERROR, 'GOAWAY NO_ERROR after the idle timeout');
    s.destroy();
    // grpc-js (like grpc-go) reconnects for the next call.
    await acked.put(c, 'idle/after', 'served');
  });

  test('--grpc-keepalive-min-time: pings too often are answered GOAWAY ENHANCE_YOUR_CALM "too_many_pings"', async () => {
    const s = await h2Session(hostPort);
    const goaway = new Promise<{ code: number; text: string }>((resolve) => s.once('goaway', (code, _l, data) => resolve({ code, text: data?.toString() ?? '' })));
    for (let i = 0; i < 8 && !s.destroyed && !s.closed; i++) {
      s.ping(() => undefined);
      await sleep(50);
    }
    const g = await goaway;
    assert.deepEqual(g, { code: http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, text: 'too_many_pings' });
    s.destroy();
    await acked.put(c, 'ka/after', 'served');
  });
});
