// The maintained RocksDB bindings evaluated for issue 19 run the shared engine suite when
// installed (optional dependencies); each skips loudly when it is not.
import { test } from 'node:test';
import { runEngineSuite } from './engine-suite.js';
import { nxteditionRocksdbAvailable, openNxtRocksEngine } from './nxtedition-rocksdb-engine.js';
import { openNativeRocksEngine, rocksdbNativeAvailable } from './rocksdb-native-engine.js';

if (nxteditionRocksdbAvailable()) runEngineSuite('@nxtedition/rocksdb', openNxtRocksEngine, { persistent: true });
else test('Engine: @nxtedition/rocksdb', (t) => t.skip('@nxtedition/rocksdb not installed: npm install --no-save @nxtedition/rocksdb'));

if (rocksdbNativeAvailable()) runEngineSuite('rocksdb-native', openNativeRocksEngine, { persistent: true });
else test('Engine: rocksdb-native', (t) => t.skip('rocksdb-native not installed: npm install --no-save rocksdb-native'));
