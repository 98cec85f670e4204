// Namespaces declared at start (`regionstore serve --namespaces-file FILE`, issue 17): a
// deployment (a Kubernetes ConfigMap, a compose file) names the namespaces its applications
// need, and the region creates the missing ones, so no one has to run `rsctl ns create` after
// the first start. Idempotent: a namespace that exists is left as it is (its level, type and
// prefix are fixed at creation; one that differs from the file is logged loudly, never
// changed or deleted; later changes go through `rsctl ns update`). Only the leader proposes
// the creations (any member may hold the file; a new leader finishes what an old one left),
// and a create that loses a race with another answers already-exists, which is success.
//
// The file is JSON: {"namespaces": [{"name": "carts", "prefix": "carts/", "level": "eventual",
// "crdtType": "mv"}, ...]} (or the array alone), with the fields of a namespace definition
// (name, prefix, level, crdtType, readLevel, maxStalenessMs, maxClockSkewMs, tombstoneTtlS,
// siblingWarn, siblingCap, schemaVersions, description); defaults as `rsctl ns create`.

import { NamespaceError, completeDefinition, type NamespaceDefinition, type NamespaceSpec } from '../namespace/index.js';
import type { Logger } from '../util/logger.js';

/** Namespaces one file may declare (the registry has its own bound; this keeps a typo from looping long). */
export const DECLARED_NAMESPACES_MAX = 1_000;
/** Bytes of the file read at most. */
export const NAMESPACES_FILE_BYTES_MAX = 1024 * 1024;
/** How often the applier looks whether this member leads and something is left to create. */
export const DECLARED_NAMESPACES_POLL_MS = 500;

const SPEC_FIELDS = new Set([
  'name', 'prefix', 'level', 'crdtType', 'readLevel', 'maxStalenessMs', 'maxClockSkewMs', 'tombstoneTtlS',
  'siblingWarn', 'siblingCap', 'schemaVersions', 'description',
]);
const FIXED: ReadonlyArray<keyof NamespaceDefinition> = ['prefix', 'level', 'crdtType'];

/** The file's namespaces, each checked as `rsctl ns create` would be; every problem at once. */
export function parseNamespacesFile(text: string, file: string): NamespaceSpec[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON (${(e as Error).message}); write {"namespaces": [{"name": ..., "prefix": ..., "level": ...}]}`, { cause: e });
  }
  const list = Array.isArray(doc) ? doc : (doc as { namespaces?: unknown } | null)?.namespaces;
  if (!Array.isArray(list)) throw new Error(`${file}: expected {"namespaces": [...]} or an array of namespaces`);
  if (list.length > DECLARED_NAMESPACES_MAX) throw new Error(`${file}: ${list.length} namespaces; at most ${DECLARED_NAMESPACES_MAX}`);
  const problems: string[] = [];
  const specs: NamespaceSpec[] = [];
  const names = new Set<string>();
  list.forEach((item: unknown, i) => {
    const where = `${file}: namespaces[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`${where}: expected an object with name, prefix, level, ...`);
      return;
    }
    const unknown = Object.keys(item).filter((k) => !SPEC_FIELDS.has(k));
    if (unknown.length > 0) problems.push(`${where}: unknown field(s) ${unknown.join(', ')}; known: ${[...SPEC_FIELDS].join(', ')}`);
    const spec = item as NamespaceSpec;
    try {
      completeDefinition(spec);
    } catch (e) {
      problems.push(`${where} (${JSON.stringify(spec.name)}): ${(e as Error).message}`);
      return;
    }
    if (names.has(spec.name)) problems.push(`${where}: ${JSON.stringify(spec.name)} is declared twice`);
    names.add(spec.name);
    specs.push(spec);
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return specs;
}

/** What the applier needs of a member (RegionNode and RegionNamespaces, structurally). */
export interface DeclaredNamespacesHost {
  readonly isLeader: boolean;
  get(name: string): NamespaceDefinition | undefined;
  create(spec: NamespaceSpec): Promise<NamespaceDefinition>;
}

/** Creates the declared namespaces that are missing, from whichever member leads; stops when none is left. */
export class DeclaredNamespaces {
  private readonly left: Map<string, NamespaceSpec>;
  private readonly timer: NodeJS.Timeout;
  private running = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(specs: readonly NamespaceSpec[], private readonly host: DeclaredNamespacesHost, private readonly logger: Logger, pollMs = DECLARED_NAMESPACES_POLL_MS) {
    this.left = new Map(specs.map((s) => [s.name, s]));
    this.done = new Promise((r) => (this.resolveDone = r));
    this.timer = setInterval(() => void this.tick(), pollMs);
    this.timer.unref();
    void this.tick();
  }

  /** Resolves once every declared namespace exists (created here or found). */
  whenDone(): Promise<void> {
    return this.done;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // Any member drops what its registry already shows (applied entries), leader or not.
      // (Deleting from a Map while iterating it is defined: deleted entries are not visited.)
      for (const [name, spec] of this.left) {
        const have = this.host.get(name);
        if (have !== undefined) this.found(spec, have);
      }
      if (this.left.size > 0 && this.host.isLeader) {
        for (const spec of this.left.values()) {
          if (!this.host.isLeader) break;
          await this.createOne(spec);
        }
      }
      if (this.left.size === 0) {
        this.close();
        this.resolveDone();
      }
    } finally {
      this.running = false;
    }
  }

  private found(spec: NamespaceSpec, have: NamespaceDefinition): void {
    this.left.delete(spec.name);
    const want = completeDefinition(spec);
    const differs = FIXED.filter((f) => want[f] !== have[f]);
    if (differs.length > 0) {
      this.logger.error('a declared namespace exists with other fixed fields; it is left as it is', {
        namespace: spec.name, fields: differs, declared: Object.fromEntries(differs.map((f) => [f, want[f]])),
        existing: Object.fromEntries(differs.map((f) => [f, have[f]])),
      });
    }
  }

  private async createOne(spec: NamespaceSpec): Promise<void> {
    try {
      const def = await this.host.create(spec);
      this.left.delete(spec.name);
      this.logger.info('declared namespace created', { namespace: def.name, prefix: def.prefix, level: def.level, crdtType: def.crdtType });
    } catch (e) {
      if (e instanceof NamespaceError && e.code === 'already-exists') {
        const have = this.host.get(spec.name);
        if (have !== undefined) this.found(spec, have);
        else this.left.delete(spec.name);
        return;
      }
      if (e instanceof NamespaceError && e.code !== 'failed-precondition') {
        // The registry refused it for good (a prefix another namespace holds, ...): say so once.
        this.left.delete(spec.name);
        this.logger.error('declared namespace refused by the registry; fix the namespaces file', { namespace: spec.name, error: e.message });
        return;
      }
      // No quorum, a leader change: the next tick tries again.
      this.logger.debug('declared namespace not created yet; retrying', { namespace: spec.name, error: (e as Error).message });
    }
  }
}
