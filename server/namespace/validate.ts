// Validation of namespace definitions and their defaults. Input is what a client sent (any
// field may be missing or wrong); output is a complete definition or a NamespaceError whose
// message says what to change. Pure: also run at apply time, so every member decides alike.

import * as L from './limits.js';
import {
  CrdtType, EVENTUAL_CRDT_TYPES, LEVELS, Level, NamespaceError, READ_LEVELS, ReadLevel, UPDATABLE_FIELDS,
  type NamespaceDefinition, type UpdatableField,
} from './types.js';

/** A definition as asked for: every field but the name may be left out (its default applies). */
export type NamespaceSpec = Partial<NamespaceDefinition> & { name: string };

const NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;
// Control characters (C0, DEL, C1) would make keys unprintable in every tool; refused.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

function invalid(message: string): NamespaceError {
  return new NamespaceError('invalid', message);
}

const encoder = new TextEncoder();
function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

export function validateName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw invalid('namespace name is empty: give a name such as "devices"');
  if (utf8Length(name) > L.NAME_BYTES_MAX) throw invalid(`namespace name is longer than ${L.NAME_BYTES_MAX} bytes`);
  if (!NAME_RE.test(name)) {
    throw invalid(`namespace name ${JSON.stringify(name)} is not valid: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit`);
  }
  return name;
}

/** Checks prefix bytes: valid UTF-8 without control characters. Returns the prefix as text. */
export function prefixFromBytes(bytes: Uint8Array): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('namespace prefix is not valid UTF-8: use printable UTF-8 text such as "devices/"');
  }
  return validatePrefix(text);
}

export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string') throw invalid('namespace prefix must be text');
  if (utf8Length(prefix) > L.PREFIX_BYTES_MAX) throw invalid(`namespace prefix is longer than ${L.PREFIX_BYTES_MAX} bytes`);
  if (CONTROL_RE.test(prefix)) throw invalid('namespace prefix holds control characters: use printable UTF-8 text such as "devices/"');
  if (prefix.includes('\ufffd')) throw invalid('namespace prefix holds U+FFFD (bytes that were not UTF-8): use printable UTF-8 text');
  return prefix;
}

function oneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalid(`unknown ${what} ${JSON.stringify(value)}: use one of ${allowed.join(', ')}`);
}

function intIn(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw invalid(`${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function schemaVersions(value: unknown): number[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('schema versions must name at least one version, e.g. 1');
  if (value.length > L.SCHEMA_VERSIONS_MAX) throw invalid(`at most ${L.SCHEMA_VERSIONS_MAX} schema versions`);
  const out = [...new Set(value.map((v) => intIn('a schema version', v, 1, L.SCHEMA_VERSION_MAX)))];
  return out.sort((a, b) => a - b);
}

/** Checks the settings that Update may change, in the context of a level and type. */
function checkSettings(d: NamespaceDefinition): NamespaceDefinition {
  if (d.level === Level.Eventual && d.readLevel !== ReadLevel.Serializable) {
    throw invalid(`read level ${d.readLevel} applies to strong namespaces only: an eventual namespace serves every read from the local replica (use serializable or leave it out)`);
  }
  d.maxStalenessMs = intIn('max_staleness_ms', d.maxStalenessMs, 1, L.MAX_STALENESS_MS_MAX);
  d.maxClockSkewMs = intIn('max_clock_skew_ms', d.maxClockSkewMs, 1, L.MAX_CLOCK_SKEW_MS_MAX);
  d.tombstoneTtlS = intIn('tombstone_ttl_s', d.tombstoneTtlS, 1, L.TOMBSTONE_TTL_S_MAX);
  d.siblingCap = intIn('sibling_cap', d.siblingCap, 1, L.SIBLING_CAP_MAX);
  d.siblingWarn = intIn('sibling_warn', d.siblingWarn, 1, d.siblingCap);
  d.schemaVersions = schemaVersions(d.schemaVersions);
  if (typeof d.description !== 'string') throw invalid('description must be text');
  if (utf8Length(d.description) > L.DESCRIPTION_BYTES_MAX) throw invalid(`description is longer than ${L.DESCRIPTION_BYTES_MAX} bytes`);
  return d;
}

/** A complete, valid definition from a spec, with every default written out. */
export function completeDefinition(spec: NamespaceSpec): NamespaceDefinition {
  const name = validateName(spec.name);
  const prefix = validatePrefix(spec.prefix ?? '');
  if (prefix === '' && name !== L.DEFAULT_NAMESPACE_NAME) {
    throw invalid('namespace prefix is empty: the prefix "" belongs to the default namespace; give a prefix such as "devices/"');
  }
  const level = oneOf('level', spec.level ?? Level.Strong, LEVELS);
  let crdtType: CrdtType;
  if (level === Level.Strong) {
    if (spec.crdtType !== undefined && spec.crdtType !== CrdtType.None) {
      throw invalid(`a strong namespace has no CRDT type (got ${JSON.stringify(spec.crdtType)}): leave it out, or create the namespace with level eventual`);
    }
    crdtType = CrdtType.None;
  } else {
    crdtType = oneOf('CRDT type', spec.crdtType ?? CrdtType.Lww, EVENTUAL_CRDT_TYPES);
  }
  const readLevel = oneOf('read level', spec.readLevel ?? (level === Level.Strong ? L.DEFAULT_READ_LEVEL : ReadLevel.Serializable), READ_LEVELS);
  return checkSettings({
    name, prefix, level, crdtType, readLevel,
    maxStalenessMs: spec.maxStalenessMs ?? L.DEFAULT_MAX_STALENESS_MS,
    maxClockSkewMs: spec.maxClockSkewMs ?? L.DEFAULT_MAX_CLOCK_SKEW_MS,
    tombstoneTtlS: spec.tombstoneTtlS ?? L.DEFAULT_TOMBSTONE_TTL_S,
    siblingWarn: spec.siblingWarn ?? L.DEFAULT_SIBLING_WARN,
    siblingCap: spec.siblingCap ?? L.DEFAULT_SIBLING_CAP,
    schemaVersions: spec.schemaVersions ?? [...L.DEFAULT_SCHEMA_VERSIONS],
    description: spec.description ?? '',
  });
}

/** The definition of the default namespace before any Update: strong, prefix "". */
export function defaultNamespace(): NamespaceDefinition {
  return completeDefinition({ name: L.DEFAULT_NAMESPACE_NAME, prefix: '' });
}

export function validateUpdateFields(fields: readonly string[]): UpdatableField[] {
  if (fields.length === 0) {
    throw invalid(`name the fields to change: any of ${UPDATABLE_FIELDS.join(', ')} (name, prefix, level and crdt_type are fixed at creation)`);
  }
  for (const f of fields) {
    if (!(UPDATABLE_FIELDS as readonly string[]).includes(f)) {
      throw new NamespaceError('failed-precondition', `field ${JSON.stringify(f)} cannot be changed: only ${UPDATABLE_FIELDS.join(', ')} can; name, prefix, level and crdt_type are fixed at creation (create a new namespace instead)`);
    }
  }
  return [...new Set(fields)] as UpdatableField[];
}

/** `current` with the named fields taken from `values`, validated as a whole. */
export function applyUpdate(current: NamespaceDefinition, fields: readonly UpdatableField[], values: Partial<NamespaceDefinition>): NamespaceDefinition {
  const next: NamespaceDefinition = { ...current, schemaVersions: [...current.schemaVersions] };
  for (const f of fields) {
    const v = values[f];
    if (v === undefined) throw invalid(`field ${f} is named but has no value`);
    (next as unknown as Record<string, unknown>)[f] = v;
  }
  next.readLevel = oneOf('read level', next.readLevel, READ_LEVELS);
  return checkSettings(next);
}
