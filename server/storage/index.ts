// server/storage: what the rest of the server uses. See DESIGN.md §5.
//
//   const raftEngine = await openRocksEngine(raftDir(dataDir));
//   const log = await RaftLogStore.open(raftEngine);          // the core's Storage
//   const state = await openStateEngine(dataDir, openRocksEngine);
//   ... state.write([...ops, { type: 'put', key: STATE_APPLIED_INDEX_KEY, value: encodeU64(i) }]);

export type { BatchOp, Bytes, Engine, EngineOpener, IterateOptions, ScanOptions } from './engine.js';
export { ENGINE_SCAN_CHUNK_BYTES, ENGINE_SCAN_CHUNK_PAIRS_MAX } from './engine.js';
export { MemoryEngine, openMemoryEngine } from './memory-engine.js';
export {
  ROCKSDB_BINDING, ROCKSDB_OPEN_OPTIONS, RocksEngine, STATE_WRITE_BUFFER_BYTES, openExistingRocksEngine, openExistingStateRocksEngine, openRocksEngine,
  openStateRocksEngine, type RocksOpenOptions,
} from './rocksdb-engine.js';
export { describeRocksdbBinding, type RocksdbBinding } from './rocksdb-binding.js';
export { RaftLogStore, type RaftSave } from './raft-log-store.js';
export { NODE_NICE_VAR, ROCKSDB_NICE_VAR, keepBackgroundThreadsLow, reniceGroupsFromEnv, lowerBackgroundThreadPriority, type ThreadRenice } from './thread-priority.js';
export { StorageCorruptionError, isCorruption, watchingCorruption } from './corruption-watch.js';
export { SEAL_FILE, breakSealUnchecked, checkAndBreakSeal, sealRocksDir, type SealCheck } from './db-seal.js';
export {
  CURRENT_STATE_FILE,
  RAFT_DIR_NAME,
  STATE_DIR_NAME,
  currentStateDirName,
  openStateEngine,
  raftDir,
  removeStaleStateDirs,
} from './data-dir.js';
export {
  STATE_SNAPSHOT_CHUNK_BYTES,
  StateSnapshotError,
  installStateSnapshot,
  newInstallTimings,
  readStateSnapshot,
  type InstallTimings,
  type SnapshotDerivation,
} from './state-snapshot.js';
export {
  STATE_SNAPSHOT_INSTALL_KEY,
  RaftKeyspace,
  STATE_APPLIED_INDEX_KEY,
  STATE_CONF_STATE_KEY,
  StateKeyspace,
  compareBytes,
  concatBytes,
  decodeU64,
  encodeU64,
  keyspaceRange,
  numberKey,
  numberOfKey,
  prefixEnd,
  stateMetaKey,
  writeU64,
  U64_BYTES,
} from './keys.js';
