// Start-up checks of a data directory on real RocksDB in a temp dir (startup-check.ts):
// a new directory, a directory of another member, a lost raft/, a damaged state/.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { openSync, writeSync, closeSync, statSync } from 'node:fs';
import { CURRENT_STATE_FILE, RocksEngine, raftDir, removeStaleStateDirs, sealRocksDir } from '../storage/index.js';
import { setCurrentStateDir } from '../storage/data-dir.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { DataDirRefusedError, checkDataDir } from './startup-check.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const IDS = { clusterId: 0xabc, memberId: 0x123 };

/** A data dir as a member leaves it: marker, raft/ and state/ each with a key. */
async function usedDataDir(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rs-startup-'));
  dirs.push(dataDir);
  await checkDataDir({ dataDir, ...IDS, logger: silentLogger, verify: 'never' });
  for (const dir of [raftDir(dataDir), join(dataDir, 'state')]) {
    const db = await RocksEngine.open(dir);
    await db.write([{ type: 'put', key: Uint8Array.of(1), value: Uint8Array.of(2) }], { sync: true });
    await db.close();
  }
  return dataDir;
}

describe('checkDataDir', () => {
  it('a new directory gets a marker and may create both databases', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rs-startup-'));
    dirs.push(dataDir);
    const c = await checkDataDir({ dataDir, ...IDS, logger: silentLogger });
    assert.equal(c.raftIsNew, true);
    assert.equal(c.stateIsNew, true);
    assert.equal(c.stateDamage, undefined);
    assert.equal(c.markerWritten, true);
  });

  it('a used directory opens as it is', async () => {
    const dataDir = await usedDataDir();
    const c = await checkDataDir({ dataDir, ...IDS, logger: silentLogger });
    assert.deepEqual([c.raftIsNew, c.stateIsNew, c.stateDamage, c.markerWritten], [false, false, undefined, false]);
  });

  it('another member\'s directory is refused', async () => {
    const dataDir = await usedDataDir();
    await assert.rejects(checkDataDir({ dataDir, clusterId: IDS.clusterId, memberId: 0x999, logger: silentLogger }),
      (err: Error) => err instanceof DataDirRefusedError && /belongs to member 123/.test(err.message));
  });

  it('a lost raft/ is refused with the recovery named, never re-created', async () => {
    const dataDir = await usedDataDir();
    rmSync(raftDir(dataDir), { recursive: true });
    await assert.rejects(checkDataDir({ dataDir, ...IDS, logger: silentLogger }),
      (err: Error) => err instanceof DataDirRefusedError && /member reseed/.test(err.message));
    assert.equal(existsSync(raftDir(dataDir)), false);
  });

  it('a state/ without CURRENT is moved aside, kept, and a new one may be created', async () => {
    const dataDir = await usedDataDir();
    unlinkSync(join(dataDir, 'state', 'CURRENT'));
    const c = await checkDataDir({ dataDir, ...IDS, logger: silentLogger });
    assert.equal(c.stateDamage?.reason, 'unreadable');
    assert.equal(c.stateIsNew, true);
    assert.ok(c.stateDamage?.movedTo !== undefined && existsSync(c.stateDamage.movedTo));
    assert.ok(readdirSync(c.stateDamage.movedTo).some((f) => f.endsWith('.log') || f.endsWith('.sst')), 'its files are kept');
    assert.equal(existsSync(join(dataDir, 'state')), false);
  });

  it('CURRENT_STATE lost after an install (state.<n>/ left, state/ gone): every state dir moved aside, kept, never removed', async () => {
    const dataDir = await usedDataDir();
    renameSync(join(dataDir, 'state'), join(dataDir, 'state.2'));
    await setCurrentStateDir(dataDir, 'state.2');
    assert.equal((await checkDataDir({ dataDir, ...IDS, logger: silentLogger })).stateDamage, undefined, 'with its pointer it is the live state');
    unlinkSync(join(dataDir, CURRENT_STATE_FILE));
    const c = await checkDataDir({ dataDir, ...IDS, logger: silentLogger });
    assert.equal(c.stateDamage?.reason, 'unreadable');
    assert.match(c.stateDamage.detail, /CURRENT_STATE is missing and state\.2 remain/);
    assert.equal(c.stateIsNew, true);
    assert.ok(c.stateDamage.movedTo !== undefined && readdirSync(c.stateDamage.movedTo).some((f) => f.endsWith('.log')), 'its files are kept');
    // What the member then opens: a new state/, with nothing left for the leftover clean-up to remove.
    assert.deepEqual(await removeStaleStateDirs(dataDir), []);
  });

  it('a database sealed at a clean stop skips the full read; one changed after the seal is read whole and caught', async () => {
    const dataDir = await usedDataDir();
    // SST files in state/, so bytes can be damaged where the full read finds them.
    const state = await RocksEngine.open(join(dataDir, 'state'), { writeBufferSize: 256 * 1024 });
    for (let b = 0; b < 10; b++) {
      const ops = [];
      for (let i = 0; i < 100; i++) ops.push({ type: 'put' as const, key: Buffer.from(`k${b}-${i}`), value: randomBytes(1000) });
      await state.write(ops);
    }
    await state.close();
    await sealRocksDir(raftDir(dataDir));
    await sealRocksDir(join(dataDir, 'state'));
    const lines: string[] = [];
    const logger = recordingLogger(lines);
    const clean = await checkDataDir({ dataDir, ...IDS, logger });
    assert.equal(clean.stateDamage, undefined);
    assert.equal(lines.filter((l) => /full read skipped/.test(l)).length, 2, lines.join('\n'));

    await sealRocksDir(join(dataDir, 'state'));
    const sst = readdirSync(join(dataDir, 'state')).find((n) => n.endsWith('.sst'));
    assert.ok(sst !== undefined);
    const file = join(dataDir, 'state', sst);
    const fd = openSync(file, 'r+');
    writeSync(fd, randomBytes(4096), 0, 4096, Math.floor(statSync(file).size / 2) - 2048);
    closeSync(fd);
    lines.length = 0;
    const damaged = await checkDataDir({ dataDir, ...IDS, logger });
    assert.equal(damaged.stateDamage?.reason, 'corrupt', lines.join('\n'));
    assert.ok(lines.some((l) => /reading the database whole before use/.test(l) && /changed since the clean stop/.test(l)), lines.join('\n'));
  });
});

function recordingLogger(lines: string[]): Logger {
  const record = (msg: string, fields?: Record<string, unknown>): void => {
    lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { debug: record, info: record, warn: record, error: record };
}
