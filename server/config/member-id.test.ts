import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ID_BITS, clusterIdFor, formatId, memberIdFor } from './member-id.js';

describe('member ids', () => {
  it('are deterministic positive integers below 2^53', () => {
    const a = memberIdFor('n1', 'tok', ['http://127.0.0.1:2380']);
    assert.equal(a, memberIdFor('n1', 'tok', ['http://127.0.0.1:2380']));
    for (let i = 0; i < 1000; i++) {
      const id = memberIdFor(`n${i}`, 'tok', [`http://10.0.0.${i % 250}:2380`]);
      assert.ok(Number.isSafeInteger(id) && id > 0 && id < 2 ** ID_BITS, String(id));
    }
  });

  it('depend on name, token and URLs, not on URL order or trailing slashes', () => {
    const base = memberIdFor('n1', 'tok', ['http://a:1', 'http://b:2']);
    assert.equal(base, memberIdFor('n1', 'tok', ['http://B:2/', 'http://a:1']));
    assert.notEqual(base, memberIdFor('n2', 'tok', ['http://a:1', 'http://b:2']));
    assert.notEqual(base, memberIdFor('n1', 'tok2', ['http://a:1', 'http://b:2']));
    assert.notEqual(base, memberIdFor('n1', 'tok', ['http://a:1']));
  });

  it('do not collide over a thousand members', () => {
    const ids = new Set<number>();
    for (let i = 0; i < 1000; i++) ids.add(memberIdFor(`n${i}`, 't', [`http://127.0.0.1:${20000 + i}`]));
    assert.equal(ids.size, 1000);
  });

  it('cluster id ignores member order and changes with token or members', () => {
    const m1 = { name: 'n1', peerUrls: ['http://127.0.0.1:2380'] };
    const m2 = { name: 'n2', peerUrls: ['http://127.0.0.1:2480'] };
    const m3 = { name: 'n3', peerUrls: ['http://127.0.0.1:2580'] };
    const id = clusterIdFor('tok', [m1, m2, m3]);
    assert.ok(Number.isSafeInteger(id) && id > 0 && id < 2 ** ID_BITS);
    assert.equal(id, clusterIdFor('tok', [m3, m1, m2]));
    assert.notEqual(id, clusterIdFor('other', [m1, m2, m3]));
    assert.notEqual(id, clusterIdFor('tok', [m1, m2]));
    assert.notEqual(id, memberIdFor('n1', 'tok', m1.peerUrls));
  });

  it('formats as etcd does', () => {
    assert.equal(formatId(0x8e9e05c521646), '8e9e05c521646');
    assert.equal(formatId(255), 'ff');
  });

  it('refuses empty input loudly', () => {
    assert.throws(() => memberIdFor('', 't', ['http://a:1']));
    assert.throws(() => memberIdFor('n', 't', []));
    assert.throws(() => clusterIdFor('t', []));
  });
});
