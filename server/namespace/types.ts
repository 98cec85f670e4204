// What a namespace is (DESIGN.md §2): a name, a key prefix and a consistency level, plus
// the settings of that level. Every field has a default, and a stored definition always
// holds every field written out (defaults.ts fills them), so `get` shows what applies.

export const Level = { Strong: 'strong', Eventual: 'eventual' } as const;
export type Level = (typeof Level)[keyof typeof Level];
export const LEVELS: readonly Level[] = [Level.Strong, Level.Eventual];

/** CRDT types of eventual namespaces; `none` is what a strong namespace shows. */
export const CrdtType = { None: 'none', Lww: 'lww', Mv: 'mv', Counter: 'counter', Set: 'set', Events: 'events' } as const;
export type CrdtType = (typeof CrdtType)[keyof typeof CrdtType];
export const EVENTUAL_CRDT_TYPES: readonly CrdtType[] = ['lww', 'mv', 'counter', 'set', 'events'];

/** Read levels of a strong namespace, weakest last in READ_LEVEL_STRENGTH. */
export const ReadLevel = {
  Linearizable: 'linearizable',
  Serializable: 'serializable',
  Bounded: 'bounded',
  Session: 'session',
} as const;
export type ReadLevel = (typeof ReadLevel)[keyof typeof ReadLevel];
export const READ_LEVELS: readonly ReadLevel[] = ['linearizable', 'serializable', 'bounded', 'session'];

export interface NamespaceDefinition {
  /** Unique, [a-z0-9][a-z0-9._-]* up to NAME_BYTES_MAX; `default` is the prefix-"" namespace. */
  name: string;
  /** Key prefix (UTF-8 text, no control characters); longest registered prefix wins. */
  prefix: string;
  /** Fixed at creation. */
  level: Level;
  /** Fixed at creation; `none` for strong, one of EVENTUAL_CRDT_TYPES for eventual. */
  crdtType: CrdtType;
  /** Strong: what a read without read-level metadata gets. Eventual: always serializable. */
  readLevel: ReadLevel;
  /** The bound of `bounded` reads that name no bound of their own. */
  maxStalenessMs: number;
  /** Eventual: HLC timestamps further than this ahead of a replica's clock are refused. */
  maxClockSkewMs: number;
  /** Eventual: how long a delete's tombstone is kept before it may be collected. */
  tombstoneTtlS: number;
  /** `mv`: siblings per key above which a warning is raised, and the hard cap (Riak: 25 / 100). */
  siblingWarn: number;
  siblingCap: number;
  /** `events`: schema versions the namespace accepts (sorted, unique). */
  schemaVersions: number[];
  description: string;
}

/** Fields Update may change; the others (name, prefix, level, crdtType) are fixed. */
export const UPDATABLE_FIELDS = [
  'readLevel', 'maxStalenessMs', 'maxClockSkewMs', 'tombstoneTtlS', 'siblingWarn', 'siblingCap',
  'schemaVersions', 'description',
] as const;
export type UpdatableField = (typeof UPDATABLE_FIELDS)[number];
export const FIXED_FIELDS = ['name', 'prefix', 'level', 'crdtType'] as const;

/** A registry change, as it travels through the Raft log. */
export type NamespaceCommand =
  | { op: 'create'; definition: NamespaceDefinition }
  | { op: 'update'; name: string; fields: UpdatableField[]; values: Partial<NamespaceDefinition> }
  | { op: 'delete'; name: string; force: boolean };

export type NamespaceErrorCode = 'invalid' | 'failed-precondition' | 'not-found' | 'already-exists';

/** A refused definition or command; `code` maps to a gRPC status in server/api. */
export class NamespaceError extends Error {
  override name = 'NamespaceError';
  constructor(readonly code: NamespaceErrorCode, message: string) {
    super(message);
  }
}
