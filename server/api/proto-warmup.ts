// Loads every .proto definition the client port serves, once, when a member starts and
// before its Raft runs (issue 20, "no request stalls Raft"). proto-loader and protobufjs
// parse .proto files synchronously: ~100 ms of CPU in all on this machine (etcd's services
// 37, Lock/Election 20, Auth 15, the gateway's schema 20, ours 18). Loaded where they were
// first needed, they held a running member's event loop that long: the API server is
// created after the region node has started Raft, and the JSON gateway read its schema at
// its first request. Each loader keeps what it loaded, so the later calls cost nothing.

import { loadAuthService } from './auth.js';
import { loadCrdtService } from './crdt-wire.js';
import { loadEdgeAdminService } from './edge-sync.js';
import { etcdSchema } from './gateway/schema.js';
import { loadNamespacesService } from './namespaces.js';
import { loadConcurrencyServices, loadEtcdServices } from './proto.js';

export function loadApiDefinitions(): void {
  loadEtcdServices();
  loadConcurrencyServices();
  loadAuthService();
  loadNamespacesService();
  loadCrdtService();
  loadEdgeAdminService();
  etcdSchema();
}
