// Requests only the leader may answer, forwarded from a follower over the leader's own
// client API (etcd followers forward lease renewals the same way). One channel per leader
// URL, reused; each renewal is one short LeaseKeepAlive stream.

import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { RegionError } from './errors.js';
import { memberClientCredentials } from '../util/tls-client.js';
import type { RegionNode } from './region-node.js';
import { etcdProtoDir } from '../../proto/dir.js';

/** How long a forwarded renewal may take. */
export const FORWARD_TIMEOUT_MS = 3_000;

type LeaseClient = Client & {
  LeaseKeepAlive(opts: { deadline: number }): ClientDuplexStream<{ ID: string }, { ID: string; TTL: string; header?: { revision: string } }>;
};

let LeaseCtor: (new (addr: string, creds: ReturnType<typeof credentials.createInsecure>) => LeaseClient) | undefined;
const clients = new Map<string, LeaseClient>();

/**
 * Parses the Lease client's .proto (synchronously, ~40 ms of CPU) unless done already.
 * `serve` calls it before Raft starts: at a follower's first forwarded renewal it held a
 * running member's event loop that long.
 */
export function loadLeaseForwardDefinition(): NonNullable<typeof LeaseCtor> {
  if (LeaseCtor === undefined) {
    const def = loadSync('etcdserverpb/rpc.proto', { includeDirs: [etcdProtoDir()], keepCase: true, longs: String, defaults: true });
    const pkg = loadPackageDefinition(def) as unknown as { etcdserverpb: { Lease: typeof LeaseCtor } };
    LeaseCtor = pkg.etcdserverpb.Lease;
  }
  return LeaseCtor!;
}

function leaseClient(url: string): LeaseClient {
  let c = clients.get(url);
  if (c !== undefined) return c;
  const Ctor = loadLeaseForwardDefinition();
  // A TLS client port is dialled with the member's own client certificate (tls-client.ts).
  c = new Ctor(url.replace(/^https?:\/\//, ''), memberClientCredentials());
  clients.set(url, c);
  return c;
}

export function forwardLeaseKeepAlive(node: RegionNode, leaseId: number): Promise<{ revision: number; ttl: number }> {
  const leader = node.members.get(node.leaderId);
  const url = leader?.clientUrls[0];
  if (node.leaderId === 0 || url === undefined) {
    return Promise.reject(new RegionError('no-leader', 'etcdserver: no leader'));
  }
  return new Promise((resolve, reject) => {
    const call = leaseClient(url).LeaseKeepAlive({ deadline: Date.now() + FORWARD_TIMEOUT_MS });
    let done = false;
    call.on('data', (res) => {
      if (done) return;
      done = true;
      call.end();
      const ttl = Number(res.TTL);
      if (ttl <= 0) reject(new RegionError('lease-not-found', 'etcdserver: requested lease not found'));
      else resolve({ revision: Number(res.header?.revision ?? 0), ttl });
    });
    call.on('error', (err: Error) => {
      if (done) return;
      done = true;
      reject(new RegionError('timeout', `etcdserver: request timed out (forwarding to the leader: ${err.message})`));
    });
    call.write({ ID: String(leaseId) });
  });
}

export function closeForwardClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}
