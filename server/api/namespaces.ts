// The regionstore.v1.Namespaces service: Create, Get, List, Update, Delete of the namespace
// registry (DESIGN.md §2). Converts wire messages to definitions and back; the rules live in
// server/namespace and are decided by the region at apply time.

import { type ServerUnaryCall, type ServiceDefinition, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { UPDATABLE_FIELDS, prefixFromBytes, type NamespaceDefinition, type NamespaceSpec } from '../namespace/index.js';
import { invalidArgument } from './errors.js';
import type { NamespaceBackend } from './namespace-backend.js';
import { servedService } from './proto.js';
import { answer } from './respond.js';

/** A Namespace message as proto-loader hands it over (camelCase, defaults filled). */
export interface WireNamespace {
  name?: string;
  prefix?: Buffer;
  level?: string;
  crdtType?: string;
  readLevel?: string;
  maxStalenessMs?: number;
  maxClockSkewMs?: number;
  tombstoneTtlS?: number;
  siblingWarn?: number;
  siblingCap?: number;
  schemaVersions?: number[];
  description?: string;
}

/** regionstore.v1.Namespaces (loaded once, with the other served services: proto.ts). */
export function loadNamespacesService(): ServiceDefinition {
  return servedService('regionstore.v1.Namespaces');
}

/** A wire field left at its proto3 default means "the default": absent from the spec. */
function given<T>(v: T | undefined, empty: (v: T) => boolean): T | undefined {
  return v === undefined || empty(v) ? undefined : v;
}

const isEmpty = (s: string): boolean => s === '';
const isZero = (n: number): boolean => n === 0;

/** Every field of the wire message that is set, as a spec (the prefix checked for UTF-8). */
export function specFromWire(w: WireNamespace | null | undefined): NamespaceSpec {
  if (w === null || w === undefined) throw invalidArgument('namespace is not provided: send the definition in the namespace field');
  const spec: NamespaceSpec = { name: w.name ?? '' };
  const set = <K extends keyof NamespaceDefinition>(k: K, v: NamespaceDefinition[K] | undefined): void => {
    if (v !== undefined) spec[k] = v;
  };
  if (w.prefix !== undefined) spec.prefix = prefixFromBytes(w.prefix);
  set('level', given(w.level, isEmpty) as NamespaceDefinition['level'] | undefined);
  set('crdtType', given(w.crdtType, isEmpty) as NamespaceDefinition['crdtType'] | undefined);
  set('readLevel', given(w.readLevel, isEmpty) as NamespaceDefinition['readLevel'] | undefined);
  set('maxStalenessMs', given(w.maxStalenessMs, isZero));
  set('maxClockSkewMs', given(w.maxClockSkewMs, isZero));
  set('tombstoneTtlS', given(w.tombstoneTtlS, isZero));
  set('siblingWarn', given(w.siblingWarn, isZero));
  set('siblingCap', given(w.siblingCap, isZero));
  set('schemaVersions', given(w.schemaVersions, (a) => a.length === 0));
  set('description', given(w.description, isEmpty));
  return spec;
}

export function namespaceToWire(d: NamespaceDefinition): WireNamespace {
  return { ...d, prefix: Buffer.from(d.prefix, 'utf8') };
}

/** The wire field names of Update's update_fields, accepted in snake_case or camelCase. */
function fieldName(f: string): string {
  const camel = f.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  return (UPDATABLE_FIELDS as readonly string[]).includes(camel) ? camel : f;
}

type Unary<Req> = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => void;

export function namespacesService(ns: NamespaceBackend): UntypedServiceImplementation {
  const Create: Unary<{ namespace?: WireNamespace }> = (call, cb) =>
    answer(cb, () => ns.create(specFromWire(call.request.namespace)), (d) => ({ namespace: namespaceToWire(d) }));
  const Get: Unary<{ name: string; serializable: boolean }> = (call, cb) =>
    answer(cb, () => ns.get(call.request.name, call.request.serializable), (d) => ({ namespace: namespaceToWire(d) }));
  const List: Unary<{ serializable: boolean }> = (call, cb) =>
    answer(cb, () => ns.list(call.request.serializable), (ds) => ({ namespaces: ds.map(namespaceToWire) }));
  const Update: Unary<{ namespace?: WireNamespace; updateFields: string[] }> = (call, cb) =>
    answer(cb, () => {
      const w = call.request.namespace;
      if (w === undefined || w === null) throw invalidArgument('namespace is not provided: send its name and the new values in the namespace field');
      const fields = call.request.updateFields.map(fieldName);
      // Values are taken as sent (0 and "" included) for the fields named.
      const values: Partial<NamespaceDefinition> = {};
      for (const f of fields) (values as Record<string, unknown>)[f] = (w as Record<string, unknown>)[f];
      return ns.update(w.name ?? '', fields, values);
    }, (d) => ({ namespace: namespaceToWire(d) }));
  const Delete: Unary<{ name: string; force: boolean }> = (call, cb) =>
    answer(cb, () => ns.delete(call.request.name, call.request.force), (r) => ({ namespace: namespaceToWire(r.definition), deletedKeys: String(r.deletedKeys) }));
  return { Create, Get, List, Update, Delete };
}
