import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { callMetadata, peerService, type ProbeRequest, type ProbeResponse } from './peer-proto.js';
import { app, sleep, TestNode, waitFor } from './testing/harness.js';

const open: TestNode[] = [];
async function node(id: number, opts?: ConstructorParameters<typeof TestNode>[1]): Promise<TestNode> {
  const n = await new TestNode(id, opts).start();
  open.push(n);
  return n;
}
after(async () => {
  for (const n of open) await n.transport.close();
});

function indexes(n: TestNode, from: number): number[] {
  return n.received.filter((m) => m.from === from).map((m) => m.index);
}

test('three transports exchange batches in order', async () => {
  const [a, b, c] = [await node(1), await node(2), await node(3)];
  for (const x of [a, b, c]) for (const y of [a, b, c]) if (x !== y) x.transport.addPeer(y.id, y.url);
  const perPeer = 2000;
  for (let i = 0; i < perPeer; i += 100) {
    const msgs = [];
    for (let j = i; j < i + 100; j++) msgs.push(app(1, 2, j), app(1, 3, j));
    a.transport.send(msgs);
    b.transport.send([app(2, 1, i)]);
    if (i % 500 === 0) await new Promise((r) => setImmediate(r)); // let some frames go mid-way
  }
  await waitFor(() => b.received.length === perPeer && c.received.length === perPeer, 'all messages to 2 and 3');
  await waitFor(() => a.received.length === perPeer / 100, 'messages from 2 to 1');
  const expected = Array.from({ length: perPeer }, (_, i) => i);
  assert.deepEqual(indexes(b, 1), expected);
  assert.deepEqual(indexes(c, 1), expected);
  assert.deepEqual(indexes(a, 2), expected.filter((i) => i % 100 === 0));
  const first = b.received[5]!;
  assert.equal(first.entries[0]!.data.length, 8);
  assert.equal(first.entries[0]!.data[0], 5);
  // Batching: far fewer frames than messages.
  const sent = a.eventsOf('messages-sent').filter((e) => e.peer === 2);
  assert.equal(sent.reduce((s, e) => s + e.messages, 0), perPeer);
  assert.ok(sent.length < perPeer / 10, `${sent.length} frames for ${perPeer} messages`);
  assert.deepEqual(a.unreachable, []);
  assert.equal(b.eventsOf('messages-received').reduce((s, e) => s + e.messages, 0), perPeer);
});

test('frames are bounded by batchBytesMax; a message larger than that goes alone', async () => {
  const batchBytesMax = 64 * 1024;
  const [a, b] = [await node(1, { limits: { batchBytesMax } }), await node(2)];
  a.transport.addPeer(2, b.url);
  const msgs = [];
  for (let i = 0; i < 200; i++) msgs.push(app(1, 2, i, i === 100 ? 200 * 1024 : 4096));
  a.transport.send(msgs);
  await waitFor(() => b.received.length === 200, 'all 200 messages');
  assert.deepEqual(indexes(b, 1), Array.from({ length: 200 }, (_, i) => i));
  const frames = a.eventsOf('messages-sent');
  for (const f of frames) {
    assert.ok(f.bytes <= batchBytesMax || f.messages === 1, `frame of ${f.messages} messages, ${f.bytes} bytes`);
  }
  assert.ok(frames.length >= (200 * 4096) / batchBytesMax, `${frames.length} frames`);
});

test('reconnects after the receiving server stops and restarts on the same port', async () => {
  const a = await node(1);
  let b = await node(2);
  const port = b.port;
  a.transport.addPeer(2, b.url);
  a.transport.send([app(1, 2, 0)]);
  await waitFor(() => b.received.length === 1, 'first message');
  await b.transport.close();
  // While 2 is down: sends never block nor throw; the broken stream is reported.
  let i = 1;
  await waitFor(() => {
    a.transport.send([app(1, 2, i++)]);
    return a.unreachable.includes(2);
  }, 'node 2 reported unreachable');
  assert.ok(a.eventsOf('send-failure').length >= 1);
  b = await new TestNode(2).start(port);
  open.push(b);
  await waitFor(() => {
    a.transport.send([app(1, 2, i++)]);
    return b.received.length > 0;
  }, 'a message through the new stream');
  const got = indexes(b, 1);
  assert.deepEqual(got, [...got].sort((x, y) => x - y), 'still in order after reconnecting');
  await waitFor(() => a.eventsOf('peer-connected').length >= 2, 'connected twice');
});

test('a sender backing off from a peer reconnects as soon as that peer calls it (a member just started)', async () => {
  // Backoffs far longer than the test: only the peer's call can end them early.
  const slow = { backoffInitialMs: 60_000, backoffMaxMs: 60_000 };
  const a = await node(1, { limits: slow });
  let b = await node(2);
  const port = b.port;
  await b.transport.close();
  a.transport.addPeer(2, `http://127.0.0.1:${port}`);
  a.transport.send([app(1, 2, 0)]);
  await waitFor(() => a.eventsOf('send-failure').length >= 1, 'the first stream to fail (nobody listens)');
  b = await new TestNode(2).start(port);
  open.push(b);
  a.transport.send([app(1, 2, 1)]);
  await sleep(200);
  assert.equal(b.received.length, 0, 'still backing off');
  // The new member calls us (as a joiner's Members call does): we reconnect at once.
  assert.equal(await b.transport.probe(a.url, 1), true);
  await waitFor(() => b.received.length > 0, 'the queued message, well before the 60 s backoff', 5000);
});

test('a full queue drops, reports the peer unreachable, and never blocks the caller', async () => {
  // A peer that accepts TCP and never answers: the stream never gets going.
  const sockets: Socket[] = [];
  const hole = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
  const holePort = (hole.address() as { port: number }).port;
  try {
    const a = await node(1, { limits: { queueMessagesMax: 50, writesInflightMax: 1 } });
    a.transport.addPeer(2, `127.0.0.1:${holePort}`);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) a.transport.send([app(1, 2, i, 1024)]);
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 1000, `1000 sends took ${elapsedMs} ms`);
    await waitFor(() => a.unreachable.includes(2), 'unreachable reported');
    const drops = a.eventsOf('messages-dropped');
    const dropped = drops.reduce((s, e) => s + e.messages, 0);
    assert.ok(dropped >= 1000 - 50 - 1, `dropped ${dropped}`);
    assert.ok(drops.every((e) => e.reason === 'queue-full' && e.peer === 2));
    // Reported once per flush, not once per message.
    assert.ok(a.unreachable.length <= drops.length);
    // A queue bounded in bytes too: one message over queueBytesMax is refused outright.
    const b = await node(3, { limits: { queueBytesMax: 4096 } });
    b.transport.addPeer(2, `127.0.0.1:${holePort}`);
    b.transport.send([app(3, 2, 0, 8192)]);
    await waitFor(() => b.eventsOf('messages-dropped').length === 1, 'too-large drop');
    assert.equal(b.eventsOf('messages-dropped')[0]!.reason, 'too-large');
    await a.transport.close();
    await b.transport.close();
  } finally {
    for (const s of sockets) s.destroy();
    hole.close();
  }
});

test('a node of another cluster is refused with FAILED_PRECONDITION', async () => {
  const a = await node(1);
  const stranger = await node(2, { clusterId: 'other-cluster' });
  stranger.transport.addPeer(1, a.url);
  stranger.transport.send([app(2, 1, 0)]);
  await waitFor(() => stranger.unreachable.includes(1), 'stranger sees 1 unreachable');
  assert.match(stranger.eventsOf('send-failure')[0]!.reason, /cluster id mismatch/);
  assert.equal(a.received.length, 0);
  assert.match(a.eventsOf('call-refused')[0]!.reason, /cluster id mismatch/);
  // The status code itself, through a raw call.
  const def = peerService().probe;
  const client = new Client(`127.0.0.1:${a.port}`, credentials.createInsecure());
  const err = await new Promise<ServiceError | null>((resolve) =>
    client.makeUnaryRequest<ProbeRequest, ProbeResponse>(def.path, def.requestSerialize, def.responseDeserialize,
      { from: 2 }, callMetadata('other-cluster', 2, 1), {}, (e) => resolve(e)));
  client.close();
  assert.equal(err?.code, status.FAILED_PRECONDITION);
  assert.match(err.details, /^cluster id mismatch: /);
  // A peer URL that points at the wrong member is refused too.
  const c = await node(3);
  c.transport.addPeer(2, a.url); // node 1 listens there, not 2
  c.transport.send([app(3, 2, 0)]);
  await waitFor(() => c.eventsOf('send-failure').length > 0, 'member mismatch refused');
  assert.match(c.eventsOf('send-failure')[0]!.reason, /member id mismatch/);
});

test('probe answers for a live peer and fails for a dead one', async () => {
  const [a, b] = [await node(1), await node(2)];
  assert.equal(await a.transport.probe(b.url, 2), true);
  const port = b.port;
  await b.transport.close();
  assert.equal(await a.transport.probe(`127.0.0.1:${port}`, 2), false);
});

test('messages to unknown peers are dropped and counted; removePeer and updatePeer work', async () => {
  const [a, b, c] = [await node(1), await node(2), await node(3)];
  a.transport.send([app(1, 9, 0)]);
  assert.deepEqual(a.eventsOf('messages-dropped').map((e) => [e.peer, e.reason]), [[9, 'unknown-peer']]);
  a.transport.addPeer(2, b.url);
  a.transport.send([app(1, 2, 0)]);
  await waitFor(() => b.received.length === 1, 'first message to 2');
  // Point "2" at node 3's address: node 3 refuses (member mismatch), proving the move.
  a.transport.updatePeer(2, c.url);
  a.transport.send([app(1, 2, 1)]);
  await waitFor(() => a.eventsOf('send-failure').some((e) => /member id mismatch/.test(e.reason)), 'refused by 3');
  a.transport.updatePeer(2, b.url);
  await waitFor(() => {
    a.transport.send([app(1, 2, 2)]);
    return b.received.length >= 2;
  }, 'back on node 2');
  a.transport.removePeer(2);
  assert.equal(a.transport.hasPeer(2), false);
  a.transport.send([app(1, 2, 3)]);
  assert.equal(a.eventsOf('messages-dropped').at(-1)!.reason, 'unknown-peer');
});

test('keepalive notices a frozen peer (TCP still up) and reports it unreachable', async () => {
  const script = fileURLToPath(new URL('./testing/peer-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = /port (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', () => reject(new Error('peer process exited early')));
    });
    const a = await node(1, { limits: { keepaliveTimeMs: 200, keepaliveTimeoutMs: 300 } });
    a.transport.addPeer(2, `127.0.0.1:${port}`);
    a.transport.send([app(1, 2, 0)]);
    await waitFor(() => a.eventsOf('peer-connected').length === 1, 'connected to the peer process');
    child.kill('SIGSTOP');
    const frozenAt = performance.now();
    let i = 1;
    await waitFor(() => {
      a.transport.send([app(1, 2, i++)]);
      return a.unreachable.includes(2);
    }, 'frozen peer reported unreachable', 5000);
    const noticedMs = performance.now() - frozenAt;
    assert.ok(noticedMs < 3000, `noticed after ${noticedMs} ms`);
    // By the keepalive breaking the stream, not by the queue filling up.
    assert.ok(a.eventsOf('send-failure').length >= 1, 'the stream broke');
    assert.equal(a.eventsOf('messages-dropped').length, 0);
    console.log(`# frozen peer noticed after ${Math.round(noticedMs)} ms: ${a.eventsOf('send-failure')[0]!.reason}`);
  } finally {
    child.kill('SIGKILL');
  }
});

test('close() leaves no open handles: a process using the transport exits by itself', () => {
  const fixture = fileURLToPath(new URL('./testing/close-fixture.ts', import.meta.url));
  const res = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.signal, null, `fixture did not exit by itself (killed by ${res.signal}); stderr: ${res.stderr}`);
  assert.equal(res.status, 0, `fixture failed: ${res.stderr}`);
  assert.match(res.stdout, /fixture ok/);
});

test('Members answers the member list to a caller that does not know the receiver id, in the same cluster only', async () => {
  const members = [{ id: 1, name: 'n1', peerUrls: ['http://127.0.0.1:1'], isLearner: false },
    { id: 77, name: '', peerUrls: ['http://127.0.0.1:2'], isLearner: true }];
  const a = await node(1, { handlers: { listMembers: () => members } });
  const joiner = await node(77);
  assert.deepEqual(await joiner.transport.fetchMembers(a.url), { id: 1, members });
  const stranger = await node(78, { clusterId: 'other-cluster' });
  const refused = await stranger.transport.fetchMembers(a.url);
  assert.ok('error' in refused && refused.error.startsWith('cluster id mismatch: '), JSON.stringify(refused));
  const port = a.port;
  await a.transport.close();
  assert.ok('error' in await joiner.transport.fetchMembers(`127.0.0.1:${port}`));
});
