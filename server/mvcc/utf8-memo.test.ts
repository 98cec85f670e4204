import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BinReader, BinWriter, UTF8_MEMO_STRINGS_MAX, Utf8Memo } from './bin.js';

// Strings as the eventual entries and answers carry them: names, origins, multi-byte text,
// a lone surrogate (encoded as U+FFFD either way), one past the one-byte length varint.
const SAMPLES = ['', 'cfg', 'region:3f2a9c', 'ünïcødé-名前', '\ud800x', 'x'.repeat(200), 'cfg'];

test('stringMemo writes the bytes string() writes, and reads back what string() reads', () => {
  const memo = new Utf8Memo();
  const plain = new BinWriter();
  for (const s of SAMPLES) plain.string(s).uint(7);
  const want = plain.finish();
  for (let round = 0; round < 2; round++) { // the second round answers from the memo
    const w = new BinWriter();
    for (const s of SAMPLES) w.stringMemo(s, memo).uint(7);
    assert.deepEqual(w.finish(), want);
    const r = new BinReader(want);
    const p = new BinReader(want);
    for (const _ of SAMPLES) {
      assert.equal(r.stringMemo(memo), p.string());
      assert.equal(r.uint(), 7);
      p.uint();
    }
    assert.ok(r.done);
  }
});

test('a decoded string is not taken from the memo when its bytes differ, even at the same length, or after the buffer changed', () => {
  const memo = new Utf8Memo();
  const buf = new BinWriter().string('abc').finish();
  assert.equal(new BinReader(buf).stringMemo(memo), 'abc');
  assert.equal(new BinReader(new BinWriter().string('abd').finish()).stringMemo(memo), 'abd');
  buf[3] = 0x7a; // the same array written over (a reused buffer): the memo kept its own copy
  assert.equal(new BinReader(buf).stringMemo(memo), 'abz');
  assert.throws(() => new BinReader(Uint8Array.of(5, 0x61)).stringMemo(memo), /truncated/);
});

test('the encode memo starts over past UTF8_MEMO_STRINGS_MAX names and stays right', () => {
  const memo = new Utf8Memo();
  for (let i = 0; i < UTF8_MEMO_STRINGS_MAX * 3; i++) {
    const s = `ns-${i % (UTF8_MEMO_STRINGS_MAX + 5)}`;
    assert.deepEqual(memo.encode(s), new TextEncoder().encode(s));
  }
});
