import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { test } from 'node:test';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { PEER_FLOW_CONTROL_WINDOW_BYTES, widenConnectionWindow, widenStreamWindow } from './flow-window.js';

test('the peer server advertises the widened stream window and opens each connection window to it', async () => {
  const server = new Server({});
  // If grpc-js changed the internals these reach, this is where we learn it.
  assert.equal(widenStreamWindow(server, PEER_FLOW_CONTROL_WINDOW_BYTES), true);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err !== null ? reject(err) : resolve(p)));
  });
  assert.equal(widenConnectionWindow(server, PEER_FLOW_CONTROL_WINDOW_BYTES), true);
  const client = http2.connect(`http://127.0.0.1:${port}`);
  client.on('error', () => {});
  try {
    const settings = await new Promise<http2.Settings>((resolve) => client.once('remoteSettings', resolve));
    assert.equal(settings.initialWindowSize, PEER_FLOW_CONTROL_WINDOW_BYTES);
    // The connection window arrives as a WINDOW_UPDATE right after the settings.
    for (let i = 0; i < 100 && client.state.remoteWindowSize !== PEER_FLOW_CONTROL_WINDOW_BYTES; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(client.state.remoteWindowSize, PEER_FLOW_CONTROL_WINDOW_BYTES);
  } finally {
    client.destroy();
    server.forceShutdown();
  }
});
