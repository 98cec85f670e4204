// Who a call's client certificate names. With --client-cert-auth the TLS listener keeps
// each connection's verified certificate by its remote address (server/util/tls-server.ts),
// which grpc-js's call.getPeer() answers however the front door handed the connection on.
// etcd's rule: the certificate's CN is the user of a request that carries no token.

import type { PeerCertIdentity } from '../util/tls-server.js';

/** The verified certificate of the connection a call came on; undefined: none (plaintext, or not verified). */
export type CertIdentityOf = (call: { getPeer(): string }) => PeerCertIdentity | undefined;

/** The user a call's certificate names (its CN), for auth. */
export type CertUserOf = (call: { getPeer(): string }) => string | undefined;

export const noCertIdentity: CertIdentityOf = () => undefined;
export const noCertUser: CertUserOf = () => undefined;

export function certUserFrom(identityOf: CertIdentityOf): CertUserOf {
  return (call) => {
    const cn = identityOf(call)?.commonName;
    return cn === undefined || cn === '' ? undefined : cn;
  };
}
