// The regionstore.v1.Namespaces service: the namespace registry (DESIGN.md §2).
//
//   await client.namespaces.create({ name: 'devices', prefix: 'devices/', level: 'eventual', crdtType: 'lww' });
//   await client.namespaces.update('default', { readLevel: 'serializable' });
//   await client.namespaces.list();
//
// Create and Delete are sent once (a retry of a create that did apply would answer
// "already exists"); Update sets fields to values, so it is retried like a write.

import { loadSync } from '@grpc/proto-loader';
import type { Caller, CallOptions } from './caller.js';
import { LOADER_OPTIONS, type Method } from './proto.js';
import { protoDir } from '../../proto/dir.js';

export type NamespaceLevel = 'strong' | 'eventual';
export type CrdtType = 'none' | 'lww' | 'mv' | 'counter' | 'set' | 'events';
export type ReadLevelName = 'linearizable' | 'serializable' | 'bounded' | 'session';

/** A namespace as the server shows it: every field written out. */
export interface Namespace {
  name: string;
  prefix: string;
  level: NamespaceLevel;
  crdtType: CrdtType;
  readLevel: ReadLevelName;
  maxStalenessMs: number;
  maxClockSkewMs: number;
  tombstoneTtlS: number;
  siblingWarn: number;
  siblingCap: number;
  schemaVersions: number[];
  description: string;
}

/** What Create takes: a name and prefix; every other field has a server-side default. */
export type NamespaceSpec = Partial<Namespace> & { name: string; prefix: string };
/** The fields Update may change. */
export type NamespaceChanges = Partial<Pick<Namespace, 'readLevel' | 'maxStalenessMs' | 'maxClockSkewMs' | 'tombstoneTtlS' | 'siblingWarn' | 'siblingCap' | 'schemaVersions' | 'description'>>;

interface WireNamespace extends Omit<Namespace, 'prefix'> {
  prefix: Buffer;
}

interface NamespaceMethods {
  create: Method;
  get: Method;
  list: Method;
  update: Method;
  delete: Method;
}

let cached: NamespaceMethods | undefined;

function methods(): NamespaceMethods {
  if (cached !== undefined) return cached;
  const dir = protoDir();
  const def = loadSync('regionstore/v1/namespaces.proto', { ...LOADER_OPTIONS, includeDirs: [dir] });
  const s = def['regionstore.v1.Namespaces'] as unknown as Record<string, Method>;
  cached = { create: s['Create']!, get: s['Get']!, list: s['List']!, update: s['Update']!, delete: s['Delete']! };
  return cached;
}

function fromWire(w: WireNamespace): Namespace {
  return { ...w, prefix: w.prefix.toString('utf8') };
}

function toWire(spec: Partial<Namespace> & { name: string }): Partial<WireNamespace> {
  const { prefix, ...rest } = spec;
  return { ...rest, ...(prefix === undefined ? {} : { prefix: Buffer.from(prefix, 'utf8') }) };
}

export class Namespaces {
  constructor(private readonly caller: Caller) {}

  async create(spec: NamespaceSpec, opts: CallOptions = {}): Promise<Namespace> {
    const r = await this.caller.unary<{ namespace: WireNamespace }>(methods().create, { namespace: toWire(spec) }, 'once', opts);
    return fromWire(r.namespace);
  }

  /** serializable: answer from the member's registry without a ReadIndex round. */
  async get(name: string, opts: { serializable?: boolean } & CallOptions = {}): Promise<Namespace> {
    const r = await this.caller.unary<{ namespace: WireNamespace }>(methods().get, { name, serializable: opts.serializable === true }, 'read', opts);
    return fromWire(r.namespace);
  }

  async list(opts: { serializable?: boolean } & CallOptions = {}): Promise<Namespace[]> {
    const r = await this.caller.unary<{ namespaces: WireNamespace[] }>(methods().list, { serializable: opts.serializable === true }, 'read', opts);
    return r.namespaces.map(fromWire);
  }

  async update(name: string, changes: NamespaceChanges, opts: CallOptions = {}): Promise<Namespace> {
    const updateFields = Object.keys(changes).filter((k) => (changes as Record<string, unknown>)[k] !== undefined);
    const req = { namespace: toWire({ name, ...changes }), updateFields };
    const r = await this.caller.unary<{ namespace: WireNamespace }>(methods().update, req, 'idempotent', opts);
    return fromWire(r.namespace);
  }

  /** force: delete the namespace's keys too, in the same Raft entry. */
  async delete(name: string, opts: { force?: boolean } & CallOptions = {}): Promise<{ namespace: Namespace; deletedKeys: number }> {
    const r = await this.caller.unary<{ namespace: WireNamespace; deletedKeys: string }>(methods().delete, { name, force: opts.force === true }, 'once', opts);
    return { namespace: fromWire(r.namespace), deletedKeys: Number(r.deletedKeys) };
  }
}
