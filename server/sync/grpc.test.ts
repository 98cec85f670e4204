// The session over real grpc-js on a loopback port chosen by the OS, with node:zlib's codecs:
// the same protocol as in memory, through server/transport's raw-bytes EdgeSync and
// server/sync's channelFromDuplex; garbage bytes on the wire end the session, not the process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import { utf8, type CrdtKind } from '../crdt/index.js';
import { systemClock } from '../util/system-clock.js';
import { EDGE_SYNC_RAW_SERVICE, SYNC_CLIENT_OPTIONS, openEdgeSyncCall } from '../transport/sync-stream.js';
import { SYNC_PAGE_CODECS, brotliCodec, deflateCodec } from '../transport/sync-codecs.js';
import { realTimers } from './channel.js';
import { channelFromDuplex } from './stream-adapter.js';
import { SyncSession } from './session.js';
import type { SyncOutcome } from './types.js';
import { MemoryReplica } from './testing/memory.js';

const NAMESPACES = [{ name: 'ev', kind: 'events' as CrdtKind }, { name: 'kv', kind: 'lww' as CrdtKind }];

async function serve(onCall: (call: ServerDuplexStream<Buffer, Buffer>) => void): Promise<{ server: Server; address: string }> {
  const server = new Server(SYNC_CLIENT_OPTIONS);
  server.addService(EDGE_SYNC_RAW_SERVICE, { Sync: onCall });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { server, address: `127.0.0.1:${port}` };
}

test('grpc: catch-up and live both ways with brotli pages; resume sends only the new events', async () => {
  const region = new MemoryReplica({ replicaId: 'region:t', namespaces: NAMESPACES, time: systemClock });
  const edge = new MemoryReplica({ replicaId: 'edge:d:1', namespaces: NAMESPACES, time: systemClock, deviceId: 'd', incarnation: 1 });
  for (let i = 1; i <= 5000; i++) {
    edge.write('ev', { kind: 'events', deviceId: `s${i % 7}`, deviceSeq: Math.ceil(i / 7), ts: Date.now(), type: 'temp', payload: utf8(`{"t":${20 + (i % 13)}}`) });
  }
  for (let i = 0; i < 300; i++) region.write('kv', { kind: 'lww', key: utf8(`cfg/${i}`), value: utf8(`v${i}`) });
  const ends: Array<Promise<SyncOutcome>> = [];
  const { server, address } = await serve((call) => {
    const s = new SyncSession({ role: 'acceptor', replica: region, channel: channelFromDuplex(call), clock: systemClock, timers: realTimers, codecs: SYNC_PAGE_CODECS, sessionId: 'g' });
    ends.push(s.run());
  });
  try {
    const run = async (): Promise<{ s: SyncSession; close(): void }> => {
      const dial = openEdgeSyncCall(address);
      const s = new SyncSession({ role: 'initiator', replica: edge, channel: channelFromDuplex(dial.call), clock: systemClock, timers: realTimers, codecs: SYNC_PAGE_CODECS, sessionId: 'g' });
      void s.run();
      assert.equal(await s.whenCaughtUp(), true);
      return { s, close: () => { s.close(); dial.close(); } };
    };
    const first = await run();
    assert.equal(region.rep('ev').vector.get('edge:d:1'), 5000);
    assert.equal(edge.rep('kv').vector.get('region:t'), 300);
    const perEvent = first.s.stats.bytesSent / 5000;
    console.log(`# 5000 events up in ${first.s.stats.bytesSent} B (${perEvent.toFixed(1)} B/event on the stream, pages ${first.s.stats.pageBytesSent} B before compression)`);
    assert.ok(perEvent < 20, 'compressed pages');
    // Live: an edge write reaches the region while connected.
    edge.write('kv', { kind: 'lww', key: utf8('live'), value: utf8('1') });
    for (let i = 0; i < 100 && region.rep('kv').vector.get('edge:d:1') < 1; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(region.rep('kv').vector.get('edge:d:1'), 1);
    first.close();
    for (let i = 1; i <= 500; i++) edge.write('ev', { kind: 'events', deviceId: 'late', deviceSeq: i, ts: Date.now(), type: 'temp', payload: utf8(`{"t":${i % 30}}`) });
    const second = await run();
    assert.equal(second.s.stats.opsSent, 500, 'resume: only the new events');
    console.log(`# resume: 500 events in ${second.s.stats.bytesSent} B up (${(second.s.stats.bytesSent / 500).toFixed(1)} B/event including HELLO)`);
    second.close();
    const outcomes = await Promise.all(ends);
    for (const o of outcomes) assert.ok(['peer-closed', 'stream-error'].includes(o.reason), o.reason);
  } finally {
    server.forceShutdown();
  }
});

test('grpc: garbage bytes from a client end the session with malformed; the server goes on', async () => {
  const region = new MemoryReplica({ replicaId: 'region:t', namespaces: NAMESPACES, time: systemClock });
  const ends: Array<Promise<SyncOutcome>> = [];
  const { server, address } = await serve((call) => {
    ends.push(new SyncSession({ role: 'acceptor', replica: region, channel: channelFromDuplex(call), clock: systemClock, timers: realTimers, codecs: SYNC_PAGE_CODECS, sessionId: 'g' }).run());
  });
  try {
    const dial = openEdgeSyncCall(address);
    const got: Buffer[] = [];
    dial.call.on('data', (b: Buffer) => got.push(b));
    dial.call.write(Uint8Array.of(0xff, 0xff, 0xff, 0x01, 0x02));
    for (let i = 0; i < 500 && ends.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const o = await ends[0]!;
    assert.equal(o.code, 'malformed');
    await new Promise((r) => setTimeout(r, 50));
    const { decodeSyncMessage } = await import('../../proto/sync-codec.js');
    const err = got.map((b) => decodeSyncMessage(b)).find((m) => m.kind === 'error');
    assert.ok(err !== undefined && err.kind === 'error' && err.fatal && err.code === 'malformed', 'the client is told why');
    dial.close();
  } finally {
    server.forceShutdown();
  }
});

test('codecs: round trip, and a decompression bomb is refused at the limit', async () => {
  const page = utf8('x'.repeat(100_000));
  for (const c of [brotliCodec, deflateCodec]) {
    const z = await c.compress(page);
    assert.ok(z.length < 1000);
    assert.deepEqual(await c.decompress(z, 200_000), page);
    await assert.rejects(c.decompress(z, 50_000), /over the limit/);
    await assert.rejects(c.decompress(Uint8Array.of(1, 2, 3, 4, 5), 1000));
  }
});
