// loadApiDefinitions (run by `serve` before Raft starts) leaves nothing to parse later: each
// loader hands back what it loaded then, the same objects, so creating the API server or
// answering the first JSON gateway call never parses a .proto on a running member's loop.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAuthService } from './auth.js';
import { loadCrdtService } from './crdt-wire.js';
import { loadEdgeAdminService } from './edge-sync.js';
import { etcdSchema } from './gateway/schema.js';
import { loadNamespacesService } from './namespaces.js';
import { loadConcurrencyServices, loadEtcdServices } from './proto.js';
import { loadApiDefinitions } from './proto-warmup.js';

test('after loadApiDefinitions every loader returns what was already loaded', () => {
  const loaders = [loadEtcdServices, loadConcurrencyServices, loadAuthService, loadNamespacesService, loadCrdtService, loadEdgeAdminService, etcdSchema];
  loadApiDefinitions();
  const first = loaders.map((l) => l());
  loadApiDefinitions();
  loaders.forEach((l, i) => assert.equal(l(), first[i], `${l.name} loaded once`));
  assert.ok(loadEtcdServices().KV !== undefined && etcdSchema().lookupService('etcdserverpb.KV') !== null);
});
