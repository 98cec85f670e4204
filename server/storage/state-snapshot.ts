// Streaming the `state/` database: to a lagging follower (InstallSnapshot) and to
// etcd's Maintenance.Snapshot RPC. The applied index and membership are keys of the
// state database (STATE_APPLIED_INDEX_KEY, STATE_CONF_STATE_KEY), so they travel with it.
//
// The stream is one byte sequence cut into chunks of at most STATE_SNAPSHOT_CHUNK_BYTES
// (chunk boundaries mean nothing, so a record may span chunks):
//   header  : MAGIC (8 bytes) · format version u32 [· derivation id u32, format 2]
//   record* : RECORD_TAG · key length u32 · value length u32 · key · value
//   trailer : TRAILER_TAG · record count u64 · SHA-256 of every byte before the digest
// A stream cut short has no trailer; a corrupted one fails the digest; both are refused.
//
// Format 1 holds every pair of the database. Format 2 leaves out the ranges a
// SnapshotDerivation names (pairs the receiver rebuilds from others as it writes them: the
// mvcc key index, two of the three pairs per key), so the sender reads and sends a third
// of the pairs. Its header names the derivation; a receiver that does not know it refuses
// the stream, and a receiver older than format 2 refuses it as an unknown format.

import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../util/assert.js';
import { listStateDirs, currentStateDirName, setCurrentStateDir, syncDir } from './data-dir.js';
import type { Bytes, Engine, EngineBatch, EngineOpener } from './engine.js';
import { STATE_SNAPSHOT_INSTALL_KEY, U64_BYTES, decodeU64, writeU64 } from './keys.js';

function decodeU32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

/** The big-endian u32 at `at` of `b`. */
function u32At(b: Uint8Array, at: number): number {
  return (b[at] as number) * 0x100_0000 + (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number));
}

/** Bytes per chunk sent: small enough for one gRPC message, big enough to amortise it. */
export const STATE_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** Bytes of pairs (received and derived) per engine batch while installing; bounds the
 *  installer's memory. */
export const STATE_SNAPSHOT_INSTALL_BATCH_BYTES = 4 * 1024 * 1024;
/** Initial bytes of the buffer derived pairs gather in before they are sorted into a batch
 *  (SortedOps; grown if a batch's derived pairs need more: a batch is bounded anyway). */
const SORTED_OPS_ARENA_BYTES = 4 * 1024 * 1024;
/** Batch writes of an install written or waiting while the next batch fills (InstallWrites):
 *  with the one filling, the installer holds this many + 1 batches of
 *  STATE_SNAPSHOT_INSTALL_BATCH_BYTES. */
export const STATE_SNAPSHOT_INSTALL_WRITES_QUEUED = 2;
/** Bytes of the stream parsed between two turns of the installer's event loop: ~450
 *  records of bench:scale's, each a native put and its derived pairs (~1-2 ms of CPU).
 *  At 512 KiB a joiner's turns during an install had a p99 of 6.0-8.0 ms of main-thread
 *  CPU and 21-255 turns of 5 ms or more per install; at 128 KiB 4.1-5.0 ms and 4-22, for
 *  the same main-thread CPU within noise (`trace-apply-stall --install-only`, 300k and 1M
 *  keys, s11). Halving STATE_SNAPSHOT_INSTALL_YIELD_OPS as well cut a little more (p99
 *  4.0-4.3 ms) but cost ~10 % more of the installer's main-thread CPU (a merge pass more
 *  per batch), which is what a new member's catch-up waits for: kept at 2048. */
export const STATE_SNAPSHOT_INSTALL_YIELD_BYTES = 128 * 1024;
/** Derived ops moved into a batch, or sorted alone before the merges, between two turns of
 *  the installer's event loop: each move is a native put (~1 us) and two views. A 4 MiB
 *  batch of bench:scale's records derives ~13k ops: moved in one go they held a joiner's
 *  loop 105-217 ms on a loaded machine (profile samples in SortedOps.moveSortedTo and the
 *  batch's put, s9-eventloop). */
export const STATE_SNAPSHOT_INSTALL_YIELD_OPS = 2048;
/** A record (key + value) larger than this is corruption, not data: refuse it before
 *  buffering it. Far above any key and value the API accepts. */
export const STATE_SNAPSHOT_RECORD_BYTES_MAX = 64 * 1024 * 1024;

const MAGIC = new TextEncoder().encode('RSSTATE\0');
/** Every pair of the database. */
const FORMAT_RAW = 1;
/** Some ranges left out, rebuilt by the receiver (SnapshotDerivation). */
const FORMAT_DERIVED = 2;
const RECORD_TAG = 0x01;
const TRAILER_TAG = 0x00;
const U32_BYTES = 4;
const DIGEST_BYTES = 32;
const RECORD_HEAD_BYTES = 1 + 2 * U32_BYTES;

export class StateSnapshotError extends Error {
  override name = 'StateSnapshotError';
}

/**
 * Pairs a snapshot leaves out because its receiver rebuilds them from other pairs, as it
 * writes those (server/mvcc/snapshot-derivation.ts: the key index from the revisions). The
 * receiver's rebuilt pairs must be exactly the sender's left-out ones; `id` names that
 * contract, so both ends agree on it or the receiver refuses the stream.
 */
export interface SnapshotDerivation {
  readonly id: number;
  /** Ranges [gte, lt) the sender leaves out, ascending, not overlapping. */
  readonly omitted: ReadonlyArray<{ gte: Uint8Array; lt: Uint8Array }>;
  /** The keyspace byte of the pairs the omitted ones are derived from. */
  readonly sourceKeyspace: number;
  /**
   * Adds to `out` the ops that rebuild what one source pair implies (called for every
   * pair of sourceKeyspace, in key order, each batch written before the next: a later
   * pair's ops may overwrite an earlier one's). The batch copies what it is given, so the
   * derivation may build every pair in one scratch buffer. Throws on a pair it cannot
   * decode (the install is then refused).
   */
  derive(key: Uint8Array, value: Uint8Array, out: EngineBatch): void;
}

// ---- reading ----

/**
 * Every key and value of `engine`, from ONE iterator (so one consistent view), framed and
 * cut into chunks. Lazy: the view is taken when iteration starts. Generic over keyspaces:
 * every pair of the database goes, whatever its layout.
 *
 * Records are framed straight into the chunk buffer and the digest is fed a whole chunk at
 * a time: per-record generators and hash updates were most of the sender's time.
 */
export async function* readStateSnapshot(engine: Engine, derivation?: SnapshotDerivation): AsyncIterableIterator<Uint8Array> {
  const out = new ChunkWriter();
  const header = new Uint8Array(MAGIC.length + U32_BYTES * (derivation === undefined ? 1 : 2));
  header.set(MAGIC);
  const hv = new DataView(header.buffer);
  hv.setUint32(MAGIC.length, derivation === undefined ? FORMAT_RAW : FORMAT_DERIVED);
  if (derivation !== undefined) hv.setUint32(MAGIC.length + U32_BYTES, derivation.id);
  out.bytes(header);
  let count = 0;
  for await (const batch of scan(engine, derivation)) {
    for (const [key, value] of batch) out.record(key, value);
    count += batch.length;
    yield* out.takeFull();
  }
  const tail = new Uint8Array(1 + U64_BYTES);
  tail[0] = TRAILER_TAG;
  writeU64(tail, 1, count);
  out.bytes(tail);
  out.digest();
  yield* out.takeFull();
  yield* out.flush();
}

/** Bytes per engine chunk while streaming the whole database: fewer round trips than a
 *  bounded-work scan needs, still a bounded read per step. */
export const STATE_SNAPSHOT_SCAN_CHUNK_BYTES = 1024 * 1024;

/** One view; the next chunk is read (on RocksDB's thread) while this one is framed and sent. */
function scan(engine: Engine, derivation: SnapshotDerivation | undefined): AsyncIterableIterator<Array<[Bytes, Bytes]>> {
  return engine.scan({ chunkBytes: STATE_SNAPSHOT_SCAN_CHUNK_BYTES, readAhead: true, ...(derivation === undefined ? {} : { skip: derivation.omitted }) });
}

/** Gathers bytes into chunks of exactly STATE_SNAPSHOT_CHUNK_BYTES (the last one shorter). */
class ChunkWriter {
  private readonly hash = createHash('sha256');
  private chunk = new Uint8Array(STATE_SNAPSHOT_CHUNK_BYTES);
  private view = new DataView(this.chunk.buffer);
  private used = 0;
  /** Bytes of `chunk` already fed to the digest. */
  private hashed = 0;
  private full: Uint8Array[] = [];
  private digested = false;

  /** One record; framed in place when it fits the current chunk (the usual case). */
  record(key: Bytes, value: Bytes): void {
    const size = RECORD_HEAD_BYTES + key.length + value.length;
    if (this.chunk.length - this.used < size) {
      const head = new Uint8Array(RECORD_HEAD_BYTES);
      const v = new DataView(head.buffer);
      head[0] = RECORD_TAG;
      v.setUint32(1, key.length);
      v.setUint32(1 + U32_BYTES, value.length);
      this.bytes(head);
      this.bytes(key);
      this.bytes(value);
      return;
    }
    const at = this.used;
    this.chunk[at] = RECORD_TAG;
    this.view.setUint32(at + 1, key.length);
    this.view.setUint32(at + 1 + U32_BYTES, value.length);
    this.chunk.set(key, at + RECORD_HEAD_BYTES);
    this.chunk.set(value, at + RECORD_HEAD_BYTES + key.length);
    this.used += size;
    if (this.used === this.chunk.length) this.completeChunk();
  }

  bytes(bytes: Bytes): void {
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(bytes.length - at, this.chunk.length - this.used);
      this.chunk.set(bytes.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === this.chunk.length) this.completeChunk();
    }
  }

  /** Appends the digest of everything written so far (the digest itself is not hashed). */
  digest(): void {
    this.feedHash();
    const d = new Uint8Array(this.hash.digest());
    this.digested = true;
    this.bytes(d);
  }

  /** Chunks completed since the last call. */
  *takeFull(): Generator<Uint8Array> {
    const full = this.full;
    this.full = [];
    yield* full;
  }

  *flush(): Generator<Uint8Array> {
    if (this.used === 0) return;
    this.feedHash();
    yield this.chunk.subarray(0, this.used);
    this.newChunk();
  }

  /** Feeds the digest what it has not seen of the current chunk (nothing after digest()). */
  private feedHash(): void {
    if (!this.digested) this.hash.update(this.chunk.subarray(this.hashed, this.used));
    this.hashed = this.used;
  }

  private completeChunk(): void {
    this.feedHash();
    this.full.push(this.chunk);
    this.newChunk();
  }

  private newChunk(): void {
    this.chunk = new Uint8Array(STATE_SNAPSHOT_CHUNK_BYTES);
    this.view = new DataView(this.chunk.buffer);
    this.used = 0;
    this.hashed = 0;
  }
}

// ---- installing ----

/**
 * Builds the state of `chunks` in a fresh directory `state.<n>` of `dataDir`, verifies the
 * digest, syncs, then swaps it in (CURRENT_STATE). Returns the new engine, open. On any
 * failure the new directory is removed and the live state is untouched.
 *
 * `previous`, if given, is the live engine: it is closed (once `beforeClosePrevious`, the
 * caller's wait for its readers, resolves) and its directory removed after the swap.
 * Without it, the old directory stays until the next openStateEngine.
 */
export async function installStateSnapshot(
  dataDir: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  openEngine: EngineOpener,
  options: {
    previous?: Engine; beforeClosePrevious?: () => Promise<void>; derivation?: SnapshotDerivation; timings?: InstallTimings;
    /** Bytes per engine batch (default STATE_SNAPSHOT_INSTALL_BATCH_BYTES; tests use small ones, so
     *  a small state crosses many batches). */
    batchBytes?: number;
  } = {},
): Promise<Engine> {
  const t = options.timings ?? newInstallTimings();
  const t0 = Date.now();
  await mkdir(dataDir, { recursive: true });
  const oldName = await currentStateDirName(dataDir);
  const generation = 1 + Math.max(0, ...(await listStateDirs(dataDir)).map((d) => d.generation));
  const newName = `state.${generation}`;
  const newDir = join(dataDir, newName);
  await rm(newDir, { recursive: true, force: true });
  const engine = await openEngine(newDir);
  t.openedMs = Date.now() - t0;
  try {
    await load(engine, chunks, options.derivation, options.batchBytes ?? STATE_SNAPSHOT_INSTALL_BATCH_BYTES, t, t0);
  } catch (err) {
    await engine.close();
    await rm(newDir, { recursive: true, force: true });
    throw err;
  }
  await syncDir(dataDir);
  await setCurrentStateDir(dataDir, newName);
  t.swappedMs = Date.now() - t0;
  if (options.previous !== undefined) {
    await options.beforeClosePrevious?.();
    await options.previous.close();
    await rm(join(dataDir, oldName), { recursive: true, force: true });
  }
  t.doneMs = Date.now() - t0;
  return engine;
}

/**
 * Where an install's time went, in ms from its start (each phase's end), for the log line
 * a member writes after an install and for scripts/bench-member-add.ts's timeline.
 */
export interface InstallTimings {
  /** The new database created and open. */
  openedMs: number;
  /** The stream's header arrived (the first byte, as the installer sees it). */
  headerMs: number;
  /** The trailer parsed: every record received and put in a batch. */
  trailerMs: number;
  /** Every batch but the last written (unsynced). */
  writtenMs: number;
  /** The last batch written and synced. */
  syncedMs: number;
  /** The new directory named current. */
  swappedMs: number;
  /** The previous state closed and removed. */
  doneMs: number;
  records: number;
  bytes: number;
}

export function newInstallTimings(): InstallTimings {
  return { openedMs: 0, headerMs: 0, trailerMs: 0, writtenMs: 0, syncedMs: 0, swappedMs: 0, doneMs: 0, records: 0, bytes: 0 };
}

/** Writes every record into `engine`; the last batch is synced only once the trailer checks out. */
async function load(
  engine: Engine, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, derivation: SnapshotDerivation | undefined, batchBytes: number,
  t: InstallTimings, t0: number,
): Promise<void> {
  const r = new ChunkReader(chunks);
  try {
    await loadRecords(engine, r, derivation, batchBytes, t, t0);
  } finally {
    await r.close();
  }
}

/** The derivation a stream's header asks for: none (format 1) or the receiver's own. */
async function readHeader(r: ChunkReader, mine: SnapshotDerivation | undefined): Promise<SnapshotDerivation | undefined> {
  const header = await r.read(MAGIC.length + U32_BYTES);
  if (!MAGIC.every((b, i) => header[i] === b)) throw new StateSnapshotError('not a state snapshot (bad magic)');
  const version = new DataView(header.buffer, header.byteOffset).getUint32(MAGIC.length);
  if (version === FORMAT_RAW) return undefined;
  if (version !== FORMAT_DERIVED) {
    throw new StateSnapshotError(`unknown state snapshot format ${version} (this member reads formats ${FORMAT_RAW} and ${FORMAT_DERIVED}): upgrade it to the leader's version`);
  }
  const id = decodeU32(await r.read(U32_BYTES));
  if (mine === undefined || mine.id !== id) {
    throw new StateSnapshotError(`the state snapshot leaves out pairs to rebuild with derivation ${id}, and this member ` +
      `${mine === undefined ? 'rebuilds none' : `knows derivation ${mine.id}`}: upgrade it to the leader's version`);
  }
  return mine;
}

async function loadRecords(
  engine: Engine, r: ChunkReader, mine: SnapshotDerivation | undefined, batchBytes: number, t: InstallTimings, t0: number,
): Promise<void> {
  const derivation = await readHeader(r, mine);
  t.headerMs = Date.now() - t0;
  const source = derivation?.sourceKeyspace ?? -1;
  // Batches are written in order, one after the other (a derived op may overwrite one of an
  // earlier batch), each as soon as the one before it is written; meanwhile the stream keeps
  // flowing into the next (InstallWrites). The final synced batch comes after all of them.
  const writes = new InstallWrites(engine);
  // Derived pairs gather here and go into each batch sorted (SortedOps says why).
  const derived = new SortedOps();
  let batch = engine.batch();
  // First in the database, deleted by the final synced batch: a state that still holds it
  // is not a whole install, whatever its applied index says (the applied index is a meta key,
  // so it travels in an early batch). RocksDB opens a WAL damaged after the install as a
  // prefix of its batches (paranoid checks); the member then sees this key and rebuilds.
  batch.put(STATE_SNAPSHOT_INSTALL_KEY, Uint8Array.of(1));
  let count = 0;
  let sinceYield = 0;
  try {
    for (;;) {
      // A record's head and the trailer's head have the same size: tag · u32 · u32 or tag · u64.
      const head = r.readNow(RECORD_HEAD_BYTES) ?? (await r.read(RECORD_HEAD_BYTES));
      const tag = head[0];
      if (tag === TRAILER_TAG) {
        const expectedCount = decodeU64(head.subarray(1));
        if (expectedCount !== count) throw new StateSnapshotError(`state snapshot holds ${count} records, trailer says ${expectedCount}`);
        t.trailerMs = Date.now() - t0;
        break;
      }
      if (tag !== RECORD_TAG) throw new StateSnapshotError(`bad record tag ${tag} after ${count} records`);
      // Read in place: a DataView per record was an allocation per key on the installer's loop.
      const keyLen = u32At(head, 1);
      const valueLen = u32At(head, 1 + U32_BYTES);
      if (keyLen === 0 || keyLen + valueLen > STATE_SNAPSHOT_RECORD_BYTES_MAX) {
        throw new StateSnapshotError(`bad record ${count}: key ${keyLen} bytes, value ${valueLen} bytes`);
      }
      const key = r.readNow(keyLen) ?? (await r.read(keyLen));
      const value = r.readNow(valueLen) ?? (await r.read(valueLen));
      batch.put(key, value);
      if (key[0] === source) (derivation as SnapshotDerivation).derive(key, value, derived);
      count++;
      sinceYield += RECORD_HEAD_BYTES + keyLen + valueLen;
      if (batch.bytes + derived.bytes >= batchBytes) {
        await derived.moveSortedTo(batch);
        batch = await writes.queue(batch);
      }
      // Chunks already received come out of the stream without a turn of the event loop:
      // give it one now and then (the member's raft ticks and its reads run there).
      if (sinceYield >= STATE_SNAPSHOT_INSTALL_YIELD_BYTES) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    await derived.moveSortedTo(batch);
    await writes.drained();
    t.writtenMs = Date.now() - t0;
  } catch (err) {
    await writes.settled(); // before the caller closes the engine
    throw err;
  }
  const digest = r.digest();
  const sent = await r.read(DIGEST_BYTES);
  if (!digest.every((b, i) => sent[i] === b)) throw new StateSnapshotError('state snapshot checksum mismatch');
  if (!(await r.atEnd())) throw new StateSnapshotError('bytes after the state snapshot trailer');
  // One synced batch last: RocksDB's WAL is sequential, so its fsync covers every earlier
  // batch. The delete keeps the batch non-empty (an empty one is never written, nor synced).
  batch.del(STATE_SNAPSHOT_INSTALL_KEY);
  await batch.write({ sync: true });
  t.syncedMs = Date.now() - t0;
  t.records = count;
  t.bytes = r.bytesRead;
}

/**
 * Ops gathered, then added to a batch in key order. The derived pairs of a batch (the mvcc
 * derivation: each record's latest row and history entry) come in the order of their
 * records, i.e. revision order, which for keys written in scattered order is random key
 * order; RocksDB inserts a batch into its memtable op by op, and its skiplist inserts a key
 * near the one before it for far less (it reuses the last insert's path): sorted, a 1M-key
 * install's inserts cost the joiner's write thread ~1.6 s of CPU, in revision order with
 * scattered keys ~4.3 s (scripts/bench-member-add.ts, with and without --scatter). The sort
 * is stable, so ops on one key keep their order (a later revision's latest row overwrites
 * an earlier one's), and the derived keys never collide with the stream's own (they are the
 * ranges it leaves out), so moving them after the stream's pairs of the batch changes nothing.
 */
/** Resolves on the next turn of the event loop (timers, Raft's tick among them, run first). */
function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

export class SortedOps implements EngineBatch {
  private arena = new Uint8Array(SORTED_OPS_ARENA_BYTES);
  private used = 0;
  /** Per op: key offset, key length, value offset, value length (-1: a delete). */
  private ops = new Int32Array(4 * 1024);
  private count = 0;
  private added = 0;

  get bytes(): number {
    return this.added;
  }

  put(key: Bytes, value: Bytes): void {
    this.add(key, value);
  }

  del(key: Bytes): void {
    this.add(key, undefined);
  }

  write(): Promise<void> {
    throw new Error('SortedOps is moved into a batch, never written itself');
  }

  /**
   * Adds every op to `out` in key order (ties in the order added), and empties this, in
   * steps of STATE_SNAPSHOT_INSTALL_YIELD_OPS ops with a turn of the event loop between
   * (nothing adds to this meanwhile: the installer awaits this before it reads on).
   */
  async moveSortedTo(out: EngineBatch): Promise<void> {
    const n = this.count;
    if (n === 0) return;
    const { arena: a, ops } = this;
    const order = await this.sortedOrder();
    for (let at = 0; at < n; at++) {
      if (at > 0 && at % STATE_SNAPSHOT_INSTALL_YIELD_OPS === 0) await nextTurn();
      const i = order[at] as number;
      const ka = ops[4 * i] as number;
      const key = a.subarray(ka, ka + (ops[4 * i + 1] as number));
      const vl = ops[4 * i + 3] as number;
      if (vl < 0) out.del(key);
      else {
        const va = ops[4 * i + 2] as number;
        out.put(key, a.subarray(va, va + vl));
      }
    }
    this.count = 0;
    this.used = 0;
    this.added = 0;
  }

  /**
   * The ops' indices in key order (ties: the order added). One sort of a 4 MiB batch's ~13k
   * derived ops was ~5 ms of CPU in one go, and 96 ms of a joiner's loop on a loaded machine
   * (s9-eventloop); here a merge sort in steps: runs of STATE_SNAPSHOT_INSTALL_YIELD_OPS
   * sorted alone, then merged pairwise, with a turn of the event loop every
   * STATE_SNAPSHOT_INSTALL_YIELD_OPS ops sorted or merged.
   */
  private async sortedOrder(): Promise<Uint32Array> {
    const n = this.count;
    const { arena: a, ops } = this;
    const step = STATE_SNAPSHOT_INSTALL_YIELD_OPS;
    // A total order (ties broken by the order added), so no sort here needs to be stable.
    const before = (x: number, y: number): number => {
      const xa = ops[4 * x] as number;
      const xl = ops[4 * x + 1] as number;
      const ya = ops[4 * y] as number;
      const yl = ops[4 * y + 1] as number;
      const m = Math.min(xl, yl);
      for (let i = 0; i < m; i++) {
        const d = (a[xa + i] as number) - (a[ya + i] as number);
        if (d !== 0) return d;
      }
      return xl - yl || x - y;
    };
    let src = new Uint32Array(n);
    for (let i = 0; i < n; i++) src[i] = i;
    for (let at = 0; at < n; at += step) {
      if (at > 0) await nextTurn();
      src.subarray(at, Math.min(n, at + step)).sort(before);
    }
    let dst = new Uint32Array(n);
    let sinceTurn = 0;
    for (let width = step; width < n; width *= 2) {
      for (let lo = 0; lo < n; lo += 2 * width) {
        const mid = Math.min(n, lo + width);
        const hi = Math.min(n, lo + 2 * width);
        let i = lo;
        let j = mid;
        let k = lo;
        while (i < mid && j < hi) {
          dst[k++] = before(src[i] as number, src[j] as number) <= 0 ? (src[i++] as number) : (src[j++] as number);
          if (++sinceTurn >= step) {
            sinceTurn = 0;
            await nextTurn();
          }
        }
        while (i < mid) dst[k++] = src[i++] as number;
        while (j < hi) dst[k++] = src[j++] as number;
      }
      [src, dst] = [dst, src];
    }
    return src;
  }

  private add(key: Bytes, value: Bytes | undefined): void {
    const need = key.length + (value?.length ?? 0);
    if (this.used + need > this.arena.length) {
      const grown = new Uint8Array(Math.max(2 * this.arena.length, this.used + need));
      grown.set(this.arena.subarray(0, this.used));
      this.arena = grown;
    }
    if (4 * (this.count + 1) > this.ops.length) {
      const grown = new Int32Array(2 * this.ops.length);
      grown.set(this.ops);
      this.ops = grown;
    }
    const at = 4 * this.count++;
    this.ops[at] = this.used;
    this.ops[at + 1] = key.length;
    this.arena.set(key, this.used);
    this.used += key.length;
    if (value === undefined) {
      this.ops[at + 2] = 0;
      this.ops[at + 3] = -1;
      this.added += key.length;
    } else {
      this.ops[at + 2] = this.used;
      this.ops[at + 3] = value.length;
      this.arena.set(value, this.used);
      this.used += value.length;
      this.added += key.length + value.length;
    }
  }
}

/**
 * An install's batch writes, in order: each starts when the one before it is written, and
 * up to STATE_SNAPSHOT_INSTALL_WRITES_QUEUED are written or waiting while the next fills.
 * With one (a batch written while the next filled) the installer's loop and RocksDB's
 * write thread waited on each other at every batch whichever was late, a GC pause on one
 * side or a flush on the other; a second one queued takes up that slack.
 */
class InstallWrites {
  /** Batches written or waiting, oldest first, with their writes. */
  private readonly inflight: Array<{ batch: EngineBatch; done: Promise<void> }> = [];
  /** The last write queued (each waits for the one before). */
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly engine: Engine) {}

  /** Queues `full`'s write; returns an empty batch to fill next, once one is free. */
  async queue(full: EngineBatch): Promise<EngineBatch> {
    const done = this.tail.then(() => full.write());
    done.catch(() => undefined); // awaited below or by drained()/settled()
    this.tail = done;
    this.inflight.push({ batch: full, done });
    if (this.inflight.length < STATE_SNAPSHOT_INSTALL_WRITES_QUEUED) return this.engine.batch();
    const oldest = this.inflight.shift() as { batch: EngineBatch; done: Promise<void> };
    await oldest.done;
    return oldest.batch; // written, so empty
  }

  /** Every queued write done (throws the first failure). */
  async drained(): Promise<void> {
    await this.tail;
  }

  /** Every queued write finished, failed or not. */
  async settled(): Promise<void> {
    await this.tail.catch(() => undefined);
  }
}

/**
 * Reads exact byte counts from a chunk stream and keeps the digest of what it handed out.
 * readNow answers a view into the current chunk without copying (chunks are never reused
 * by their source); read copies across chunk boundaries. The digest is fed a chunk at a
 * time, not per read.
 */
class ChunkReader {
  private readonly it: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  private readonly hash = createHash('sha256');
  private current: Uint8Array = new Uint8Array(0);
  private at = 0;
  /** Bytes of `current` already fed to the digest. */
  private hashedAt = 0;
  private consumed = 0;

  constructor(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.it = Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
  }

  /** `n` bytes if the current chunk holds them all, else undefined (then use read). */
  readNow(n: number): Uint8Array | undefined {
    if (this.current.length - this.at < n) return undefined;
    const out = this.current.subarray(this.at, this.at + n);
    this.at += n;
    this.consumed += n;
    return out;
  }

  async read(n: number): Promise<Uint8Array> {
    assert(n >= 0 && n <= STATE_SNAPSHOT_RECORD_BYTES_MAX, () => `read of ${n} bytes`);
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.at === this.current.length && !(await this.nextChunk())) {
        throw new StateSnapshotError(`state snapshot truncated after ${this.consumed + filled} bytes`);
      }
      const take = Math.min(n - filled, this.current.length - this.at);
      out.set(this.current.subarray(this.at, this.at + take), filled);
      this.at += take;
      filled += take;
    }
    this.consumed += n;
    return out;
  }

  /** Bytes handed out so far. */
  get bytesRead(): number {
    return this.consumed;
  }

  /** Digest of every byte read so far. */
  digest(): Uint8Array {
    this.hash.update(this.current.subarray(this.hashedAt, this.at));
    this.hashedAt = this.at;
    return new Uint8Array(this.hash.copy().digest());
  }

  async atEnd(): Promise<boolean> {
    while (this.at === this.current.length) {
      if (!(await this.nextChunk())) return true;
    }
    return false;
  }

  /** Lets the source go (a gRPC stream, a generator) when we stop early. */
  async close(): Promise<void> {
    await this.it.return?.();
  }

  private async nextChunk(): Promise<boolean> {
    this.hash.update(this.current.subarray(this.hashedAt, this.at));
    const r = await this.it.next();
    if (r.done === true) {
      this.current = new Uint8Array(0);
      this.at = 0;
      this.hashedAt = 0;
      return false;
    }
    // A plain view of a Buffer (gRPC hands out Buffers): Uint8Array's subarray is native,
    // Buffer's goes through JS (adjustOffset, a FastBuffer) and was a tenth of the
    // installer's time, once per key and per value.
    const c = r.value;
    this.current = Buffer.isBuffer(c) ? new Uint8Array(c.buffer, c.byteOffset, c.byteLength) : c;
    this.at = 0;
    this.hashedAt = 0;
    return true;
  }
}
