// The regionstore.v1.Crdt messages as @grpc/proto-loader hands them over with LOADER_OPTIONS
// (proto.ts): camelCase fields, defaults filled in, bytes as Buffers, 64-bit integers as
// decimal strings (uint64 seq, sint64 delta, int64 ts_ms), the set member of a oneof named
// by its virtual field (`op`, `value`). And the loader of the service definition.

import type { ServiceDefinition } from '@grpc/grpc-js';
import { servedService } from './proto.js';

export interface WireLwwPut { key?: Buffer; value?: Buffer }
export interface WireLwwDelete { key?: Buffer }
export interface WireMvPut { key?: Buffer; value?: Buffer; context?: string }
export interface WireCounterAdd { key?: Buffer; delta?: string | number }
export interface WireSetMember { key?: Buffer; member?: Buffer }
export interface WireEventAppend {
  device?: string;
  seq?: string | number;
  type?: string;
  schemaVersion?: number;
  payload?: Buffer;
  tsMs?: string | number;
}

export type WireOpName = 'lwwPut' | 'lwwDelete' | 'mvPut' | 'counterAdd' | 'setAdd' | 'setRemove' | 'eventAppend';

export interface WireCrdtOp {
  op?: WireOpName;
  lwwPut?: WireLwwPut | null;
  lwwDelete?: WireLwwDelete | null;
  mvPut?: WireMvPut | null;
  counterAdd?: WireCounterAdd | null;
  setAdd?: WireSetMember | null;
  setRemove?: WireSetMember | null;
  eventAppend?: WireEventAppend | null;
}

export interface WireWriteRequest { namespace?: string; ops?: WireCrdtOp[] }

export interface WireReadRequest {
  namespace?: string;
  key?: Buffer;
  rangeEnd?: Buffer;
  device?: string;
  fromSeq?: string | number;
  toSeq?: string | number;
  limit?: number;
  serializable?: boolean;
}

export interface WireSupersededRequest { namespace?: string; key?: Buffer; rangeEnd?: Buffer; limit?: number; serializable?: boolean }
export interface WireCompletenessRequest { namespace?: string; device?: string; afterDevice?: string; limit?: number; serializable?: boolean }
export interface WireConflictsRequest { namespace?: string; afterKey?: Buffer; limit?: number; serializable?: boolean }
export interface WireHashRequest { namespace?: string }

/** regionstore.v1.Crdt (loaded once, with the other served services: proto.ts). */
export function loadCrdtService(): ServiceDefinition {
  return servedService('regionstore.v1.Crdt');
}
