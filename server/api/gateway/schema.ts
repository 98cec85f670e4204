// The message types of etcd's API as protobufjs reflection, loaded once from proto/etcd with
// the .proto field names kept (etcd's gateway writes the original names: `create_revision`,
// `dbSize`, `ID`), for the gateway's JSON codec. Every .proto file under proto/etcd is
// loaded, so a service added there (Lock, Election) is found by its full name.

import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import protobuf from 'protobufjs';
import { etcdProtoDir } from '../proto.js';

let cached: protobuf.Root | undefined;

function protoFiles(dir: string, base: string, out: string[]): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) protoFiles(path, base, out);
    else if (name.endsWith('.proto')) out.push(relative(base, path));
  }
  return out;
}

/** The etcd API every gateway route but Lock's and Election's needs. */
const CORE_PROTO = 'etcdserverpb/rpc.proto';

function load(dir: string, files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : join(dir, target));
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

export function etcdSchema(): protobuf.Root {
  if (cached !== undefined) return cached;
  const dir = etcdProtoDir();
  try {
    cached = load(dir, protoFiles(dir, dir, []));
  } catch {
    // A .proto file this loader cannot read must not take the KV, Watch, ... routes down
    // with it: its routes answer "unknown service" instead.
    cached = load(dir, [CORE_PROTO]);
  }
  return cached;
}

export interface MethodTypes {
  request: protobuf.Type;
  response: protobuf.Type;
}

/** The request and response types of `service`.`method`, or why there are none (gRPC's words). */
export function methodTypes(service: string, method: string): MethodTypes | string {
  let svc: protobuf.Service;
  try {
    svc = etcdSchema().lookupService(service);
  } catch {
    return `unknown service ${service}`;
  }
  const m = svc.methods[method];
  if (m === undefined) return `unknown method ${method} for service ${service}`;
  return { request: m.resolvedRequestType!, response: m.resolvedResponseType! };
}
