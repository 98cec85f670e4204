// The writer identity regionstore's own client sends as gRPC metadata, so that a write
// retried after a timeout applies at most once (DESIGN §4):
//   rs-client-id: an opaque id, 1..CLIENT_ID_BYTES_MAX characters, unique per client;
//   rs-seq:       a decimal integer in 1..2^53-1, increasing per write of that client.
// Both or neither; plain etcd clients send neither.

import type { Metadata } from '@grpc/grpc-js';
import type { RequestIdentity } from './backend.js';
import { invalidArgument } from './errors.js';

export const CLIENT_ID_METADATA_KEY = 'rs-client-id';
export const SEQ_METADATA_KEY = 'rs-seq';
export const CLIENT_ID_BYTES_MAX = 128;

/** The identity a write carries, or undefined; throws INVALID_ARGUMENT when malformed. */
export function identityFromMetadata(md: Metadata): RequestIdentity | undefined {
  const ids = md.get(CLIENT_ID_METADATA_KEY);
  const seqs = md.get(SEQ_METADATA_KEY);
  if (ids.length === 0 && seqs.length === 0) return undefined;
  const clientId = ids[0];
  const seqText = seqs[0];
  if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > CLIENT_ID_BYTES_MAX) {
    throw invalidArgument(
      `regionstore: metadata ${CLIENT_ID_METADATA_KEY} must be 1..${CLIENT_ID_BYTES_MAX} characters when ${SEQ_METADATA_KEY} is sent`,
    );
  }
  const seq = typeof seqText === 'string' && /^[0-9]{1,16}$/.test(seqText) ? Number(seqText) : 0;
  if (!(Number.isSafeInteger(seq) && seq > 0)) {
    throw invalidArgument(
      `regionstore: metadata ${SEQ_METADATA_KEY} must be a decimal integer in 1..2^53-1 when ${CLIENT_ID_METADATA_KEY} is sent`,
    );
  }
  return { clientId, seq };
}
