// server/sync: the delta sync session both sides of a stream run (DESIGN §6, issue 14).
export * from './backoff.js';
export * from './channel.js';
export * from './limits.js';
export * from './replica-side.js';
export * from './types.js';
export * from './session.js';
export * from './stream-adapter.js';
