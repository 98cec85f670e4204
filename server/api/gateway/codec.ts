// etcd's gateway JSON, both ways, over protobufjs reflection (schema.ts). etcd 3.5 serves
// its gateway with grpc-gateway v1's default marshaler, jsonpb with OrigName and without
// EmitDefaults, so an answer has:
//   - the .proto field names (`create_revision`, `prev_kv`, `dbSize`, `ID`);
//   - no field that holds its default (0, false, "", empty bytes, the enum's first value,
//     an empty list); a sub-message is written when present, even empty (`"header":{}`);
//   - 64-bit integers as decimal strings, 32-bit ones as numbers, bytes as standard
//     base64, enums by name.
// A request is read as etcd's jsonpb reads one: either the .proto name or its lowerCamelCase
// JSON name, integers as numbers or strings holding one, enums by name or number, bytes as
// standard padded base64 (Go's encoding/json), null as "not set", unknown fields ignored
// (grpc-gateway 1.16 allows them). Refusals carry the texts etcd answers with (checked
// against etcd 3.4 with curl).

import protobuf from 'protobufjs';
import { JsonNumber, JsonSyntaxError, parseJsonValue, skipWhitespace, type JsonValue } from './json-parse.js';

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

const RANGES: Record<string, { min: bigint; max: bigint; wide: boolean; go: string }> = {
  int64: { min: INT64_MIN, max: INT64_MAX, wide: true, go: 'int64' },
  sint64: { min: INT64_MIN, max: INT64_MAX, wide: true, go: 'int64' },
  sfixed64: { min: INT64_MIN, max: INT64_MAX, wide: true, go: 'int64' },
  uint64: { min: 0n, max: UINT64_MAX, wide: true, go: 'uint64' },
  fixed64: { min: 0n, max: UINT64_MAX, wide: true, go: 'uint64' },
  int32: { min: INT32_MIN, max: INT32_MAX, wide: false, go: 'int32' },
  sint32: { min: INT32_MIN, max: INT32_MAX, wide: false, go: 'int32' },
  sfixed32: { min: INT32_MIN, max: INT32_MAX, wide: false, go: 'int32' },
  uint32: { min: 0n, max: UINT32_MAX, wide: false, go: 'uint32' },
  fixed32: { min: 0n, max: UINT32_MAX, wide: false, go: 'uint32' },
};

function jsonKind(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (v instanceof JsonNumber) return 'number';
  if (Array.isArray(v)) return 'array';
  return 'object';
}

/** Go's encoding/json text for a value of the wrong kind. */
function mismatch(v: JsonValue, goType: string): GatewayInputError {
  return new GatewayInputError(`json: cannot unmarshal ${jsonKind(v)} into Go value of type ${goType}`);
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

/**
 * An integer field: a JSON number, or a string whose content is one (jsonpb unquotes it
 * and decodes the rest as JSON, so "0x10" or "1.0" fail as Go says they fail).
 */
function integerFromJson(v: JsonValue, field: protobuf.Field): string | number {
  const range = RANGES[field.type]!;
  let text: string;
  if (v instanceof JsonNumber) text = v.text;
  else if (typeof v === 'string') {
    let inner: JsonValue;
    try {
      const parsed = parseJsonValue(v, skipWhitespace(v, 0));
      const rest = skipWhitespace(v, parsed.end);
      if (rest < v.length) throw new JsonSyntaxError(`invalid character '${v[rest]!}' after top-level value`);
      inner = parsed.value;
    } catch (err) {
      if (err instanceof JsonSyntaxError) throw new GatewayInputError(err.message);
      throw err;
    }
    if (!(inner instanceof JsonNumber)) throw mismatch(inner, range.go);
    text = inner.text;
  } else throw mismatch(v, range.go);
  const n = /^-?[0-9]+$/.test(text) ? BigInt(text) : undefined;
  if (n === undefined || n < range.min || n > range.max) {
    throw new GatewayInputError(`json: cannot unmarshal number ${text} into Go value of type ${range.go}`);
  }
  return range.wide ? n.toString() : Number(n);
}

const BASE64_ALPHABET = /[A-Za-z0-9+/]/;

function fail(at: number): never {
  throw new GatewayInputError(`illegal base64 data at input byte ${at}`);
}

/**
 * Go's base64.StdEncoding.Decode, which encoding/json uses for []byte: padded standard
 * base64 only (CR and LF skipped), failing at the byte Go names.
 */
function goBase64(s: string): Buffer {
  let si = 0;
  const skipNewlines = (): void => {
    while (si < s.length && (s[si] === '\n' || s[si] === '\r')) si++;
  };
  let clean = '';
  for (;;) {
    let j = 0;
    let quantum = '';
    while (j < 4) {
      if (si === s.length) {
        if (j === 0) return Buffer.from(clean, 'base64');
        return fail(si - j);
      }
      const c = s[si++]!;
      if (BASE64_ALPHABET.test(c)) {
        quantum += c;
        j++;
        continue;
      }
      if (c === '\n' || c === '\r') continue;
      if (c !== '=') return fail(si - 1);
      // Padding: only after 2 or 3 characters of a quantum, and it ends the input.
      if (j < 2) return fail(si - 1);
      if (j === 2) {
        skipNewlines();
        if (si === s.length) return fail(s.length);
        if (s[si] !== '=') return fail(si - 1);
        si++;
      }
      skipNewlines();
      if (si < s.length) return fail(si);
      return Buffer.from(clean + quantum, 'base64');
    }
    clean += quantum;
  }
}

/** Bytes: base64 text, or (Go's encoding/json decodes a []byte from either) an array of byte values. */
function bytesFromJson(v: JsonValue): Buffer {
  if (typeof v === 'string') return goBase64(v);
  if (!Array.isArray(v)) throw mismatch(v, '[]uint8');
  return Buffer.from(
    v.map((item) => {
      if (!(item instanceof JsonNumber)) throw mismatch(item, 'uint8');
      const n = /^[0-9]+$/.test(item.text) ? Number(item.text) : -1;
      if (n < 0 || n > 255) throw new GatewayInputError(`json: cannot unmarshal number ${item.text} into Go value of type uint8`);
      return n;
    }),
  );
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

function enumFromJson(v: JsonValue, e: protobuf.Enum): number {
  if (typeof v === 'string') {
    const n = Object.prototype.hasOwnProperty.call(e.values, v) ? e.values[v] : undefined;
    if (n === undefined) throw new GatewayInputError(`unknown value ${JSON.stringify(v)} for enum ${goEnumName(e)}`);
    return n;
  }
  const goType = goEnumName(e);
  if (v instanceof JsonNumber) {
    const n = /^-?[0-9]+$/.test(v.text) ? BigInt(v.text) : undefined;
    if (n !== undefined && n >= INT32_MIN && n <= INT32_MAX) return Number(n);
    throw new GatewayInputError(`json: cannot unmarshal number ${v.text} into Go value of type ${goType}`);
  }
  throw mismatch(v, goType);
}

function scalarFromJson(v: JsonValue, field: protobuf.Field): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return objectFromJson(t, v);
  if (t instanceof protobuf.Enum) return enumFromJson(v, t);
  switch (field.type) {
    case 'string':
      if (typeof v !== 'string') throw mismatch(v, 'string');
      return v;
    case 'bytes':
      return bytesFromJson(v);
    case 'bool':
      if (typeof v !== 'boolean') throw mismatch(v, 'bool');
      return v;
    case 'double':
    case 'float':
      if (v instanceof JsonNumber) return Number(v.text);
      throw mismatch(v, field.type === 'double' ? 'float64' : 'float32');
    default:
      return integerFromJson(v, field);
  }
}

/** A protobufjs fromObject() input for `type` from a parsed JSON value. */
function objectFromJson(type: protobuf.Type, v: JsonValue): Record<string, unknown> {
  if (v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof JsonNumber) {
    // jsonpb reads a message as a map of raw values first; Go's decoder words it so.
    throw mismatch(v, 'map[string]json.RawMessage');
  }
  const byName = fieldsByAnyName(type);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    const field = byName.get(key);
    // Unknown fields are ignored, as grpc-gateway 1.16 (etcd 3.5) and etcd 3.4 do.
    if (field === undefined || value === null) continue;
    if (field.repeated) {
      // jsonpb reads a list as raw values first; Go's decoder words a mismatch so.
      if (!Array.isArray(value)) throw mismatch(value, '[]json.RawMessage');
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

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/**
 * JSON text as Go's encoding/json writes it: HTML-safe, with <, >, & and the two JS line
 * separators escaped (they only occur inside strings, so a pass over the text is enough).
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

/** `bytes` decoded as `type`, as etcd's gateway JSON text. */
export function jsonFromEncoded(type: protobuf.Type, bytes: Uint8Array): string {
  return goJson(messageToJson(type, type.decode(bytes)));
}
