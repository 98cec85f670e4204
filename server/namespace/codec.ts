// The encodings of the registry: a definition as stored in the state keyspace, and a
// command as it travels in a Raft entry. JSON with a version field: small, rare records
// that an operator can read in a dump. Decoding re-validates, so a damaged record fails
// loudly instead of routing keys wrongly.

import { type NamespaceCommand, type NamespaceDefinition, UPDATABLE_FIELDS, type UpdatableField } from './types.js';
import { completeDefinition, validateName } from './validate.js';

const FORMAT_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeDefinition(def: NamespaceDefinition): Uint8Array {
  return encoder.encode(JSON.stringify({ v: FORMAT_VERSION, ...def }));
}

export function decodeDefinition(bytes: Uint8Array): NamespaceDefinition {
  const { v, ...rest } = JSON.parse(decoder.decode(bytes)) as { v: number } & NamespaceDefinition;
  if (v !== FORMAT_VERSION) throw new Error(`namespace record: unknown format version ${v}`);
  return completeDefinition(rest);
}

export function encodeCommand(cmd: NamespaceCommand): Uint8Array {
  return encoder.encode(JSON.stringify({ v: FORMAT_VERSION, ...cmd }));
}

/** Decodes a command from the log. Its content is checked at apply time (registry.check). */
export function decodeCommand(bytes: Uint8Array): NamespaceCommand {
  const raw = JSON.parse(decoder.decode(bytes)) as Record<string, unknown>;
  if (raw['v'] !== FORMAT_VERSION) throw new Error(`namespace command: unknown format version ${String(raw['v'])}`);
  switch (raw['op']) {
    case 'create':
      return { op: 'create', definition: raw['definition'] as NamespaceDefinition };
    case 'update': {
      const fields = (raw['fields'] as string[]).filter((f): f is UpdatableField => (UPDATABLE_FIELDS as readonly string[]).includes(f));
      return { op: 'update', name: validateName(raw['name']), fields, values: raw['values'] as Partial<NamespaceDefinition> };
    }
    case 'delete':
      return { op: 'delete', name: String(raw['name']), force: raw['force'] === true };
    default:
      throw new Error(`namespace command: unknown op ${JSON.stringify(raw['op'])}`);
  }
}
