import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readEntries, readSuperseded } from './reads.js';
import { REGION, b, str, withHarness } from './testing.js';

const LWW = { name: 'cfg', prefix: 'cfg/', level: 'eventual' as const, crdtType: 'lww' as const };

test('lww: put, overwrite, delete; the etcd projection follows; dots and HLCs assigned at apply', () =>
  withHarness([LWW], async (h) => {
    const a = await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/a'), value: b('1') }]);
    assert.equal(a.answer.kind, 'write');
    if (a.answer.kind !== 'write') return;
    assert.deepEqual(a.answer.results[0]?.dot, { origin: REGION, seq: 1 });
    assert.deepEqual(a.answer.results[0]?.hlc, { wall: h.nowMs, logical: 0 });
    assert.equal(await h.etcd('cfg/a'), '1');
    const r2 = await h.write('cfg', [{ type: 'lwwPut', key: b('cfg/a'), value: b('2') }, { type: 'lwwPut', key: b('cfg/b'), value: b('x') }]);
    assert.equal(r2.revision, a.revision + 1, 'one revision per entry');
    assert.equal(await h.etcd('cfg/a'), '2');
    await h.write('cfg', [{ type: 'lwwDelete', key: b('cfg/b') }]);
    assert.equal(await h.etcd('cfg/b'), undefined);
    assert.deepEqual(h.store.vector('cfg'), [{ origin: REGION, seq: 4 }]);
    const def = h.registry.get('cfg')!;
    const read = await readEntries(h.engine, def, new Uint8Array(0), new Uint8Array(0), 10);
    assert.deepEqual(read.entries.map((e) => [str(e.key), e.value.type === 'lww' ? str(e.value.value) : '?']), [['cfg/a', '2']]);
    // Region writes supersede what the region applied before them: nothing kept.
    assert.equal(h.store.counts('cfg').superseded, 0);
    assert.equal((await readSuperseded(h.engine, def, new Uint8Array(0), new Uint8Array(0), 10)).records.length, 0);
  }));
