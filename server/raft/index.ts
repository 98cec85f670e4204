// The public API of the Raft core.

export { RawNode, type BasicStatus, type RaftStatus } from './raw-node.js';
export { MemoryStorage } from './memory-storage.js';
export { encodeConfChange, decodeConfChange } from './conf-change.js';
export { ProgressState } from './progress.js';
export * from './types.js';
export * from './config.js';
