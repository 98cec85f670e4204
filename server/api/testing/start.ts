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

export async function startTestApi(opts: ApiServerOptions = {}): Promise<TestApi> {
  const backend = await MvccTestBackend.open();
  const server = await startApiServer(backend, { host: '127.0.0.1', port: 0 }, opts);
  const endpoint = `127.0.0.1:${server.port}`;
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
