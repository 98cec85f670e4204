// The Lease service. Lease ids are int64 on the wire; the backend issues ids below 2^53,
// so an id outside that range names no lease and is answered here as etcd answers an
// unknown lease (NOT_FOUND, or TTL -1 / 0), echoing the exact id the client sent.

import type {
  ServerDuplexStream,
  ServerUnaryCall,
  sendUnaryData,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Backend } from './backend.js';
import { idFromWire, int64 } from './convert.js';
import { EtcdErrors, invalidArgument, toApiError } from './errors.js';
import { identityFromMetadata } from './identity.js';
import type { ApiLimits } from './limits.js';
import { answer, header } from './respond.js';
import { isClosed, writeWithBackpressure } from './streams.js';
import { validateLeaseTtl } from './validate.js';
import type { Int64 } from './wire.js';

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

function isLeaseNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'lease-not-found';
}

/** Known lease id, or throws etcd's "requested lease not found". */
function leaseId(s: Int64): number {
  const id = idFromWire(s);
  if (id === undefined || id === 0) throw EtcdErrors.leaseNotFound;
  return id;
}

export function leaseService(backend: Backend, limits: ApiLimits): UntypedServiceImplementation {
  const LeaseGrant: Unary<{ TTL: Int64; ID: Int64 }> = (call, cb) =>
    answer(
      cb,
      () => {
        const ttl = int64(call.request.TTL);
        validateLeaseTtl(ttl, limits);
        const id = idFromWire(call.request.ID);
        if (id === undefined) throw invalidArgument('regionstore: a lease ID must be in 1..2^53-1 (or 0)');
        return backend.leaseGrant({ ttl, id }, identityFromMetadata(call.metadata));
      },
      (r) => ({ header: header(backend.headerInfo(), r.revision), ID: r.id, TTL: r.ttl, error: '' }),
    );

  const LeaseRevoke: Unary<{ ID: Int64 }> = (call, cb) =>
    answer(
      cb,
      () => backend.leaseRevoke(leaseId(call.request.ID), identityFromMetadata(call.metadata)),
      (r) => ({ header: header(backend.headerInfo(), r.revision) }),
    );

  const LeaseTimeToLive: Unary<{ ID: Int64; keys: boolean }> = (call, cb) => {
    const wireId = call.request.ID;
    const expired = (): unknown => {
      const h = backend.headerInfo();
      return { header: header(h, h.revision), ID: wireId, TTL: -1, grantedTTL: 0, keys: [] };
    };
    const id = idFromWire(wireId);
    if (id === undefined || id === 0) {
      cb(null, expired());
      return;
    }
    answer(
      cb,
      () => backend.leaseTimeToLive(id, call.request.keys).catch((err: unknown) => {
        if (isLeaseNotFound(err)) return undefined;
        throw err;
      }),
      (r) =>
        r === undefined
          ? expired()
          : {
              header: header(backend.headerInfo(), r.revision),
              ID: id,
              TTL: r.ttl,
              grantedTTL: r.grantedTtl,
              keys: r.keys,
            },
    );
  };

  const LeaseLeases: Unary<Record<string, never>> = (_call, cb) =>
    answer(
      cb,
      () => backend.leaseLeases(),
      (r) => ({ header: header(backend.headerInfo(), r.revision), leases: r.ids.map((ID) => ({ ID })) }),
    );

  const LeaseKeepAlive = (call: ServerDuplexStream<{ ID: Int64 }, unknown>): void => {
    keepAliveLoop(backend, call).catch((err: unknown) => {
      if (!isClosed(call)) call.emit('error', toApiError(err));
    });
  };

  return { LeaseGrant, LeaseRevoke, LeaseTimeToLive, LeaseLeases, LeaseKeepAlive };
}

/**
 * etcd's keep-alive stream: one answer per request, in order. An unknown or expired
 * lease is answered with TTL 0 (not an error); any other failure ends the stream.
 * The header is taken before the renewal, as etcd does, so a revoke cannot appear
 * older than a keep-alive that succeeded.
 */
async function keepAliveLoop(backend: Backend, call: ServerDuplexStream<{ ID: Int64 }, unknown>): Promise<void> {
  // destroyOnReturn false: iterating to the end must not destroy the call (that would
  // answer CANCELLED instead of OK when the client half-closes).
  const requests = call.iterator({ destroyOnReturn: false }) as AsyncIterable<{ ID: Int64 }>;
  for await (const req of requests) {
    const h = backend.headerInfo();
    const id = idFromWire(req.ID);
    let ttl = 0;
    if (id !== undefined && id !== 0) {
      try {
        ttl = (await backend.leaseKeepAlive(id)).ttl;
      } catch (err) {
        if (!isLeaseNotFound(err)) throw err;
      }
    }
    await writeWithBackpressure(call, { header: header(h, h.revision), ID: req.ID, TTL: ttl });
  }
  if (!isClosed(call)) call.end();
}
