// Starts the API server on 127.0.0.1 (an OS-chosen port) over an MvccTestBackend, for
// API-layer tests.

import { startApiServer, type ApiServerOptions, type RunningApiServer } from '../server.js';
import { MvccTestBackend } from './mvcc-backend.js';

export interface TestApi {
  backend: MvccTestBackend;
  server: RunningApiServer;
  endpoint: string;
  close(): Promise<void>;
}

/** `host`: the loopback address to listen on (default 127.0.0.1; '::1' for IPv6). */
export async function startTestApi(opts: ApiServerOptions & { host?: string } = {}): Promise<TestApi> {
  const { host = '127.0.0.1', ...serverOpts } = opts;
  const backend = await MvccTestBackend.open();
  const server = await startApiServer(backend, { host, port: 0 }, serverOpts);
  const endpoint = `${host.includes(':') ? `[${host}]` : host}:${server.port}`;
  backend.members[0]!.clientURLs = [`http://${endpoint}`];
  return {
    backend,
    server,
    endpoint,
    async close() {
      await server.close(200);
      await backend.close();
    },
  };
}
