// Who a call comes from, for the permission gate (auth-gate.ts), the Watch service's
// per-request checks and edge sessions: the one place a caller's identity is looked up, so
// every way of proving one is honoured everywhere alike. Today that is the `token` metadata
// (etcd's simple or JWT tokens from Authenticate); a client certificate's CN (etcd's
// --client-cert-auth, issue 16's TLS half) is to be looked up here too, from the call's
// auth context, when the call carries no token, as etcd does.

import type { Metadata } from '@grpc/grpc-js';
import type { AuthInfo } from '../auth/index.js';
import type { AuthBackend } from './auth-backend.js';
import { tokenOf } from './auth.js';

/** What of a grpc-js call the lookup reads (unary and streaming calls alike). */
export interface CallerSource {
  metadata: Metadata;
}

/**
 * The caller of `call`, or undefined for none (no token, or auth disabled). Throws etcd's
 * invalid-auth-token for a token this member does not know.
 */
export function callerOf(auth: AuthBackend, call: CallerSource): AuthInfo | undefined {
  return auth.authInfo(tokenOf(call.metadata));
}

/** A promise while the call's token was made on another member a moment ago and is not applied here yet. */
export function callerPending(auth: AuthBackend, call: CallerSource): Promise<void> | undefined {
  return auth.tokenPending(tokenOf(call.metadata));
}
