// server/namespace: the namespace registry and routing by consistency level (DESIGN.md §2).
// Pure: no I/O, clock, timer or Promise; server/region replicates and stores it.

export * from './types.js';
export * from './limits.js';
export * from './bytes.js';
export { NamespaceRegistry, keysRefusal, strongestDefault, type KeyCheck, type ReadChoice } from './registry.js';
export { completeDefinition, defaultNamespace, prefixFromBytes, validateName, validatePrefix, validateUpdateFields, type NamespaceSpec } from './validate.js';
export { encodeCommand, decodeCommand, encodeDefinition, decodeDefinition } from './codec.js';
export * from './read-level.js';
