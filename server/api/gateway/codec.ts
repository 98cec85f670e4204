// etcd's gateway JSON, both ways, over protobufjs reflection (schema.ts). etcd 3.5 serves
// its gateway with grpc-gateway v1's default marshaler, jsonpb with OrigName and without
// EmitDefaults, so an answer has:
//   - the .proto field names (`create_revision`, `prev_kv`, `dbSize`, `ID`);
//   - no field that holds its default (0, false, "", empty bytes, the enum's first value,
//     an empty list); a sub-message is written when present, even empty (`"header":{}`);
//   - 64-bit integers as decimal strings, 32-bit ones as numbers, bytes as standard
//     base64, enums by name.
// A request is read as jsonpb reads one: either the .proto name or its lowerCamelCase
// JSON name, integers as numbers or strings, enums by name or number, bytes as base64
// (standard or URL-safe, padded or not), null as "not set", unknown fields ignored
// (grpc-gateway 1.16 allows them).

import protobuf from 'protobufjs';
import { JsonNumber, type JsonValue } from './json-parse.js';

/** A request body that does not fit the message: answered INVALID_ARGUMENT (HTTP 400). */
export class GatewayInputError extends Error {
  override name = 'GatewayInputError';
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const INT32_MIN = -(1n << 31n);
const INT32_MAX = (1n << 31n) - 1n;
const UINT32_MAX = (1n << 32n) - 1n;

const RANGES: Record<string, { min: bigint; max: bigint; wide: boolean; parse: string }> = {
  int64: { min: INT64_MIN, max: INT64_MAX, wide: true, parse: 'ParseInt' },
  sint64: { min: INT64_MIN, max: INT64_MAX, wide: true, parse: 'ParseInt' },
  sfixed64: { min: INT64_MIN, max: INT64_MAX, wide: true, parse: 'ParseInt' },
  uint64: { min: 0n, max: UINT64_MAX, wide: true, parse: 'ParseUint' },
  fixed64: { min: 0n, max: UINT64_MAX, wide: true, parse: 'ParseUint' },
  int32: { min: INT32_MIN, max: INT32_MAX, wide: false, parse: 'ParseInt' },
  sint32: { min: INT32_MIN, max: INT32_MAX, wide: false, parse: 'ParseInt' },
  sfixed32: { min: INT32_MIN, max: INT32_MAX, wide: false, parse: 'ParseInt' },
  uint32: { min: 0n, max: UINT32_MAX, wide: false, parse: 'ParseUint' },
  fixed32: { min: 0n, max: UINT32_MAX, wide: false, parse: 'ParseUint' },
};

function jsonKind(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (v instanceof JsonNumber) return 'number';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

function mismatch(v: JsonValue, field: protobuf.Field, want: string): GatewayInputError {
  return new GatewayInputError(`json: cannot unmarshal ${jsonKind(v)} into field "${field.name}" of type ${want}`);
}

/** lowerCamelCase JSON name of a .proto field name, as protoc derives it. */
function jsonName(name: string): string {
  return name.replace(/_(.)/g, (_m, c: string) => c.toUpperCase());
}

const fieldIndex = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

function fieldsByAnyName(type: protobuf.Type): Map<string, protobuf.Field> {
  let m = fieldIndex.get(type);
  if (m === undefined) {
    m = new Map();
    for (const f of type.fieldsArray) {
      m.set(jsonName(f.name), f);
      m.set(f.name, f);
    }
    fieldIndex.set(type, m);
  }
  return m;
}

function integerFromJson(v: JsonValue, field: protobuf.Field): string | number {
  const range = RANGES[field.type]!;
  let text: string;
  if (v instanceof JsonNumber) text = v.text;
  else if (typeof v === 'string') text = v;
  else throw mismatch(v, field, field.type);
  if (!/^-?[0-9]+$/.test(text)) throw new GatewayInputError(`strconv.${range.parse}: parsing ${JSON.stringify(text)}: invalid syntax`);
  const n = BigInt(text);
  if (n < range.min || n > range.max) throw new GatewayInputError(`strconv.${range.parse}: parsing ${JSON.stringify(text)}: value out of range`);
  return range.wide ? n.toString() : Number(n);
}

const BASE64_STD = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_URL = /^[A-Za-z0-9_-]*={0,2}$/;

function bytesFromJson(v: JsonValue, field: protobuf.Field): Buffer {
  if (typeof v !== 'string') throw mismatch(v, field, '[]byte');
  const std = BASE64_STD.test(v);
  if (!std && !BASE64_URL.test(v)) {
    // Go's text names the first byte outside the alphabet.
    const bad = v.search(/[^A-Za-z0-9+/=_-]/);
    throw new GatewayInputError(`illegal base64 data at input byte ${bad < 0 ? v.indexOf('=') : bad}`);
  }
  const unpadded = v.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) throw new GatewayInputError(`illegal base64 data at input byte ${unpadded.length - 1}`);
  return Buffer.from(unpadded, std ? 'base64' : 'base64url');
}

/** The Go type name protoc-gen-gogo gives an enum: package.Outer_Inner. */
function goEnumName(e: protobuf.Enum): string {
  const names = [e.name];
  let p = e.parent;
  while (p instanceof protobuf.Type) {
    names.unshift(p.name);
    p = p.parent;
  }
  const pkg = p?.fullName.slice(1) ?? '';
  return `${pkg === '' ? '' : `${pkg}.`}${names.join('_')}`;
}

function enumFromJson(v: JsonValue, field: protobuf.Field, e: protobuf.Enum): number {
  if (typeof v === 'string') {
    const n = e.values[v];
    if (n === undefined) throw new GatewayInputError(`unknown value ${JSON.stringify(v)} for enum ${goEnumName(e)}`);
    return n;
  }
  if (v instanceof JsonNumber && /^-?[0-9]+$/.test(v.text)) return Number(v.text);
  throw mismatch(v, field, goEnumName(e));
}

function scalarFromJson(v: JsonValue, field: protobuf.Field): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return objectFromJson(t, v);
  if (t instanceof protobuf.Enum) return enumFromJson(v, field, t);
  switch (field.type) {
    case 'string':
      if (typeof v !== 'string') throw mismatch(v, field, 'string');
      return v;
    case 'bytes':
      return bytesFromJson(v, field);
    case 'bool':
      if (typeof v !== 'boolean') throw mismatch(v, field, 'bool');
      return v;
    case 'double':
    case 'float':
      if (v instanceof JsonNumber) return Number(v.text);
      throw mismatch(v, field, field.type);
    default:
      return integerFromJson(v, field);
  }
}

/** A protobufjs fromObject() input for `type` from a parsed JSON value. */
function objectFromJson(type: protobuf.Type, v: JsonValue): Record<string, unknown> {
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber) {
    // jsonpb reads a message as a map of raw values first; Go's decoder words it so.
    throw new GatewayInputError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type map[string]json.RawMessage`);
  }
  const byName = fieldsByAnyName(type);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    const field = byName.get(key);
    // Unknown fields are ignored, as grpc-gateway 1.16 (etcd 3.5) and etcd 3.4 do.
    if (field === undefined || value === null) continue;
    if (field.repeated) {
      if (!Array.isArray(value)) throw mismatch(value, field, `[]${field.type}`);
      out[field.name] = value.map((item) => scalarFromJson(item, field));
    } else {
      out[field.name] = scalarFromJson(value, field);
    }
  }
  return out;
}

/** The protobuf encoding of `type` read from a parsed JSON request. */
export function encodeFromJson(type: protobuf.Type, v: JsonValue): Uint8Array {
  return type.encode(type.fromObject(objectFromJson(type, v))).finish();
}

type Long = { isZero(): boolean; toString(): string };

function isLong(v: unknown): v is Long {
  return typeof v === 'object' && v !== null && typeof (v as Long).isZero === 'function';
}

function isDefault(v: unknown): boolean {
  if (v === undefined || v === null || v === 0 || v === false || v === '') return true;
  if (isLong(v)) return v.isZero();
  if (v instanceof Uint8Array) return v.length === 0;
  // protobufjs's prototype default of an absent bytes field is an empty array.
  if (Array.isArray(v)) return v.length === 0;
  return false;
}

function scalarToJson(v: unknown, field: protobuf.Field): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return messageToJson(t, v as protobuf.Message);
  if (t instanceof protobuf.Enum) return t.valuesById[v as number] ?? v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.length).toString('base64');
  const range = RANGES[field.type];
  if (range?.wide === true) return isLong(v) ? v.toString() : String(v);
  return v;
}

/** A decoded message as etcd's gateway writes it (a plain object for JSON.stringify). */
export function messageToJson(type: protobuf.Type, msg: protobuf.Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const m = msg as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const v = m[field.name];
    if (field.repeated) {
      if (Array.isArray(v) && v.length > 0) out[field.name] = v.map((item) => scalarToJson(item, field));
      continue;
    }
    if (field.resolvedType instanceof protobuf.Type) {
      if (v !== null && v !== undefined) out[field.name] = scalarToJson(v, field);
      continue;
    }
    // A oneof member that is set is written even at its default (jsonpb asks Has()).
    const setInOneof = field.partOf !== null && Object.prototype.hasOwnProperty.call(m, field.name) && v != null;
    if (setInOneof || !isDefault(v)) out[field.name] = scalarToJson(v, field);
  }
  return out;
}

/** `bytes` decoded as `type`, as etcd's gateway JSON text. */
export function jsonFromEncoded(type: protobuf.Type, bytes: Uint8Array): string {
  return JSON.stringify(messageToJson(type, type.decode(bytes)));
}
