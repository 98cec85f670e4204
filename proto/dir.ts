// Where the .proto files are, for every module that loads one: next to this module in the
// source tree (proto/) and in a build's modules (dist/proto/, where the build copies them),
// or one folder over when this code is bundled into dist/server/main.js (scripts/build.ts).

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A file every layout holds: the folder that has it is the one. */
const MARKER = 'etcd/etcdserverpb/rpc.proto';
const CANDIDATES = ['./', '../proto/'];

let found: string | undefined;

/** The folder holding etcd/ and regionstore/ .proto files (absolute, no trailing slash). */
export function protoDir(): string {
  if (found !== undefined) return found;
  for (const rel of CANDIDATES) {
    const dir = fileURLToPath(new URL(rel, import.meta.url)).replace(/\/$/, '');
    if (existsSync(`${dir}/${MARKER}`)) return (found = dir);
  }
  throw new Error(`the .proto files (${MARKER}) are not next to ${fileURLToPath(import.meta.url)} nor in ../proto: is the build complete?`);
}

/** The folder of the etcd v3 API's .proto files (etcdserverpb/, mvccpb/, ...). */
export function etcdProtoDir(): string {
  return `${protoDir()}/etcd`;
}
