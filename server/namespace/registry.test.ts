// The registry's routing and rules as properties: for any set of prefixes and any key, the
// longest registered prefix routes it; a prefix or name registered twice is refused with the
// reason; owned ranges partition a namespace's keys exactly. Seeded: replay with
// NS_PROPERTY_SEED=<seed printed below>.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  NamespaceError, NamespaceRegistry, completeDefinition, decodeCommand, decodeDefinition, encodeCommand, encodeDefinition,
  keysRefusal, prefixFromBytes, startsWith, strongestDefault, compareBytes, type NamespaceDefinition,
} from './index.js';

const seed = Number(process.env['NS_PROPERTY_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
console.log(`namespace registry properties: seed=${seed} (replay with NS_PROPERTY_SEED=${seed})`);
const params = { seed, numRuns: 200 };
const enc = new TextEncoder();

// Small alphabet so that prefixes nest and keys hit them often.
const text = fc.string({ unit: fc.constantFrom('a', 'b', '/', 'é'), maxLength: 5 });
const prefixes = fc.uniqueArray(text.filter((p) => p !== ''), { maxLength: 8 });

function registryOf(ps: string[]): NamespaceRegistry {
  return NamespaceRegistry.of(ps.map((p, i) => completeDefinition({ name: `ns${i}`, prefix: p })));
}

function routeByHand(ps: string[], key: Uint8Array): string {
  let best = '';
  for (const p of ps) if (startsWith(key, enc.encode(p)) && enc.encode(p).length > enc.encode(best).length) best = p;
  return best;
}

function inRange(key: Uint8Array, r: { start: Uint8Array; end: Uint8Array | undefined }): boolean {
  return compareBytes(key, r.start) >= 0 && (r.end === undefined || compareBytes(key, r.end) < 0);
}

describe('namespace registry', () => {
  test('any prefixes, any key: the longest prefix wins', () => {
    fc.assert(fc.property(prefixes, text, (ps, k) => {
      const key = enc.encode(k);
      assert.equal(registryOf(ps).route(key).prefix, routeByHand(ps, key));
    }), params);
  });

  test('owned ranges hold exactly the keys that route to the namespace', () => {
    fc.assert(fc.property(prefixes, text, (ps, k) => {
      const reg = registryOf(ps);
      const key = enc.encode(k);
      for (const def of reg.list()) {
        const owned = reg.ownedRanges(enc.encode(def.prefix)).some((r) => inRange(key, r));
        assert.equal(owned, reg.route(key).name === def.name, `key ${k} and namespace ${def.name} (${def.prefix})`);
      }
    }), params);
  });

  test('a repeated prefix or name is refused with the reason', () => {
    fc.assert(fc.property(prefixes.filter((ps) => ps.length > 0), fc.nat(), (ps, i) => {
      const reg = registryOf(ps);
      const p = ps[i % ps.length]!;
      assert.throws(() => reg.check({ op: 'create', definition: completeDefinition({ name: 'other', prefix: p }) }),
        (e: NamespaceError) => e.code === 'already-exists' && e.message.includes(`is already the prefix of namespace "ns${i % ps.length}"`));
      assert.throws(() => reg.check({ op: 'create', definition: completeDefinition({ name: `ns${i % ps.length}`, prefix: 'zz' }) }),
        (e: NamespaceError) => e.code === 'already-exists' && e.message.includes('already exists'));
    }), params);
  });

  test('create checks the keys that would leave the enclosing namespace', () => {
    const reg = registryOf(['a/', 'a/b/']);
    const check = reg.check({ op: 'create', definition: completeDefinition({ name: 'x', prefix: 'a/c' }) });
    assert.equal(check?.owner.name, 'ns0');
    const mid = reg.check({ op: 'create', definition: completeDefinition({ name: 'y', prefix: 'a' }) });
    assert.equal(mid?.owner.name, 'default');
    // 'a' minus the nested 'a/': the keys 'a' .. 'a/' and 'a0' .. 'b'.
    assert.deepEqual(mid?.ranges.map((r) => [Buffer.from(r.start).toString(), r.end && Buffer.from(r.end).toString()]), [['a', 'a/'], ['a0', 'b']]);
    const msg = keysRefusal({ op: 'create', definition: completeDefinition({ name: 'y', prefix: 'a' }) }, 3, mid!.owner).message;
    assert.match(msg, /prefix "a" holds 3 keys of namespace "default"/);
  });

  test('the default namespace: always there, never deleted, level and type fixed', () => {
    const reg = NamespaceRegistry.empty();
    assert.equal(reg.route(enc.encode('anything')).name, 'default');
    assert.throws(() => reg.check({ op: 'delete', name: 'default', force: true }), /default namespace cannot be deleted/);
    assert.throws(() => reg.check({ op: 'update', name: 'default', fields: ['level' as never], values: {} }), /fixed at creation/);
    const next = reg.apply({ op: 'update', name: 'default', fields: ['readLevel'], values: { readLevel: 'serializable' } });
    assert.equal(next.get('default')?.readLevel, 'serializable');
  });

  test('bad definitions: each refused with an actionable message', () => {
    const bad: Array<[Partial<NamespaceDefinition> & { name: string }, RegExp]> = [
      [{ name: '', prefix: 'a/' }, /name is empty/],
      [{ name: 'Upper', prefix: 'a/' }, /not valid: use lowercase/],
      [{ name: 'x', prefix: '' }, /prefix is empty/],
      [{ name: 'x', prefix: 'a\u0001' }, /control characters/],
      [{ name: 'x', prefix: 'a/', level: 'weak' as never }, /unknown level "weak": use one of strong, eventual/],
      [{ name: 'x', prefix: 'a/', level: 'eventual', crdtType: 'tree' as never }, /unknown CRDT type "tree"/],
      [{ name: 'x', prefix: 'a/', crdtType: 'lww' }, /strong namespace has no CRDT type/],
      [{ name: 'x', prefix: 'a/', readLevel: 'fast' as never }, /unknown read level "fast"/],
      [{ name: 'x', prefix: 'a/', level: 'eventual', readLevel: 'linearizable' }, /strong namespaces only/],
      [{ name: 'x', prefix: 'a/', maxStalenessMs: -1 }, /max_staleness_ms must be a whole number/],
      [{ name: 'x', prefix: 'a/', siblingWarn: 200, siblingCap: 100 }, /sibling_warn must be a whole number from 1 to 100/],
    ];
    for (const [spec, re] of bad) assert.throws(() => completeDefinition(spec), (e: NamespaceError) => e.code === 'invalid' && re.test(e.message), JSON.stringify(spec));
    assert.throws(() => prefixFromBytes(Uint8Array.of(0x61, 0xff)), /not valid UTF-8/);
  });

  test('every default is written out; definitions and commands round-trip', () => {
    const def = completeDefinition({ name: 'dev', prefix: 'devices/', level: 'eventual', crdtType: 'mv' });
    assert.deepEqual(def, {
      name: 'dev', prefix: 'devices/', level: 'eventual', crdtType: 'mv', readLevel: 'serializable', maxStalenessMs: 1000,
      maxClockSkewMs: 500, tombstoneTtlS: 86400, siblingWarn: 25, siblingCap: 100, schemaVersions: [1], description: '',
    });
    assert.deepEqual(decodeDefinition(encodeDefinition(def)), def);
    const cmd = { op: 'update' as const, name: 'dev', fields: ['description' as const], values: { description: 'x' } };
    assert.deepEqual(decodeCommand(encodeCommand(cmd)), cmd);
  });

  test('a range across namespaces uses the stronger default', () => {
    const reg = NamespaceRegistry.of([
      completeDefinition({ name: 'a', prefix: 'a/', readLevel: 'serializable' }),
      completeDefinition({ name: 'b', prefix: 'b/', readLevel: 'bounded', maxStalenessMs: 200 }),
    ]).apply({ op: 'update', name: 'default', fields: ['readLevel'], values: { readLevel: 'session' } });
    assert.equal(strongestDefault(reg.routeRange(enc.encode('a/1'), enc.encode('a/9'))).level, 'serializable');
    assert.deepEqual(strongestDefault(reg.routeRange(enc.encode('a/1'), enc.encode('b/9'))), { level: 'bounded', maxStalenessMs: 200 });
    assert.equal(strongestDefault(reg.routeRange(enc.encode('a/1'), enc.encode('a1'))).level, 'session');
  });
});
