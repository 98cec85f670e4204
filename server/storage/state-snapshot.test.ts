import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CURRENT_STATE_FILE, openStateEngine, setCurrentStateDir } from './data-dir.js';
import type { Engine } from './engine.js';
import { STATE_APPLIED_INDEX_KEY, encodeU64 } from './keys.js';
import { openRocksEngine } from './rocksdb-engine.js';
import {
  SortedOps,
  STATE_SNAPSHOT_INSTALL_YIELD_BYTES,
  STATE_SNAPSHOT_INSTALL_YIELD_OPS,
  STATE_SNAPSHOT_CHUNK_BYTES,
  StateSnapshotError,
  installStateSnapshot,
  readStateSnapshot,
} from './state-snapshot.js';

const s = (text: string): Uint8Array => new TextEncoder().encode(text);

async function dump(engine: Engine): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of engine.iterate()) out.push(`${Buffer.from(k).toString('hex')}=${v.length}:${Buffer.from(v.subarray(0, 8)).toString('hex')}`);
  return out;
}

async function collect(engine: Engine): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const c of readStateSnapshot(engine)) chunks.push(c);
  return chunks;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** An engine's scan re-cut into chunks of one pair. */
async function* onePairAtATime(chunks: AsyncIterableIterator<Array<[Uint8Array, Uint8Array]>>): AsyncIterableIterator<Array<[Uint8Array, Uint8Array]>> {
  for await (const chunk of chunks) for (const pair of chunk) yield [pair];
}

describe('state snapshot', () => {
  let root = '';
  let n = 0;
  const dir = (): string => join(root, `d${n++}`);
  let source: Engine;
  let sourceDump: string[];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'regionstore-statesnap-'));
    source = await openRocksEngine(dir());
    const big = new Uint8Array(STATE_SNAPSHOT_CHUNK_BYTES + 12345).map((_, i) => i % 251);
    await source.write([
      { type: 'put', key: STATE_APPLIED_INDEX_KEY, value: encodeU64(42) },
      { type: 'put', key: Uint8Array.of(0x11, 0x00, 0xff), value: new Uint8Array(0) },
      { type: 'put', key: Uint8Array.of(0x12, 0xff), value: big },
      ...Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: s(`\x11key-${i}`), value: s(`value-${i}`.repeat(20)) })),
    ]);
    sourceDump = await dump(source);
  });
  after(async () => {
    await source.close();
    await rm(root, { recursive: true, force: true });
  });

  /** A data dir whose live state is `state/` holding one old key. */
  async function dataDirWithOldState(): Promise<{ dataDir: string; old: Engine }> {
    const dataDir = dir();
    const old = await openStateEngine(dataDir, openRocksEngine);
    await old.write([{ type: 'put', key: s('\x10old'), value: s('1') }], { sync: true });
    return { dataDir, old };
  }

  it('round-trips between two RocksDB directories in bounded chunks', async () => {
    const chunks = await collect(source);
    assert.ok(chunks.length >= 2);
    for (const c of chunks) assert.ok(c.length > 0 && c.length <= STATE_SNAPSHOT_CHUNK_BYTES);
    const { dataDir, old } = await dataDirWithOldState();
    const installed = await installStateSnapshot(dataDir, chunks, openRocksEngine, { previous: old });
    assert.deepEqual(await dump(installed), sourceDump);
    assert.equal((await readFile(join(dataDir, CURRENT_STATE_FILE), 'utf8')).trim(), 'state.1');
    assert.deepEqual((await readdir(dataDir)).sort(), [CURRENT_STATE_FILE, 'state.1']);
    await installed.close();
    const reopened = await openStateEngine(dataDir, openRocksEngine);
    assert.deepEqual(await dump(reopened), sourceDump);
    // A second install goes to a new generation.
    const again = await installStateSnapshot(dataDir, readStateSnapshot(source), openRocksEngine, { previous: reopened });
    assert.equal((await readFile(join(dataDir, CURRENT_STATE_FILE), 'utf8')).trim(), 'state.2');
    assert.equal(await exists(join(dataDir, 'state.1')), false);
    await again.close();
  });

  it('reads one consistent view while the database changes', async () => {
    const e = await openRocksEngine(dir());
    await e.write(Array.from({ length: 3000 }, (_, i) => ({ type: 'put' as const, key: s(`\x11k${String(i).padStart(5, '0')}`), value: new Uint8Array(1000) })));
    const atStart = await dump(e);
    const chunks: Uint8Array[] = [];
    for await (const c of readStateSnapshot(e)) {
      if (chunks.length === 0) {
        await e.write([{ type: 'del', key: s('\x11k02999') }, { type: 'put', key: s('\x11zzz'), value: s('late') }]);
      }
      chunks.push(c);
    }
    const dataDir = dir();
    const installed = await installStateSnapshot(dataDir, chunks, openRocksEngine);
    assert.deepEqual(await dump(installed), atStart);
    await installed.close();
    await e.close();
  });

  it('is the same byte stream whatever chunks the engine scans in', async () => {
    const pairAtATime: Engine = {
      get: (k) => source.get(k),
      getMany: (ks) => source.getMany(ks),
      write: (ops, o) => source.write(ops, o),
      batch: () => source.batch(),
      iterate: (o) => source.iterate(o),
      scan: (o) => onePairAtATime(source.scan(o)),
      clear: (r) => source.clear(r),
      approximateSize: () => source.approximateSize(),
      close: async () => {},
    };
    assert.deepEqual(Buffer.concat(await collect(pairAtATime)), Buffer.concat(await collect(source)));
  });

  it('installs a stream cut into pieces of any size (records and the trailer across pieces)', async () => {
    const whole = Buffer.concat(await collect(source));
    const pieces: Uint8Array[] = [];
    for (let at = 0, i = 0; at < whole.length; i++) {
      const size = [1, 7, 9, 997, 65_536][i % 5]!;
      pieces.push(new Uint8Array(whole.subarray(at, at + size)));
      at += size;
    }
    const installed = await installStateSnapshot(dir(), pieces, openRocksEngine);
    assert.deepEqual(await dump(installed), sourceDump);
    await installed.close();
  });

  it('gives the event loop a turn every STATE_SNAPSHOT_INSTALL_YIELD_BYTES of records it parses', async () => {
    // Pieces that are all there at once (as chunks gRPC already received): only the
    // installer's own yields let other callbacks (Raft's tick) run between them.
    const whole = Buffer.concat(await collect(source));
    const PIECE = 4096;
    let turn = 0;
    let counting = true;
    const countTurns = (): void => {
      turn++;
      if (counting) setImmediate(countTurns);
    };
    const bytesInTurn = new Map<number, number>();
    function* pieces(): Generator<Uint8Array> {
      for (let at = 0; at < whole.length; at += PIECE) {
        const piece = new Uint8Array(whole.subarray(at, at + PIECE));
        bytesInTurn.set(turn, (bytesInTurn.get(turn) ?? 0) + piece.length);
        yield piece;
      }
    }
    const dataDir = dir();
    setImmediate(countTurns);
    const installed = await installStateSnapshot(dataDir, pieces(), openRocksEngine).finally(() => (counting = false));
    assert.deepEqual(await dump(installed), sourceDump);
    await installed.close();
    // One turn may take the rest of a piece and the record it ends in beyond the bound.
    const largestRecord = STATE_SNAPSHOT_CHUNK_BYTES + 12345 + 64;
    const bound = STATE_SNAPSHOT_INSTALL_YIELD_BYTES + PIECE + largestRecord;
    const most = Math.max(...bytesInTurn.values());
    assert.ok(most <= bound, `${most} bytes of the stream taken in one turn (bound ${bound})`);
    assert.ok(bytesInTurn.size >= Math.floor(whole.length / (STATE_SNAPSHOT_INSTALL_YIELD_BYTES + largestRecord)),
      `the stream was taken in ${bytesInTurn.size} turns`);
  });

  it('a scan whose engine closes under it throws: a snapshot cut short never looks complete', async () => {
    const e = await openRocksEngine(dir());
    await e.write(Array.from({ length: 20_000 }, (_, i) => ({ type: 'put' as const, key: s(`\x11k${String(i).padStart(6, '0')}`), value: new Uint8Array(200) })));
    const stream = readStateSnapshot(e);
    assert.equal((await stream.next()).done, false);
    await e.close();
    await assert.rejects(async () => {
      for (;;) if ((await stream.next()).done === true) return;
    }, /closed during iteration/);
  });

  async function refuses(mangle: (chunks: Uint8Array[]) => Uint8Array[], message: RegExp): Promise<void> {
    const chunks = mangle((await collect(source)).map((c) => c.slice()));
    const { dataDir, old } = await dataDirWithOldState();
    await assert.rejects(installStateSnapshot(dataDir, chunks, openRocksEngine, { previous: old }), (err: unknown) =>
      err instanceof StateSnapshotError && message.test(err.message));
    // The old state is live and intact, and nothing of the attempt is left.
    assert.deepEqual((await readdir(dataDir)).sort(), ['state']);
    assert.deepEqual(await dump(old), [`${Buffer.from('\x10old').toString('hex')}=1:31`]);
    await old.close();
  }

  it('refuses a stream cut at a chunk boundary', () => refuses((c) => c.slice(0, -1), /truncated/));
  it('refuses a stream cut inside the trailer', () =>
    refuses((c) => [...c.slice(0, -1), (c[c.length - 1] as Uint8Array).subarray(0, (c[c.length - 1] as Uint8Array).length - 5)], /truncated/));
  it('refuses an empty stream', () => refuses(() => [], /truncated/));
  it('refuses a flipped byte in a value', () =>
    refuses((c) => {
      const first = c[0] as Uint8Array;
      first[first.length - 3] = (first[first.length - 3] as number) ^ 0x40;
      return c;
    }, /checksum/));
  it('refuses bytes after the trailer', () => refuses((c) => [...c, Uint8Array.of(0)], /after the state snapshot trailer/));
  it('refuses something that is not a snapshot', () => refuses(() => [s('hello, this is not a snapshot')], /magic/));

  it('cleans up after an install interrupted before the swap', async () => {
    const { dataDir, old } = await dataDirWithOldState();
    await old.close();
    // A crash while building state.1: the directory exists, the pointer was never written.
    const half = await openRocksEngine(join(dataDir, 'state.1'));
    await half.write([{ type: 'put', key: s('\x10half'), value: s('x') }]);
    await half.close();
    await writeFile(join(dataDir, `${CURRENT_STATE_FILE}.tmp`), 'state.1\n');
    const e = await openStateEngine(dataDir, openRocksEngine);
    assert.deepEqual(await dump(e), [`${Buffer.from('\x10old').toString('hex')}=1:31`]);
    assert.deepEqual((await readdir(dataDir)).sort(), ['state']);
    await e.close();
  });

  it('cleans up after an install interrupted after the swap', async () => {
    const { dataDir, old } = await dataDirWithOldState();
    await old.close();
    const next = await openRocksEngine(join(dataDir, 'state.3'));
    await next.write([{ type: 'put', key: s('\x10new'), value: s('2') }], { sync: true });
    await next.close();
    await setCurrentStateDir(dataDir, 'state.3'); // crash before the old dir was removed
    const e = await openStateEngine(dataDir, openRocksEngine);
    assert.deepEqual(await dump(e), [`${Buffer.from('\x10new').toString('hex')}=1:32`]);
    assert.deepEqual((await readdir(dataDir)).sort(), [CURRENT_STATE_FILE, 'state.3']);
    await e.close();
  });
});

/** Bytewise order of two keys given as arrays. */
function cmp(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

describe('SortedOps (an install\'s derived pairs)', () => {
  it('moves a batch\'s derived ops in key order, across turns of the event loop', async () => {
    const derived = new SortedOps();
    // Five runs to sort alone and three passes of merges.
    const n = 4 * STATE_SNAPSHOT_INSTALL_YIELD_OPS + 7;
    const added: Array<[number[], number[] | undefined]> = [];
    // Keys in scattered order, as an install derives them (revision order, not key order).
    for (let i = 0; i < n; i++) {
      const k = [(i * 37) % 256, i % 3, i % 5];
      derived.put(Uint8Array.from(k), Uint8Array.of(i % 256));
      added.push([k, [i % 256]]);
    }
    derived.del(Uint8Array.of(0, 0, 0));
    added.push([[0, 0, 0], undefined]);
    const moved: Array<[number[], number[] | undefined]> = [];
    const out = {
      bytes: 0,
      put: (k: Uint8Array, v: Uint8Array) => void moved.push([[...k], [...v]]),
      del: (k: Uint8Array) => void moved.push([[...k], undefined]),
      write: () => Promise.resolve(),
    };
    let done = false;
    const moving = derived.moveSortedTo(out).then(() => (done = true));
    // A callback queued after the move began (as a Raft tick would be) runs before it ends.
    const ranBefore = await new Promise<boolean>((resolve) => setImmediate(() => resolve(!done)));
    await moving;
    assert.ok(ranBefore, 'the event loop turned while the ops were moved');
    assert.equal(moved.length, n + 1);
    for (let i = 1; i < moved.length; i++) assert.ok(cmp(moved[i - 1]![0], moved[i]![0]) <= 0, 'in key order');
    // Ties keep the order added (Array.prototype.sort is stable): the puts of 0.0.0 before its delete.
    assert.deepEqual(moved, [...added].sort((x, y) => cmp(x[0], y[0])));
    const zero = moved.filter(([k]) => cmp(k, [0, 0, 0]) === 0);
    const zeroAdded = added.filter(([k]) => cmp(k, [0, 0, 0]) === 0);
    assert.ok(zeroAdded.length >= 3, 'several ops on one key');
    assert.deepEqual(zero.map(([, v]) => v), zeroAdded.map(([, v]) => v));
    assert.equal(derived.bytes, 0, 'emptied');
  });
});
