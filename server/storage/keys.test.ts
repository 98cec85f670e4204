import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RaftKeyspace,
  StateKeyspace,
  compareBytes,
  decodeU64,
  encodeU64,
  keyspaceRange,
  prefixEnd,
  raftEntryIndex,
  raftEntryKey,
  stateMetaKey,
} from './keys.js';

const b = (...bytes: number[]): Uint8Array => Uint8Array.of(...bytes);

describe('keys', () => {
  it('encodes u64 big-endian and round-trips up to 2^53 - 1', () => {
    assert.deepEqual(encodeU64(0), b(0, 0, 0, 0, 0, 0, 0, 0));
    assert.deepEqual(encodeU64(1), b(0, 0, 0, 0, 0, 0, 0, 1));
    assert.deepEqual(encodeU64(0x0102_0304_0506), b(0, 0, 1, 2, 3, 4, 5, 6));
    for (const n of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
      assert.equal(decodeU64(encodeU64(n)), n);
    }
  });

  it('refuses numbers it cannot represent exactly', () => {
    assert.throws(() => encodeU64(-1));
    assert.throws(() => encodeU64(1.5));
    assert.throws(() => encodeU64(2 ** 53));
    assert.throws(() => decodeU64(b(0, 0x20, 0, 0, 0, 0, 0, 0))); // 2^53
    assert.throws(() => decodeU64(b(1, 2, 3)));
  });

  it('sorts encoded numbers in numeric order', () => {
    const ns = [0, 1, 2, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 48, Number.MAX_SAFE_INTEGER];
    const keys = ns.map(raftEntryKey);
    const shuffled = [...keys].reverse();
    shuffled.sort(compareBytes);
    assert.deepEqual(shuffled.map(raftEntryIndex), ns);
  });

  it('computes the prefix end', () => {
    assert.deepEqual(prefixEnd(b(0x01)), b(0x02));
    assert.deepEqual(prefixEnd(b(0x01, 0x02)), b(0x01, 0x03));
    assert.deepEqual(prefixEnd(b(0x01, 0xff)), b(0x02));
    assert.deepEqual(prefixEnd(b(0x01, 0xff, 0xff)), b(0x02));
    assert.deepEqual(prefixEnd(b(0x00)), b(0x01));
    assert.equal(prefixEnd(b(0xff, 0xff)), undefined);
    // A Buffer's slice() is a view: the prefix given must not change (it did, and the auth
    // gate then checked the empty range [end, end) for a lock's prefix).
    const lockPrefix = Buffer.from('lock/');
    assert.deepEqual(Buffer.from(prefixEnd(lockPrefix)!).toString(), 'lock0');
    assert.equal(lockPrefix.toString(), 'lock/');
    assert.equal(prefixEnd(b()), undefined);
    // Every key with the prefix sorts below the end, and the end does not have the prefix.
    const prefix = b(0x05, 0xff);
    const end = prefixEnd(prefix) as Uint8Array;
    for (const k of [b(0x05, 0xff), b(0x05, 0xff, 0xff, 0xff), b(0x05, 0xff, 0x00)]) assert.ok(compareBytes(k, end) < 0);
    assert.ok(compareBytes(b(0x06), end) >= 0);
  });

  it('does not modify the prefix it is given', () => {
    const prefix = b(0x01, 0x02);
    prefixEnd(prefix);
    assert.deepEqual(prefix, b(0x01, 0x02));
  });

  it('keeps keyspaces distinct and each within its range', () => {
    const all = [...Object.values(RaftKeyspace), ...Object.values(StateKeyspace)];
    assert.equal(new Set(all).size, all.length);
    const r = keyspaceRange(RaftKeyspace.Entry);
    assert.ok(compareBytes(raftEntryKey(0), r.gte) >= 0);
    assert.ok(compareBytes(raftEntryKey(Number.MAX_SAFE_INTEGER), r.lt) < 0);
    const m = keyspaceRange(StateKeyspace.Meta);
    assert.ok(compareBytes(stateMetaKey('applied-index'), m.lt) < 0);
    assert.throws(() => raftEntryIndex(stateMetaKey('x')));
  });
});
