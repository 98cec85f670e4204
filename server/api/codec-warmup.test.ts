// warmMessageCodecs and warmHotCodecs: every hot method's codecs run once without an error,
// the samples reach the messages a call's answer holds (header, kvs, prev_kv), and the
// codecs answer real messages correctly afterwards.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MethodDefinition } from '@grpc/grpc-js';
import { sampleMessage, warmMessageCodecs } from './codec-warmup.js';
import { loadEtcdServices } from './proto.js';
import { WARM_METHODS, warmHotCodecs } from './proto-warmup.js';

type Method = MethodDefinition<unknown, unknown> & { responseType?: Parameters<typeof sampleMessage>[0] };

test('sampleMessage sets the message-typed fields, maps and scalars left out', () => {
  const kv = loadEtcdServices().KV as unknown as Record<string, Method>;
  assert.deepEqual(sampleMessage(kv['Range']?.responseType), { header: {}, kvs: [{}] });
  assert.deepEqual(sampleMessage(kv['Put']?.responseType), { header: {}, prevKv: {} });
  assert.deepEqual(sampleMessage(undefined), {});
});

test('warmHotCodecs runs the request and response codecs of every WARM_METHODS method', () => {
  const methods = Object.values(WARM_METHODS).reduce((n, m) => n + m.length, 0);
  assert.equal(warmHotCodecs(), 2 * methods);
  const put = loadEtcdServices().KV['Put'] as unknown as Method;
  const bytes = put.responseSerialize({ header: { revision: '7' }, prevKv: { key: Buffer.from('k'), value: Buffer.from('v') } });
  const back = put.responseDeserialize(bytes) as { header: { revision: string }; prevKv: { key: Buffer } };
  assert.equal(back.header.revision, '7');
  assert.equal(back.prevKv.key.toString(), 'k');
  // Every method of a whole service (streams and messages with oneofs and maps among them).
  const maintenance = Object.keys(loadEtcdServices().Maintenance).length;
  assert.equal(warmMessageCodecs([loadEtcdServices().Maintenance, loadEtcdServices().Watch]), 2 * (maintenance + Object.keys(loadEtcdServices().Watch).length));
});
