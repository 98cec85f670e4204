// One behavioural suite every Engine passes (the automerge-repo pattern): the RocksDB
// engine and the in-memory reference run exactly the same cases (engine.test.ts).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ENGINE_SCAN_CHUNK_BYTES, ENGINE_SCAN_CHUNK_PAIRS_MAX, type Bytes, type Engine, type EngineOpener, type IterateOptions } from './engine.js';

export interface EngineSuiteOptions {
  /** The engine keeps its data across close and reopen of the same directory. */
  persistent: boolean;
}

const b = (...bytes: number[]): Uint8Array => Uint8Array.of(...bytes);
const s = (text: string): Uint8Array => new TextEncoder().encode(text);
const str = (bytes: Bytes | undefined): string | undefined =>
  bytes === undefined ? undefined : new TextDecoder().decode(bytes);

async function collect(engine: Engine, options?: IterateOptions): Promise<string[]> {
  const out: string[] = [];
  for await (const [k, v] of engine.iterate(options)) out.push(`${str(k)}=${str(v)}`);
  return out;
}

async function putAll(engine: Engine, pairs: Record<string, string>): Promise<void> {
  await engine.write(Object.entries(pairs).map(([k, v]) => ({ type: 'put' as const, key: s(k), value: s(v) })));
}

export function runEngineSuite(name: string, open: EngineOpener, options: EngineSuiteOptions): void {
  describe(`Engine: ${name}`, () => {
    let root = '';
    let n = 0;
    const fresh = (): { dir: string; engine: Promise<Engine> } => {
      const dir = join(root, `db${n++}`);
      return { dir, engine: open(dir) };
    };
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'regionstore-engine-'));
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it('getMany answers several keys at once, undefined where missing', async () => {
      const e = await fresh().engine;
      await putAll(e, { a: '1', c: '3' });
      assert.deepEqual((await e.getMany([s('a'), s('b'), s('c')])).map(str), ['1', undefined, '3']);
      assert.deepEqual(await e.getMany([]), []);
      await e.close();
    });

    it('scan: the same pairs as iterate, in bounded chunks, from a view fixed at the call', async () => {
      const e = await fresh().engine;
      const total = 2 * ENGINE_SCAN_CHUNK_PAIRS_MAX + 7;
      const value = new Uint8Array(100).fill(0x76);
      const ops = [];
      for (let i = 0; i < total; i++) ops.push({ type: 'put' as const, key: s(`k${String(i).padStart(5, '0')}`), value });
      await e.write(ops);
      const scan = e.scan({ gte: s('k'), lt: s('l') });
      await e.write([{ type: 'put', key: s('k99999'), value }]); // after the call: not seen
      let seen = 0;
      let chunks = 0;
      let last = '';
      for await (const chunk of scan) {
        chunks++;
        assert.ok(chunk.length > 0 && chunk.length <= ENGINE_SCAN_CHUNK_PAIRS_MAX, `chunk of ${chunk.length}`);
        let bytes = 0;
        for (const [k, v] of chunk) {
          const key = str(k) as string;
          assert.ok(key > last, 'key order');
          last = key;
          assert.equal(v.length, 100);
          bytes += k.length + v.length;
        }
        assert.ok(bytes <= ENGINE_SCAN_CHUNK_BYTES + 200, `chunk of ${bytes} bytes`);
        seen += chunk.length;
      }
      assert.equal(seen, total);
      assert.ok(chunks >= 3);
      const keysOnly: string[] = [];
      for await (const chunk of e.scan({ gte: s('k00010'), lt: s('k00013'), values: false })) {
        for (const [k, v] of chunk) {
          keysOnly.push(str(k) as string);
          assert.equal(v.length, 0);
        }
      }
      assert.deepEqual(keysOnly, ['k00010', 'k00011', 'k00012']);
      let counted = 0;
      for await (const chunk of e.scan({ gte: s('k'), lt: s('l'), keys: false, values: false })) {
        for (const [k, v] of chunk) assert.equal(k.length + v.length, 0);
        counted += chunk.length;
      }
      assert.equal(counted, total + 1, "the key written after the first scan is seen by a later one");
      const rev: string[] = [];
      for await (const chunk of e.scan({ lte: s('k00002'), reverse: true, limit: 2 })) for (const [k] of chunk) rev.push(str(k) as string);
      assert.deepEqual(rev, ['k00002', 'k00001']);
      // Breaking off early releases the view (close would hang otherwise on RocksDB).
      for await (const chunk of e.scan()) if (chunk.length > 0) break;
      await e.close();
    });

    it('scan: skip leaves out ranges on the same view, read ahead or not', async () => {
      const e = await fresh().engine;
      const value = new Uint8Array(50).fill(0x76);
      const keys: string[] = [];
      // Prefixes a..e, 2500 keys each: a skipped range longer than a chunk, one inside a chunk.
      for (const p of ['a', 'b', 'c', 'd', 'e']) for (let i = 0; i < 2500; i++) keys.push(`${p}${String(i).padStart(5, '0')}`);
      await e.write(keys.map((k) => ({ type: 'put' as const, key: s(k), value })));
      const skip = [{ gte: s('a'), lt: s('a00010') }, { gte: s('b'), lt: s('c') }, { gte: s('d00100'), lt: s('d00200') }];
      const skipped = (k: string): boolean => skip.some((r) => k >= (str(r.gte) as string) && k < (str(r.lt) as string));
      const want = keys.filter((k) => !skipped(k));
      for (const readAhead of [false, true]) {
        const scan = e.scan({ skip, readAhead, chunkBytes: 1 << 20 });
        await e.write([{ type: 'put', key: s('c99999'), value }, { type: 'del', key: s('e00000') }]); // after the call: not seen
        const got: string[] = [];
        for await (const chunk of scan) {
          assert.ok(chunk.length > 0, 'no empty chunk');
          for (const [k] of chunk) got.push(str(k) as string);
        }
        assert.deepEqual(got, want, `readAhead ${readAhead}`);
        await e.write([{ type: 'del', key: s('c99999') }, { type: 'put', key: s('e00000'), value }]);
      }
      // A read ahead the caller never takes is let go (close would hang otherwise on RocksDB).
      for await (const chunk of e.scan({ readAhead: true })) if (chunk.length > 0) break;
      await e.close();
    });

    it('batch: ops added one by one are copied at once and written together, in order', async () => {
      const e = await fresh().engine;
      await putAll(e, { gone: 'x' });
      const batch = e.batch();
      const scratch = s('k1');
      batch.put(scratch, s('v1'));
      scratch.set(s('k2')); // reused at once: the batch holds its own copy
      batch.put(scratch, s('v2'));
      batch.del(s('gone'));
      batch.put(s('k1'), s('v1b')); // a later op on the same key wins
      assert.equal(batch.bytes, 4 + 4 + 4 + 5);
      const written = batch.write();
      assert.throws(() => batch.put(s('k3'), s('v3')), /in flight/);
      await written;
      assert.equal(batch.bytes, 0);
      assert.deepEqual(await collect(e), ['k1=v1b', 'k2=v2']);
      batch.put(s('k3'), s('v3')); // empty again after its write, and reusable
      await batch.write({ sync: true });
      assert.deepEqual(await collect(e), ['k1=v1b', 'k2=v2', 'k3=v3']);
      await e.close();
    });

    it('gets, puts and deletes', async () => {
      const e = await fresh().engine;
      assert.equal(await e.get(s('a')), undefined);
      await e.write([{ type: 'put', key: s('a'), value: s('1') }]);
      assert.equal(str(await e.get(s('a'))), '1');
      await e.write([{ type: 'put', key: s('a'), value: s('2') }], { sync: true });
      assert.equal(str(await e.get(s('a'))), '2');
      await e.write([{ type: 'del', key: s('a') }]);
      assert.equal(await e.get(s('a')), undefined);
      await e.write([{ type: 'del', key: s('never') }]); // deleting a missing key is fine
      await e.write([{ type: 'put', key: s('empty'), value: new Uint8Array(0) }]);
      assert.deepEqual(await e.get(s('empty')), new Uint8Array(0));
      await e.close();
    });

    it('applies a batch atomically and in order', async () => {
      const e = await fresh().engine;
      await putAll(e, { a: '1', b: '2' });
      await e.write([
        { type: 'del', key: s('a') },
        { type: 'put', key: s('c'), value: s('3') },
        { type: 'put', key: s('c'), value: s('4') }, // later op wins
        { type: 'put', key: s('d'), value: s('5') },
        { type: 'del', key: s('d') },
      ]);
      assert.deepEqual(await collect(e), ['b=2', 'c=4']);
      // A batch with an invalid op (empty key) is refused as a whole.
      await assert.rejects(e.write([{ type: 'put', key: s('x'), value: s('1') }, { type: 'put', key: b(), value: s('1') }]));
      assert.equal(await e.get(s('x')), undefined);
      await e.close();
    });

    it('iterates within gt/gte/lt/lte bounds, in reverse, with a limit', async () => {
      const e = await fresh().engine;
      await putAll(e, { a: '1', b: '2', c: '3', d: '4', e: '5' });
      assert.deepEqual(await collect(e), ['a=1', 'b=2', 'c=3', 'd=4', 'e=5']);
      assert.deepEqual(await collect(e, { gte: s('b'), lt: s('d') }), ['b=2', 'c=3']);
      assert.deepEqual(await collect(e, { gt: s('b'), lte: s('d') }), ['c=3', 'd=4']);
      assert.deepEqual(await collect(e, { gt: s('bb'), lt: s('cc') }), ['c=3']);
      assert.deepEqual(await collect(e, { gte: s('b'), lt: s('d'), reverse: true }), ['c=3', 'b=2']);
      assert.deepEqual(await collect(e, { gt: s('a'), lte: s('d'), reverse: true, limit: 2 }), ['d=4', 'c=3']);
      assert.deepEqual(await collect(e, { limit: 2 }), ['a=1', 'b=2']);
      assert.deepEqual(await collect(e, { reverse: true, limit: 1 }), ['e=5']);
      assert.deepEqual(await collect(e, { limit: 0 }), []);
      assert.deepEqual(await collect(e, { gte: s('x') }), []);
      assert.deepEqual(await collect(e, { gte: s('c'), lt: s('c') }), []);
      // An empty bound is no bound.
      assert.deepEqual(await collect(e, { gte: b(), lt: s('b') }), ['a=1']);
      await e.close();
    });

    it('stops early without leaking (break out of for await)', async () => {
      const e = await fresh().engine;
      await putAll(e, { a: '1', b: '2', c: '3' });
      for (let i = 0; i < 50; i++) {
        for await (const [k] of e.iterate()) {
          assert.equal(str(k), 'a');
          break;
        }
      }
      await e.close();
    });

    it('closes with an iterator still open', async () => {
      const e = await fresh().engine;
      await putAll(e, { a: '1', b: '2' });
      const iter = e.iterate();
      assert.equal((await iter.next()).done, false);
      await e.close();
      await iter.return?.();
    });

    it('iterates over the view of the moment iterate() was called', async () => {
      const e = await fresh().engine;
      await putAll(e, { a: '1', b: '2', c: '3' });
      const iter = e.iterate();
      await e.write([{ type: 'put', key: s('aa'), value: s('new') }, { type: 'del', key: s('c') }]);
      const first = await iter.next();
      assert.equal(first.done, false);
      await e.write([{ type: 'put', key: s('b'), value: s('changed') }, { type: 'put', key: s('z'), value: s('9') }]);
      const rest: string[] = [];
      for await (const [k, v] of iter) rest.push(`${str(k)}=${str(v)}`);
      assert.deepEqual(rest, ['b=2', 'c=3']);
      assert.deepEqual(await collect(e), ['a=1', 'aa=new', 'b=changed', 'z=9']);
      await e.close();
    });

    it('clears [gte, lt)', async () => {
      const e = await fresh().engine;
      await putAll(e, { a: '1', b: '2', c: '3', d: '4' });
      await e.clear({ gte: s('b'), lt: s('d') });
      assert.deepEqual(await collect(e), ['a=1', 'd=4']);
      await e.clear({ gte: s('x'), lt: s('y') });
      assert.deepEqual(await collect(e), ['a=1', 'd=4']);
      await e.close();
    });

    it('orders binary keys bytewise, including 0x00 and 0xff', async () => {
      const e = await fresh().engine;
      const keys = [b(0xff), b(0x00), b(0x00, 0x00), b(0x01, 0xff, 0xff), b(0x01), b(0x80), b(0xff, 0x00), b(0x00, 0xff)];
      await e.write(keys.map((k, i) => ({ type: 'put' as const, key: k, value: b(i, 0x00, 0xff) })));
      const seen: number[][] = [];
      for await (const [k, v] of e.iterate()) {
        seen.push([...k]);
        assert.deepEqual([...v].slice(1), [0x00, 0xff]);
      }
      assert.deepEqual(seen, [[0x00], [0x00, 0x00], [0x00, 0xff], [0x01], [0x01, 0xff, 0xff], [0x80], [0xff], [0xff, 0x00]]);
      assert.deepEqual(await e.get(b(0x00, 0xff)), b(7, 0x00, 0xff));
      const between: number[][] = [];
      for await (const [k] of e.iterate({ gt: b(0x00), lt: b(0xff) })) between.push([...k]);
      assert.deepEqual(between, [[0x00, 0x00], [0x00, 0xff], [0x01], [0x01, 0xff, 0xff], [0x80]]);
      await e.close();
    });

    it('keeps the bytes it was given, not a view the caller may change', async () => {
      const e = await fresh().engine;
      const key = s('k');
      const value = s('v1');
      await e.write([{ type: 'put', key, value }]);
      value[1] = 0x39;
      key[0] = 0x6a;
      assert.equal(str(await e.get(s('k'))), 'v1');
      await e.close();
    });

    it('reports a size and refuses use after close', async () => {
      const e = await fresh().engine;
      await putAll(e, { a: 'x'.repeat(1000) });
      assert.ok((await e.approximateSize()) >= 0);
      await e.close();
      await assert.rejects(e.get(s('a')));
    });

    if (options.persistent) {
      it('keeps synced and unsynced writes across close and reopen', async () => {
        const { dir, engine } = fresh();
        const e = await engine;
        await e.write([{ type: 'put', key: s('synced'), value: s('1') }], { sync: true });
        await e.write([{ type: 'put', key: s('unsynced'), value: s('2') }]);
        await e.write([{ type: 'put', key: s('gone'), value: s('3') }]);
        await e.write([{ type: 'del', key: s('gone') }]);
        await e.close();
        const again = await open(dir);
        assert.deepEqual(await collect(again), ['synced=1', 'unsynced=2']);
        await again.close();
      });

      it('refuses a second open of the same directory', async () => {
        const { dir, engine } = fresh();
        const e = await engine;
        await assert.rejects(open(dir));
        await e.close();
      });
    }
  });
}
