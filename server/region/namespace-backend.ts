// The registry operations of the client API (server/api's NamespaceBackend, structurally):
// changes go through the Raft log as Namespace entries and are decided at apply time
// (namespace-applier.ts); reads answer from this member's registry, after a ReadIndex round
// unless the caller asks for a serializable read.

import {
  NamespaceError, completeDefinition, validateName, validateUpdateFields,
  type NamespaceDefinition, type NamespaceSpec,
} from '../namespace/index.js';
import type { NamespaceApplyResult } from './namespace-applier.js';
import type { RegionNode } from './region-node.js';

function unwrap(res: NamespaceApplyResult): { definition: NamespaceDefinition; deletedKeys: number } {
  if (res.type === 'namespace-error') throw new NamespaceError(res.code, res.message);
  return { definition: res.definition, deletedKeys: res.deletedKeys };
}

export class RegionNamespaces {
  constructor(private readonly node: RegionNode) {}

  async create(spec: NamespaceSpec): Promise<NamespaceDefinition> {
    // Checked here for a quick answer; the registry rules are checked again at apply time.
    const definition = completeDefinition(spec);
    return unwrap(await this.node.proposeNamespace({ op: 'create', definition })).definition;
  }

  async get(name: string, serializable: boolean): Promise<NamespaceDefinition> {
    validateName(name);
    if (!serializable) await this.node.linearizableBarrier();
    const def = this.node.namespaces.get(name);
    if (def === undefined) throw new NamespaceError('not-found', `namespace ${JSON.stringify(name)} not found: list them with rsctl ns list`);
    return def;
  }

  async list(serializable: boolean): Promise<NamespaceDefinition[]> {
    if (!serializable) await this.node.linearizableBarrier();
    return this.node.namespaces.list();
  }

  async update(name: string, fields: string[], values: Partial<NamespaceDefinition>): Promise<NamespaceDefinition> {
    validateName(name);
    const checked = validateUpdateFields(fields);
    return unwrap(await this.node.proposeNamespace({ op: 'update', name, fields: checked, values })).definition;
  }

  async delete(name: string, force: boolean): Promise<{ definition: NamespaceDefinition; deletedKeys: number }> {
    validateName(name);
    return unwrap(await this.node.proposeNamespace({ op: 'delete', name, force }));
  }
}
