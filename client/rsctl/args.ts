// Command-line parsing for rsctl: flags as etcdctl takes them (`--flag value`,
// `--flag=value`, `-w json`, booleans bare or `=true|false`, `--` ends the flags),
// global flags anywhere on the line, and a UsageError (exit 2) for anything wrong.

export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose --help the message points to ('' for rsctl itself). */
  constructor(message: string, readonly command = '') {
    super(message);
  }
}

export type FlagType = 'string' | 'boolean' | 'int' | 'duration' | 'list';
export type FlagValue = string | boolean | number | string[];

export interface FlagSpec {
  /** Long name without dashes, e.g. "prefix". */
  name: string;
  short?: string;
  type: FlagType;
  help: string;
  /** Shown in --help; also the value when the flag is absent (durations in ms). */
  default?: FlagValue;
  /** Placeholder in --help, e.g. "<ttl>". */
  arg?: string;
}

export type Flags = Record<string, FlagValue | undefined>;

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "5s", "500ms", "1.5m", or a bare number of seconds (as etcdctl's tests often write) → ms. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`--${flag} must be a duration like 5s, 500ms or 2m, got ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * DURATION_UNITS_MS[m[2] ?? 's']!;
  if (!(ms > 0)) throw new UsageError(`--${flag} must be greater than zero, got ${JSON.stringify(text)}`);
  return Math.round(ms);
}

export function parseIntArg(text: string, what: string, min = 0): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${what} must be a whole number, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${what} must be a whole number >= ${min}, got ${text}`);
  return n;
}

function convert(spec: FlagSpec, raw: string, previous: FlagValue | undefined): FlagValue {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'int':
      return parseIntArg(raw, `--${spec.name}`);
    case 'duration':
      return parseDurationMs(raw, spec.name);
    case 'list': {
      const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
      return [...(Array.isArray(previous) ? previous : []), ...items];
    }
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw new UsageError(`--${spec.name} takes true or false, got ${JSON.stringify(raw)}`);
  }
}

/** Flag lookup by long and short name; later specs (the command's) shadow earlier ones. */
export class FlagSet {
  private readonly byName = new Map<string, FlagSpec>();

  add(specs: readonly FlagSpec[]): void {
    for (const s of specs) {
      this.byName.set(`--${s.name}`, s);
      if (s.short !== undefined) this.byName.set(`-${s.short}`, s);
    }
  }

  lookup(token: string): FlagSpec | undefined {
    return this.byName.get(token);
  }
}

/**
 * One step of the scan: a flag token (with its value taken from `next` when needed) is
 * stored in `flags`; returns how many tokens were used, or 0 when `token` is not a flag.
 */
export function takeFlag(set: FlagSet, token: string, next: string | undefined, flags: Flags, command: string): number {
  if (!token.startsWith('-') || token === '-') return 0;
  // A negative number is an argument (`counter add k -3`): no flag's name starts with a digit.
  if (/^-\d/.test(token)) return 0;
  const eq = token.indexOf('=');
  const name = eq > 0 ? token.slice(0, eq) : token;
  const spec = set.lookup(name);
  if (spec === undefined) {
    throw new UsageError(`unknown flag ${name}`, command);
  }
  if (eq > 0) {
    flags[spec.name] = convert(spec, token.slice(eq + 1), flags[spec.name]);
    return 1;
  }
  if (spec.type === 'boolean') {
    flags[spec.name] = true;
    return 1;
  }
  if (next === undefined) throw new UsageError(`flag ${name} needs a value${spec.arg === undefined ? '' : ` ${spec.arg}`}`, command);
  flags[spec.name] = convert(spec, next, flags[spec.name]);
  return 2;
}

/** Fills in defaults for the flags not given. */
export function withDefaults(specs: readonly FlagSpec[], flags: Flags): Flags {
  const out: Flags = { ...flags };
  for (const s of specs) if (out[s.name] === undefined && s.default !== undefined) out[s.name] = s.default;
  return out;
}

/** Typed reads of parsed flags (the parser has already checked the types). */
export const flag = {
  str: (f: Flags, name: string): string | undefined => (typeof f[name] === 'string' ? (f[name] as string) : undefined),
  bool: (f: Flags, name: string): boolean => f[name] === true,
  int: (f: Flags, name: string): number | undefined => (typeof f[name] === 'number' ? (f[name] as number) : undefined),
  list: (f: Flags, name: string): string[] => (Array.isArray(f[name]) ? (f[name] as string[]) : []),
};

/** Checks the positional count; `max` undefined means no upper bound. */
export function expectArgs(args: readonly string[], min: number, max: number | undefined, usage: string, command: string): void {
  if (args.length < min) throw new UsageError(`missing argument: usage is ${usage}`, command);
  if (max !== undefined && args.length > max) {
    throw new UsageError(`too many arguments (${args.slice(max).map((a) => JSON.stringify(a)).join(' ')}): usage is ${usage}`, command);
  }
}
