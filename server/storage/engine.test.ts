import { runEngineSuite } from './engine-suite.js';
import { openMemoryEngine } from './memory-engine.js';
import { openRocksEngine } from './rocksdb-engine.js';

runEngineSuite('memory', () => openMemoryEngine(), { persistent: false });
runEngineSuite('rocksdb', openRocksEngine, { persistent: true });
