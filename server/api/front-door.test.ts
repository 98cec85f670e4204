// The client port's front door over real sockets: gRPC and HTTP/1.1 on one port, the
// empty server preface that grpc-go waits for, PINGs answered before the first request,
// the :authority repair for a real HTTP/2 client, and bad input closing only its own
// connection.

import assert from 'node:assert/strict';
import { connect as connectH2 } from 'node:http2';
import { connect as connectTcp, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { CLIENT_PREFACE, FRAME_HEADER_BYTES, Flag, FrameType, frameHeader, readFrameHeader } from './h2-frames.js';
import { ETCD_VERSION_REPORTED, Http1Router, addEtcdHttpRoutes } from './http1.js';
import { rawClient, type RawClient } from './testing/raw-client.js';
import { startTestApi, type TestApi } from './testing/start.js';

let api: TestApi;
let grpc: RawClient;
let healthy = true;
let base: string;
const registry = new Registry();
new Gauge({ name: 'front_door_test_gauge', help: 'a gauge only this test registers', registers: [registry] }).set(7);

before(async () => {
  const http1 = addEtcdHttpRoutes(new Http1Router(), {
    registry,
    health: () => (healthy ? { healthy: true } : { healthy: false, reason: 'RAFT NO LEADER' }),
  });
  api = await startTestApi({ http1 });
  grpc = rawClient(api.endpoint);
  base = `http://${api.endpoint}`;
});
after(async () => {
  grpc.close();
  await api.close();
});

test('HTTP/1.1 /metrics, /health, /version and gRPC on the same port', async () => {
  const [status, metrics, version] = await Promise.all([
    grpc.unary('Maintenance', 'Status', {}),
    fetch(`${base}/metrics`),
    fetch(`${base}/version`),
  ]);
  assert.ok(status.header.memberId);
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /^front_door_test_gauge 7$/m);
  assert.deepEqual(await version.json(), ETCD_VERSION_REPORTED);
  const h = await fetch(`${base}/health`);
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { health: 'true', reason: '' });
  healthy = false;
  const sick = await fetch(`${base}/health`);
  healthy = true;
  assert.equal(sick.status, 503);
  assert.deepEqual(await sick.json(), { health: 'false', reason: 'RAFT NO LEADER' });
  assert.equal((await fetch(`${base}/nope`)).status, 404);
  const post = await fetch(`${base}/version`, { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET');
  assert.equal((await fetch(`${base}/health`, { method: 'HEAD' })).status, 200);
  // gRPC still answers after HTTP/1.1 traffic.
  await grpc.unary('KV', 'Put', { key: Buffer.from('fd/k'), value: Buffer.from('v') });
});

function openRaw(): Promise<{ sock: Socket; frames: () => Array<{ type: number; flags: number; payload: Buffer }> }> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const sock = connectTcp(api.server.port, '127.0.0.1', () => resolve({ sock, frames }));
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
    });
    sock.on('error', reject);
    const frames = (): Array<{ type: number; flags: number; payload: Buffer }> => {
      const out = [];
      let pos = 0;
      while (got.length - pos >= FRAME_HEADER_BYTES) {
        const h = readFrameHeader(got, pos);
        if (got.length - pos < FRAME_HEADER_BYTES + h.length) break;
        out.push({ type: h.type, flags: h.flags, payload: got.subarray(pos + FRAME_HEADER_BYTES, pos + FRAME_HEADER_BYTES + h.length) });
        pos += FRAME_HEADER_BYTES + h.length;
      }
      return out;
    };
  });
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a client that waits for the server preface gets one, and its PINGs are answered', async () => {
  const { sock, frames } = await openRaw();
  sock.write(Buffer.concat([CLIENT_PREFACE, frameHeader(0, FrameType.SETTINGS, 0, 0)]));
  await until('the server SETTINGS', () => frames().find((f) => f.type === FrameType.SETTINGS && f.flags === 0));
  const opaque = Buffer.from('8 bytes!');
  sock.write(Buffer.concat([frameHeader(8, FrameType.PING, 0, 0), opaque]));
  const pong = await until('the PING ACK', () => frames().find((f) => f.type === FrameType.PING));
  assert.equal(pong.flags, Flag.ACK);
  assert.deepEqual(pong.payload, opaque);
  sock.destroy();
});

/** A gRPC call over node:http2 with the given :authority; resolves with grpc-status. */
function grpcStatusWithAuthority(authority: string, calls: number, url = base): Promise<string[]> {
  const session = connectH2(url);
  session.on('error', () => undefined);
  const one = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = session.request({
        ':method': 'POST',
        ':path': '/etcdserverpb.Maintenance/Status',
        ':authority': authority,
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      req.on('error', reject);
      req.on('trailers', (t) => resolve(String(t['grpc-status'])));
      req.on('data', () => undefined);
      req.end(Buffer.alloc(5)); // an empty StatusRequest: no compression, length 0
    });
  return (async () => {
    const out: string[] = [];
    // One after another: nghttp2 then refers to the first request's fields by table index.
    for (let i = 0; i < calls; i++) out.push(await one());
    session.close();
    return out;
  })();
}

test('a request whose :authority carries a scheme is repaired and served', async () => {
  assert.deepEqual(await grpcStatusWithAuthority(`http://${api.endpoint}`, 3), ['0', '0', '0']);
  assert.deepEqual(await grpcStatusWithAuthority(api.endpoint, 2), ['0', '0']);
  // Nothing usable: the address the client connected to stands in.
  assert.deepEqual(await grpcStatusWithAuthority('#nothing', 2), ['0', '0']);
});

test('bad input closes only its own connection', async () => {
  const h2 = await openRaw();
  const closed = new Promise((r) => h2.sock.on('close', r));
  // A HEADERS frame whose HPACK block refers to index 0.
  h2.sock.write(Buffer.concat([CLIENT_PREFACE, frameHeader(0, FrameType.SETTINGS, 0, 0), frameHeader(1, FrameType.HEADERS, Flag.END_HEADERS, 1), Buffer.from([0x80])]));
  await closed;

  const h1 = await openRaw();
  let answer = '';
  h1.sock.setEncoding('latin1');
  h1.sock.removeAllListeners('data');
  h1.sock.on('data', (d: string) => {
    answer += d;
  });
  h1.sock.write('this is not HTTP\r\n\r\n');
  await new Promise((r) => h1.sock.on('close', r));
  assert.match(answer, /^HTTP\/1\.1 400/);

  await grpc.unary('Maintenance', 'Status', {});
  assert.equal((await fetch(`${base}/version`)).status, 200);
});

test('close() ends connections still being read and idle HTTP/1.1 ones', async () => {
  const own = await startTestApi({ http1: addEtcdHttpRoutes(new Http1Router(), { registry, health: () => ({ healthy: true }) }) });
  const idleH2 = connectTcp(own.server.port, '127.0.0.1');
  idleH2.on('error', () => undefined);
  idleH2.resume(); // read, or the close is never noticed
  await new Promise((r) => idleH2.on('connect', r));
  idleH2.write(Buffer.concat([CLIENT_PREFACE, frameHeader(0, FrameType.SETTINGS, 0, 0)])); // and no request
  const idleH1 = connectTcp(own.server.port, '127.0.0.1');
  idleH1.on('error', () => undefined);
  idleH1.write('GET /version HTTP/1.1\r\nhost: x\r\n\r\n'); // keep-alive: stays open after the answer
  await new Promise((r) => idleH1.once('data', r));
  idleH1.resume();
  const closedBoth = Promise.all([new Promise((r) => idleH2.on('close', r)), new Promise((r) => idleH1.on('close', r))]);
  await own.close();
  await closedBoth;
});

test('on IPv6 loopback too: HTTP/1.1, and a bracketed :authority with a scheme', async (t) => {
  let own: TestApi;
  try {
    own = await startTestApi({ host: '::1', http1: addEtcdHttpRoutes(new Http1Router(), { registry, health: () => ({ healthy: true }) }) });
  } catch (err) {
    t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
    return;
  }
  try {
    const url = `http://[::1]:${own.server.port}`;
    assert.deepEqual(await (await fetch(`${url}/version`)).json(), ETCD_VERSION_REPORTED);
    assert.deepEqual(await grpcStatusWithAuthority(`${url}/`, 2, url), ['0', '0']);
    assert.deepEqual(await grpcStatusWithAuthority('#nothing', 1, url), ['0']);
  } finally {
    await own.close();
  }
});
