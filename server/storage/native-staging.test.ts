// Small keys and values go through reused views (native-staging.ts): ops of the same
// lengths in one batch must still each land with their own bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RocksEngine } from './rocksdb-engine.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

test('same-length small keys and values in one batch and one EngineBatch each keep their bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rs-staging-'));
  const engine = await RocksEngine.open(dir);
  try {
    await engine.write([
      { type: 'put', key: b('k1'), value: b('v1') },
      { type: 'put', key: b('k2'), value: b('v2') },
      { type: 'put', key: b('k3'), value: new Uint8Array(0) },
      { type: 'del', key: b('k2') },
      { type: 'put', key: b('x'.repeat(64)), value: b('y'.repeat(65)) },
    ]);
    const batch = engine.batch();
    batch.put(b('k4'), b('v4'));
    batch.put(b('k5'), b('v5'));
    await batch.write();
    const got = await engine.getMany([b('k1'), b('k2'), b('k3'), b('k4'), b('k5'), b('x'.repeat(64))]);
    assert.deepEqual(got.map((v) => (v === undefined ? undefined : new TextDecoder().decode(v))), ['v1', undefined, '', 'v4', 'v5', 'y'.repeat(65)]);
  } finally {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
});
