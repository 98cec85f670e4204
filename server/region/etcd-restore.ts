// Restores an etcd snapshot (a bbolt file from `etcdctl snapshot save`, or regionstore's
// own Maintenance.Snapshot) into a new member data directory: the state database gets
// the snapshot's revisions, compaction point and leases, and nothing of its membership.
// As with etcd's restore, the new cluster's members come from the flags `regionstore
// serve` is then started with: on its first start the member bootstraps Raft with them
// (region-node.ts), over the restored state.
//
// Like etcd, the trailing SHA-256 that Maintenance.Snapshot appends is checked (or its
// absence refused unless skipHashCheck). The file is read page by page and written in
// bounded batches, so its size is not bounded by memory.

import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { StateImport } from '../mvcc/state-import.js';
import { BboltReader, type ByteSource } from '../storage/bbolt/index.js';
import {
  EtcdBucket, decodeEtcdKeyValue, decodeEtcdLease, decodeEtcdRole, decodeEtcdUser, parseEtcdRevisionKey,
} from '../storage/bbolt/etcd-schema.js';
import { openStateEngine } from '../storage/data-dir.js';
import { INITIAL_AUTH_REVISION, PermType, type AuthStateData } from '../auth/index.js';
import { authStateOps } from './auth-applier.js';
import { openStateRocksEngine } from '../storage/rocksdb-engine.js';

/** Maintenance.Snapshot pads the file to 512-byte sectors and appends a SHA-256. */
const SNAPSHOT_SECTOR_BYTES = 512;
const SHA256_BYTES = 32;
/** Hashing reads the file in chunks of this size. */
const HASH_READ_BYTES = 1 << 20;

export interface EtcdRestoreOptions {
  file: string;
  dataDir: string;
  /** Accept a file without the trailing hash (a copied member.db), as etcd's flag does. */
  skipHashCheck: boolean;
}

export interface EtcdRestoreSummary {
  revision: number;
  compactedRevision: number;
  records: number;
  leases: number;
  /** Leases whose id regionstore cannot hold (above 2^53), with the id they got instead. */
  renumberedLeases: Array<{ from: bigint; to: number }>;
  /** Users and roles of etcd's Auth state brought in, and whether auth was enabled. */
  users?: number;
  roles?: number;
  authEnabled?: boolean;
}

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

export async function restoreEtcdSnapshot(o: EtcdRestoreOptions): Promise<EtcdRestoreSummary> {
  if (nonEmptyDir(o.dataDir)) throw new RestoreError(`data dir ${o.dataDir} exists and is not empty; restore needs a new one`);
  let fd: number;
  try {
    fd = openSync(o.file, 'r');
  } catch (err) {
    throw new RestoreError(`cannot read the snapshot file: ${(err as Error).message}`);
  }
  try {
    const size = checkHash(fd, statSync(o.file).size, o.skipHashCheck, o.file);
    const db = BboltReader.open(fdSource(fd, size));
    const engine = await openStateEngine(o.dataDir, openStateRocksEngine);
    let summary: EtcdRestoreSummary;
    try {
      summary = await importState(db, new StateImport(engine));
      const auth = importAuth(db);
      await engine.write(authStateOps(auth));
      summary = { ...summary, users: auth.users.length, roles: auth.roles.length, authEnabled: auth.enabled };
    } catch (err) {
      await engine.close();
      // A half-restored data dir would start as a member with part of the history.
      await rm(o.dataDir, { recursive: true, force: true });
      if (err instanceof RestoreError || (err instanceof Error && err.name === 'BboltFormatError')) throw err;
      throw new RestoreError(`the snapshot could not be restored (${String(err)}); ${o.dataDir} was removed`);
    }
    await engine.close();
    return summary;
  } finally {
    closeSync(fd);
  }
}

async function importState(db: BboltReader, imp: StateImport): Promise<EtcdRestoreSummary> {
  const { ids: leaseIds, renumbered } = leaseIdMap(db);
  const leaseId = (id: bigint): number => leaseIds.get(id) ?? Number(id & SAFE_MASK);

  let records = 0;
  for (const [k, v] of db.entries(EtcdBucket.key)) {
    const { main, sub, tombstone } = parseEtcdRevisionKey(k);
    const kv = decodeEtcdKeyValue(v);
    await imp.revision(main, sub, tombstone
      ? { key: kv.key, value: new Uint8Array(0), createRevision: 0, modRevision: main, version: 0, lease: 0, tombstone }
      : {
          key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: main, version: kv.version,
          lease: leaseId(kv.leaseBig), tombstone,
        });
    records++;
  }
  let leases = 0;
  for (const [, v] of db.entries(EtcdBucket.lease)) {
    const l = decodeEtcdLease(v);
    await imp.lease(leaseId(l.idBig), l.ttl, l.remainingTtl);
    leases++;
  }
  const meta = new Map<string, Uint8Array>();
  for (const [k, v] of db.entries(EtcdBucket.meta)) meta.set(Buffer.from(k).toString(), v);
  // A compaction that was scheduled but not finished: etcd finishes it on start, so its
  // revision is the point below which history is gone.
  const compactedRevision = Math.max(revisionOf(meta.get('finishedCompactRev')), revisionOf(meta.get('scheduledCompactRev')));
  const revision = compactedRevision;
  await imp.finish({ revision, compactedRevision });
  return { revision: imp.revisionWritten, compactedRevision, records, leases, renumberedLeases: renumbered };
}

/**
 * etcd's auth buckets as regionstore's auth state (etcd's restore keeps them as they are):
 * users with their bcrypt hashes, roles, the enabled flag and the auth revision.
 */
function importAuth(db: BboltReader): AuthStateData {
  const flags = new Map<string, Uint8Array>();
  for (const [k, v] of db.entries(EtcdBucket.auth)) flags.set(Buffer.from(k).toString(), v);
  const enabledFlag = flags.get('authEnabled');
  const revisionBytes = flags.get('authRevision');
  const revision = revisionBytes?.length === 8 ? Number(Buffer.from(revisionBytes).readBigUInt64BE(0)) : INITIAL_AUTH_REVISION;
  const users = [...db.entries(EtcdBucket.authUsers)].map(([, v]) => {
    const u = decodeEtcdUser(v);
    return { name: u.name, password: u.password.toString('latin1'), roles: [...u.roles].sort(), noPassword: u.noPassword };
  });
  const roles = [...db.entries(EtcdBucket.authRoles)].map(([, v]) => {
    const r = decodeEtcdRole(v);
    return {
      name: r.name,
      perms: r.perms.map((p) => {
        if (p.permType !== PermType.Read && p.permType !== PermType.Write && p.permType !== PermType.ReadWrite) {
          throw new RestoreError(`role ${JSON.stringify(r.name)} has a permission of unknown type ${p.permType}`);
        }
        return { permType: p.permType, key: new Uint8Array(p.key), rangeEnd: new Uint8Array(p.rangeEnd) };
      }),
    };
  });
  return { enabled: enabledFlag?.length === 1 && enabledFlag[0] === 1, revision: Math.max(revision, INITIAL_AUTH_REVISION), users, roles };
}

const SAFE_MASK = (1n << 53n) - 1n;

/**
 * regionstore holds lease ids as safe integers (below 2^53); etcd's are 63-bit. An id that
 * fits is kept; a bigger one keeps its low 53 bits (etcd's ids are member bits over a clock
 * and a counter, so these stay distinct), stepping past any clash. The file's lease order
 * decides, so every member restoring the same file computes the same ids.
 */
function leaseIdMap(db: BboltReader): { ids: Map<bigint, number>; renumbered: Array<{ from: bigint; to: number }> } {
  const all = [...db.entries(EtcdBucket.lease)].map(([, v]) => decodeEtcdLease(v).idBig);
  const ids = new Map<bigint, number>();
  const taken = new Set<number>();
  for (const id of all) {
    if (id > 0n && id <= BigInt(Number.MAX_SAFE_INTEGER)) {
      ids.set(id, Number(id));
      taken.add(Number(id));
    }
  }
  const renumbered: Array<{ from: bigint; to: number }> = [];
  for (const id of all) {
    if (ids.has(id)) continue;
    let n = Number(id & SAFE_MASK);
    while (n === 0 || taken.has(n)) n = n >= Number.MAX_SAFE_INTEGER ? 1 : n + 1;
    ids.set(id, n);
    taken.add(n);
    renumbered.push({ from: id, to: n });
  }
  return { ids, renumbered };
}

function revisionOf(v: Uint8Array | undefined): number {
  return v === undefined ? 0 : parseEtcdRevisionKey(v).main;
}

function nonEmptyDir(path: string): boolean {
  try {
    return readdirSync(path).length > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Verifies the trailing SHA-256 when there is one; returns the size of the bbolt part. */
function checkHash(fd: number, size: number, skip: boolean, file: string): number {
  const hasHash = size % SNAPSHOT_SECTOR_BYTES === SHA256_BYTES;
  if (!hasHash) {
    if (skip) return size;
    throw new RestoreError(`${file} has no trailing SHA-256 (not from \`etcdctl snapshot save\`?); pass --skip-hash-check to restore it anyway`);
  }
  const dataBytes = size - SHA256_BYTES;
  const sha = createHash('sha256');
  const buf = Buffer.alloc(HASH_READ_BYTES);
  for (let off = 0; off < dataBytes;) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, dataBytes - off), off);
    if (n === 0) throw new RestoreError(`${file} ended while hashing it`);
    sha.update(buf.subarray(0, n));
    off += n;
  }
  const want = Buffer.alloc(SHA256_BYTES);
  readSync(fd, want, 0, SHA256_BYTES, dataBytes);
  if (!sha.digest().equals(want)) throw new RestoreError(`${file}: the SHA-256 at its end does not match its contents (corrupt or truncated)`);
  return dataBytes;
}

function fdSource(fd: number, size: number): ByteSource {
  return {
    size,
    readAt(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.alloc(n);
      for (let got = 0; got < n;) {
        const r = readSync(fd, buf, got, n - got, offset + got);
        if (r === 0) break;
        got += r;
      }
      return buf;
    },
  };
}
