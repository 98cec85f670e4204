// Who a call comes from, for the permission gate (auth-gate.ts), the Watch service's
// per-request checks and edge sessions: the one place a caller's identity is looked up, so
// every way of proving one is honoured everywhere alike: the `token` metadata (etcd's simple
// or JWT tokens from Authenticate), else the client certificate's CN (etcd's
// --client-cert-auth; cert-user.ts), as etcd does.

import type { Metadata } from '@grpc/grpc-js';
import type { AuthInfo } from '../auth/index.js';
import type { AuthBackend } from './auth-backend.js';
import { tokenOf } from './auth.js';
import type { CertUserOf } from './cert-user.js';

/** What of a grpc-js call the lookup reads (unary and streaming calls alike). */
export interface CallerSource {
  metadata: Metadata;
  getPeer(): string;
}

/**
 * The caller of `call`, or undefined for none (no token, or auth disabled). Throws etcd's
 * invalid-auth-token for a token this member does not know.
 */
export function callerOf(auth: AuthBackend, call: CallerSource, certUser?: CertUserOf): AuthInfo | undefined {
  return auth.authInfo(tokenOf(call.metadata), certUser?.(call));
}

/** A promise while the call's token was made on another member a moment ago and is not applied here yet. */
export function callerPending(auth: AuthBackend, call: CallerSource): Promise<void> | undefined {
  return auth.tokenPending(tokenOf(call.metadata));
}
