// Checks a RocksDB database's write-ahead logs (`<n>.log`) record by record, in this
// process, before the database is opened (issue 19; db-check.ts runs it first).
//
// Why: the `rocksdb` package's prebuilt binary opens databases with paranoid_checks off, and
// RocksDB then drops a WAL record whose checksum fails and replays the records after it: a
// state missing one write batch under later ones (a hole below a later applied index), a
// raft log missing entries or a vote, silently. The release build (build-rocksdb.mjs) turns
// paranoid checks on, so replay stops at the damage; this check makes either build safe,
// and tells damage apart from what a crash normally leaves.
//
// The format (RocksDB's db/log_format.h and docs "Write Ahead Log File Format"): a file is a
// sequence of 32 KiB blocks; a block holds physical records, each a header and a payload:
//   checksum (4 bytes, little endian: the masked CRC-32C of type .. end of payload)
//   length   (2 bytes, little endian: payload bytes)
//   type     (1 byte: FULL, or FIRST / MIDDLE / LAST fragments of one logical record)
//   [log number (4 bytes) in the "recyclable" types 5-8, whose header is 11 bytes]
// A record never crosses a block; fewer than a header's bytes left at a block's end are
// zero padding. Zero type with zero length is preallocated space: RocksDB skips the block.
//
// The rule: a write cut short by a crash (a torn tail) can only damage the end of the log:
// a record cut at the end of the file, or bad bytes with nothing whole after them (at most
// the rest of the one write being made). That is normal, and RocksDB opens the prefix. A
// bad record followed by a whole logical record (a later write, in this file or a later
// WAL) is damage to data that had been written: RocksDB would replay around a hole.

import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c, unmaskCrc32c } from './crc32c.js';

export const WAL_BLOCK_BYTES = 32 * 1024;
const HEADER_BYTES = 7;
const RECYCLABLE_HEADER_BYTES = 11;
/** Bytes read per read() call: whole blocks. */
const WAL_READ_CHUNK_BYTES = 32 * WAL_BLOCK_BYTES;
const WAL_FILE_RE = /^(\d+)\.log$/;

const RecordType = {
  Zero: 0,
  Full: 1,
  First: 2,
  Middle: 3,
  Last: 4,
  RecyclableFull: 5,
  RecyclableFirst: 6,
  RecyclableMiddle: 7,
  RecyclableLast: 8,
} as const;

/** A place in the logs and what is wrong there. */
export interface WalPlace {
  file: string;
  offset: number;
}

export interface WalCheck {
  files: number;
  bytes: number;
  /** Whole logical records read before the first bad or missing byte. */
  records: number;
  ms: number;
  /** Where the readable log ends early the way a crash leaves it (normal): the prefix opens. */
  tornTail?: WalPlace & { reason: string };
  /** A bad record with a whole one after it: written data was damaged (never a crash's doing). */
  damage?: WalPlace & { reason: string; intactAfter: WalPlace };
}

/** One line for a log or an error message. */
export function describeWalDamage(d: NonNullable<WalCheck['damage']>): string {
  return `WAL ${d.file} has a bad record at byte ${d.offset} (${d.reason}) before an intact one (${d.intactAfter.file} byte ` +
    `${d.intactAfter.offset}): data already written was damaged, not a write cut short by a crash; opened, RocksDB would drop the later records ` +
    '(paranoid checks, the release build) or replay them around the hole (the prebuilt binary)';
}

/** Reads every WAL file of the database in `dir` (oldest first) and checks each record. */
export async function checkWalFiles(dir: string): Promise<WalCheck> {
  const t0 = performance.now();
  const logs = (await readdir(dir))
    .map((name) => ({ name, m: WAL_FILE_RE.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map((f) => ({ name: f.name, number: Number(f.m[1]) }))
    .sort((a, b) => a.number - b.number);
  const scan = new WalScan();
  let bytes = 0;
  const chunk = new Uint8Array(WAL_READ_CHUNK_BYTES);
  for (const log of logs) {
    if (scan.damage !== undefined) break;
    const h = await open(join(dir, log.name), 'r');
    try {
      const size = (await h.stat()).size;
      bytes += size;
      scan.startFile(log.name, log.number);
      for (let at = 0, more = true; at < size && more && scan.damage === undefined;) {
        const want = Math.min(WAL_READ_CHUNK_BYTES, size - at);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await h.read(chunk, got, want - got, at + got);
          if (bytesRead === 0) break; // shrank while read: what was there is checked
          got += bytesRead;
        }
        const last = at + got >= size || got < want;
        for (let b = 0; b < got && more && scan.damage === undefined; b += WAL_BLOCK_BYTES) {
          const end = Math.min(b + WAL_BLOCK_BYTES, got);
          more = scan.block(chunk.subarray(b, end), at + b, last && end === got);
        }
        if (got < want) break;
        at += got;
      }
      scan.endFile();
    } finally {
      await h.close();
    }
  }
  return { files: logs.length, bytes, records: scan.records, ms: Math.round((performance.now() - t0) * 10) / 10, ...scan.result() };
}

/**
 * The scan over every file, block by block. Pure (bytes in, findings out), so the tests
 * can hand it any bytes. Until the first problem it reads as RocksDB does; from then on it
 * only looks for a whole logical record, resynchronising byte by byte inside a damaged
 * block (RocksDB skips the rest of it) so that nothing intact hides behind the damage.
 */
export class WalScan {
  records = 0;
  damage: WalCheck['damage'];
  private problem: (WalPlace & { reason: string }) | undefined;
  private file = '';
  private logNumber = 0;
  /** Where the logical record being assembled from fragments began, if one is. */
  private fragmentAt: number | undefined;
  /** This file has ended early (a recycled file's old records, a cut header): read no more of it. */
  private fileDone = false;

  startFile(name: string, logNumber: number): void {
    this.file = name;
    this.logNumber = logNumber;
    this.fragmentAt = undefined;
    this.fileDone = false;
  }

  /** A logical record begun in this file and never finished: the file ends mid-write. */
  endFile(): void {
    if (this.fragmentAt !== undefined && this.damage === undefined) this.noteProblem(this.fragmentAt, 'a record whose last fragment is missing at the end of the file');
    this.fragmentAt = undefined;
  }

  result(): Pick<WalCheck, 'tornTail' | 'damage'> {
    if (this.damage !== undefined) return { damage: this.damage };
    return this.problem !== undefined ? { tornTail: this.problem } : {};
  }

  /**
   * One block at `offset` of the file (the last one of the file may be short). Returns
   * false when the rest of the file is not to be read.
   */
  block(bytes: Uint8Array, offset: number, lastOfFile: boolean): boolean {
    if (this.fileDone) return false;
    let p = 0;
    while (this.damage === undefined) {
      const room = WAL_BLOCK_BYTES - p; // what the writer had left in this block
      const left = bytes.length - p; // what is there to read
      if (room < HEADER_BYTES) return true; // the block's zero padding
      if (left < HEADER_BYTES) {
        if (left > 0 && lastOfFile) this.cutShort(offset + p, 'a record header cut short at the end of the file');
        return !lastOfFile;
      }
      const type = bytes[p + 6]!;
      const length = bytes[p + 4]! | (bytes[p + 5]! << 8);
      const recyclable = type >= RecordType.RecyclableFull && type <= RecordType.RecyclableLast;
      const headerBytes = recyclable ? RECYCLABLE_HEADER_BYTES : HEADER_BYTES;
      if (recyclable && room < RECYCLABLE_HEADER_BYTES) return true;
      if (recyclable && left < RECYCLABLE_HEADER_BYTES) {
        this.cutShort(offset + p, 'a record header cut short at the end of the file');
        return false;
      }
      if (recyclable && readU32(bytes, p + 7) !== this.logNumber % 2 ** 32) {
        // A record of this file's earlier use (RocksDB recycles WAL files only when asked
        // to): where this use of the file ends.
        this.fileDone = true;
        return false;
      }
      if (headerBytes + length > left) {
        if (lastOfFile && headerBytes + length <= room) {
          this.cutShort(offset + p, 'a record cut short at the end of the file');
          return false;
        }
        p = this.bad(bytes, offset, p, 'a record length past the end of its block');
        continue;
      }
      if (type === RecordType.Zero && length === 0) {
        // Preallocated space: RocksDB skips the rest of the block.
        if (this.fragmentAt !== undefined) this.noteProblem(this.fragmentAt, 'a record cut short by zeros');
        return true;
      }
      if (crc32c(bytes, p + 6, p + headerBytes + length) !== unmaskCrc32c(readU32(bytes, p))) {
        p = this.bad(bytes, offset, p, 'checksum mismatch');
        continue;
      }
      this.physical(type, offset + p);
      p += headerBytes + length;
    }
    return false;
  }

  /** A physical record whose checksum holds. */
  private physical(type: number, at: number): void {
    switch (type) {
      case RecordType.Full:
      case RecordType.RecyclableFull:
        if (this.fragmentAt !== undefined) this.noteProblem(this.fragmentAt, 'a record without its last fragment');
        this.whole(at);
        return;
      case RecordType.First:
      case RecordType.RecyclableFirst:
        if (this.fragmentAt !== undefined) this.noteProblem(this.fragmentAt, 'a record without its last fragment');
        this.fragmentAt = at;
        return;
      case RecordType.Middle:
      case RecordType.RecyclableMiddle:
        if (this.fragmentAt === undefined) this.noteProblem(at, 'a fragment without the start of its record');
        return;
      case RecordType.Last:
      case RecordType.RecyclableLast:
        if (this.fragmentAt === undefined) {
          this.noteProblem(at, 'a fragment without the start of its record');
          return;
        }
        this.whole(this.fragmentAt);
        return;
      default:
        this.fragmentAt = undefined;
        this.noteProblem(at, `unknown record type ${type}`);
    }
  }

  /** A whole logical record at `at`: counted, or, after a problem, the proof of damage. */
  private whole(at: number): void {
    this.fragmentAt = undefined;
    if (this.problem === undefined) {
      this.records++;
      return;
    }
    this.damage = { ...this.problem, intactAfter: { file: this.file, offset: at } };
  }

  private noteProblem(at: number, reason: string): void {
    this.problem ??= { file: this.file, offset: at, reason };
  }

  /** The file ends inside a record: normal after a crash, unless something whole comes later. */
  private cutShort(at: number, reason: string): void {
    this.noteProblem(this.fragmentAt ?? at, reason);
    this.fragmentAt = undefined;
    this.fileDone = true;
  }

  /**
   * A physical record that does not hold at `p`: the problem noted, and the scan goes on at
   * the next place in this block where a physical record does hold (RocksDB drops the rest
   * of the block; an intact record there would still prove damage rather than a torn tail).
   */
  private bad(bytes: Uint8Array, offset: number, p: number, reason: string): number {
    if (this.fragmentAt !== undefined) this.noteProblem(this.fragmentAt, 'a record without its last fragment');
    this.noteProblem(offset + p, reason);
    this.fragmentAt = undefined;
    for (let q = p + 1; q + HEADER_BYTES <= bytes.length; q++) {
      const type = bytes[q + 6]!;
      if (type < RecordType.Full || type > RecordType.RecyclableLast) continue;
      const headerBytes = type >= RecordType.RecyclableFull ? RECYCLABLE_HEADER_BYTES : HEADER_BYTES;
      const length = bytes[q + 4]! | (bytes[q + 5]! << 8);
      if (q + headerBytes + length > bytes.length) continue;
      if (crc32c(bytes, q + 6, q + headerBytes + length) === unmaskCrc32c(readU32(bytes, q))) return q;
    }
    return WAL_BLOCK_BYTES; // nothing intact in the rest of the block
  }
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}
