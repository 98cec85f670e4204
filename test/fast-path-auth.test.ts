// The unary fast path (server/api/fast-unary.ts) with auth enabled, on a real one-member
// cluster: each call is made twice on the same member, once as the fast path takes it
// (content-type application/grpc) and once with a content-type parameter, which the fast
// path hands to grpc-js unchanged (server/api/fast-unary.test.ts checks that hand-off).
// Refusals (no token, an unknown token, a permission the user lacks) and admitted calls
// must give the same headers, bytes and trailers either way.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';
import { Metadata, status } from '@grpc/grpc-js';
import { loadEtcdServices } from '../server/api/proto.js';
import { rawClient, type RawClient } from '../server/api/testing/raw-client.js';
import { rawH2Call, type RawAnswer } from '../server/api/testing/raw-h2-call.js';
import { startTestCluster, type TestCluster } from './helpers/cluster.js';

const b = (s: string): Buffer => Buffer.from(s);
/** A content-type grpc-js accepts and the fast path leaves to it. */
const HANDED_ON_CONTENT_TYPE = 'application/grpc+proto;fast-path=no';

let cluster: TestCluster;
let client: RawClient;
let session: http2.ClientHttp2Session;
let rootToken = '';
let aliceToken = '';

before(async () => {
  cluster = await startTestCluster({ nodes: 1, extraArgs: ['--bcrypt-cost', '4'] });
  const endpoint = cluster.nodes[0]!.clientUrl.replace('http://', '');
  client = rawClient(endpoint);
  await client.unary('Auth', 'UserAdd', { name: 'root', password: 'rootpw' });
  await client.unary('Auth', 'UserGrantRole', { user: 'root', role: 'root' });
  await client.unary('Auth', 'UserAdd', { name: 'alice', password: 'alicepw' });
  await client.unary('Auth', 'RoleAdd', { name: 'reader' });
  await client.unary('Auth', 'RoleGrantPermission', { name: 'reader', perm: { permType: 'READ', key: b('app/'), rangeEnd: b('app0') } });
  await client.unary('Auth', 'UserGrantRole', { user: 'alice', role: 'reader' });
  await client.unary('Auth', 'AuthEnable', {});
  rootToken = String((await client.unary('Auth', 'Authenticate', { name: 'root', password: 'rootpw' })).token);
  aliceToken = String((await client.unary('Auth', 'Authenticate', { name: 'alice', password: 'alicepw' })).token);
  const md = new Metadata();
  md.set('token', rootToken);
  await client.unary('KV', 'Put', { key: b('app/1'), value: b('one') }, md);
  session = http2.connect(`http://${endpoint}`);
});
after(async () => {
  session?.close();
  client?.close();
  await cluster?.cleanup();
});

const kv = loadEtcdServices().KV;
function req(method: string, value: object): Buffer {
  const message = (kv[method]!.requestSerialize as (v: object) => Buffer)(value);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

type Answer = RawAnswer;

function call(method: string, body: Buffer, contentType: string, token?: string): Promise<Answer> {
  return rawH2Call(session, `/etcdserverpb.KV/${method}`, [body], { 'content-type': contentType, ...(token === undefined ? {} : { token }) });
}

async function both(method: string, body: Buffer, token?: string): Promise<Answer> {
  const fast = await call(method, body, 'application/grpc', token);
  const grpcJs = await call(method, body, HANDED_ON_CONTENT_TYPE, token);
  assert.deepEqual(fast, grpcJs, `${method}: fast path and grpc-js answered differently`);
  return fast;
}

function statusOf(a: Answer): { code: number; message: string } {
  const t = a.trailers ?? a.headers;
  return { code: Number(t['grpc-status']), message: decodeURIComponent(t['grpc-message'] ?? '') };
}

test('auth refusals and admitted calls are the same on the fast path as through grpc-js', async () => {
  const range = req('Range', { key: b('app/1') });
  assert.deepEqual(statusOf(await both('Range', range)), { code: status.INVALID_ARGUMENT, message: 'etcdserver: user name is empty' });
  assert.deepEqual(statusOf(await both('Range', range, 'nope.1')), { code: status.UNAUTHENTICATED, message: 'etcdserver: invalid auth token' });
  const put = req('Put', { key: b('app/2'), value: b('two') });
  assert.deepEqual(statusOf(await both('Put', put, aliceToken)), { code: status.PERMISSION_DENIED, message: 'etcdserver: permission denied' });
  const del = req('DeleteRange', { key: b('app/'), rangeEnd: b('app0') });
  assert.deepEqual(statusOf(await both('DeleteRange', del, aliceToken)), { code: status.PERMISSION_DENIED, message: 'etcdserver: permission denied' });
  const txn = req('Txn', { success: [{ requestPut: { key: b('other'), value: b('v') } }] });
  assert.deepEqual(statusOf(await both('Txn', txn, aliceToken)), { code: status.PERMISSION_DENIED, message: 'etcdserver: permission denied' });
  // Admitted: a read alice may make, and root's.
  const read = await both('Range', range, aliceToken);
  assert.equal(statusOf(read).code, status.OK);
  assert.ok(read.data.includes(b('one').toString('hex')));
  assert.equal(statusOf(await both('Range', range, rootToken)).code, status.OK);
});
