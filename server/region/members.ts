// The member registry: who is in the cluster, with the names and URLs people and peers
// use. Raft knows only ids (ConfState); this adds the rest. Records live in the state
// database (meta keyspace) so a state snapshot carries them, and every change comes from
// an applied entry, so all members agree. Re-applying a change is harmless (restart replay).

import { concatBytes, stateMetaKey, type Engine } from '../storage/index.js';
import type { BatchOp } from '../storage/engine.js';
import { prefixEnd } from '../storage/keys.js';

export interface MemberRecord {
  id: number;
  /** Empty until the member has started and published its attributes. */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  isLearner: boolean;
}

const MEMBER_PREFIX = stateMetaKey('member/');
/**
 * Ids of removed members, kept for good (etcd's `members_removed` bucket: a removed id is
 * never a member again, and snapshots list it). Not under MEMBER_PREFIX ('-' is not '/').
 */
export const REMOVED_MEMBER_PREFIX = stateMetaKey('member-removed/');
const text = new TextEncoder();
const untext = new TextDecoder();

/** What etcd stores for a removed id. */
const REMOVED_VALUE = text.encode('removed');

function memberKey(id: number): Uint8Array {
  return concatBytes(MEMBER_PREFIX, text.encode(id.toString(16).padStart(16, '0')));
}

function removedMemberKey(id: number): Uint8Array {
  return concatBytes(REMOVED_MEMBER_PREFIX, text.encode(id.toString(16).padStart(16, '0')));
}

/** The member id of a removed-member key (the hex after REMOVED_MEMBER_PREFIX). */
export function removedMemberId(key: Uint8Array): number {
  return Number.parseInt(untext.decode(key.subarray(REMOVED_MEMBER_PREFIX.length)), 16);
}

export class Members {
  private readonly byId = new Map<number, MemberRecord>();

  static async load(engine: Engine): Promise<Members> {
    const m = new Members();
    for await (const [, v] of engine.iterate({ gte: MEMBER_PREFIX, lt: prefixEnd(MEMBER_PREFIX) ?? Uint8Array.of(0xff) })) {
      const rec = JSON.parse(untext.decode(v)) as MemberRecord;
      m.byId.set(rec.id, rec);
    }
    return m;
  }

  list(): MemberRecord[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  get(id: number): MemberRecord | undefined {
    return this.byId.get(id);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Adds or updates a record; returns the engine op that persists it. */
  upsert(patch: Partial<MemberRecord> & { id: number }): BatchOp {
    const prev = this.byId.get(patch.id) ?? { id: patch.id, name: '', peerUrls: [], clientUrls: [], isLearner: false };
    const rec: MemberRecord = { ...prev, ...definedOnly(patch) };
    this.byId.set(rec.id, rec);
    return { type: 'put', key: memberKey(rec.id), value: text.encode(JSON.stringify(rec)) };
  }

  /** Drops the record and remembers the id as removed; returns the engine ops. */
  remove(id: number): BatchOp[] {
    this.byId.delete(id);
    return [
      { type: 'del', key: memberKey(id) },
      { type: 'put', key: removedMemberKey(id), value: REMOVED_VALUE },
    ];
  }

  /** Finds a member already using one of these peer URLs (etcd refuses such an add). */
  withPeerUrl(urls: readonly string[]): MemberRecord | undefined {
    return this.list().find((m) => m.peerUrls.some((u) => urls.includes(u)));
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** What a ConfChange's context carries: the member's peer URLs (and name when known). */
export interface ConfChangeContext {
  name?: string;
  peerUrls: string[];
}

export function encodeConfContext(ctx: ConfChangeContext): Uint8Array {
  return text.encode(JSON.stringify(ctx));
}

export function decodeConfContext(bytes: Uint8Array): ConfChangeContext | undefined {
  if (bytes.length === 0) return undefined;
  return JSON.parse(untext.decode(bytes)) as ConfChangeContext;
}
