// regionstore.v1.EdgeSync.Sync over grpc-js with raw bytes as messages: the session
// (server/sync) decodes SyncMessages itself, so a peer's garbage is a SyncError `malformed`
// and never a grpc-js parse failure. The dialing side (an edge, a region dialing a peer
// region) opens a call here; either side turns its call into the session's SyncChannel with
// server/sync's channelFromDuplex (server/transport may not import server/sync, so the
// composition is the caller's: `channelFromDuplex(openEdgeSyncCall(addr).call)`).

import { Client, Metadata, credentials as grpcCredentials, type ChannelCredentials, type ClientDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';

export const EDGE_SYNC_PATH = '/regionstore.v1.EdgeSync/Sync';

const toBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const fromBuffer = (b: Buffer): Buffer => b;

/** EdgeSync.Sync with identity serializers (what a server registers: `server.addService(EDGE_SYNC_RAW_SERVICE, { Sync })`). */
export const EDGE_SYNC_RAW_SERVICE = {
  Sync: {
    path: EDGE_SYNC_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: toBuffer,
    requestDeserialize: fromBuffer,
    responseSerialize: toBuffer,
    responseDeserialize: fromBuffer,
    originalName: 'sync',
  },
} as unknown as ServiceDefinition;

/**
 * gRPC's message limit for sync calls: server/sync's SYNC_MESSAGE_BYTES_MAX (4 MiB) plus room
 * for framing, so the session, not grpc-js, refuses an oversized message (with a SyncError a
 * person can read). Servers hosting EdgeSync want the same `grpc.max_receive_message_length`.
 */
export const SYNC_GRPC_MESSAGE_BYTES_MAX = 4 * 1024 * 1024 + 64 * 1024;

export const SYNC_CLIENT_OPTIONS = {
  'grpc.max_receive_message_length': SYNC_GRPC_MESSAGE_BYTES_MAX,
  'grpc.max_send_message_length': SYNC_GRPC_MESSAGE_BYTES_MAX,
  'grpc.keepalive_time_ms': 30_000,
};

export interface SyncCall {
  /** The call (server/sync's DuplexLike): `channelFromDuplex(call)` is the session's channel. */
  readonly call: ClientDuplexStream<Uint8Array, Buffer>;
  /** Cancels the call and closes the client connection (unless the caller passed its own client). */
  close(): void;
}

/**
 * Opens EdgeSync.Sync on `address` (host:port). `metadata` carries what the region's host
 * wants to know before HELLO (none is required by the protocol).
 */
export function openEdgeSyncCall(
  address: string,
  opts: { credentials?: ChannelCredentials; metadata?: Record<string, string>; client?: Client } = {},
): SyncCall {
  const client = opts.client ?? new Client(address, opts.credentials ?? grpcCredentials.createInsecure(), SYNC_CLIENT_OPTIONS);
  const md = new Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
  const call: ClientDuplexStream<Uint8Array, Buffer> = client.makeBidiStreamRequest(EDGE_SYNC_PATH, toBuffer, fromBuffer, md, {});
  // An error after close is expected (CANCELLED); the channel reports the first one to the session.
  call.on('error', () => undefined);
  return {
    call,
    close() {
      call.cancel();
      if (opts.client === undefined) client.close();
    },
  };
}
