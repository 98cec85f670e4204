// What an apply batch writes of the store's meta records: the applied index, the revision and
// the hash sum every time; the compacted revision, the live-key count and the format version
// only when they differ from the engine's (store.ts metaOnDisk). And what a reopened store
// reads back from them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BatchOp } from '../storage/engine.js';
import { StateKeyspace } from '../storage/keys.js';
import { bytesEqual } from '../util/bytes.js';
import { META_COMPACTED_KEY } from './records.js';
import { META_FORMAT_KEY, META_LIVE_KEYS_KEY } from './restore.js';
import { withHarness, type Harness } from './testing/harness.js';

/** The ops of every engine write `fn` makes. */
async function writesOf(h: Harness, fn: () => Promise<unknown>): Promise<BatchOp[][]> {
  const writes: BatchOp[][] = [];
  const write = h.engine.write.bind(h.engine);
  h.engine.write = (ops, options) => {
    writes.push([...ops]);
    return write(ops, options);
  };
  try {
    await fn();
  } finally {
    h.engine.write = write;
  }
  return writes;
}

const metaOps = (ops: BatchOp[]): Uint8Array[] => ops.filter((o) => o.key[0] === StateKeyspace.Meta).map((o) => o.key);
const has = (ops: BatchOp[], key: Uint8Array): boolean => ops.some((o) => bytesEqual(o.key, key));

test('a batch writes the rarely changing meta records only when they change, and a reopened store reads them back', () =>
  withHarness(async (h) => {
    const [first] = await writesOf(h, () => h.put('a', '1'));
    assert.ok(has(first!, META_FORMAT_KEY), 'an empty store gets its format key with its first batch');
    assert.ok(has(first!, META_LIVE_KEYS_KEY), 'a new key changes the live-key count');

    const [overwrite] = await writesOf(h, () => h.put('a', '2'));
    assert.equal(metaOps(overwrite!).length, 3, 'an overwrite: applied index, revision and hash sum only');
    assert.equal(overwrite!.length, 6, 'an overwrite: its revision record, latest row and history entry, and three meta records');

    const [create] = await writesOf(h, () => h.put('b', '1'));
    assert.ok(has(create!, META_LIVE_KEYS_KEY) && !has(create!, META_FORMAT_KEY) && !has(create!, META_COMPACTED_KEY));

    const [compaction] = await writesOf(h, () => h.apply({ type: 'compact', compact: { revision: 3 } }));
    assert.ok(has(compaction!, META_COMPACTED_KEY), 'a compaction writes the compacted revision');

    await h.del('b');
    await h.reopen();
    assert.equal(h.store.compactedRevision, 3);
    assert.equal(h.store.keyCount, 1);
    const [afterReopen] = await writesOf(h, () => h.put('a', '3'));
    assert.equal(metaOps(afterReopen!).length, 3, 'a reopened store knows what the engine holds');
    assert.equal(await h.value('a'), '3');
  }));
