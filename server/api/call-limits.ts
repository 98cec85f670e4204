// grpc-js takes one receive limit per server (`grpc.max_receive_message_length`), while the
// client port serves etcd's calls (REQUEST_BYTES_MAX + GRPC_OVERHEAD_BYTES, as etcd) and
// EdgeSync streams (EDGE_SYNC_RECEIVE_BYTES_MAX: a DELTA page of up to 2 MiB plus its
// envelope). A server interceptor gives the calls of one method their own limit: the server's
// stays the etcd one, and the interceptor raises it on the calls that need more before any
// of their bytes are read.
//
// grpc-js has no public setter for it: the interceptor sets the two fields its base call
// reads (its limit and its stream decoder's). test/bad-input.test.ts sends a 3 MiB EdgeSync
// message, so a grpc-js upgrade that moves them fails a test rather than silently leaving
// EdgeSync at the etcd limit.

import type { ServerInterceptingCallInterface, ServerInterceptor } from '@grpc/grpc-js';

interface BaseCallFields {
  maxReceiveMessageSize?: number;
  decoder?: { maxReadMessageLength?: number };
}

/** An interceptor giving the calls of `path` a receive limit of `bytes` (first in the server's list). */
export function receiveLimitFor(path: string, bytes: number): ServerInterceptor {
  return (method, call: ServerInterceptingCallInterface) => {
    if (method.path !== path) return call as never;
    const base = call as unknown as BaseCallFields;
    if (typeof base.maxReceiveMessageSize === 'number' && typeof base.decoder?.maxReadMessageLength === 'number') {
      base.maxReceiveMessageSize = bytes;
      base.decoder.maxReadMessageLength = bytes;
    }
    return call as never;
  };
}
