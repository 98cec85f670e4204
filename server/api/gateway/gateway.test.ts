// The gateway on a real API server (real gRPC, RocksDB in a temp dir), reached over HTTP/1.1
// on the same port as gRPC: streams, limits, a client that leaves, IPv6 loopback.
// test/gateway.test.ts compares the answers with a real etcd's.

import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { Http1Router } from '../http1.js';
import { startTestApi, type TestApi } from '../testing/start.js';
import { JsonGateway, addJsonGateway } from './gateway.js';
import { methodTypes } from './schema.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
/** A small body limit, so the test need not send megabytes. */
const TEST_BODY_BYTES_MAX = 4096;

async function post(base: string, path: string, body: string): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', body });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text) as Record<string, unknown>, headers: res.headers };
}

/** Reads a streamed answer line by line. */
function lineReader(body: ReadableStream<Uint8Array>): () => Promise<string | undefined> {
  const reader = body.getReader();
  let buf = '';
  return async () => {
    for (;;) {
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      const { done, value } = await reader.read();
      if (done) {
        // The last line may have no newline (grpc-gateway writes none after an error).
        const last = buf;
        buf = '';
        return last === '' ? undefined : last;
      }
      buf += Buffer.from(value).toString();
    }
  };
}

for (const host of ['127.0.0.1', '::1']) {
  describe(`JSON gateway on ${host}`, () => {
    let api: TestApi;
    let gateway: JsonGateway;
    let base: string;

    before(async () => {
      const router = new Http1Router();
      gateway = addJsonGateway(router, new JsonGateway({ bodyBytesMax: TEST_BODY_BYTES_MAX }));
      api = await startTestApi({ host, http1: router });
      base = `http://${api.endpoint}`;
    });
    after(async () => {
      gateway.close();
      await api.close();
    });

    test('put then range, with the headers etcd sends', async () => {
      const put = await post(base, '/v3/kv/put', `{"key":"${b64('a')}","value":"${b64('1')}"}`);
      assert.equal(put.status, 200);
      assert.equal(put.headers.get('content-type'), 'application/json');
      assert.equal(put.headers.get('access-control-allow-origin'), '*');
      const got = await post(base, '/v3/kv/range', `{"key":"${b64('a')}"}`);
      assert.deepEqual((got.json.kvs as unknown[])[0], { key: b64('a'), create_revision: '2', mod_revision: '2', version: '1', value: b64('1') });
      assert.equal(got.json.count, '1');
    });

    test('a watch streams one {"result": ...} line per answer and stops when the client leaves', async () => {
      const ac = new AbortController();
      const res = await fetch(`${base}/v3/watch`, {
        method: 'POST',
        body: JSON.stringify({ create_request: { key: b64('w') } }),
        signal: ac.signal,
      });
      assert.equal(res.status, 200);
      const next = lineReader(res.body!);
      const created = JSON.parse((await next())!) as { result: { created?: boolean } };
      assert.equal(created.result.created, true);
      await post(base, '/v3/kv/put', `{"key":"${b64('w')}","value":"${b64('x')}"}`);
      const event = JSON.parse((await next())!) as { result: { events: Array<{ kv: { value: string } }> } };
      assert.equal(event.result.events[0]!.kv.value, b64('x'));
      ac.abort();
      // The member goes on serving.
      assert.equal((await post(base, '/v3/kv/range', `{"key":"${b64('w')}"}`)).status, 200);
    });

    test('a watch body sent in pieces: each request goes out as soon as it is complete', async () => {
      const url = new URL(`${base}/v3/watch`);
      const req = request({ host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname, method: 'POST' });
      const res = await new Promise<IncomingMessage>((resolve) => {
        req.once('response', resolve);
        // Half a create request, then the rest: nothing may go out before it is whole.
        req.write('{"create_request":{"key":');
        setImmediate(() => req.write(`"${b64('p')}"}}`));
      });
      res.setEncoding('utf8');
      const lines = res[Symbol.asyncIterator]();
      let buf = '';
      const next = async (): Promise<Record<string, unknown>> => {
        while (!buf.includes('\n')) buf += (await lines.next()).value as string;
        const line = buf.slice(0, buf.indexOf('\n'));
        buf = buf.slice(buf.indexOf('\n') + 1);
        return (JSON.parse(line) as { result: Record<string, unknown> }).result;
      };
      assert.equal((await next()).created, true);
      req.write(' {"progress_request":{}}');
      assert.equal((await next()).watch_id, '-1', "the stream's progress answer (watch id -1, as etcd 3.5)");
      req.write('{"cancel_request":{"watch_id":"0"}}');
      assert.equal((await next()).canceled, true);
      req.destroy();
    });

    test('keepalive answers each value of the body, then ends; a later unreadable value only ends the sending side', async () => {
      await post(base, '/v3/lease/grant', '{"TTL":30,"ID":99}');
      const res = await fetch(`${base}/v3/lease/keepalive`, { method: 'POST', body: '{"ID":99} {"ID":"99"} {oops' });
      assert.equal(res.status, 200);
      const lines = (await res.text()).split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 2);
      for (const l of lines) assert.equal((JSON.parse(l) as { result: { TTL: string } }).result.TTL, '30');
    });

    test('a stream whose first value is unreadable fails as grpc-gateway fails it (UNKNOWN, 500)', async () => {
      const r = await post(base, '/v3/watch', '{bad');
      assert.equal(r.status, 500);
      assert.deepEqual(r.json, {
        error: "invalid character 'b' looking for beginning of object key string",
        code: 2,
        message: "invalid character 'b' looking for beginning of object key string",
      });
    });

    test("a body over the limit is refused with etcd's request-too-large error", async () => {
      const r = await post(base, '/v3/kv/put', `{"key":"${b64('big')}","value":"${'A'.repeat(TEST_BODY_BYTES_MAX)}"}`);
      assert.equal(r.status, 400);
      assert.equal(r.json.message, 'etcdserver: request is too large');
      assert.equal(r.json.code, 3);
    });

    test('errors of the call come back with their gRPC code and etcd text', async () => {
      const r = await post(base, '/v3/lease/revoke', '{"ID":"12345"}');
      assert.equal(r.status, 404);
      assert.deepEqual(r.json, { error: 'etcdserver: requested lease not found', code: 5, message: 'etcdserver: requested lease not found' });
    });

    test('lock and election through /v3/lock/* and /v3/election/* (gRPC UNIMPLEMENTED while their services are absent)', async () => {
      const lease = (await post(base, '/v3/lease/grant', '{"TTL":30}')).json.ID as string;
      const lock = await post(base, '/v3/lock/lock', `{"name":"${b64('L')}","lease":"${lease}"}`);
      const campaign = await post(base, '/v3/election/campaign', `{"name":"${b64('E')}","lease":"${lease}","value":"${b64('me')}"}`);
      if (typeof methodTypes('v3lockpb.Lock', 'Lock') === 'string') {
        assert.equal(lock.status, 501);
        assert.deepEqual(lock.json, { error: 'unknown service v3lockpb.Lock', code: 12, message: 'unknown service v3lockpb.Lock' });
        assert.equal(campaign.status, 501);
        return;
      }
      assert.equal(lock.status, 200, JSON.stringify(lock.json));
      const key = lock.json.key as string;
      assert.ok(Buffer.from(key, 'base64').toString().startsWith('L/'));
      assert.equal((await post(base, '/v3/lock/unlock', `{"key":"${key}"}`)).status, 200);
      assert.equal(campaign.status, 200, JSON.stringify(campaign.json));
      const leader = await post(base, '/v3/election/leader', `{"name":"${b64('E')}"}`);
      assert.equal((leader.json.kv as { value: string }).value, b64('me'));
      assert.equal((await post(base, '/v3/election/resign', JSON.stringify({ leader: campaign.json.leader }))).status, 200);
    });

    test('CORS preflight, 404 and 405 as etcd answers them', async () => {
      const pre = await fetch(`${base}/v3/kv/range`, { method: 'OPTIONS' });
      assert.equal(pre.status, 200);
      assert.equal(pre.headers.get('access-control-allow-methods'), 'POST, GET, OPTIONS, PUT, DELETE');
      const missing = await fetch(`${base}/v3/kv/nothing`, { method: 'POST', body: '{}' });
      assert.equal(missing.status, 404);
      assert.equal(await missing.text(), 'Not Found\n');
      const get = await fetch(`${base}/v3/kv/range`);
      assert.equal(get.status, 405);
      assert.equal(await get.text(), 'Method Not Allowed\n');
    });
  });
}

test('a stream cut by the member ends with grpc-gateway\'s error line', async () => {
  const router = new Http1Router();
  const gateway = addJsonGateway(router);
  const api = await startTestApi({ http1: router });
  try {
    const res = await fetch(`http://${api.endpoint}/v3/watch`, { method: 'POST', body: JSON.stringify({ create_request: { key: b64('s') } }) });
    const next = lineReader(res.body!);
    assert.equal((JSON.parse((await next())!) as { result: { created: boolean } }).result.created, true);
    // Closing the gateway (the member stopping) cancels its calls.
    gateway.close();
    assert.deepEqual(JSON.parse((await next())!), {
      error: { grpc_code: 1, http_code: 408, message: 'Cancelled on client', http_status: 'Request Timeout' },
    });
    assert.equal(await next(), undefined);
  } finally {
    gateway.close();
    await api.close();
  }
});
