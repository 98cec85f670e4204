import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROCKSDB_BINDING, RocksEngine } from './rocksdb-engine.js';
import { ROCKSDB_TUNING, ROCKSDB_TUNING_VAR, parseRocksStatistics, tuningFromEnv } from './rocksdb-tuning.js';

test('rocksdb tuning: overrides from the environment, and a wrong one refused with a message', () => {
  assert.deepEqual(tuningFromEnv({}), {});
  assert.deepEqual(tuningFromEnv({ [ROCKSDB_TUNING_VAR]: 'rsMemtableBloomPermille=0, rsStatistics=1' }), { rsMemtableBloomPermille: 0, rsStatistics: 1 });
  assert.throws(() => tuningFromEnv({ [ROCKSDB_TUNING_VAR]: 'rsNoSuchOption=1' }), /rsNoSuchOption=1" is not \[state.\|other.\]name=value with a name among rsBloomBitsPerKey/);
  assert.throws(() => tuningFromEnv({ [ROCKSDB_TUNING_VAR]: 'raft.rsStatistics=1' }), /raft.rsStatistics=1" is not/);
  assert.throws(() => tuningFromEnv({ [ROCKSDB_TUNING_VAR]: 'writeBufferMiB=0' }), /a memtable of 1 to 4095 MiB/);
  assert.throws(() => tuningFromEnv({ [ROCKSDB_TUNING_VAR]: 'rsBloomBitsPerKey=-1' }), /rsBloomBitsPerKey=-1 is not an integer/);
  assert.throws(() => tuningFromEnv({ [ROCKSDB_TUNING_VAR]: 'rsBloomBitsPerKey' }), /is not \[state.\|other.\]name=value/);
});

test('rocksdb tuning: state. and other. overrides reach only their databases; memtable size and compression', () => {
  const env = { [ROCKSDB_TUNING_VAR]: 'rsStatistics=1,state.writeBufferMiB=16,state.rsLevel0CompactionTrigger=8,other.compression=0' };
  assert.deepEqual(tuningFromEnv(env, 'state'), { rsStatistics: 1, writeBufferSize: 16 * 2 ** 20, rsLevel0CompactionTrigger: 8 });
  assert.deepEqual(tuningFromEnv(env, 'other'), { rsStatistics: 1, compression: false });
  assert.deepEqual(tuningFromEnv(env), tuningFromEnv(env, 'other'));
});

test('rocksdb tuning: statistics tickers parsed, histograms left out', () => {
  const text = 'rocksdb.block.cache.miss COUNT : 12\nrocksdb.memtable.hit COUNT : 0\nrocksdb.db.get.micros P50 : 0.000000 P95 : 0.000000 COUNT : 0 SUM : 0\n';
  assert.deepEqual(parseRocksStatistics(text), { 'rocksdb.block.cache.miss': 12, 'rocksdb.memtable.hit': 0 });
});

// The release build reads the rs* options (scripts/build-rocksdb.mjs); the prebuilt binary
// ignores them and opens the same database with RocksDB's defaults. One of the two is
// loaded per process, so this checks the one this run has.
test(`rocksdb tuning: the ${ROCKSDB_BINDING.kind} build opens with the tuning${ROCKSDB_BINDING.kind === 'release' ? ' applied' : ' ignored'}`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rs-tuning-'));
  try {
    const engine = await RocksEngine.open(dir, { rsStatistics: 1 });
    await engine.write([{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v') }]);
    assert.deepEqual((await engine.getMany([Buffer.from('k'), Buffer.from('absent')])).map((v) => v?.length), [1, undefined]);
    const stats = engine.statistics();
    await engine.close();
    const options = readFileSync(join(dir, readdirSync(dir).filter((f) => f.startsWith('OPTIONS-')).sort().at(-1) as string), 'utf8');
    if (ROCKSDB_BINDING.kind === 'release') {
      assert.match(options, /memtable_whole_key_filtering=true/);
      assert.match(options, new RegExp(`format_version=${ROCKSDB_TUNING.rsFormatVersion}\\b`));
      assert.equal(stats['rocksdb.number.multiget.keys.read'], 2, 'getMany is one MultiGet');
    } else {
      assert.match(options, /memtable_whole_key_filtering=false/);
      assert.deepEqual(stats, {});
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
