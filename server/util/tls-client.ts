// The client side of TLS: etcdctl's --cacert / --cert / --key (and a member's own
// --peer-* files when it dials a peer) → grpc-js channel credentials. Files are read each
// time credentials are made, so a channel made after a certificate was replaced uses the
// new one (a member makes a new channel per peer connection it sets up again).

import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';

/** etcdctl's --cacert, --cert, --key; all optional (a CA alone: TLS without a client certificate). */
export interface ClientTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Accept any server certificate (etcdctl's --insecure-skip-tls-verify; etcd's auto-TLS peers). */
  insecureSkipVerify?: boolean;
}

function read(what: string, path: string | undefined): Buffer | null {
  if (path === undefined) return null;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** grpc-js credentials for `files`; throws a sentence naming the file on a problem. */
export function tlsChannelCredentials(files: ClientTlsFiles): ChannelCredentials {
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new Error('a client certificate needs both --cert and --key');
  }
  const ca = read('CA file', files.caFile);
  const key = read('key file', files.keyFile);
  const cert = read('certificate file', files.certFile);
  const verify = files.insecureSkipVerify === true
    ? { rejectUnauthorized: false, checkServerIdentity: () => undefined }
    : {};
  return credentials.createSsl(ca, key, cert, verify);
}

/** Credentials for a URL: TLS when it says https:// or TLS files are given, else plaintext. */
export function channelCredentialsFor(url: string, files: ClientTlsFiles | undefined): ChannelCredentials {
  if (files !== undefined && (/^https:\/\//i.test(url) || files.caFile !== undefined || files.certFile !== undefined)) {
    return tlsChannelCredentials(files);
  }
  if (/^https:\/\//i.test(url)) return credentials.createSsl();
  return credentials.createInsecure();
}

/**
 * How this process dials member client ports it does not talk to as a client of the user
 * (the JSON gateway dials its own port; a follower forwards lease renewals to the leader's).
 * Set once by the composition root when the client port is TLS: etcd dials these with the
 * member's own client certificate, as here.
 */
let memberClientTls: ClientTlsFiles | undefined;

export function setMemberClientTls(files: ClientTlsFiles | undefined): void {
  memberClientTls = files;
}

export function memberClientCredentials(): ChannelCredentials {
  return memberClientTls === undefined ? credentials.createInsecure() : tlsChannelCredentials(memberClientTls);
}
