// RocksDB options beyond what the `rocksdb` package's open() takes (cache, write buffer,
// block size, open files), for the release build only (issue 20: a put and a get at 1M keys
// as cheap as at 10k). scripts/build-rocksdb.mjs compiles a RegionstoreTune() into the
// binding that reads these `rs*` keys from the same open options object; the package's
// prebuilt binary does not know them and ignores them, so one open call serves both builds
// (the prebuilt one just runs with RocksDB's defaults, as before).
//
// REGIONSTORE_ROCKSDB_TUNING (for measurements, not for production): comma-separated
// `name=value` pairs that override the chosen values of every database the process opens,
// e.g. `rsMemtableBloomPermille=0,rsStatistics=1`; an unknown name or a value that is not a
// non-negative integer is refused at open with a message. Besides the rs* names it takes
// `writeBufferMiB` (the memtable size) and `compression` (0: none, 1: snappy), and a name
// prefixed `state.` applies to a member's state database only, `other.` to every other
// database (the raft log's, an edge's): `state.writeBufferMiB=16,other.compression=0`.

/** The rs* open options the release build reads (each unset one keeps RocksDB's default). */
export interface RocksTuning {
  /** Bloom filter bits per key in SST files (RocksDB's full filter; the binding's own: 10). 0: no filter. */
  rsBloomBitsPerKey?: number;
  /** Block-based table format version (6.17's default 4; 5 has the faster cache-local bloom). */
  rsFormatVersion?: number;
  /** Index and filter blocks in the block cache (charged to it) instead of held per open table. */
  rsCacheIndexAndFilterBlocks?: number;
  /** With the above: level-0 files' index and filter blocks pinned in the cache. */
  rsPinL0FilterAndIndexBlocks?: number;
  /** A hash index inside data blocks: a point lookup finds its key without a binary search. */
  rsDataBlockHashIndex?: number;
  /** Memtable whole-key bloom filter, its size in thousandths of the write buffer (0: off). */
  rsMemtableBloomPermille?: number;
  /** Flush and compaction threads together (RocksDB's default 2). */
  rsMaxBackgroundJobs?: number;
  /** Threads one compaction may be split over (default 1). */
  rsMaxSubcompactions?: number;
  /** Level-0 files that start a compaction into level 1 (default 4). */
  rsLevel0CompactionTrigger?: number;
  /** Level-0 files from which writes are slowed (default 20). */
  rsLevel0SlowdownTrigger?: number;
  /** Level-0 files at which writes stop (default 36). */
  rsLevel0StopTrigger?: number;
  /** Size of level 1 in MiB (default 256). */
  rsMaxBytesForLevelBaseMiB?: number;
  /** SST file size at level 1 in MiB (default 64). */
  rsTargetFileSizeBaseMiB?: number;
  /** Level sizes derived from the last level's (fewer levels while the data is small). */
  rsDynamicLevelBytes?: number;
  /** Memtables kept before writes stall (default 2). */
  rsMaxWriteBufferNumber?: number;
  /** WAL and memtable writes of consecutive write groups overlapped. */
  rsPipelinedWrite?: number;
  /** The first N levels (0 is level 0) written without compression. */
  rsUncompressedLevels?: number;
  /** RocksDB's statistics (tickers only), read with RocksEngine.statistics(). */
  rsStatistics?: number;
}

const TUNING_NAMES: ReadonlySet<string> = new Set<keyof RocksTuning>([
  'rsBloomBitsPerKey', 'rsFormatVersion', 'rsCacheIndexAndFilterBlocks', 'rsPinL0FilterAndIndexBlocks', 'rsDataBlockHashIndex',
  'rsMemtableBloomPermille', 'rsMaxBackgroundJobs', 'rsMaxSubcompactions', 'rsLevel0CompactionTrigger', 'rsLevel0SlowdownTrigger',
  'rsLevel0StopTrigger', 'rsMaxBytesForLevelBaseMiB', 'rsTargetFileSizeBaseMiB', 'rsDynamicLevelBytes', 'rsMaxWriteBufferNumber',
  'rsPipelinedWrite', 'rsUncompressedLevels', 'rsStatistics',
]);

/** The environment variable of measurement overrides (see the top of this file). */
export const ROCKSDB_TUNING_VAR = 'REGIONSTORE_ROCKSDB_TUNING';

/** Which databases an override prefix selects: a member's state database, or any other. */
export type TuningScope = 'state' | 'other';
const SCOPES: ReadonlySet<string> = new Set<TuningScope>(['state', 'other']);
/** Override names beyond the rs* ones: open options of the package itself. */
const OPEN_OPTION_NAMES: ReadonlySet<string> = new Set(['writeBufferMiB', 'compression']);
/** What an override may set: the rs* options and the package's memtable size and compression. */
export type TuningOverride = RocksTuning & { writeBufferSize?: number; compression?: boolean };

/**
 * Every database (the raft log's, an edge's): what the state database's measurements
 * (README "Scale benchmark", session 9) showed helps any point lookup.
 * - Memtable bloom: every put's read-ahead asks for its key's latest row, and a new key is
 *   found nowhere; without a filter each miss walks the skip lists of the active and the
 *   flushing memtable (~20 random cache misses each in a 64 MiB one).
 * - Format 5: RocksDB's cache-local bloom (one cache line per probe, where format 4's
 *   legacy filter touches up to 6) with a lower false-positive rate at the same bits.
 * Both are readable by any RocksDB 6.6+, the prebuilt binary included.
 */
export const ROCKSDB_TUNING: RocksTuning = {
  rsMemtableBloomPermille: 20,
  rsFormatVersion: 5,
};

/**
 * The state database's (server/mvcc): every database's, and level-0 triggers for its 16 MiB
 * memtables (STATE_WRITE_BUFFER_BYTES in rocksdb-engine.ts says why and what was measured).
 * - Compaction at 16 level-0 files: 16 × 16 MiB is the 256 MiB per level-0 compaction the
 *   64 MiB memtables gathered at RocksDB's trigger of 4, so level 1 is rewritten as seldom
 *   (in process at 1M keys: 1.9 KB compacted per put and 2.2-2.4 µs of the compaction
 *   thread per put with either).
 * - Slowdown at 40 files and stop at 56 (RocksDB's 20 and 36 would slow writes 4 files
 *   after a compaction starts): 24 files of room while one runs, as the defaults left 16
 *   after their trigger of 4; RocksDB's stall.micros stayed 0 over a 1M-key load in process.
 */
export const STATE_ROCKSDB_TUNING: RocksTuning = {
  ...ROCKSDB_TUNING,
  rsLevel0CompactionTrigger: 16,
  rsLevel0SlowdownTrigger: 40,
  rsLevel0StopTrigger: 56,
};

/**
 * Parses REGIONSTORE_ROCKSDB_TUNING for a database of `scope` (unprefixed names and those
 * prefixed with the scope); throws with a message naming what is wrong.
 */
export function tuningFromEnv(env: NodeJS.ProcessEnv = process.env, scope: TuningScope = 'other'): TuningOverride {
  const text = env[ROCKSDB_TUNING_VAR];
  if (text === undefined || text.trim() === '') return {};
  const out: Record<string, number | boolean> = {};
  for (const part of text.split(',')) {
    const [scoped, value, ...extra] = part.trim().split('=');
    const dot = scoped?.indexOf('.') ?? -1;
    const prefix = dot > 0 ? scoped?.slice(0, dot) : undefined;
    const name = dot > 0 ? scoped?.slice(dot + 1) : scoped;
    if (name === undefined || value === undefined || extra.length > 0 || (prefix !== undefined && !SCOPES.has(prefix)) ||
      !(TUNING_NAMES.has(name) || OPEN_OPTION_NAMES.has(name))) {
      throw new Error(`${ROCKSDB_TUNING_VAR}: "${part}" is not [state.|other.]name=value with a name among ${[...TUNING_NAMES, ...OPEN_OPTION_NAMES].join(', ')}`);
    }
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new Error(`${ROCKSDB_TUNING_VAR}: ${scoped}=${value} is not an integer from 0 to 2^32-1`);
    if (prefix !== undefined && prefix !== scope) continue;
    if (name === 'writeBufferMiB') {
      // The binding reads writeBufferSize as a uint32: 4095 MiB at most.
      if (n === 0 || n >= 4096) throw new Error(`${ROCKSDB_TUNING_VAR}: ${scoped}=${value}: a memtable of 1 to 4095 MiB`);
      out['writeBufferSize'] = n * 2 ** 20;
    } else if (name === 'compression') {
      out['compression'] = n !== 0;
    } else {
      out[name] = n;
    }
  }
  return out as TuningOverride;
}

/**
 * RocksDB's statistics tickers (`rocksdb.options-statistics`, one `name COUNT : n` per
 * line) as numbers by name; histograms (not collected at the tickers-only level) are left out.
 */
export function parseRocksStatistics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+) COUNT : (\d+)$/.exec(line.trim());
    if (m !== null) out[m[1] as string] = Number(m[2]);
  }
  return out;
}
