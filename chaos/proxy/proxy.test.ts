import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SeededRandom } from '../../server/util/random.js';
import { PASS } from './policy.js';
import { FaultProxy } from './proxy.js';
import { Client, sleep, tagServer, type TagServer } from './testing.js';

/** How long "nothing arrives" is watched for. */
const SILENCE_MS = 150;
/** How long something that should happen may take. */
const SOON_MS = 2_000;

describe('FaultProxy', () => {
  let target: TagServer;
  let proxy: FaultProxy;
  const clients: Client[] = [];
  const dial = async (): Promise<Client> => {
    const c = await Client.dial(proxy.port);
    clients.push(c);
    return c;
  };

  before(async () => {
    target = await tagServer('>');
  });
  after(async () => {
    for (const c of clients) c.close();
    await target.close();
  });

  const fresh = async (): Promise<void> => {
    await proxy?.close();
    proxy = await FaultProxy.start({ random: new SeededRandom(1), target: { host: '127.0.0.1', port: target.port } });
  };

  it('passes bytes both ways', async () => {
    await fresh();
    const c = await dial();
    c.send('hello');
    assert.ok(await c.until(() => c.received === '>hello', SOON_MS), c.received);
    assert.equal(proxy.stats().open, 1);
  });

  it('counts the bytes of each direction (what bench:edge and the resume test measure)', async () => {
    await fresh();
    const c = await dial();
    c.send('abcd');
    assert.ok(await c.until(() => c.received === '>abcd', SOON_MS), c.received);
    const s = proxy.stats();
    assert.deepEqual([s.bytesUp, s.bytesDown, s.bytesForwarded], [4, 5, 9]);
  });

  it('blackhole: an open connection goes silent, stays open, and is cut when the link heals', async () => {
    await fresh();
    const c = await dial();
    c.send('a');
    assert.ok(await c.until(() => c.received === '>a', SOON_MS));
    proxy.setPolicy({ ...PASS, blackhole: true });
    c.send('b');
    assert.equal(await c.until(() => c.received !== '>a' || c.closed, SILENCE_MS), false, 'silent and open');
    proxy.setPolicy({ ...PASS });
    assert.ok(await c.until(() => c.closed, SOON_MS), 'cut at heal: its stream lost bytes');
    assert.equal(c.received, '>a');
    assert.ok(proxy.stats().bytesDropped >= 1);
  });

  it('blackhole: a new connection is accepted but reaches nobody; after heal a new one works', async () => {
    await fresh();
    proxy.setPolicy({ ...PASS, blackhole: true });
    const earlier = target.connections();
    const c = await dial();
    assert.equal(c.closed, false, 'accepted');
    c.send('x');
    assert.equal(await c.until(() => c.received !== '' || c.closed, SILENCE_MS), false);
    assert.equal(target.connections(), earlier, 'no upstream connection');
    proxy.setPolicy({ ...PASS });
    assert.ok(await c.until(() => c.closed, SOON_MS));
    const d = await dial();
    d.send('y');
    assert.ok(await d.until(() => d.received === '>y', SOON_MS));
  });

  it('a connection that lost nothing survives a blackhole', async () => {
    await fresh();
    const c = await dial();
    proxy.setPolicy({ ...PASS, blackhole: true });
    await sleep(20);
    proxy.setPolicy({ ...PASS });
    c.send('z');
    assert.ok(await c.until(() => c.received === '>z', SOON_MS));
  });

  it('delay with jitter: every chunk late, and in order', async () => {
    await fresh();
    const c = await dial();
    proxy.setPolicy({ ...PASS, delayMs: 40, jitterMs: 40 });
    const started = Date.now();
    let expected = '';
    for (let i = 0; i < 30; i++) {
      c.send(`${i},`);
      expected += `${i},`;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Each chunk crosses the link twice (there and back), each time at least 40 ms late.
    assert.ok(await c.until(() => c.received.replaceAll('>', '') === expected, SOON_MS), c.received);
    assert.ok(Date.now() - started >= 80, `took ${Date.now() - started} ms`);
  });

  it('refuses a percentage of new connections, from the seed', async () => {
    await fresh();
    proxy.setPolicy({ ...PASS, refusePct: 100 });
    const c = await dial();
    assert.ok(await c.until(() => c.closed, SOON_MS), 'reset at once');
    proxy.setPolicy({ ...PASS, refusePct: 50 });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 20; i++) {
      const d = await dial();
      d.send('p');
      await d.until(() => d.received === '>p' || d.closed, SOON_MS);
      outcomes.push(d.received === '>p');
    }
    const passed = outcomes.filter(Boolean).length;
    assert.ok(passed > 2 && passed < 18, `${passed} of 20 passed`);
    assert.equal(proxy.stats().refused, 1 + 20 - passed);
  });

  it('cut resets every open connection; new ones work', async () => {
    await fresh();
    const a = await dial();
    const b = await dial();
    a.send('1');
    b.send('2');
    assert.ok(await a.until(() => a.received === '>1', SOON_MS));
    assert.ok(await b.until(() => b.received === '>2', SOON_MS));
    assert.equal(proxy.cut(), 2);
    assert.ok(await a.until(() => a.closed, SOON_MS));
    assert.ok(await b.until(() => b.closed, SOON_MS));
    const d = await dial();
    d.send('3');
    assert.ok(await d.until(() => d.received === '>3', SOON_MS));
  });

  it('a target that is down resets the connection; no target keeps it silent', async () => {
    await fresh();
    const down = await tagServer('');
    await down.close();
    proxy.setTarget({ host: '127.0.0.1', port: down.port });
    const c = await dial();
    assert.ok(await c.until(() => c.closed, SOON_MS));
    proxy.setTarget(undefined);
    const d = await dial();
    d.send('q');
    assert.equal(await d.until(() => d.received !== '' || d.closed, SILENCE_MS), false);
    await proxy.close();
  });

  it('refuses a policy that makes no sense', async () => {
    await fresh();
    assert.throws(() => proxy.setPolicy({ ...PASS, refusePct: 120 }), /refusePct must be in \[0, 100\]/);
    assert.throws(() => proxy.setPolicy({ ...PASS, delayMs: -1 }), /delayMs must be >= 0/);
    await proxy.close();
  });
});
