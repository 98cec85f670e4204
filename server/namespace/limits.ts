// Limits and defaults of namespace definitions: named here so an operator can find them.

export const DEFAULT_NAMESPACE_NAME = 'default';
export const NAME_BYTES_MAX = 64;
/** A prefix is a key prefix; keys are at most 1.5 MiB in etcd, prefixes far less. */
export const PREFIX_BYTES_MAX = 1024;
export const DESCRIPTION_BYTES_MAX = 1024;
/** Namespaces in one registry: routing is a scan of the prefixes, kept small. */
export const NAMESPACES_MAX = 1000;
export const SCHEMA_VERSIONS_MAX = 64;

export const DEFAULT_READ_LEVEL = 'linearizable';
export const DEFAULT_MAX_STALENESS_MS = 1_000;
/** Upper end of a staleness bound: past a minute a bound says nothing useful. */
export const MAX_STALENESS_MS_MAX = 60_000;
export const DEFAULT_MAX_CLOCK_SKEW_MS = 500;
export const MAX_CLOCK_SKEW_MS_MAX = 3_600_000;
export const DEFAULT_TOMBSTONE_TTL_S = 86_400;
export const TOMBSTONE_TTL_S_MAX = 365 * 86_400;
export const DEFAULT_SIBLING_WARN = 25;
export const DEFAULT_SIBLING_CAP = 100;
export const SIBLING_CAP_MAX = 10_000;
export const DEFAULT_SCHEMA_VERSIONS: readonly number[] = [1];
export const SCHEMA_VERSION_MAX = 1_000_000;
