// The shortcuts of the lww apply path (issue 13's performance: an lww write costs no more
// than a strong put) give what the general code gave: the direct key builders and the key
// index entry encoder the same bytes as the generic ones (the index is on disk: older data
// dirs must read the same), keyString the same string as Buffer's latin1, and a write of
// several ops on the same and on other keys (the first projection kept apart from the others)
// the same etcd view and one revision; a write's answer, encoded only when asked for, the
// same bytes for a waiter and for the dedupe record.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BinWriter, encodeCommand, type ApplyItem } from '../mvcc/index.js';
import { concatBytes, encodeU64 } from '../storage/index.js';
import { decodeIndex, encodeIndex, encodeKeyIndex } from './codec.js';
import { decodeAnswer, encodeAnswer, encodeBody, isWriteAnswer } from './entry.js';
import { Sub, indexKey, keyStateKey, subPrefix, text } from './layout.js';
import { REGION, b, withHarness } from './testing.js';
import { keyString } from './work.js';

const LWW = { name: 'cfg', prefix: 'cfg/', level: 'eventual' as const, crdtType: 'lww' as const };
const INDEX_KEY_TAG = 1;

test('key builders and the key index entry: the same bytes as the generic encoders', () => {
  for (const len of [0, 1, 2, 126, 127, 128, 129, 300]) {
    const key = Uint8Array.from({ length: len }, (_, i) => (i * 37) % 256);
    assert.deepEqual(encodeKeyIndex(key), new BinWriter().byte(INDEX_KEY_TAG).bytes(key).finish(), `key of ${len} bytes`);
    assert.deepEqual(encodeIndex({ where: 'key', key }), encodeKeyIndex(key));
    assert.deepEqual(decodeIndex(encodeKeyIndex(key)), { where: 'key', key });
    assert.deepEqual(keyStateKey('cfg', key), concatBytes(subPrefix('cfg', Sub.KeyState), key));
  }
  for (const seq of [0, 1, 255, 256, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    assert.deepEqual(indexKey('cfg', REGION, seq), concatBytes(subPrefix('cfg', Sub.Index), text(REGION), Uint8Array.of(0), encodeU64(seq)));
  }
});

test('key builders: the memos of sub prefixes and origin prefixes give each (namespace, origin) its own bytes, interleaved', () => {
  // The last (namespace, origin) pair is remembered in front of the maps: asking for others in
  // between, and for names that are prefixes of each other, must never hand back another's.
  const pairs: Array<[string, string]> = [['cfg', REGION], ['cfg', 'edge:d:1'], ['cf', REGION], ['cfg2', REGION], ['cfg', 'edge:d:10'], ['cfg', REGION]];
  for (let round = 0; round < 3; round++) {
    for (const [ns, origin] of pairs) {
      const generic = concatBytes(Uint8Array.of(0x15, 0x02), text(ns), Uint8Array.of(0, Sub.Index), text(origin), Uint8Array.of(0), encodeU64(round + 7));
      assert.deepEqual(indexKey(ns, origin, round + 7), generic, `${ns} ${origin}`);
      for (const sub of Object.values(Sub)) assert.deepEqual(subPrefix(ns, sub), concatBytes(Uint8Array.of(0x15, 0x02), text(ns), Uint8Array.of(0, sub)));
    }
  }
});

test('answers: the bytes of a write answer are the same whether the dedupe record asked for them (a client id) or its waiter did', async () => {
  const ops = [{ type: 'lwwPut' as const, key: b('cfg/a'), value: b('1') }, { type: 'lwwDelete' as const, key: b('cfg/b') }];
  const bodies: Uint8Array[] = [];
  for (const client of [undefined, { clientId: 'c1', seq: 3 }]) {
    await withHarness([LWW], async (h) => {
      const body = h.writeBody('cfg', ops);
      const items = (): ApplyItem[] => [{ index: ++h.index, command: encodeCommand({ type: 'external', external: { body: encodeBody(body) }, ...(client ? { client } : {}) }) }];
      const [first] = await h.mvcc.applyBatch(items());
      assert.equal(first?.response?.type, 'external');
      if (first?.response?.type !== 'external') return;
      const bytes = first.response.external.body;
      assert.deepEqual(bytes, encodeAnswer(decodeAnswer(bytes)));
      assert.equal(first.response.external.body, bytes, 'encoded once: the same bytes object when asked again');
      bodies.push(bytes);
      if (client === undefined) return;
      // The retry is answered from the dedupe record: the bytes it stored.
      const [retry] = await h.mvcc.applyBatch(items());
      assert.equal(retry?.response?.type, 'external');
      if (retry?.response?.type === 'external') assert.deepEqual(retry.response.external.body, bytes);
    });
  }
  assert.deepEqual(bodies[0], bodies[1]);
});

test('keyString: one char per byte, as Buffer latin1, for every byte value and for views', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(keyString(all), Buffer.from(all).toString('latin1'));
  const view = all.subarray(10, 20);
  assert.equal(keyString(view), Buffer.from(view).toString('latin1'));
  assert.equal(keyString(new Uint8Array(0)), '');
});

test('lww: a write of several ops over the same and other keys projects the last value of each, at one revision', () =>
  withHarness([LWW], async (h) => {
    const before = h.mvcc.currentRevision;
    const a = await h.write('cfg', [
      { type: 'lwwPut', key: b('cfg/a'), value: b('1') },
      { type: 'lwwPut', key: b('cfg/b'), value: b('2') },
      { type: 'lwwPut', key: b('cfg/a'), value: b('3') },
      { type: 'lwwPut', key: b('cfg/c'), value: b('4') },
      { type: 'lwwDelete', key: b('cfg/b') },
    ]);
    assert.equal(a.answer.kind, 'write');
    assert.equal(a.revision, before + 1);
    assert.deepEqual(await h.etcdKeys('cfg/'), ['cfg/a', 'cfg/c']);
    assert.equal(await h.etcd('cfg/a'), '3');
    assert.equal(await h.etcd('cfg/c'), '4');
    // A key written first then deleted in the same write, then written again by the next one.
    await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/d'), value: b('5') }, { type: 'lwwDelete', key: b('cfg/d') }]);
    assert.equal(await h.etcd('cfg/d'), undefined);
    await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/d'), value: b('6') }]);
    assert.equal(await h.etcd('cfg/d'), '6');
  }));

test('isWriteAnswer: true for a write answer only (an etcd Put on lww skips decoding the outcomes)', () => {
  assert.equal(isWriteAnswer(encodeAnswer({ kind: 'write', namespace: 'cfg', results: [{ dot: { origin: REGION, seq: 1 } }] })), true);
  assert.equal(isWriteAnswer(encodeAnswer({ kind: 'write', namespace: 'cfg', results: [] })), true);
  assert.equal(isWriteAnswer(encodeAnswer({ kind: 'error', code: 'not-found', message: 'no' })), false);
  assert.equal(isWriteAnswer(encodeAnswer({ kind: 'page', namespace: 'cfg', applied: 1 })), false);
  assert.equal(isWriteAnswer(encodeAnswer({ kind: 'edge' })), false);
  assert.equal(isWriteAnswer(encodeAnswer({ kind: 'gc', namespace: 'cfg', dropped: 0 })), false);
});
