import assert from 'node:assert/strict';
import { once } from 'node:events';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { renewStreamMaps, streamMapOf } from './session-streams.js';

test('stream maps are renewed while streams stay open, and every call still gets its answer', async () => {
  const server = http2.createServer();
  const maps = new Set<unknown>();
  let holder: ReturnType<typeof streamMapOf>;
  server.on('session', (session) => {
    holder = streamMapOf(session);
    renewStreamMaps(session, 3);
  });
  // Answers wait until every request of a wave is open, so renewals happen with streams open.
  let waiting: Array<() => void> = [];
  const WAVE = 10;
  server.on('stream', (stream) => {
    maps.add(holder?.streams);
    waiting.push(() => {
      stream.respond({ ':status': 200 });
      stream.end(String(stream.id));
    });
    if (waiting.length === WAVE) {
      const go = waiting;
      waiting = [];
      for (const f of go) f();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    for (let wave = 0; wave < 5; wave++) {
      const answers = await Promise.all(Array.from({ length: WAVE }, async () => {
        const req = client.request({ ':path': '/' });
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => (body += c));
        await once(req, 'end');
        return body;
      }));
      assert.equal(answers.length, WAVE);
      for (const a of answers) assert.match(a, /^\d+$/);
    }
    assert.ok(holder !== undefined, 'node keeps the stream map where streamMapOf looks (a node upgrade moved it?)');
    assert.ok(maps.size >= 10, `the map was renewed (${maps.size} maps seen)`);
    // node's own bookkeeping still works on the renewed map: every closed stream left it.
    await new Promise((r) => setImmediate(r));
    assert.equal(holder.streams.size, 0);
  } finally {
    client.close();
    server.close();
  }
});
