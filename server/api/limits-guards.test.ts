// The slow-receiver guard of a Watch stream and the keepalive ping policy, in isolation with
// an injected clock: the process tests (test/limits.test.ts) cross them over real sockets.

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Http2Session } from 'node:http2';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MAX_PING_STRIKES, PING_MIN_TIME_WITHOUT_CALLS_MS, enforcePingPolicy } from './connection-limits.js';
import { resolveLimits } from './limits.js';
import { ConnectionWatchers, WatchStreamGuard, watchResponseBytes } from './watch-guard.js';

test('watch guard: pending bytes past the limit trip once, naming the flag; flushed bytes count down', () => {
  const trips: string[] = [];
  const g = new WatchStreamGuard(resolveLimits({ watchPendingBytesMax: 1000, watchStallMs: 60_000 }), (r) => trips.push(r));
  g.written(600);
  g.flushed(600);
  g.written(600);
  assert.equal(g.pendingBytes, 600);
  assert.deepEqual(trips, []);
  g.written(500);
  assert.equal(trips.length, 1);
  assert.match(trips[0]!, /has not read 1100 bytes of watch responses, over the limit of 1000 \(--max-watch-pending-bytes\)/);
  g.written(5000);
  assert.equal(trips.length, 1, 'trips once');
  g.close();
});

test('watch guard: a stall trips after the timeout; progress restarts the clock', async () => {
  let now = 0;
  const trips: string[] = [];
  const g = new WatchStreamGuard(resolveLimits({ watchStallMs: 30 }), (r) => trips.push(r), () => now);
  g.written(10);
  g.written(10);
  now = 20;
  g.flushed(10); // progress at 20: the stall clock restarts
  now = 40;
  await sleep(45); // the timer fires at ~30 ms of real time; 20 ms of injected time passed since progress
  assert.deepEqual(trips, [], 'progress 20 ms ago is not a stall');
  now = 60;
  await sleep(45);
  assert.equal(trips.length, 1);
  assert.match(trips[0]!, /took none of 10 bytes of watch responses for 30 ms \(--watch-stall-timeout\)/);
  g.close();
});

test('watch guard: nothing pending is no stall', async () => {
  const trips: string[] = [];
  const g = new WatchStreamGuard(resolveLimits({ watchStallMs: 10 }), (r) => trips.push(r));
  g.written(10);
  g.flushed(10);
  await sleep(40);
  assert.deepEqual(trips, []);
  g.close();
});

const kvOf = (k: number, v: number): { key: Buffer; value: Buffer } => ({ key: Buffer.alloc(k), value: Buffer.alloc(v) });

test('watch response size counts keys and values of events and previous values', () => {
  const base = watchResponseBytes({});
  assert.ok(watchResponseBytes({ events: [{ kv: kvOf(3, 100), prevKv: kvOf(3, 50) }] }) - base > 156);
});

test('watchers per connection: counted per peer, refused at the limit with the flag', () => {
  const w = new ConnectionWatchers(resolveLimits({ watchersPerConnectionMax: 2 }));
  w.add('a');
  w.add('a');
  w.add('b');
  assert.match(w.refusal('a') ?? '', /limit 2, --max-watchers-per-connection/);
  assert.equal(w.refusal('b'), undefined);
  w.remove('a');
  assert.equal(w.refusal('a'), undefined);
  w.remove('a');
  w.remove('a');
  assert.equal(w.count('a'), 0);
});

class FakeSession extends EventEmitter {
  closed = false;
  destroyed = false;
  goaways: Array<[number, string]> = [];
  socket = { bytesWritten: 0 };
  goaway(code: number, _last: number, data: Buffer): void {
    this.goaways.push([code, data.toString()]);
  }
  destroy(): void {
    this.destroyed = true;
  }
}

test('ping policy: grpc-go\'s strikes, reset by data sent; no call open means 2 h', () => {
  let now = 0;
  const s = new FakeSession();
  let outs = 0;
  enforcePingPolicy(s as unknown as Http2Session, 1000, () => outs++, () => now);
  const stream = new EventEmitter();
  s.emit('stream', stream); // one call open: min time 1000 ms
  s.socket.bytesWritten += 100; // its answer
  const ping = (at: number, acked = true): void => {
    now = at;
    s.emit('ping');
    if (acked) s.socket.bytesWritten += 17; // the PING ACK the session writes
  };
  ping(0); // the first ping: nothing to compare
  ping(2000); // after the min time
  for (let i = 1; i <= MAX_PING_STRIKES; i++) ping(2000 + i * 10); // strikes 1..2: tolerated
  assert.deepEqual(s.goaways, []);
  s.socket.bytesWritten += 500; // the server sent data: strikes reset
  ping(2100);
  ping(2110);
  ping(2120);
  assert.deepEqual(s.goaways, [], 'reset by data, then two strikes');
  ping(2130);
  assert.deepEqual(s.goaways, [[11, 'too_many_pings']]);
  assert.equal(outs, 1);
  // With no call open, pings an hour apart are strikes too (etcd's PermitWithoutStream false).
  const idle = new FakeSession();
  enforcePingPolicy(idle as unknown as Http2Session, 1000, () => undefined, () => now);
  for (let i = 0; i <= MAX_PING_STRIKES + 1; i++) {
    now = i * (PING_MIN_TIME_WITHOUT_CALLS_MS / 2);
    idle.emit('ping');
    idle.socket.bytesWritten += 17;
  }
  assert.deepEqual(idle.goaways, [[11, 'too_many_pings']]);
});
