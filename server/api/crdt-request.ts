// Wire requests of regionstore.v1.Crdt → the CrdtBackend's inputs, checked for everything
// the request alone can judge (DESIGN §8): required fields per op, sizes, counts, numbers
// that must fit, one CRDT type per Write. What only the state can judge (the namespace
// exists, its level and type, a context token's meaning, an event seq reused with other
// content, the sibling cap) is the backend's. Pure: each function returns or throws an
// ApiError whose message says what to change.

import { status } from '@grpc/grpc-js';
import { validateName } from '../namespace/index.js';
import type { CrdtOpInput, CrdtReadInput, CrdtWriteInput } from './crdt-backend.js';
import type {
  WireCompletenessRequest, WireConflictsRequest, WireCrdtOp, WireOpName, WireReadRequest, WireSupersededRequest, WireWriteRequest,
} from './crdt-wire.js';
import { ApiError, invalidArgument } from './errors.js';
import { CRDT_CONTEXT_BYTES_MAX, CRDT_EVENT_DEVICE_BYTES_MAX, CRDT_EVENT_TYPE_BYTES_MAX, type ApiLimits } from './limits.js';

/** The CRDT type each op writes: one Write is one namespace, so one type. */
const OP_TYPE: Record<WireOpName, string> = {
  lwwPut: 'lww', lwwDelete: 'lww', mvPut: 'mv', counterAdd: 'counter', setAdd: 'set', setRemove: 'set', eventAppend: 'events',
};
/** The proto field names, for messages. */
const OP_FIELD: Record<WireOpName, string> = {
  lwwPut: 'lww_put', lwwDelete: 'lww_delete', mvPut: 'mv_put', counterAdd: 'counter_add', setAdd: 'set_add', setRemove: 'set_remove', eventAppend: 'event_append',
};

const EMPTY = Buffer.alloc(0);
// Control characters make ids unprintable in every tool (and in the etcd key of an event).
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const encoder = new TextEncoder();

function resourceExhausted(details: string): ApiError {
  return new ApiError(status.RESOURCE_EXHAUSTED, details);
}

/** A uint64/int64 field (a decimal string from the loader) that must be a safe integer. */
export function wireInteger(v: string | number | undefined, field: string, min: number): number {
  const n = typeof v === 'number' ? v : v === undefined || v === '' ? 0 : /^-?[0-9]{1,20}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw invalidArgument(`regionstore: ${field} must be a whole number from ${min} to 2^53-1, got ${String(v)}`);
  }
  return n;
}

function checkNamespaceName(name: string): void {
  if (name !== '') validateName(name);
}

/** A device id or event type: required (when `what` says what it is), short, printable. */
function checkId(field: string, v: string | undefined, max: number, what?: string): string {
  const s = v ?? '';
  if (s === '' && what !== undefined) throw invalidArgument(`regionstore: ${field} is required: ${what}`);
  if (encoder.encode(s).length > max) throw invalidArgument(`regionstore: ${field} is longer than ${max} bytes`);
  if (CONTROL_RE.test(s)) throw invalidArgument(`regionstore: ${field} holds control characters: use printable text`);
  return s;
}

function checkKey(key: Buffer | undefined, where: string, limits: ApiLimits): Buffer {
  const k = key ?? EMPTY;
  if (k.length === 0) throw invalidArgument(`regionstore: ${where}.key is required: the full etcd key, namespace prefix included`);
  if (k.length > limits.keyBytesMax) throw invalidArgument(`regionstore: ${where}.key is ${k.length} bytes, the limit is ${limits.keyBytesMax}`);
  return k;
}

function checkOpBytes(bytes: number, where: string, what: string, limits: ApiLimits): void {
  if (bytes > limits.crdtOpBytesMax) {
    throw invalidArgument(`regionstore: ${where} is ${bytes} bytes (${what}), the limit per op is ${limits.crdtOpBytesMax} (CRDT_OP_BYTES_MAX): split the value`);
  }
}

/** One wire op → a backend op; `i` names it in messages. */
function opFromWire(w: WireCrdtOp, i: number, limits: ApiLimits): CrdtOpInput {
  const name = w.op;
  if (name === undefined || OP_TYPE[name] === undefined) {
    throw invalidArgument(`regionstore: ops[${i}] sets no op: set one of ${Object.values(OP_FIELD).join(', ')}`);
  }
  const where = `ops[${i}].${OP_FIELD[name]}`;
  switch (name) {
    case 'lwwPut': {
      const key = checkKey(w.lwwPut?.key, where, limits);
      const value = w.lwwPut?.value ?? EMPTY;
      checkOpBytes(key.length + value.length, where, 'key + value', limits);
      return { type: 'lwwPut', key, value };
    }
    case 'lwwDelete':
      return { type: 'lwwDelete', key: checkKey(w.lwwDelete?.key, where, limits) };
    case 'mvPut': {
      const key = checkKey(w.mvPut?.key, where, limits);
      const value = w.mvPut?.value ?? EMPTY;
      const context = w.mvPut?.context ?? '';
      checkOpBytes(key.length + value.length, where, 'key + value', limits);
      if (context.length > CRDT_CONTEXT_BYTES_MAX) {
        throw invalidArgument(`regionstore: ${where}.context is ${context.length} bytes, the limit is ${CRDT_CONTEXT_BYTES_MAX}: send back the token a Read returned, unchanged`);
      }
      return { type: 'mvPut', key, value, context };
    }
    case 'counterAdd': {
      const key = checkKey(w.counterAdd?.key, where, limits);
      const delta = wireInteger(w.counterAdd?.delta, `${where}.delta`, -Number.MAX_SAFE_INTEGER);
      // proto3 cannot tell 0 from "not set"; an add of nothing is a client's mistake.
      if (delta === 0) throw invalidArgument(`regionstore: ${where}.delta is 0 (or not set): send the amount to add, negative to subtract`);
      return { type: 'counterAdd', key, delta };
    }
    case 'setAdd':
    case 'setRemove': {
      const body = name === 'setAdd' ? w.setAdd : w.setRemove;
      const key = checkKey(body?.key, where, limits);
      const member = body?.member ?? EMPTY;
      if (member.length === 0) throw invalidArgument(`regionstore: ${where}.member is required (a set member is non-empty bytes)`);
      checkOpBytes(key.length + member.length, where, 'key + member', limits);
      return { type: name, key, member };
    }
    case 'eventAppend': {
      const e = w.eventAppend ?? {};
      const device = checkId(`${where}.device`, e.device, CRDT_EVENT_DEVICE_BYTES_MAX, 'the device the event is from');
      const eventType = checkId(`${where}.type`, e.type, CRDT_EVENT_TYPE_BYTES_MAX, 'the event type, e.g. "reading"');
      const payload = e.payload ?? EMPTY;
      checkOpBytes(payload.length + device.length + eventType.length, where, 'payload + device + type', limits);
      return {
        type: 'eventAppend', device, eventType, payload,
        seq: wireInteger(e.seq, `${where}.seq`, 0),
        schemaVersion: e.schemaVersion ?? 0,
        tsMs: wireInteger(e.tsMs, `${where}.ts_ms`, 0),
      };
    }
  }
}

/** A Write request, validated, as the backend takes it. */
export function writeFromWire(req: WireWriteRequest, limits: ApiLimits): CrdtWriteInput {
  const namespace = req.namespace ?? '';
  checkNamespaceName(namespace);
  const wireOps = req.ops ?? [];
  if (wireOps.length === 0) throw invalidArgument('regionstore: a Write needs at least one op');
  // Key ops count against the ops limit, event appends against the events limit.
  const events = wireOps[0]!.op === 'eventAppend';
  if (events && wireOps.length > limits.crdtEventsPerAppendMax) {
    throw resourceExhausted(`regionstore: an append holds ${wireOps.length} events, the limit is ${limits.crdtEventsPerAppendMax} (CRDT_EVENTS_PER_APPEND_MAX): send several batches`);
  }
  if (!events && wireOps.length > limits.crdtWriteOpsMax) {
    throw resourceExhausted(`regionstore: a Write holds ${wireOps.length} ops, the limit is ${limits.crdtWriteOpsMax} (CRDT_WRITE_OPS_MAX): split it into several Writes`);
  }
  const ops: CrdtOpInput[] = [];
  let type: string | undefined;
  let bytes = 0;
  for (let i = 0; i < wireOps.length; i++) {
    const w = wireOps[i]!;
    const op = opFromWire(w, i, limits);
    const opType = OP_TYPE[w.op!];
    if (type !== undefined && opType !== type) {
      throw invalidArgument(`regionstore: ops[${i}] writes a ${opType} and ops[0] a ${type}: one Write is one namespace, so one CRDT type; send two Writes`);
    }
    type = opType;
    bytes += opBytes(op);
    ops.push(op);
  }
  if (events && namespace === '') throw invalidArgument('regionstore: event appends have no key: name the events namespace in the namespace field');
  if (bytes > limits.requestBytesMax) {
    throw invalidArgument(`regionstore: a Write holds ${bytes} bytes of keys and values, the limit is ${limits.requestBytesMax}: split it into several Writes`);
  }
  return { namespace, ops };
}

function opBytes(op: CrdtOpInput): number {
  switch (op.type) {
    case 'lwwPut':
    case 'mvPut':
      return op.key.length + op.value.length;
    case 'lwwDelete':
    case 'counterAdd':
      return op.key.length;
    case 'setAdd':
    case 'setRemove':
      return op.key.length + op.member.length;
    case 'eventAppend':
      return op.payload.length;
  }
}

/** A page size: 0 asks for the default; above the maximum the answer is cut there (`more` says so). */
function pageSize(limit: number | undefined, dflt: number, max: number): number {
  const n = limit ?? 0;
  return n === 0 ? dflt : Math.min(n, max);
}

function optionalKey(key: Buffer | undefined, field: string, limits: ApiLimits): Buffer {
  const k = key ?? EMPTY;
  if (k.length > limits.keyBytesMax) throw invalidArgument(`regionstore: ${field} is ${k.length} bytes, the limit is ${limits.keyBytesMax}`);
  return k;
}

/** A namespace name or a key must say which namespace a read is of. */
function needScope(namespace: string, key: Uint8Array, what: string): void {
  checkNamespaceName(namespace);
  if (namespace === '' && key.length === 0) throw invalidArgument(`regionstore: ${what} needs a namespace name or a key`);
}

export function readFromWire(req: WireReadRequest, limits: ApiLimits): CrdtReadInput {
  const namespace = req.namespace ?? '';
  const key = optionalKey(req.key, 'key', limits);
  const rangeEnd = optionalKey(req.rangeEnd, 'range_end', limits);
  needScope(namespace, key, 'a Read');
  const device = checkId('device', req.device, CRDT_EVENT_DEVICE_BYTES_MAX);
  const fromSeq = wireInteger(req.fromSeq, 'from_seq', 0);
  const toSeq = wireInteger(req.toSeq, 'to_seq', 0);
  if (fromSeq !== 0 && toSeq !== 0 && toSeq < fromSeq) throw invalidArgument(`regionstore: to_seq ${toSeq} is below from_seq ${fromSeq}`);
  const limit = pageSize(req.limit, limits.crdtReadLimitDefault, limits.crdtReadLimitMax);
  return { namespace, key, rangeEnd, device, fromSeq, toSeq, limit };
}

export function supersededFromWire(req: WireSupersededRequest, limits: ApiLimits): { namespace: string; key: Uint8Array; rangeEnd: Uint8Array; limit: number } {
  const namespace = req.namespace ?? '';
  const key = optionalKey(req.key, 'key', limits);
  const rangeEnd = optionalKey(req.rangeEnd, 'range_end', limits);
  needScope(namespace, key, 'Superseded');
  return { namespace, key, rangeEnd, limit: pageSize(req.limit, limits.crdtReadLimitDefault, limits.crdtReadLimitMax) };
}

export function completenessFromWire(req: WireCompletenessRequest, limits: ApiLimits): { namespace: string; device: string; afterDevice: string; limit: number } {
  const namespace = req.namespace ?? '';
  if (namespace === '') throw invalidArgument('regionstore: Completeness needs the events namespace name');
  checkNamespaceName(namespace);
  const device = checkId('device', req.device, CRDT_EVENT_DEVICE_BYTES_MAX);
  // A paging cursor: the last device name of the previous page, so it is a device id too.
  const afterDevice = checkId('after_device', req.afterDevice, CRDT_EVENT_DEVICE_BYTES_MAX);
  return { namespace, device, afterDevice, limit: pageSize(req.limit, limits.crdtDevicesPageDefault, limits.crdtDevicesPageMax) };
}

export function conflictsFromWire(req: WireConflictsRequest, limits: ApiLimits): { namespace: string; afterKey: Uint8Array; limit: number } {
  const namespace = req.namespace ?? '';
  if (namespace === '') throw invalidArgument('regionstore: Conflicts needs the mv namespace name');
  checkNamespaceName(namespace);
  return { namespace, afterKey: optionalKey(req.afterKey, 'after_key', limits), limit: pageSize(req.limit, limits.crdtReadLimitDefault, limits.crdtReadLimitMax) };
}

export function hashNamespaceFromWire(namespace: string | undefined): string {
  if (namespace === undefined || namespace === '') throw invalidArgument('regionstore: Hash needs a namespace name');
  return validateName(namespace);
}
