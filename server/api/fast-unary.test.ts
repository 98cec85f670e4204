// The unary fast path (fast-unary.ts) answers exactly as grpc-js does: the same calls, in
// the same order, against two servers over fresh backends — one with the fast path, one
// without — give the same response headers, message bytes and trailers (the `date` header
// aside), for successes, each class of error, a deadline, an oversize message, malformed
// and missing or extra messages, and the requests the fast path hands to grpc-js. A raw
// node:http2 client sends them, so every header and byte is seen as a client sees it.

import assert from 'node:assert/strict';
import http2, { constants as h2 } from 'node:http2';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { status } from '@grpc/grpc-js';
import { grpcJsMetadata, metadataOf } from './fast-unary.js';
import { loadEtcdServices } from './proto.js';
import { rawH2Call, type RawAnswer } from './testing/raw-h2-call.js';
import { startTestApi, type TestApi } from './testing/start.js';

const REQUEST_BYTES_MAX = 4096;
const b = (s: string): Buffer => Buffer.from(s);

type Answer = RawAnswer;

interface Side {
  api: TestApi;
  session: http2.ClientHttp2Session;
}

let fast: Side;
let slow: Side;

async function side(fastPath: boolean): Promise<Side> {
  const api = await startTestApi({ fastPath, limits: { requestBytesMax: REQUEST_BYTES_MAX } });
  return { api, session: http2.connect(`http://${api.endpoint}`) };
}

before(async () => {
  fast = await side(true);
  slow = await side(false);
});
after(async () => {
  for (const s of [fast, slow]) {
    s.session.close();
    await s.api.close();
  }
});

function frame(message: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

const kv = loadEtcdServices().KV;
function req(method: string, value: object): Buffer {
  return frame((kv[method]!.requestSerialize as (v: object) => Buffer)(value));
}

interface CallOpts {
  headers?: http2.OutgoingHttpHeaders;
  /** Leave the request open (no END_STREAM): for the deadline. */
  open?: boolean;
}

/** One call on a raw HTTP/2 stream: what came back. */
function call(s: Side, path: string, body: Buffer[], opts: CallOpts = {}): Promise<Answer> {
  return rawH2Call(s.session, path, body, opts.headers, opts.open);
}

/** The same call on both servers; asserts the answers are equal and returns the fast one. */
async function same(path: string, body: Buffer[], opts: CallOpts = {}): Promise<Answer> {
  const servedBefore = fast.api.server.fastPathStats!.served;
  const a = await call(fast, path, body, opts);
  const c = await call(slow, path, body, opts);
  assert.deepEqual(a, c, `${path}: fast path and grpc-js answered differently`);
  assert.equal(fast.api.server.fastPathStats!.served, servedBefore + 1, `${path} was served on the fast path`);
  return a;
}

function statusOf(a: Answer): { code: number; message: string } {
  const t = a.trailers ?? a.headers;
  return { code: Number(t['grpc-status']), message: decodeURIComponent(t['grpc-message'] ?? '') };
}

test('successes: Put, Range, DeleteRange and Txn give the same headers, bytes and trailers', async () => {
  const put = await same('/etcdserverpb.KV/Put', [req('Put', { key: b('a/1'), value: b('one') })]);
  assert.equal(statusOf(put).code, status.OK);
  assert.equal(put.headers['grpc-encoding'], 'identity');
  // Metadata is read as grpc-js reads it: an identity pair and a binary header.
  await same('/etcdserverpb.KV/Put', [req('Put', { key: b('a/2'), value: b('two'), prevKv: true })], {
    headers: { 'rs-client-id': 'c1', 'rs-seq': '1', 'x-trace-bin': Buffer.from([1, 2, 3]).toString('base64') },
  });
  const range = await same('/etcdserverpb.KV/Range', [req('Range', { key: b('a/'), rangeEnd: b('a0') })]);
  assert.ok(range.data.length > 20);
  await same('/etcdserverpb.KV/Txn', [req('Txn', {
    compare: [{ key: b('a/1'), target: 'VALUE', result: 'EQUAL', value: b('one') }],
    success: [{ requestPut: { key: b('a/3'), value: b('three') } }, { requestRange: { key: b('a/1') } }],
  })]);
  await same('/etcdserverpb.KV/DeleteRange', [req('DeleteRange', { key: b('a/2'), prevKv: true })]);
  // A message split across DATA frames, and the application/grpc+proto content type.
  const whole = req('Put', { key: b('a/4'), value: Buffer.alloc(300, 7) });
  await same('/etcdserverpb.KV/Put', [whole.subarray(0, 3), whole.subarray(3, 100), whole.subarray(100)], { headers: { 'content-type': 'application/grpc+proto' } });
});

test('errors: etcd statuses, backend failures and their percent-encoded texts are the same', async () => {
  const cases: Array<[string, Buffer, number, string]> = [
    ['/etcdserverpb.KV/Put', req('Put', { key: b(''), value: b('x') }), status.INVALID_ARGUMENT, 'etcdserver: key is not provided'],
    ['/etcdserverpb.KV/Range', req('Range', { key: b('a'), revision: 1_000_000 }), status.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'],
    ['/etcdserverpb.KV/Put', req('Put', { key: b('k'), value: b('v'), lease: '777' }), status.NOT_FOUND, 'etcdserver: requested lease not found'],
    ['/etcdserverpb.KV/Put', req('Put', { key: b('k'), value: Buffer.alloc(REQUEST_BYTES_MAX + 10) }), status.INVALID_ARGUMENT, 'etcdserver: request is too large'],
    ['/etcdserverpb.KV/Txn', req('Txn', { success: [{ requestPut: { key: b('x'), value: b('v') } }, { requestPut: { key: b('x'), value: b('v') } }] }), status.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'],
    ['/etcdserverpb.KV/Put', req('Put', { key: b('k'), value: b('v') }), status.INVALID_ARGUMENT, 'regionstore: metadata rs-seq must be a decimal integer in 1..2^53-1 when rs-client-id is sent'],
  ];
  for (const [path, body, code, message] of cases) {
    const headers = message.includes('rs-seq') ? { 'rs-client-id': 'c1', 'rs-seq': 'x' } : undefined;
    const a = await same(path, [body], headers ? { headers } : {});
    assert.deepEqual(statusOf(a), { code, message });
    assert.equal(a.trailers, undefined, 'an error is a trailers-only response');
  }
  // Backend failures: a fixed etcd text, and a message with characters encodeURI escapes.
  for (const failure of [
    Object.assign(new Error('x'), { code: 'no-leader' }),
    Object.assign(new Error('installing a snapshot: 100% done\nläuft, "quoted"'), { code: 'unavailable' }),
    new Error('disk on fire % ü'),
  ]) {
    fast.api.backend.failWith = failure;
    slow.api.backend.failWith = failure;
    try {
      const a = await same('/etcdserverpb.KV/Range', [req('Range', { key: b('k') })]);
      assert.notEqual(statusOf(a).code, status.OK);
    } finally {
      fast.api.backend.failWith = undefined;
      slow.api.backend.failWith = undefined;
    }
  }
});

test('transport errors: oversize, malformed, two messages, none, and a deadline', async () => {
  const overhead = fast.api.server.limits.grpcOverheadBytes;
  const big = await same('/etcdserverpb.KV/Put', [req('Put', { key: b('k'), value: Buffer.alloc(REQUEST_BYTES_MAX + overhead + 10) })]);
  assert.equal(statusOf(big).code, status.RESOURCE_EXHAUSTED);
  assert.match(statusOf(big).message, /^Received message larger than max \(\d+ vs \d+\)$/);
  const bad = await same('/etcdserverpb.KV/Range', [frame(Buffer.from([0x0a, 0x7f, 0x01]))]);
  assert.deepEqual(statusOf(bad), { code: status.INTERNAL, message: 'Error deserializing request' });
  const two = await same('/etcdserverpb.KV/Range', [req('Range', { key: b('a') }), req('Range', { key: b('b') })]);
  assert.equal(statusOf(two).code, status.UNIMPLEMENTED);
  const none = await same('/etcdserverpb.KV/Range', []);
  assert.deepEqual(statusOf(none), { code: status.UNIMPLEMENTED, message: 'Received no request message for server streaming method /etcdserverpb.KV/Range' });
  const half = await same('/etcdserverpb.KV/Range', [req('Range', { key: b('a') }).subarray(0, 4)]);
  assert.equal(statusOf(half).code, status.UNIMPLEMENTED);
  // The request never ends: the deadline answers.
  const late = await same('/etcdserverpb.KV/Range', [req('Range', { key: b('a') })], { open: true, headers: { 'grpc-timeout': '30m' } });
  assert.deepEqual(statusOf(late), { code: status.DEADLINE_EXCEEDED, message: 'Deadline exceeded' });
});

test('requests the fast path does not take go to grpc-js unchanged', async () => {
  const handedOn = fast.api.server.fastPathStats!.handedOn;
  const put = req('Put', { key: b('z/1'), value: b('zipped') });
  const zipped = frame(gzipSync(put.subarray(5)), true);
  const cases: Array<[string, Buffer[], http2.OutgoingHttpHeaders]> = [
    ['/etcdserverpb.KV/Put', [zipped], { 'grpc-encoding': 'gzip' }],
    ['/etcdserverpb.KV/Range', [req('Range', { key: b('z/1') })], { 'content-type': 'application/grpc+proto;x=1' }],
    ['/etcdserverpb.KV/Range', [req('Range', { key: b('z/1') })], { 'grpc-timeout': '1x' }],
    ['/etcdserverpb.KV/Compact', [req('Compact', { revision: 1 })], {}],
    ['/etcdserverpb.KV/NoSuchMethod', [req('Range', {})], {}],
  ];
  for (const [path, body, headers] of cases) {
    assert.deepEqual(await call(fast, path, body, { headers }), await call(slow, path, body, { headers }), path);
  }
  assert.equal(fast.api.server.fastPathStats!.handedOn, handedOn + cases.length);
});

test('a call reset by the client is dropped; the connection and server go on', async () => {
  const stream = fast.session.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Put', 'content-type': 'application/grpc' });
  stream.on('error', () => undefined);
  stream.write(req('Put', { key: b('r/1'), value: b('v') }).subarray(0, 6));
  await new Promise((resolve) => setTimeout(resolve, 20));
  stream.close(h2.NGHTTP2_CANCEL);
  await new Promise((resolve) => stream.on('close', resolve));
  const a = await call(fast, '/etcdserverpb.KV/Put', [req('Put', { key: b('r/2'), value: b('v') })]);
  assert.equal(statusOf(a).code, status.OK);
  const r = await call(fast, '/etcdserverpb.KV/Range', [req('Range', { key: b('r/1') })]);
  assert.equal(statusOf(r).code, status.OK);
  assert.ok(!r.data.includes(b('r/1').toString('hex')), 'the reset put was not applied');
});

test('the fast path\'s metadata is what grpc-js builds from the same headers', () => {
  const base = { ':method': 'POST', ':path': '/etcdserverpb.KV/Put', ':authority': 'x', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '5S', 'grpc-accept-encoding': 'identity', 'user-agent': 'ua' };
  const cases: http2.IncomingHttpHeaders[] = [
    base,
    { ...base, 'rs-client-id': 'c1', 'rs-seq': '7', authorization: 'tok' },
    { ...base, 'x-trace-bin': Buffer.from([1, 2, 3]).toString('base64') }, // binary: grpc-js's path
    { ...base, 'x-list': 'a, b' },
    { ...base, 'x-many': ['a', 'b'] as unknown as string }, // repeated header: grpc-js's path
    { ...base, 'bad key': 'v' }, // Metadata refuses the key: grpc-js's path (logs and skips it)
  ];
  for (const headers of cases) {
    assert.deepEqual(metadataOf(headers).getMap(), grpcJsMetadata(headers).getMap(), JSON.stringify(headers));
    assert.deepEqual(metadataOf(headers).toHttp2Headers(), grpcJsMetadata(headers).toHttp2Headers());
  }
});
