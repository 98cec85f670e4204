// Typed errors with etcd's message texts: clients match on those strings, and the API
// layer maps `code` to a gRPC status code.

import type { CommandResponse, MvccErrorCode } from './types.js';

export const ErrorMessage: Record<MvccErrorCode, string> = {
  compacted: 'mvcc: required revision has been compacted',
  'future-revision': 'mvcc: required revision is a future revision',
  'lease-not-found': 'etcdserver: requested lease not found',
  'lease-exists': 'etcdserver: lease already exists',
  'lease-ttl-too-large': 'etcdserver: too large lease TTL',
  'key-not-found': 'etcdserver: key not found',
  'duplicate-key': 'etcdserver: duplicate key given in txn request',
  'too-many-ops': 'etcdserver: too many operations in txn request',
  'stale-request': 'regionstore: request sequence number is older than the last one applied for this client',
  'not-primary': 'etcdserver: not primary',
  'no-space': 'etcdserver: mvcc: database space exceeded',
  'corrupt': 'etcdserver: corrupt cluster',
  invalid: 'etcdserver: invalid request',
  'failed-precondition': 'regionstore: the keys of this request may not be written here',
};

export class MvccError extends Error {
  override name = 'MvccError';
  constructor(
    readonly code: MvccErrorCode,
    message: string = ErrorMessage[code],
  ) {
    super(message);
  }

  toResponse(): CommandResponse {
    return { type: 'error', code: this.code, message: this.message };
  }
}

export function isMvccError(e: unknown): e is MvccError {
  return e instanceof MvccError;
}
