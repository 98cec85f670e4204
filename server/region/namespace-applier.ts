// Applies namespace registry commands (Raft entries of kind Namespace) into the state
// keyspace StateKeyspace.Namespace, one record per definition, and keeps the registry in
// memory for routing. Exactly once: the index of the last applied registry entry is written
// in the same engine batch as the change, and entries at or below it are skipped on
// re-delivery (after a restart raft re-delivers from its snapshot index).
//
// Deterministic: every member decides from the same registry and the same mvcc state. The
// region node applies the mvcc entries before a registry entry first (in log order), so the
// key count a create or delete checks is the state after exactly the entries before it;
// engine writes reach the WAL in order, so a crash keeps a prefix of them.

import type { MvccStore, RequestOp } from '../mvcc/index.js';
import {
  NamespaceError, NamespaceRegistry, decodeCommand, decodeDefinition, encodeDefinition, keysRefusal,
  type KeyRange, type NamespaceCommand, type NamespaceDefinition,
} from '../namespace/index.js';
import {
  StateKeyspace, concatBytes, decodeU64, encodeU64, keyspaceRange, stateMetaKey, type BatchOp, type Engine,
} from '../storage/index.js';

const APPLIED_KEY = stateMetaKey('namespace-applied-index');
const encoder = new TextEncoder();
/** "\0" as a range end: every key from the start on (etcd's convention). */
const FROM_KEY = Uint8Array.of(0);

function recordKey(name: string): Uint8Array {
  return concatBytes(Uint8Array.of(StateKeyspace.Namespace), encoder.encode(name));
}

/** The owner of per-namespace CRDT state (the eventual store): what a namespace delete removes. */
export interface CrdtStateOwner {
  /** Engine deletes of every CRDT key of the namespace. */
  dropOps(name: string): Promise<BatchOp[]>;
  /** Called once those deletes are written: forget what is cached of the namespace. */
  dropped(name: string): void;
}

/** What the proposer of a registry entry gets back. */
export type NamespaceApplyResult =
  | { type: 'namespace'; definition: NamespaceDefinition; deletedKeys: number }
  | { type: 'namespace-error'; code: NamespaceError['code']; message: string };

export class NamespaceApplier {
  private constructor(
    private reg: NamespaceRegistry,
    private applied: number,
  ) {}

  /** Loads the registry from the state engine (at open and after a snapshot install). */
  static async load(engine: Engine): Promise<NamespaceApplier> {
    const defs: NamespaceDefinition[] = [];
    for await (const [, value] of engine.iterate(keyspaceRange(StateKeyspace.Namespace))) defs.push(decodeDefinition(value));
    const applied = await engine.get(APPLIED_KEY);
    return new NamespaceApplier(NamespaceRegistry.of(defs), applied === undefined ? 0 : decodeU64(applied));
  }

  get registry(): NamespaceRegistry {
    return this.reg;
  }

  /**
   * Applies the registry entry at `index`; undefined when it was applied before. A deleted
   * namespace's CRDT state (`crdt`, the eventual store) goes in the same engine batch, so a
   * namespace created again under the name starts empty on every member.
   */
  async apply(index: number, body: Uint8Array, mvcc: MvccStore, engine: Engine, crdt?: CrdtStateOwner): Promise<NamespaceApplyResult | undefined> {
    if (index <= this.applied) return undefined;
    let result: NamespaceApplyResult;
    let next = this.reg;
    try {
      const cmd = decodeCommand(body);
      const check = this.reg.check(cmd);
      let deletedKeys = 0;
      if (check !== undefined) {
        const count = await countKeys(mvcc, check.ranges);
        if (count > 0 && !(cmd.op === 'delete' && cmd.force)) throw keysRefusal(cmd, count, check.owner);
        if (count > 0) deletedKeys = await deleteKeys(mvcc, index, check.ranges);
      }
      next = this.reg.apply(cmd);
      result = { type: 'namespace', definition: resultDefinition(cmd, this.reg, next), deletedKeys };
    } catch (err) {
      if (!(err instanceof NamespaceError)) throw err;
      result = { type: 'namespace-error', code: err.code, message: err.message };
    }
    const dropped = this.reg.list().filter((d) => next.get(d.name) === undefined).map((d) => d.name);
    const crdtOps = [];
    if (crdt !== undefined) for (const name of dropped) crdtOps.push(...(await crdt.dropOps(name)));
    await engine.write([...diffOps(this.reg, next), ...crdtOps, { type: 'put', key: APPLIED_KEY, value: encodeU64(index) }]);
    if (crdt !== undefined) for (const name of dropped) crdt.dropped(name);
    this.reg = next;
    this.applied = index;
    return result;
  }
}

function resultDefinition(cmd: NamespaceCommand, before: NamespaceRegistry, after: NamespaceRegistry): NamespaceDefinition {
  const name = cmd.op === 'create' ? cmd.definition.name : cmd.name;
  return (cmd.op === 'delete' ? before.get(name) : after.get(name))!;
}

/** Writes for the definitions that differ between two registries. */
function diffOps(before: NamespaceRegistry, after: NamespaceRegistry) {
  const ops: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }> = [];
  for (const d of after.list()) {
    if (JSON.stringify(before.get(d.name)) !== JSON.stringify(d)) ops.push({ type: 'put', key: recordKey(d.name), value: encodeDefinition(d) });
  }
  for (const d of before.list()) if (after.get(d.name) === undefined) ops.push({ type: 'del', key: recordKey(d.name) });
  return ops;
}

function rangeEnd(r: KeyRange): Uint8Array {
  return r.end ?? FROM_KEY;
}

/** Live keys in the ranges, at the store's current revision (through its public range API). */
async function countKeys(mvcc: MvccStore, ranges: KeyRange[]): Promise<number> {
  let n = 0;
  for (const r of ranges) {
    // Keys are never empty; the range from "" starts at the smallest key, "\0".
    const key = r.start.length === 0 ? FROM_KEY : r.start;
    n += (await mvcc.range({ key, rangeEnd: rangeEnd(r), countOnly: true })).count;
  }
  return n;
}

/** Deletes the keys of the ranges in one mvcc txn at this entry's index: one revision. */
async function deleteKeys(mvcc: MvccStore, index: number, ranges: KeyRange[]): Promise<number> {
  const success: RequestOp[] = ranges.map((r) => ({ type: 'deleteRange', deleteRange: { key: r.start, rangeEnd: rangeEnd(r) } }));
  // Internal: the write guard (which refuses etcd writes into eventual namespaces) does not
  // judge the registry's own clearing of a namespace's keys.
  const res = await mvcc.apply(index, { type: 'txn', txn: { compare: [], success, failure: [] } }, { internal: true });
  const r = res.response;
  if (r === undefined) return 0; // applied before this restart
  if (r.type === 'error') throw new NamespaceError('failed-precondition', `force delete refused by the store: ${r.message}`);
  if (r.type !== 'txn') throw new Error(`namespace force delete: mvcc answered ${r.type}`);
  let deleted = 0;
  for (const op of r.txn.responses) if (op.type === 'deleteRange') deleted += op.deleteRange.deleted;
  return deleted;
}
