import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { MessageType, type Message } from '../raft/types.js';
import { rechunk } from './snapshot.js';
import { app, patternBytes, sleep, snapMessage, TestNode, waitFor } from './testing/harness.js';

const open: TestNode[] = [];
async function node(id: number, opts?: ConstructorParameters<typeof TestNode>[1]): Promise<TestNode> {
  const n = await new TestNode(id, opts).start();
  open.push(n);
  return n;
}
after(async () => {
  for (const n of open) await n.transport.close();
});

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of source) out.push(c);
  return out;
}

async function* from(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

async function* patternChunks(count: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield patternBytes(i * size, size);
}

/** Fails after the receiver has started reading (`started`), so the cancellation reaches it
 *  however slow the machine is; a fixed sleep raced the call's arrival under load. */
async function* brokenSource(started: Promise<void> = sleep(20)): AsyncGenerator<Uint8Array> {
  yield patternBytes(0, 1000);
  await started;
  throw new Error('iterator of the state database failed');
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

test('rechunk packs small chunks, slices big ones, and keeps every byte in order', async () => {
  const cases: number[][] = [[], [0], [3, 3, 3, 3], [10], [25], [7, 20, 1, 0, 9, 30, 2], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]];
  let offset = 0;
  for (const sizes of cases) {
    const input = sizes.map((n) => {
      const c = patternBytes(offset, n);
      offset += n;
      return c;
    });
    const pieces = await collect(rechunk(from(input), 10));
    assert.deepEqual(concat(pieces), concat(input), `sizes ${sizes}`);
    for (const [i, p] of pieces.entries()) {
      assert.ok(p.length > 0 && p.length <= 10, `piece of ${p.length}`);
      if (i < pieces.length - 1) assert.equal(p.length, 10, `only the last piece may be short (sizes ${sizes})`);
    }
  }
});

test('a multi-chunk snapshot streams with backpressure, then the Snap message reaches raft', async () => {
  const totalBytes = 24 * 1024 * 1024;
  const sourceChunkBytes = 100_000; // not a multiple of the frame size: exercises rechunk
  let produced = 0;
  let consumed = 0;
  let maxAhead = 0;
  const order: string[] = [];
  async function* source(): AsyncGenerator<Uint8Array> {
    while (produced < totalBytes) {
      const n = Math.min(sourceChunkBytes, totalBytes - produced);
      yield patternBytes(produced, n);
      produced += n;
      maxAhead = Math.max(maxAhead, produced - consumed);
    }
  }
  let receivedOk = true;
  const b = await node(2, {
    handlers: {
      onSnapshot: async (m: Message, chunks) => {
        assert.equal(m.type, MessageType.Snap);
        assert.equal(m.snapshot?.metadata.index, 42);
        let i = 0;
        for await (const c of chunks) {
          const want = patternBytes(consumed, c.length);
          if (Buffer.compare(Buffer.from(c.buffer, c.byteOffset, c.length), Buffer.from(want)) !== 0) receivedOk = false;
          consumed += c.length;
          if (i++ % 8 === 0) await sleep(1); // a slow installer
        }
        order.push('installed');
      },
    },
  });
  const a = await node(1, { limits: { snapshotChunkBytesMax: 64 * 1024 } });
  a.transport.addPeer(2, b.url);
  const origOnMessages = b.received;
  const status = await a.transport.sendSnapshot(2, snapMessage(1, 2, 42), source());
  assert.equal(status, 'finish');
  assert.equal(consumed, totalBytes);
  assert.ok(receivedOk, 'bytes arrived intact and in order');
  order.push(`delivered:${origOnMessages.filter((m) => m.type === MessageType.Snap).length}`);
  assert.deepEqual(order, ['installed', 'delivered:1']);
  assert.deepEqual(a.snapshotStatus, [[2, 'finish']]);
  // Backpressure: the sender never ran far ahead of the slow receiver.
  console.log(`# snapshot backpressure: the sender ran at most ${maxAhead} bytes ahead`);
  assert.ok(maxAhead < 4 * 1024 * 1024, `sender ran ${maxAhead} bytes ahead of the receiver`);
  assert.deepEqual(a.eventsOf('snapshot-sent').map((e) => [e.bytes, e.status]), [[totalBytes, 'finish']]);
  assert.deepEqual(b.eventsOf('snapshot-received').map((e) => [e.bytes, e.ok]), [[totalBytes, true]]);
});

test('heartbeats are not held up behind a snapshot; one snapshot in flight per peer, a second request shares its outcome', async () => {
  let release: (() => void) | undefined;
  const gate = new Promise<void>((r) => (release = r));
  const b = await node(2, {
    handlers: {
      onSnapshot: async (_m, chunks) => {
        for await (const _ of chunks) await gate;
      },
    },
  });
  const a = await node(1, { limits: { snapshotChunkBytesMax: 64 * 1024 } });
  a.transport.addPeer(2, b.url);
  const first = a.transport.sendSnapshot(2, snapMessage(1, 2, 7), patternChunks(128, 64 * 1024));
  await sleep(50);
  let secondOpened = false;
  async function* second(): AsyncGenerator<Uint8Array> {
    secondOpened = true;
    yield* patternChunks(128, 64 * 1024);
  }
  const again = a.transport.sendSnapshot(2, snapMessage(1, 2, 8), second());
  for (let i = 0; i < 20; i++) a.transport.send([app(1, 2, i)]);
  await waitFor(() => b.received.length === 20, 'messages while the snapshot is stalled', 3000);
  assert.deepEqual(a.snapshotStatus, [], 'nothing reported while the first one is in flight');
  release?.();
  assert.equal(await first, 'finish');
  assert.equal(await again, 'finish', 'the second request got the outcome of the first');
  assert.equal(secondOpened, false, 'no second stream: its data was never read');
  assert.deepEqual(a.snapshotStatus, [[2, 'finish'], [2, 'finish']]);
  assert.equal(a.eventsOf('snapshot-sent').length, 1, 'one snapshot streamed');
});

test('a snapshot the receiver never answers fails at its size-scaled deadline, not before', async () => {
  const b = await node(2, {
    handlers: {
      onSnapshot: async (_m, chunks) => {
        for await (const _ of chunks) { /* read it all, then never finish installing */ }
        await new Promise(() => {});
      },
    },
  });
  const base = 300;
  const a = await node(1, { limits: { snapshotDeadlineBaseMs: base, snapshotDeadlineMsPerMiB: 100 } });
  a.transport.addPeer(2, b.url);
  const started = Date.now();
  assert.equal(await a.transport.sendSnapshot(2, snapMessage(1, 2, 9), patternChunks(4, 1024 * 1024)), 'failure');
  const took = Date.now() - started;
  // 4 MiB sent: the deadline is base + 4 x 100 ms.
  assert.ok(took >= base + 400, `failed after ${took} ms, before its deadline`);
  const [sent] = a.eventsOf('snapshot-sent');
  assert.match(sent!.reason, /snapshot not reported within \d+ ms \(4\.0 MiB sent; deadline 300 ms \+ 100 ms per MiB\)/);
  assert.deepEqual(a.snapshotStatus, [[2, 'failure']]);
});

test('a snapshot the receiver cannot install is reported as failure, and raft never sees it', async () => {
  const b = await node(2, {
    handlers: {
      onSnapshot: async (_m, chunks) => {
        let n = 0;
        for await (const c of chunks) {
          n += c.length;
          if (n > 300_000) throw new Error('disk full');
        }
      },
    },
  });
  const a = await node(1);
  a.transport.addPeer(2, b.url);
  assert.equal(await a.transport.sendSnapshot(2, snapMessage(1, 2, 5), patternChunks(40, 64 * 1024)), 'failure');
  assert.deepEqual(a.snapshotStatus, [[2, 'failure']]);
  assert.equal(b.received.length, 0);
  assert.deepEqual(b.eventsOf('snapshot-received').map((e) => e.ok), [false]);
  assert.match(a.eventsOf('snapshot-sent')[0]!.reason, /not installed: disk full/);
});

test('a sender whose data source fails cancels the call; the receiver sees its chunks throw', async () => {
  let receiverError = '';
  let markStarted: (() => void) | undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const b = await node(2, {
    handlers: {
      onSnapshot: async (_m, chunks) => {
        markStarted?.();
        try {
          for await (const _ of chunks) { /* drain */ }
        } catch (err) {
          receiverError = (err as Error).message;
          throw err;
        }
      },
    },
  });
  const a = await node(1);
  a.transport.addPeer(2, b.url);
  assert.equal(await a.transport.sendSnapshot(2, snapMessage(1, 2, 5), brokenSource(started)), 'failure');
  await waitFor(() => receiverError !== '', 'receiver saw the cancellation');
  assert.match(receiverError, /cancel/);
  assert.equal(b.received.length, 0);
});

test('send() routes Snap messages to the snapshot path with openSnapshot; an unknown peer fails', async () => {
  let installed = 0;
  const b = await node(2, {
    handlers: {
      onSnapshot: async (_m, chunks) => {
        for await (const c of chunks) installed += c.length;
      },
    },
  });
  const a = await node(1, {
    handlers: {
      openSnapshot: (m) => from([patternBytes(0, 1000 + m.snapshot!.metadata.index)]),
    },
  });
  a.transport.addPeer(2, b.url);
  a.transport.send([app(1, 2, 0), snapMessage(1, 2, 9), app(1, 2, 1), snapMessage(1, 3, 9)]);
  await waitFor(() => a.snapshotStatus.length === 2, 'both snapshot outcomes');
  assert.deepEqual([...a.snapshotStatus].sort(), [[2, 'finish'], [3, 'failure']]);
  assert.equal(installed, 1009);
  await waitFor(() => b.received.length === 3, 'two apps and the snap');
  assert.deepEqual(b.received.filter((m) => m.type === MessageType.App).map((m) => m.index), [0, 1]);
});

test('an installer that stops reading early is a failure: raft only sees complete snapshots', async () => {
  const b = await node(2, {
    handlers: {
      onSnapshot: async (_m, chunks) => {
        for await (const _ of chunks) break;
      },
    },
  });
  const a = await node(1, { limits: { snapshotChunkBytesMax: 1024 } });
  a.transport.addPeer(2, b.url);
  assert.equal(await a.transport.sendSnapshot(2, snapMessage(1, 2, 5), from([patternBytes(0, 10_000)])), 'failure');
  assert.equal(b.received.length, 0);
});
