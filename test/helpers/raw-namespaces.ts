// A plain grpc-js client of regionstore.v1.Namespaces, for requests the client library
// would not build (a prefix that is not UTF-8).

import { Metadata, credentials, loadPackageDefinition, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { LOADER_OPTIONS } from '../../server/api/proto.js';

type Ctor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client;

/** `md`: metadata to send with each call (an Auth token). */
export function rawNamespaces(endpoint: string, md = new Metadata()): {
  create(ns: unknown): Promise<unknown>;
  /** Any method of the service (Get, List, Update, Delete, ...) with `md`. */
  call(method: string, req: unknown): Promise<any>;
  close(): void;
} {
  const dir = fileURLToPath(new URL('../../proto', import.meta.url));
  const def = loadSync('regionstore/v1/namespaces.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
  const Ctor = (loadPackageDefinition(def) as unknown as { regionstore: { v1: { Namespaces: Ctor } } }).regionstore.v1.Namespaces;
  const c = new Ctor(endpoint, credentials.createInsecure()) as Client & Record<string, (req: unknown, md: Metadata, cb: (e: ServiceError | null, r: unknown) => void) => void>;
  return {
    create: (ns) => new Promise((resolve, reject) => c['Create']!({ namespace: ns }, md, (e, r) => (e === null ? resolve(r) : reject(e)))),
    call: (method, req) => new Promise((resolve, reject) => c[method]!(req, md, (e, r) => (e === null ? resolve(r) : reject(e)))),
    close: () => c.close(),
  };
}
