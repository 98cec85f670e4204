// The namespace registry: an immutable set of definitions with longest-prefix routing and
// the rules of DESIGN.md §2. Changes return a new registry (the applier swaps it in once the
// change is written), so a reader never sees half of a change.
//
// Invariants: exactly one namespace has the prefix "" (the default, named `default`); no two
// namespaces share a name or a prefix. Nesting is allowed: a key belongs to the namespace
// with the longest prefix of it.

import { assert } from '../util/assert.js';
import { type KeyRange, compareBytes, overlaps, prefixEnd, startsWith } from './bytes.js';
import { DEFAULT_NAMESPACE_NAME, NAMESPACES_MAX } from './limits.js';
import { NamespaceError, READ_LEVELS, ReadLevel, type NamespaceCommand, type NamespaceDefinition } from './types.js';
import { applyUpdate, completeDefinition, defaultNamespace, validateUpdateFields } from './validate.js';

const encoder = new TextEncoder();

interface Entry {
  def: NamespaceDefinition;
  prefix: Uint8Array;
  /** The ranges of keys that route here (its prefix range without nested ones); set once. */
  owned: KeyRange[];
}

/** What a command needs checked against the keys before it may apply (the applier counts). */
export interface KeyCheck {
  /** The ranges whose live keys would change namespace (create) or go away (delete). */
  ranges: KeyRange[];
  /** The namespace those keys belong to now. */
  owner: NamespaceDefinition;
}

export class NamespaceRegistry {
  /** Sorted by prefix length, longest first: the first match routes. */
  private readonly entries: Entry[];

  private constructor(entries: Entry[]) {
    this.entries = entries.sort((a, b) => b.prefix.length - a.prefix.length || compareBytes(a.prefix, b.prefix));
    for (const e of this.entries) e.owned = this.ownedRanges(e.prefix);
    assert(this.entries.filter((e) => e.prefix.length === 0).length === 1, 'registry: exactly one namespace has prefix ""');
  }

  /** A registry from stored definitions; the default namespace is added when absent. */
  static of(defs: Iterable<NamespaceDefinition>): NamespaceRegistry {
    const entries: Entry[] = [];
    for (const def of defs) entries.push({ def, prefix: encoder.encode(def.prefix), owned: [] });
    if (!entries.some((e) => e.def.name === DEFAULT_NAMESPACE_NAME)) entries.push({ def: defaultNamespace(), prefix: new Uint8Array(0), owned: [] });
    return new NamespaceRegistry(entries);
  }

  static empty(): NamespaceRegistry {
    return NamespaceRegistry.of([]);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Every definition, by name. */
  list(): NamespaceDefinition[] {
    return this.entries.map((e) => e.def).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): NamespaceDefinition | undefined {
    return this.entries.find((e) => e.def.name === name)?.def;
  }

  /** The namespace a key belongs to: the longest registered prefix of it. */
  route(key: Uint8Array): NamespaceDefinition {
    for (const e of this.entries) if (startsWith(key, e.prefix)) return e.def;
    throw new Error('unreachable: the default namespace matches every key');
  }

  /**
   * Namespaces that own a key of the range [key, end) (end undefined: the one key; empty
   * end: to the end of the keyspace, etcd's "\0" is handled by the caller).
   */
  routeRange(key: Uint8Array, end: Uint8Array | undefined): NamespaceDefinition[] {
    if (end === undefined || this.entries.length === 1) return [this.route(key)];
    const range = { start: key, end: end.length === 0 ? undefined : end };
    const out: NamespaceDefinition[] = [];
    for (const e of this.entries) if (e.owned.some((r) => overlaps(range, r))) out.push(e.def);
    return out.length > 0 ? out : [this.route(key)];
  }

  /** The key ranges owned by the namespace whose prefix is `prefix`: its range without those of namespaces nested inside. */
  ownedRanges(prefix: Uint8Array): KeyRange[] {
    const nested = this.entries
      .filter((e) => e.prefix.length > prefix.length && startsWith(e.prefix, prefix))
      .map((e) => ({ start: e.prefix, end: prefixEnd(e.prefix) }))
      .sort((a, b) => compareBytes(a.start, b.start));
    const out: KeyRange[] = [];
    let at: Uint8Array | undefined = prefix;
    const end = prefixEnd(prefix);
    for (const n of nested) {
      if (at === undefined) break;
      if (compareBytes(n.start, at) > 0) out.push({ start: at, end: n.start });
      // A nested range inside an earlier nested one (deeper nesting) ends no later than it.
      if (n.end === undefined) at = undefined;
      else if (compareBytes(n.end, at) > 0) at = n.end;
    }
    if (at !== undefined && (end === undefined || compareBytes(at, end) < 0)) out.push({ start: at, end });
    return out;
  }

  /**
   * Checks a command against the registry (not the keys). Returns the key check the applier
   * must make before applying it (undefined: none), or throws NamespaceError.
   */
  check(cmd: NamespaceCommand): KeyCheck | undefined {
    switch (cmd.op) {
      case 'create': {
        const def = completeDefinition(cmd.definition);
        if (this.get(def.name) !== undefined) throw new NamespaceError('already-exists', `namespace ${JSON.stringify(def.name)} already exists: pick another name, or update it`);
        const taken = this.entries.find((e) => e.def.prefix === def.prefix);
        if (taken !== undefined) {
          throw new NamespaceError('already-exists', `prefix ${JSON.stringify(def.prefix)} is already the prefix of namespace ${JSON.stringify(taken.def.name)}: prefixes may nest but not repeat`);
        }
        if (this.entries.length >= NAMESPACES_MAX) throw new NamespaceError('failed-precondition', `the registry holds ${NAMESPACES_MAX} namespaces, its limit: delete one first`);
        // The keys under the new prefix that would leave the enclosing namespace: the range
        // of the new prefix without the namespaces already nested inside it.
        const prefix = encoder.encode(def.prefix);
        return { ranges: this.ownedRanges(prefix), owner: this.route(prefix) };
      }
      case 'update': {
        const cur = this.require(cmd.name);
        applyUpdate(cur, validateUpdateFields(cmd.fields), cmd.values);
        return undefined;
      }
      case 'delete': {
        const cur = this.require(cmd.name);
        if (cur.prefix === '') throw new NamespaceError('failed-precondition', 'the default namespace cannot be deleted (it holds every key no other namespace claims)');
        return { ranges: this.ownedRanges(encoder.encode(cur.prefix)), owner: cur };
      }
    }
  }

  /** The registry after a command that check() accepted (and whose key check passed). */
  apply(cmd: NamespaceCommand): NamespaceRegistry {
    const defs = this.entries.map((e) => e.def);
    switch (cmd.op) {
      case 'create':
        return NamespaceRegistry.of([...defs, completeDefinition(cmd.definition)]);
      case 'update': {
        const next = applyUpdate(this.require(cmd.name), validateUpdateFields(cmd.fields), cmd.values);
        return NamespaceRegistry.of(defs.map((d) => (d.name === cmd.name ? next : d)));
      }
      case 'delete':
        return NamespaceRegistry.of(defs.filter((d) => d.name !== cmd.name));
    }
  }

  private require(name: string): NamespaceDefinition {
    const def = this.get(name);
    if (def === undefined) throw new NamespaceError('not-found', `namespace ${JSON.stringify(name)} not found: list them with rsctl ns list`);
    return def;
  }
}

/** The refusal of a change that would move `count` keys out of `owner` (§2: data never changes level silently). */
export function keysRefusal(cmd: NamespaceCommand, count: number, owner: NamespaceDefinition): NamespaceError {
  const what = `${count} key${count === 1 ? '' : 's'} of namespace ${JSON.stringify(owner.name)}`;
  if (cmd.op === 'delete') {
    return new NamespaceError('failed-precondition', `namespace ${JSON.stringify(cmd.name)} holds ${what}: delete them first, or delete with force to delete them in the same step`);
  }
  const prefix = cmd.op === 'create' ? cmd.definition.prefix : '';
  return new NamespaceError('failed-precondition', `prefix ${JSON.stringify(prefix)} holds ${what}: a new namespace must start empty (data never changes level silently); move or delete those keys first`);
}

/** Strength order of read levels, strongest first (a range across namespaces uses the stronger). */
const STRENGTH: Record<ReadLevel, number> = { linearizable: 0, bounded: 1, session: 2, serializable: 3 };

export interface ReadChoice {
  level: ReadLevel;
  /** For bounded: the bound in ms. */
  maxStalenessMs: number;
}

/** The stronger of the namespaces' default read levels (for bounded ones, the tighter bound). */
export function strongestDefault(defs: readonly NamespaceDefinition[]): ReadChoice {
  assert(defs.length > 0, 'strongestDefault of no namespace');
  let best: ReadChoice = { level: defs[0]!.readLevel, maxStalenessMs: defs[0]!.maxStalenessMs };
  for (const d of defs.slice(1)) {
    const s = STRENGTH[d.readLevel] - STRENGTH[best.level];
    if (s < 0 || (s === 0 && d.maxStalenessMs < best.maxStalenessMs)) best = { level: d.readLevel, maxStalenessMs: d.maxStalenessMs };
  }
  return best;
}

export { READ_LEVELS };
