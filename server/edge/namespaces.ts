// regionstore.v1.Namespaces on an edge (server/api's NamespaceBackend, structurally): the
// registry as last synced from the region, read-only. Changes are the region's to make:
// refused with FAILED_PRECONDITION saying where to send them.

import { NamespaceError, type NamespaceDefinition } from '../namespace/index.js';
import type { EdgeStore } from './store.js';

export class EdgeNamespaces {
  constructor(private readonly store: EdgeStore, private readonly name: string) {}

  private readOnly(what: string): NamespaceError {
    return new NamespaceError('failed-precondition', `${what}: edge ${this.name} holds a read-only copy of the namespace registry; change namespaces on the region (rsctl --endpoints <region> ns ...)`);
  }

  async create(): Promise<NamespaceDefinition> {
    throw this.readOnly('Create');
  }

  async update(): Promise<NamespaceDefinition> {
    throw this.readOnly('Update');
  }

  async delete(): Promise<{ definition: NamespaceDefinition; deletedKeys: number }> {
    throw this.readOnly('Delete');
  }

  async get(name: string): Promise<NamespaceDefinition> {
    const def = this.store.registry.get(name);
    if (def === undefined) throw new NamespaceError('not-found', `namespace ${JSON.stringify(name)} is not in edge ${this.name}'s copy of the registry (rsctl ns list)`);
    return def;
  }

  async list(): Promise<NamespaceDefinition[]> {
    return this.store.registry.list();
  }
}
