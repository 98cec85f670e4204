// The records against bytes a real etcd 3.4.23 wrote (dumped from its snapshot).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeEtcdKeyValue, decodeEtcdLease, encodeEtcdConfState, encodeEtcdKeyValue, encodeEtcdLease, encodeEtcdMember,
  etcdMemberKey, etcdRevisionKey, parseEtcdRevisionKey,
} from './etcd-schema.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b = (s: string): Buffer => Buffer.from(s);

describe('etcd schema records', () => {
  it('revision keys: 8-byte main, "_", 8-byte sub, "t" for a tombstone', () => {
    assert.equal(hex(etcdRevisionKey(2, 0, false)), '00000000000000025f0000000000000000');
    assert.equal(hex(etcdRevisionKey(5, 0, true)), '00000000000000055f000000000000000074');
    assert.deepEqual(parseEtcdRevisionKey(Buffer.from('00000000000000055f000000000000000374', 'hex')), { main: 5, sub: 3, tombstone: true });
    assert.throws(() => parseEtcdRevisionKey(b('consistent_index')), /not an etcd revision key/);
  });

  it('mvccpb.KeyValue as etcd wrote it: a put, a leased put, a tombstone', () => {
    const put = { key: b('a'), createRevision: 2, modRevision: 4, version: 2, value: b('3'), lease: 0 };
    assert.equal(hex(encodeEtcdKeyValue(put)), '0a01611002180420022a0133');
    const leased = encodeEtcdKeyValue({ key: b('c'), createRevision: 6, modRevision: 6, version: 1, value: b('4'), lease: 0x2040a24cf0859809n });
    assert.equal(hex(leased), '0a01631006180620012a01343089b09684cfc9a8a020');
    assert.equal(decodeEtcdKeyValue(leased).leaseBig, 0x2040a24cf0859809n);
    assert.equal(hex(encodeEtcdKeyValue({ key: b('b'), createRevision: 0, modRevision: 0, version: 0, value: b(''), lease: 0 })), '0a0162');
    assert.deepEqual({ ...decodeEtcdKeyValue(Buffer.from('0a01611002180420022a0133', 'hex')), key: 'a', value: '3' },
      { key: 'a', createRevision: 2, modRevision: 4, version: 2, value: '3', lease: 0, leaseBig: 0n });
  });

  it('leasepb.Lease, members JSON and the 3.5 confState', () => {
    const lease = encodeEtcdLease({ id: 0x2040a24cf0859809n, ttl: 600, remainingTtl: 0 });
    assert.equal(hex(lease), '0889b09684cfc9a8a02010d804');
    assert.equal(decodeEtcdLease(lease).idBig, 0x2040a24cf0859809n);
    const member = encodeEtcdMember({ id: 0x2e1259d415f2a0, name: 'e1', peerURLs: ['http://127.0.0.1:23800'], clientURLs: ['http://127.0.0.1:23790'], isLearner: false });
    assert.equal(member.toString(), '{"id":12968025948287648,"peerURLs":["http://127.0.0.1:23800"],"name":"e1","clientURLs":["http://127.0.0.1:23790"]}');
    assert.equal(encodeEtcdMember({ id: 1, name: '', peerURLs: ['http://x'], clientURLs: [], isLearner: true }).toString(), '{"id":1,"peerURLs":["http://x"],"isLearner":true}');
    assert.equal(etcdMemberKey(0x2e1259d415f2a0).toString(), '2e1259d415f2a0');
    assert.equal(encodeEtcdConfState([1, 2], []).toString(), '{"voters":[1,2],"auto_leave":false}');
  });
});
