// A plain grpc-js client of proto/etcd for API tests: every call as a promise (unary)
// or the raw stream, so tests can check exact codes, messages and field values.

import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { LOADER_OPTIONS, etcdProtoDir } from '../proto.js';

type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client;

export interface RawClient {
  unary(service: string, method: string, req: unknown, md?: Metadata): Promise<any>;
  duplex(service: string, method: string): ClientDuplexStream<unknown, any>;
  stream(service: string, method: string, req: unknown): NodeJS.ReadableStream;
  close(): void;
}

export function rawClient(endpoint: string): RawClient {
  const def = loadSync('etcdserverpb/rpc.proto', { ...LOADER_OPTIONS, includeDirs: [etcdProtoDir()] });
  const pkg = (loadPackageDefinition(def) as unknown as { etcdserverpb: Record<string, Ctor> }).etcdserverpb;
  const clients = new Map<string, Client>();
  const get = (service: string): any => {
    let c = clients.get(service);
    if (c === undefined) clients.set(service, (c = new pkg[service]!(endpoint, credentials.createInsecure())));
    return c;
  };
  return {
    unary: (service, method, req, md) =>
      new Promise((resolve, reject) => {
        const cb = (err: ServiceError | null, res: unknown): void => (err === null ? resolve(res) : reject(err));
        if (md === undefined) get(service)[method](req, cb);
        else get(service)[method](req, md, cb);
      }),
    duplex: (service, method) => get(service)[method](),
    stream: (service, method, req) => get(service)[method](req),
    close: () => {
      for (const c of clients.values()) c.close();
    },
  };
}
