import assert from 'node:assert/strict';
import { connect as h2connect, createServer as h2server, type ClientHttp2Session } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { SeededRandom } from '../../server/util/random.js';
import { ProxyMesh } from './mesh.js';
import { bridgeLinks, bridgeSplit, isolateLinks, partitionLinks } from './topology.js';
import { Client, tagServer, type TagServer } from './testing.js';

const SILENCE_MS = 150;
const SOON_MS = 2_000;
const NODES = [1, 2, 3];

/** One request on an HTTP/2 session: the answering node, or 'timeout' / 'error'. */
function request(session: ClientHttp2Session, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const req = session.request({ ':path': '/' });
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    req.on('response', (h) => {
      clearTimeout(timer);
      resolve(String(h['x-node']));
    });
    req.on('error', () => resolve('error'));
    req.end();
  });
}

describe('topology', () => {
  it('partition cuts every link between groups, both ways', () => {
    assert.deepEqual(partitionLinks(NODES, [[1], [2, 3]]).map(String), ['1,2', '1,3', '2,1', '3,1']);
    assert.deepEqual(isolateLinks(NODES, 2).map(String), ['1,2', '2,1', '2,3', '3,2']);
    assert.throws(() => partitionLinks(NODES, [[1], [2]]), /nodes 3 are in no group/);
    assert.throws(() => partitionLinks(NODES, [[1, 2], [2, 3]]), /node 2 is listed twice/);
    assert.throws(() => partitionLinks(NODES, [[1, 2, 3, 9]]), /9 is not a node/);
  });

  it('bridge keeps the middle node connected to both halves', () => {
    const split = bridgeSplit([5, 4, 3, 2, 1]);
    assert.deepEqual(split, { left: [5, 4], middle: 3, right: [2, 1] });
    const cut = bridgeLinks([1, 2, 3, 4, 5], split.left, split.middle, split.right).map(String).sort();
    assert.deepEqual(cut, ['1,4', '1,5', '2,4', '2,5', '4,1', '4,2', '5,1', '5,2']);
  });
});

describe('ProxyMesh over real sockets', () => {
  let mesh: ProxyMesh;
  const servers = new Map<number, TagServer>();
  const clients: Client[] = [];

  before(async () => {
    mesh = await ProxyMesh.start({ nodes: NODES, random: new SeededRandom(7) });
    for (const n of NODES) {
      const server = await tagServer(`n${n}:`);
      servers.set(n, server);
      mesh.setTarget(n, { host: '127.0.0.1', port: server.port });
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    await mesh.close();
    for (const s of servers.values()) await s.close();
  });

  /** Which directed links carry a fresh connection's round trip now, as "a->b". */
  async function passing(): Promise<string[]> {
    const probes = NODES.flatMap((a) => NODES.filter((b) => b !== a).map((b) => [a, b] as const));
    const ok = await Promise.all(probes.map(async ([a, b]) => {
      const c = await Client.dial(mesh.peerAddress(a, b).port);
      clients.push(c);
      c.send('ping');
      return c.until(() => c.received === `n${b}:ping`, SILENCE_MS * 2);
    }));
    return probes.filter((_, i) => ok[i]).map(([a, b]) => `${a}->${b}`);
  }

  it('gives each directed pair its own proxy and URL', () => {
    const urls = new Set(NODES.flatMap((a) => NODES.filter((b) => b !== a).map((b) => mesh.peerUrl(a, b))));
    assert.equal(urls.size, 6);
    assert.match(mesh.peerUrl(1, 2), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.throws(() => mesh.link(1, 1), /no link 1->1/);
  });

  it('partition, isolate, one-way, bridge and heal shape what passes', async () => {
    assert.equal((await passing()).length, 6);
    mesh.partition([[1], [2, 3]]);
    assert.deepEqual(await passing(), ['2->3', '3->2']);
    assert.deepEqual(mesh.blackholed().sort(), ['1->2', '1->3', '2->1', '3->1']);
    mesh.isolate(3);
    assert.deepEqual(await passing(), ['1->2', '2->1']);
    mesh.heal();
    mesh.oneWay(1, 2);
    assert.deepEqual(await passing(), ['1->3', '2->1', '2->3', '3->1', '3->2']);
    mesh.bridge([1], 2, [3]);
    assert.deepEqual(await passing(), ['1->2', '2->1', '2->3', '3->2']);
    mesh.heal();
    assert.equal((await passing()).length, 6);
  });

  it('flaky refuses new connections on one link; slow delays one link', async () => {
    mesh.flaky([1, 2], 100);
    assert.deepEqual((await passing()).includes('1->2'), false);
    mesh.heal();
    mesh.slow([2, 3], 100, 20);
    const c = await Client.dial(mesh.peerAddress(2, 3).port);
    clients.push(c);
    const started = Date.now();
    c.send('s');
    assert.ok(await c.until(() => c.received === 'n3:s', SOON_MS));
    assert.ok(Date.now() - started >= 200, 'delayed there and back');
    mesh.heal();
  });

  it('an HTTP/2 session (as gRPC uses) stalls in a blackhole and is cut at heal; a new one works', async () => {
    const server = h2server();
    server.on('stream', (stream) => stream.respond({ ':status': 200, 'x-node': '3' }, { endStream: true }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    assert.ok(address !== null && typeof address !== 'string');
    mesh.setTarget(3, { host: '127.0.0.1', port: address.port });
    const sessions: ClientHttp2Session[] = [];
    try {
      const open = (): ClientHttp2Session => {
        const s = h2connect(mesh.peerUrl(1, 3));
        s.on('error', () => {});
        sessions.push(s);
        return s;
      };
      const session = open();
      assert.equal(await request(session, SOON_MS), '3');
      mesh.partition([[1], [2, 3]]);
      assert.equal(await request(session, SILENCE_MS), 'timeout');
      const closed = new Promise<void>((resolve) => session.on('close', () => resolve()));
      mesh.heal();
      await closed;
      assert.equal(await request(open(), SOON_MS), '3');
    } finally {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      mesh.setTarget(3, { host: '127.0.0.1', port: servers.get(3)!.port });
    }
  });
});
