// Maintenance.Snapshot's payload: the state laid out as etcd's backend file (a bbolt file
// with etcd's buckets), so `etcdctl snapshot status` reads it and `etcdctl snapshot
// restore` brings it into a real etcd.
//
// The file is built from one consistent view (StateScan: a single RocksDB iterator) into
// a scratch file, page by page: memory holds one leaf page and one small ref per written
// page of the `key` bucket, never the file. The scratch file is then streamed and removed.

import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StateScan as StateScanType } from '../mvcc/state-scan.js';
import { StateScan } from '../mvcc/state-scan.js';
import type { MvccStore } from '../mvcc/store.js';
import type { AlarmMember } from '../mvcc/types.js';
import {
  EtcdBucket, encodeEtcdAlarmMember, encodeEtcdConfState, encodeEtcdKeyValue, encodeEtcdLease, encodeEtcdMember,
  encodeEtcdRole, encodeEtcdUser, etcdMemberKey, etcdRevisionKey, u64be,
} from '../storage/bbolt/etcd-schema.js';
import type { AuthStateData } from '../auth/index.js';
import { readAuthState } from './auth-applier.js';
import { BboltWriter, FilePageSink, compareBytes, type Entry } from '../storage/bbolt/index.js';
import type { Engine } from '../storage/engine.js';
import { stateMetaKey } from '../storage/keys.js';
import { ETCD_API_VERSION } from '../util/version.js';
import { REMOVED_MEMBER_PREFIX, removedMemberId, type MemberRecord } from './members.js';

/** etcd writes the cluster version as major.minor.0 (membership.clusterVersionFromBackend). */
export const ETCD_CLUSTER_VERSION = `${ETCD_API_VERSION}.0`;
/** Where the member registry lives in the meta keyspace (server/region/members.ts). */
const MEMBER_PREFIX = Buffer.from(stateMetaKey('member/'));
const REMOVED_PREFIX = Buffer.from(REMOVED_MEMBER_PREFIX);
/** Scratch dirs are named for the process that made them, so leftovers can be found. */
const SCRATCH_PREFIX = 'regionstore-etcd-snapshot-';
const SCRATCH_NAME_RE = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`);
/** Scratch files stream in chunks of this size (the API re-chunks to its own limit). */
const SNAPSHOT_READ_CHUNK_BYTES = 1 << 20;

/** What the file holds besides the state database: the node's Raft view, read alongside. */
export interface EtcdSnapshotContext {
  term: number;
  voters: number[];
  learners: number[];
  alarms: AlarmMember[];
}

const b = (s: string): Buffer => Buffer.from(s);
const sorted = (entries: Entry[]): Entry[] => entries.sort((x, y) => compareBytes(x[0], y[0]));

/** Writes the etcd-format file at `path`; returns its size in bytes. */
export async function writeEtcdSnapshotFile(
  mvcc: MvccStore,
  engine: Engine,
  path: string,
  ctx: EtcdSnapshotContext,
): Promise<number> {
  const sink = await FilePageSink.create(path);
  // etcd's file holds what a finished compaction leaves. Ours deletes in background chunks;
  // HashKV finishes a pending one first (it needs the same), then the view is taken in the
  // same tick as the check, so no compaction can start in between.
  while (mvcc.compactionPending) await mvcc.hashKV(0);
  // Read beside the scan's view: auth changes are rare and small, and a snapshot taken while
  // one applies holds the state before or after it, either being a state the log passed.
  const auth = await readAuthState(engine);
  const scan = new StateScan(engine);
  try {
    const w = new BboltWriter(sink);
    const meta = await scan.meta();
    const members = meta.entries
      .filter(([k]) => Buffer.from(k).subarray(0, MEMBER_PREFIX.length).equals(MEMBER_PREFIX))
      .map(([, v]) => JSON.parse(Buffer.from(v).toString()) as MemberRecord);
    const removed = meta.entries
      .filter(([k]) => Buffer.from(k).subarray(0, REMOVED_PREFIX.length).equals(REMOVED_PREFIX))
      .map(([k, v]): Entry => [etcdMemberKey(removedMemberId(k)), Buffer.from(v)]);
    await w.bucket(b(EtcdBucket.key), keyEntries(scan));
    await w.bucket(b(EtcdBucket.lease), leaseEntries(scan));
    const metaBucket: Entry[] = [
      [b('consistent_index'), u64be(meta.appliedIndex)],
      // etcd 3.5 keeps the term and the ConfState beside the index (3.4 ignores them).
      [b('term'), u64be(ctx.term)],
      [b('confState'), encodeEtcdConfState(ctx.voters, ctx.learners)],
    ];
    if (meta.compactedRevision > 0) {
      const rev = etcdRevisionKey(meta.compactedRevision, 0, false);
      metaBucket.push([b('finishedCompactRev'), rev], [b('scheduledCompactRev'), rev]);
    }
    await w.bucket(b(EtcdBucket.meta), sorted(metaBucket));
    await w.bucket(b(EtcdBucket.members), sorted(members.map((m) => [etcdMemberKey(m.id), encodeEtcdMember({
      id: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls, isLearner: m.isLearner,
    })])));
    await w.bucket(b(EtcdBucket.membersRemoved), sorted(removed));
    await w.bucket(b(EtcdBucket.cluster), [[b('clusterVersion'), b(ETCD_CLUSTER_VERSION)]]);
    await w.bucket(b(EtcdBucket.alarm), sorted(ctx.alarms.map((a) => [encodeEtcdAlarmMember(a.memberId, a.alarm), Buffer.alloc(0)])));
    await w.bucket(b(EtcdBucket.auth), authEntries(auth));
    await w.bucket(b(EtcdBucket.authRoles), sorted(auth.roles.map((r) => [b(r.name), encodeEtcdRole({
      name: r.name, perms: r.perms.map((p) => ({ permType: p.permType, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.rangeEnd) })),
    })])));
    await w.bucket(b(EtcdBucket.authUsers), sorted(auth.users.map((u) => [b(u.name), encodeEtcdUser({
      name: u.name, password: Buffer.from(u.password, 'latin1'), roles: u.roles, noPassword: u.noPassword,
    })])));
    return (await w.finish()).bytes;
  } finally {
    await scan.close();
    await sink.close();
  }
}

/**
 * etcd's auth bucket: authRevision (a fresh store's is 1), and authEnabled once auth was
 * enabled (etcd writes it only on enable and disable; a store never enabled has none).
 */
function authEntries(auth: AuthStateData): Entry[] {
  const entries: Entry[] = [[b('authRevision'), u64be(auth.revision)]];
  if (auth.enabled) entries.push([b('authEnabled'), Buffer.from([1])]);
  return sorted(entries);
}

async function* keyEntries(scan: StateScanType): AsyncGenerator<Entry> {
  for await (const { main, sub, record: r } of scan.revisions()) {
    const kv = r.tombstone
      ? { key: r.key, createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0 }
      : { key: r.key, createRevision: r.createRevision, modRevision: main, version: r.version, value: r.value, lease: r.lease };
    yield [etcdRevisionKey(main, sub, r.tombstone), encodeEtcdKeyValue(kv)];
  }
}

async function* leaseEntries(scan: StateScanType): AsyncGenerator<Entry> {
  // Lease ids come in numeric order, which is their 8-byte big-endian key order.
  for await (const l of scan.leases()) {
    yield [u64be(l.id), encodeEtcdLease({ id: l.id, ttl: l.ttl, remainingTtl: l.remainingTtl })];
  }
}

/**
 * Builds the file in a scratch directory and returns it as a stream of chunks; the
 * directory is removed when the stream ends, fails or is abandoned by its consumer.
 */
export async function etcdSnapshotStream(
  build: (path: string) => Promise<number>,
): Promise<{ sizeBytes: number; chunks: AsyncIterable<Uint8Array> }> {
  await removeOrphanedScratch();
  const dir = await mkdtemp(join(tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
  const path = join(dir, 'snapshot.db');
  try {
    await build(path);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const sizeBytes = (await stat(path)).size;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const c of createReadStream(path, { highWaterMark: SNAPSHOT_READ_CHUNK_BYTES })) yield c as Buffer;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return { sizeBytes, chunks: chunks() };
}

/** Removes scratch dirs left by a process that died mid-snapshot (a crash, a kill -9). */
async function removeOrphanedScratch(): Promise<void> {
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(SCRATCH_NAME_RE.exec(name)?.[1] ?? NaN);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await rm(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
