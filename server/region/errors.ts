// Errors the region node raises. `code` is one of the API layer's backend error codes
// (server/api/errors.ts maps them to gRPC statuses); `message` is etcd's text, which
// etcd clients act on (for example they retry on "etcdserver: leader changed").

export type RegionErrorCode =
  | 'no-leader'
  | 'leader-changed'
  | 'timeout'
  /** This member cannot serve the request now but another can (gRPC UNAVAILABLE, with our message). */
  | 'unavailable'
  | 'stopped'
  | 'too-many-requests'
  | 'unhealthy'
  | 'learner-unsupported'
  | 'member-exists'
  | 'peer-url-exists'
  | 'member-not-found'
  | 'member-bad-urls'
  | 'member-not-learner'
  | 'learner-not-ready'
  | 'too-many-learners'
  | 'bad-leader-transferee'
  | 'not-leader'
  | 'lease-not-found'
  | 'no-space';

export class RegionError extends Error {
  override name = 'RegionError';
  constructor(readonly code: RegionErrorCode, message: string) {
    super(message);
  }
}

/** What a member answers to reads of its local state while a snapshot from the leader
 *  replaces that state: UNAVAILABLE, so clients retry on another member. */
export const INSTALLING_SNAPSHOT_MESSAGE =
  'etcdserver: this member is installing a snapshot from the leader; retry on another member or in a moment';
