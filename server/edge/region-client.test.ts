// The edge's registry pull (region-client.ts) asks for a linearizable answer. The edge
// replaces its registry with what it gets, and a serializable answer may come from a member
// still catching up (chaos seed 12: a learner just re-added, before its snapshot, answered
// with 1 namespace; the edge dropped the others, stopped syncing them and refused writes to
// them). A stand-in Namespaces service answers a stale list to a serializable request and the
// current one otherwise, as such a member would once its linearizable barrier passed.

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { loadPackageDefinition, Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { RegionClient } from './region-client.js';

const ns = (name: string) => ({ name, prefix: Buffer.from(`${name}/`), level: 'eventual', crdtType: 'lww', readLevel: 'serializable' });

test('the registry pull is linearizable: a catching-up member\'s stale list is never taken', async () => {
  const root = fileURLToPath(new URL('../../proto', import.meta.url));
  const pkg = loadPackageDefinition(loadSync('regionstore/v1/namespaces.proto', { keepCase: false, longs: Number, enums: Number, bytes: Buffer, defaults: true, includeDirs: [root] })) as unknown as {
    regionstore: { v1: { Namespaces: { service: ServiceDefinition } } };
  };
  const asked: boolean[] = [];
  const server = new Server();
  server.addService(pkg.regionstore.v1.Namespaces.service, {
    List: (call: { request: { serializable: boolean } }, cb: (e: null, r: unknown) => void) => {
      asked.push(call.request.serializable);
      cb(null, { namespaces: call.request.serializable ? [ns('default')] : [ns('default'), ns('a'), ns('b')] });
    },
  } as UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const client = new RegionClient(`127.0.0.1:${port}`);
  try {
    const defs = await client.listNamespaces();
    assert.deepEqual(asked, [false], 'asked with serializable: false');
    assert.deepEqual(defs.map((d) => d.name), ['default', 'a', 'b']);
  } finally {
    client.close();
    server.forceShutdown();
  }
});
