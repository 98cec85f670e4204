// What the region provides for the regionstore.v1.Namespaces service (implemented
// structurally by server/region's RegionNamespaces). Failures are NamespaceErrors (code
// invalid, failed-precondition, not-found, already-exists) or the region's own errors.

import type { NamespaceDefinition, NamespaceSpec } from '../namespace/index.js';

/** What the region provides for the service (server/region's RegionNamespaces). */
export interface NamespaceBackend {
  create(spec: NamespaceSpec): Promise<NamespaceDefinition>;
  get(name: string, serializable: boolean): Promise<NamespaceDefinition>;
  list(serializable: boolean): Promise<NamespaceDefinition[]>;
  update(name: string, fields: string[], values: Partial<NamespaceDefinition>): Promise<NamespaceDefinition>;
  delete(name: string, force: boolean): Promise<{ definition: NamespaceDefinition; deletedKeys: number }>;
}

