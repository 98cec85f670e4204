// Starts the API server on 127.0.0.1 (an OS-chosen port) over an MvccTestBackend, for
// API-layer tests.

import { startApiServer, type ApiServerOptions, type RunningApiServer } from '../server.js';
import type { CrdtBackend } from '../crdt-backend.js';
import { MvccTestBackend } from './mvcc-backend.js';

export interface TestApi {
  backend: MvccTestBackend;
  server: RunningApiServer;
  endpoint: string;
  close(): Promise<void>;
}

/**
 * `host`: the loopback address to listen on (default 127.0.0.1; '::1' for IPv6); `crdt`:
 * a CrdtBackend to serve regionstore.v1.Crdt with (none: the service is not offered).
 */
export async function startTestApi(opts: ApiServerOptions & { host?: string; crdt?: CrdtBackend } = {}): Promise<TestApi> {
  const { host = '127.0.0.1', crdt, ...serverOpts } = opts;
  const backend = await MvccTestBackend.open();
  if (crdt !== undefined) backend.crdtOps = crdt;
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
