// server/auth: etcd's Auth model, pure (DESIGN §7): users, roles, key-range permission
// checks, the root rules, the auth revision, simple tokens. No I/O, clock or Promise:
// server/region persists and replicates it, hashes passwords and passes the time in.

export * from './types.js';
export * from './errors.js';
export * from './permissions.js';
export * from './store.js';
export * from './tokens.js';
export * from './codec.js';
