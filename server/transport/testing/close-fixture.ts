// Run by grpc-transport.test.ts as its own process: uses the transport in every state that
// holds a handle (open streams, a reconnect timer, a connection that never answers, a
// snapshot in flight), closes it, and must then exit without process.exit().
import { createServer, type Socket } from 'node:net';
import { app, patternBytes, sleep, snapMessage, TestNode, waitFor } from './harness.js';

const sockets: Socket[] = [];
const hole = createServer((s) => sockets.push(s));
await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
const holePort = (hole.address() as { port: number }).port;

let release: () => void = () => {};
const stalled = new Promise<void>((r) => (release = r));
const a = await new TestNode(1).start();
const b = await new TestNode(2, {
  handlers: {
    // Takes one chunk, then stalls until closed: the snapshot call stays open.
    onSnapshot: async (_m, chunks) => {
      for await (const _ of chunks) await stalled;
    },
  },
}).start();
a.transport.addPeer(2, b.url);
b.transport.addPeer(1, a.url);
a.transport.addPeer(3, 'http://127.0.0.1:1'); // refused: reconnect timers
a.transport.addPeer(4, `127.0.0.1:${holePort}`); // never answers
a.transport.send([app(1, 2, 0), app(1, 3, 0), app(1, 4, 0)]);
b.transport.send([app(2, 1, 0)]);
await waitFor(() => b.received.length === 1 && a.received.length === 1, 'messages both ways');
async function* big(): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < 64; i++) yield patternBytes(i, 256 * 1024);
}
const snap = a.transport.sendSnapshot(2, snapMessage(1, 2, 10), big());
await waitFor(() => a.unreachable.includes(3), 'peer 3 unreachable');
await sleep(50);
await a.transport.close();
await b.transport.close();
release();
const status = await snap;
for (const s of sockets) s.destroy();
hole.close();
if (status !== 'failure') throw new Error(`snapshot cut by close() reported ${status}`);
console.log('fixture ok');
