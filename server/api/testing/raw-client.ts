// A plain grpc-js client of proto/etcd (the etcd v3 services, Lock and Election) for API tests: every call as a promise (unary)
// or the raw stream, so tests can check exact codes, messages and field values.

import { credentials, loadPackageDefinition, type ChannelOptions, type Client, type ClientDuplexStream, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { LOADER_OPTIONS, etcdProtoDir } from '../proto.js';

type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: ChannelOptions) => Client;

export interface RawClient {
  unary(service: string, method: string, req: unknown, md?: Metadata): Promise<any>;
  duplex(service: string, method: string, md?: Metadata): ClientDuplexStream<unknown, any>;
  stream(service: string, method: string, req: unknown): NodeJS.ReadableStream;
  close(): void;
}

/** `options`: grpc-js channel options (e.g. 'grpc.use_local_subchannel_pool': 1 for a connection of its own). */
export function rawClient(endpoint: string, options: ChannelOptions = {}): RawClient {
  const def = loadSync(['etcdserverpb/rpc.proto', 'v3lockpb/v3lock.proto', 'v3electionpb/v3election.proto'], {
    ...LOADER_OPTIONS,
    includeDirs: [etcdProtoDir()],
  });
  const loaded = loadPackageDefinition(def) as unknown as {
    etcdserverpb: Record<string, Ctor>;
    v3lockpb: Record<string, Ctor>;
    v3electionpb: Record<string, Ctor>;
  };
  // The etcd v3 services by name, plus etcd's Lock and Election services.
  const pkg: Record<string, Ctor> = { ...loaded.etcdserverpb, Lock: loaded.v3lockpb.Lock!, Election: loaded.v3electionpb.Election! };
  const clients = new Map<string, Client>();
  const get = (service: string): any => {
    let c = clients.get(service);
    if (c === undefined) clients.set(service, (c = new pkg[service]!(endpoint, credentials.createInsecure(), options)));
    return c;
  };
  return {
    unary: (service, method, req, md) =>
      new Promise((resolve, reject) => {
        const cb = (err: ServiceError | null, res: unknown): void => (err === null ? resolve(res) : reject(err));
        if (md === undefined) get(service)[method](req, cb);
        else get(service)[method](req, md, cb);
      }),
    duplex: (service, method, md) => (md === undefined ? get(service)[method]() : get(service)[method](md)),
    stream: (service, method, req) => get(service)[method](req),
    close: () => {
      for (const c of clients.values()) c.close();
    },
  };
}
