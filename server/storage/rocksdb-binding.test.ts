// The release build's place (rocksdb-binding.ts) is where scripts/build-rocksdb.mjs puts
// it, and the choice follows REGIONSTORE_ROCKSDB_BINDING.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ROCKSDB_BINDING_VAR, ROCKSDB_CACHE_DIR_VAR, chooseRocksdbBinding, rocksdbReleaseDir } from './rocksdb-binding.js';

const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-rocksdb.mjs', import.meta.url));

test('the build script and the engine name the same release directory', () => {
  for (const env of [{ [ROCKSDB_CACHE_DIR_VAR]: '/somewhere/cache' }, { XDG_CACHE_HOME: '/xdg' }, {}]) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (!(ROCKSDB_CACHE_DIR_VAR in env)) delete childEnv[ROCKSDB_CACHE_DIR_VAR];
    if (!('XDG_CACHE_HOME' in env)) delete childEnv['XDG_CACHE_HOME'];
    const r = spawnSync(process.execPath, [BUILD_SCRIPT, '--print-dir'], { encoding: 'utf8', env: childEnv });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), rocksdbReleaseDir(childEnv));
  }
});

test('auto takes the release build when it is there, else the prebuilt one with the reason; release refuses without it', () => {
  const cache = mkdtempSync(join(tmpdir(), 'rs-rocksdb-binding-'));
  try {
    const env = { [ROCKSDB_CACHE_DIR_VAR]: cache };
    const none = chooseRocksdbBinding(env);
    assert.equal(none.kind, 'prebuilt');
    assert.match(none.kind === 'prebuilt' ? none.reason : '', /no release build at .*build-rocksdb\.mjs/);
    assert.throws(() => chooseRocksdbBinding({ ...env, [ROCKSDB_BINDING_VAR]: 'release' }), /no release build/);
    assert.throws(() => chooseRocksdbBinding({ ...env, [ROCKSDB_BINDING_VAR]: 'debug' }), /expected auto, release or prebuilt/);
    const dir = rocksdbReleaseDir(env);
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    writeFileSync(join(dir, 'build', 'Release', 'leveldown.node'), '');
    assert.deepEqual(chooseRocksdbBinding(env), { kind: 'release', dir });
    assert.equal(chooseRocksdbBinding({ ...env, [ROCKSDB_BINDING_VAR]: 'prebuilt' }).kind, 'prebuilt');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
