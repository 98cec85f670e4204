// The CRDT core (DESIGN §2, §6, §6a): pure, no I/O, clock or randomness of its own.
export * from './bytes.js';
export * from './canonical.js';
export * from './counter.js';
export * from './delta.js';
export * from './dots.js';
export * from './errors.js';
export * from './events.js';
export * from './hlc.js';
export * from './lww.js';
export * from './mv.js';
export * from './ops.js';
export * from './records.js';
export * from './replica.js';
export * from './set.js';
export * from './stability.js';
export * from './store.js';
export * from './unsafe.js';
